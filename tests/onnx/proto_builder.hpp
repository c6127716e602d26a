#pragma once
// Builds ONNX ModelProtos directly (any opset, any malformation) for import tests; nnaccel's own
// exporter always writes the canonical opset.
#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

namespace nnaccel::testing {

class ProtoBuilder {
 public:
  explicit ProtoBuilder(int64_t opset, int64_t ir_version = 7) {
    model_.set_ir_version(ir_version);
    model_.set_producer_name("nnaccel-test");
    auto* o = model_.add_opset_import();
    o->set_domain("");
    o->set_version(opset);
    model_.mutable_graph()->set_name("g");
  }

  onnx::ModelProto& model() { return model_; }
  onnx::GraphProto& graph() { return *model_.mutable_graph(); }

  // dims: -1 marks an unknown dim; has_shape=false leaves the shape out entirely.
  static void set_type(onnx::ValueInfoProto* v, int elem, const std::vector<int64_t>& dims,
                       bool has_shape = true) {
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elem);
    if (!has_shape) return;
    auto* s = tt->mutable_shape();
    for (int64_t d : dims) {
      auto* dp = s->add_dim();
      if (d >= 0) dp->set_dim_value(d);
    }
  }
  void input(const std::string& name, const std::vector<int64_t>& dims,
             int elem = onnx::TensorProto::FLOAT, bool has_shape = true) {
    auto* v = graph().add_input();
    v->set_name(name);
    set_type(v, elem, dims, has_shape);
  }
  void output(const std::string& name, const std::vector<int64_t>& dims,
              int elem = onnx::TensorProto::FLOAT, bool has_shape = true) {
    auto* v = graph().add_output();
    v->set_name(name);
    set_type(v, elem, dims, has_shape);
  }
  onnx::TensorProto* init_f32(const std::string& name, const std::vector<int64_t>& dims,
                              const std::vector<float>& values) {
    auto* t = graph().add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    for (float v : values) t->add_float_data(v);
    return t;
  }
  onnx::TensorProto* init_i64(const std::string& name, const std::vector<int64_t>& dims,
                              const std::vector<int64_t>& values) {
    auto* t = graph().add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    for (int64_t d : dims) t->add_dims(d);
    for (int64_t v : values) t->add_int64_data(v);
    return t;
  }
  onnx::NodeProto* node(const std::string& op, const std::vector<std::string>& ins,
                        const std::vector<std::string>& outs, onnx::GraphProto* g = nullptr) {
    auto* n = (g ? g : &graph())->add_node();
    n->set_op_type(op);
    n->set_name(op + "_" + (outs.empty() ? std::string("x") : outs[0]));
    for (const auto& i : ins) n->add_input(i);
    for (const auto& o : outs) n->add_output(o);
    return n;
  }

  static onnx::AttributeProto* attr(onnx::NodeProto* n, const std::string& name,
                                    onnx::AttributeProto::AttributeType type) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(type);
    return a;
  }
  static void set_i(onnx::NodeProto* n, const std::string& name, int64_t v) {
    attr(n, name, onnx::AttributeProto::INT)->set_i(v);
  }
  static void set_f(onnx::NodeProto* n, const std::string& name, float v) {
    attr(n, name, onnx::AttributeProto::FLOAT)->set_f(v);
  }
  static void set_s(onnx::NodeProto* n, const std::string& name, const std::string& v) {
    attr(n, name, onnx::AttributeProto::STRING)->set_s(v);
  }
  static void set_ints(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
    auto* a = attr(n, name, onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }
  static void set_floats(onnx::NodeProto* n, const std::string& name, const std::vector<float>& v) {
    auto* a = attr(n, name, onnx::AttributeProto::FLOATS);
    for (float x : v) a->add_floats(x);
  }

  std::string bytes() const {
    std::string s;
    model_.SerializeToString(&s);
    return s;
  }

 private:
  onnx::ModelProto model_;
};

}  // namespace nnaccel::testing
