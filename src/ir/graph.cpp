#include "nnaccel/graph.hpp"

#include "core/check.hpp"

namespace nnaccel {

TypeInfo TypeInfo::of(DType t, const Shape& s) {
  TypeInfo ti;
  ti.dtype = t;
  ti.has_shape = true;
  for (int64_t d : s) ti.dims.push_back(Dim{d, {}});
  return ti;
}

bool TypeInfo::fully_known() const {
  if (!has_shape) return false;
  for (const Dim& d : dims)
    if (!d.known()) return false;
  return true;
}

Shape TypeInfo::known_shape() const {
  Shape s;
  for (const Dim& d : dims) s.push_back(d.value);
  return s;
}

namespace {
Attribute named(std::string name, Attribute::Kind kind) {
  Attribute a;
  a.name = std::move(name);
  a.kind = kind;
  return a;
}
}  // namespace

Attribute Attribute::of_int(std::string name, int64_t v) {
  Attribute a = named(std::move(name), Kind::i);
  a.i = v;
  return a;
}
Attribute Attribute::of_float(std::string name, float v) {
  Attribute a = named(std::move(name), Kind::f);
  a.f = v;
  return a;
}
Attribute Attribute::of_string(std::string name, std::string v) {
  Attribute a = named(std::move(name), Kind::s);
  a.s = std::move(v);
  return a;
}
Attribute Attribute::of_tensor(std::string name, Tensor v) {
  Attribute a = named(std::move(name), Kind::t);
  a.t = std::move(v);
  return a;
}
Attribute Attribute::of_graph(std::string name, std::shared_ptr<Graph> v) {
  Attribute a = named(std::move(name), Kind::g);
  a.g = std::move(v);
  return a;
}
Attribute Attribute::of_ints(std::string name, std::vector<int64_t> v) {
  Attribute a = named(std::move(name), Kind::ints);
  a.ints = std::move(v);
  return a;
}
Attribute Attribute::of_floats(std::string name, std::vector<float> v) {
  Attribute a = named(std::move(name), Kind::floats);
  a.floats = std::move(v);
  return a;
}
Attribute Attribute::of_strings(std::string name, std::vector<std::string> v) {
  Attribute a = named(std::move(name), Kind::strings);
  a.strings = std::move(v);
  return a;
}

const Attribute* Node::attr(const std::string& n) const {
  for (const Attribute& a : attrs)
    if (a.name == n) return &a;
  return nullptr;
}
Attribute* Node::attr(const std::string& n) {
  for (Attribute& a : attrs)
    if (a.name == n) return &a;
  return nullptr;
}

std::string Node::describe() const {
  return name.empty() ? op_type : fmt::format("{} '{}'", op_type, name);
}

namespace {
const Attribute* typed(const Node& node, const std::string& n, Attribute::Kind kind,
                       const char* kind_name) {
  const Attribute* a = node.attr(n);
  if (a != nullptr && a->kind != kind)
    fail("{}: attribute '{}' should be {}", node.describe(), n, kind_name);
  return a;
}
}  // namespace

int64_t Node::attr_int(const std::string& n, int64_t def) const {
  const Attribute* a = typed(*this, n, Attribute::Kind::i, "an int");
  return a ? a->i : def;
}
float Node::attr_float(const std::string& n, float def) const {
  const Attribute* a = attr(n);
  if (a != nullptr && a->kind == Attribute::Kind::i) return static_cast<float>(a->i);
  a = typed(*this, n, Attribute::Kind::f, "a float");
  return a ? a->f : def;
}
std::string Node::attr_string(const std::string& n, const std::string& def) const {
  const Attribute* a = typed(*this, n, Attribute::Kind::s, "a string");
  return a ? a->s : def;
}
std::vector<int64_t> Node::attr_ints(const std::string& n, std::vector<int64_t> def) const {
  const Attribute* a = typed(*this, n, Attribute::Kind::ints, "a list of ints");
  return a ? a->ints : def;
}
std::vector<float> Node::attr_floats(const std::string& n, std::vector<float> def) const {
  const Attribute* a = typed(*this, n, Attribute::Kind::floats, "a list of floats");
  return a ? a->floats : def;
}

void Node::set_attr(Attribute a) {
  for (Attribute& b : attrs)
    if (b.name == a.name) {
      b = std::move(a);
      return;
    }
  attrs.push_back(std::move(a));
}

void Node::erase_attr(const std::string& n) {
  std::erase_if(attrs, [&](const Attribute& a) { return a.name == n; });
}

const ValueInfo* Graph::find_value_info(const std::string& n) const {
  for (const auto* list : {&inputs, &outputs, &value_info})
    for (const ValueInfo& v : *list)
      if (v.name == n) return &v;
  return nullptr;
}

}  // namespace nnaccel
