#pragma once
// Running one fast kernel the way the compiler does (KernelRequest -> factory -> run) and
// comparing it with the op's reference kernel.
#include <gtest/gtest.h>

#include <memory>

#include "kernels/kernel.hpp"
#include "ops/op_test_util.hpp"

namespace nnaccel::testing {

struct FastKernel {
  std::unique_ptr<Kernel> kernel;    // null when the factory declined
  std::vector<ValueDesc> outputs;    // the output descs the factory decided
};

// Offers the node to the factory of `variant`. `constant[i]`: input i is an initializer (its
// value is offered for packing); `blocks[i]`: input i's channel block (the tensor given for it
// holds the logical shape; run the kernel on its blocked form). Omitted outputs (empty names)
// get an unknown desc, as the compiler gives them.
inline FastKernel make_fast_kernel(const std::string& variant, const Node& node,
                                   const std::vector<Tensor>& in,
                                   const std::vector<Shape>& out_shapes,
                                   const std::vector<bool>& constant = {},
                                   DType out_dtype = DType::f32,
                                   const std::vector<int64_t>& blocks = {}) {
  Graph graph;
  graph.nodes.push_back(node);
  std::vector<ValueDesc> descs(in.size());
  std::vector<const ValueDesc*> in_ptrs;
  std::vector<const Tensor*> constants;
  for (size_t i = 0; i < in.size(); ++i) {
    descs[i].dtype = in[i].dtype();
    descs[i].shape = in[i].shape();
    descs[i].block = i < blocks.size() ? blocks[i] : 0;
    in_ptrs.push_back(in[i].defined() ? &descs[i] : nullptr);
    constants.push_back(i < constant.size() && constant[i] ? &in[i] : nullptr);
  }
  FastKernel fk;
  for (size_t o = 0; o < out_shapes.size(); ++o)
    fk.outputs.push_back(o < node.outputs.size() && node.outputs[o].empty()
                             ? ValueDesc{DType::undefined, {}, false, 0}
                             : ValueDesc{out_dtype, out_shapes[o], true, 0});
  CompileOptions options;
  KernelRequest request{node, graph, in_ptrs, constants, fk.outputs, options};
  for (const KernelEntry* e : KernelRegistry::instance().find(node.domain, node.op_type)) {
    if (e->variant != variant) continue;
    fk.kernel = e->make(request);
    fk.outputs = request.outputs;
    return fk;
  }
  ADD_FAILURE() << "no " << variant << " kernel registered for " << node.op_type;
  return fk;
}

// Runs a kernel on tensors already in the layouts it was compiled for, with outputs allocated
// as the compiler would.
inline std::vector<Tensor> run_kernel(Kernel& k, const std::vector<Tensor>& in,
                                      const std::vector<ValueDesc>& outputs) {
  std::vector<const Tensor*> ins;
  for (const Tensor& t : in) ins.push_back(t.defined() ? &t : nullptr);
  std::vector<Tensor> outs;
  for (const ValueDesc& d : outputs)
    outs.push_back(d.known ? Tensor(d.dtype, d.physical_shape()) : Tensor());
  k.run(ins, outs);
  return outs;
}

inline std::vector<Tensor> run_fast_kernel(FastKernel& fk, const std::vector<Tensor>& in) {
  return run_kernel(*fk.kernel, in, fk.outputs);
}

inline void expect_same_values(const Tensor& got, const Tensor& want, double tol,
                               const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  for (int64_t i = 0; i < want.numel(); ++i) {
    double g = got.at_f64(i), w = want.at_f64(i);
    ASSERT_NEAR(g, w, tol * (1.0 + std::abs(w))) << what << " element " << i;
  }
}

}  // namespace nnaccel::testing
