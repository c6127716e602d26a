#include "core/check.hpp"
#include "ir/passes/passes.hpp"
#include "ir/shape_inference.hpp"
#include "ir/verifier.hpp"
#include "ops/op_registry.hpp"

namespace nnaccel {

using namespace passes_detail;

void fold_constants(Model& m, int64_t max_elements) {
  Graph& g = m.graph;
  verify_graph(g);  // topological order
  // Shape/Size of fully known shapes (and what infer_shapes folded from them).
  std::map<std::string, Tensor> inferred;
  try {
    // An initializer that is also a graph input may be fed with another shape: infer from its
    // declared type instead (infer_shapes would take the initializer's shape).
    Graph declared = g;
    for (const ValueInfo& v : g.inputs) declared.initializers.erase(v.name);
    inferred = infer_shapes(declared).constants;
  } catch (const Error&) {
    // An inconsistent graph still fails when it is run; fold only from initializers here.
  }
  std::map<std::string, Tensor> known;
  for (const auto& [name, t] : g.initializers)
    if (is_constant_initializer(g, name)) known[name] = t;

  const OpRegistry& reg = OpRegistry::instance();
  std::vector<Node> kept;
  kept.reserve(g.nodes.size());
  for (Node& node : g.nodes) {
    const OpSchema* schema = reg.find(node.domain, node.op_type);
    bool folded = false;
    // A DequantizeLinear of a constant stays: int8 weights stay int8 in memory, and fuse_qdq
    // reads the integers and their scales from it.
    const bool keep = node.domain.empty() && node.op_type == "DequantizeLinear";
    if (schema != nullptr && schema->run != nullptr && schema->deterministic &&
        !has_subgraph(node) && !keep) {
      std::vector<const Tensor*> ins;
      bool all_const = true;
      int64_t in_total = 0;
      for (const std::string& in : node.inputs) {
        if (in.empty()) {
          ins.push_back(nullptr);
          continue;
        }
        auto it = known.find(in);
        if (it == known.end()) {
          all_const = false;
          break;
        }
        ins.push_back(&it->second);
        in_total += it->second.numel();
      }
      std::vector<Tensor> outs;
      if (all_const && in_total <= max_elements) {
        try {
          OpContext ctx(node, ins, nullptr);
          schema->run(ctx);
          outs = std::move(ctx.outputs);
        } catch (const Error&) {
          outs.clear();  // left for run time, which reports the error in context
        }
      } else if (!all_const && node.domain.empty() &&
                 (node.op_type == "Shape" || node.op_type == "Size")) {
        for (const std::string& o : node.outputs) {
          auto it = inferred.find(o);
          outs.push_back(it != inferred.end() ? it->second : Tensor{});
        }
      }
      if (!outs.empty()) {
        bool ok = outs.size() == node.outputs.size();
        for (size_t i = 0; ok && i < outs.size(); ++i) {
          if (node.outputs[i].empty()) continue;
          ok = outs[i].defined() && outs[i].numel() <= max_elements;
        }
        if (ok) {
          for (size_t i = 0; i < outs.size(); ++i) {
            if (node.outputs[i].empty()) continue;
            known[node.outputs[i]] = outs[i];
            g.initializers[node.outputs[i]] = outs[i];
          }
          folded = true;
        }
      }
    }
    if (!folded) kept.push_back(std::move(node));
  }
  g.nodes = std::move(kept);
}

}  // namespace nnaccel
