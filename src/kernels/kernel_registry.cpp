#include "core/check.hpp"
#include "kernels/kernel.hpp"

namespace nnaccel {

#define NNACCEL_KERNEL_FAMILY(f) void register_##f##_kernels(KernelRegistry& r);
#include "kernels/families.def"
#undef NNACCEL_KERNEL_FAMILY

const KernelRegistry& KernelRegistry::instance() {
  static const KernelRegistry registry = [] {
    KernelRegistry r;
#define NNACCEL_KERNEL_FAMILY(f) register_##f##_kernels(r);
#include "kernels/families.def"
#undef NNACCEL_KERNEL_FAMILY
    return r;
  }();
  return registry;
}

void KernelRegistry::add(KernelEntry entry) { entries_.push_back(std::move(entry)); }

std::vector<const KernelEntry*> KernelRegistry::find(const std::string& domain,
                                                     const std::string& op) const {
  std::string d = domain == "ai.onnx" ? "" : domain;
  std::vector<const KernelEntry*> out;
  for (const KernelEntry& e : entries_)
    if (e.domain == d && e.op == op) out.push_back(&e);
  return out;
}

Shape ValueDesc::physical_shape() const {
  if (block == 0) return shape;
  NNA_CHECK(shape.size() >= 3, "blocked layout needs rank >= 3, got {}", shape_str(shape));
  Shape p;
  p.push_back(shape[0]);
  p.push_back((shape[1] + block - 1) / block);
  for (size_t i = 2; i < shape.size(); ++i) p.push_back(shape[i]);
  p.push_back(block);
  return p;
}

Tensor PackedConstants::get(const Tensor& source, const std::string& format,
                            const std::function<Tensor()>& pack) {
  const auto key = std::make_tuple(source.raw(), source.nbytes(), format);
  auto it = packed_.find(key);
  if (it != packed_.end()) {
    shared_bytes_ += it->second.nbytes();
    return it->second;  // the same storage
  }
  Tensor t = pack();
  packed_.emplace(key, t);
  return t;
}

std::vector<const Node*> readers_of(const Graph& graph, const std::string& value) {
  std::vector<const Node*> out;
  if (value.empty()) return out;
  for (const Node& n : graph.nodes)
    for (const std::string& in : n.inputs)
      if (in == value) {
        out.push_back(&n);
        break;
      }
  return out;
}

std::vector<const Node*> KernelRequest::consumers(int output) const {
  return readers_of(graph, node.outputs.at(static_cast<size_t>(output)));
}

bool KernelRequest::is_graph_output(int output) const {
  const std::string& name = node.outputs.at(static_cast<size_t>(output));
  for (const ValueInfo& v : graph.outputs)
    if (v.name == name) return true;
  return false;
}

}  // namespace nnaccel
