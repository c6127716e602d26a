// Transposes that do not move data. A permutation that keeps the dims larger than 1 in their
// order leaves every element at its row-major offset, so it is a Reshape; the Reshape then merges
// with neighbouring Reshapes, and a Transpose that only feeds a Reshape disappears
// (remove_identity_and_redundant_reshapes). Transpose pairs that cancel are composed there too.
#include "ir/passes/passes.hpp"
#include "ir/passes/pattern.hpp"

namespace nnaccel {

using namespace passes_detail;

namespace {

// Whether `perm` applied to `dims` keeps the non-1 dims in order (the data is then unchanged).
bool moves_only_unit_dims(const std::vector<int64_t>& perm, const Shape& dims) {
  int64_t last = -1;
  for (int64_t p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(dims.size())) return false;
    if (dims[static_cast<size_t>(p)] == 1) continue;
    if (p < last) return false;
    last = p;
  }
  return true;
}

}  // namespace

void remove_redundant_transpose(Model& m) {
  Graph& g = m.graph;
  bool changed = false;
  {
    GraphView v(g);
    for (Node& n : g.nodes) {
      if (!is_op(n, "Transpose") || n.inputs.size() != 1 || n.outputs.size() != 1) continue;
      const TypeInfo* xt = v.type(n.inputs[0]);
      const TypeInfo* yt = v.type(n.outputs[0]);
      if (xt == nullptr || yt == nullptr || !xt->fully_known() || !yt->fully_known()) continue;
      const Shape x_shape = xt->known_shape();
      std::vector<int64_t> perm = n.attr_ints("perm");
      if (perm.empty())
        for (size_t i = x_shape.size(); i-- > 0;) perm.push_back(static_cast<int64_t>(i));
      if (perm.size() != x_shape.size() || !moves_only_unit_dims(perm, x_shape)) continue;
      const Shape y_shape = yt->known_shape();
      Tensor target(DType::i64, {static_cast<int64_t>(y_shape.size())});
      for (size_t i = 0; i < y_shape.size(); ++i) target.data<int64_t>()[i] = y_shape[i];
      const std::string name = unique_name(g, n.outputs[0] + "_shape");
      g.initializers[name] = target;
      n.op_type = "Reshape";
      n.erase_attr("perm");
      n.inputs.push_back(name);
      // A 0 in the target would copy the input's dim; allowzero makes it a literal 0.
      n.set_attr(Attribute::of_int("allowzero", 1));
      changed = true;
    }
  }
  if (changed) remove_identity_and_redundant_reshapes(m);
}

}  // namespace nnaccel
