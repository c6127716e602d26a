#pragma once
// Running a oneDNN kernel the way the compiler does (KernelRequest, physical layouts) and
// comparing it with the reference kernel.
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/dnnl/dnnl_common.hpp"
#include "kernels/dnnl/dnnl_layout.hpp"
#include "kernels/kernel.hpp"
#include "ops/op_test_util.hpp"

namespace nnaccel::testing {

struct DnnlCase {
  Node node;
  std::vector<Tensor> inputs;     // plain; undefined for absent optional inputs
  std::vector<bool> constant;     // per input: offered as an initializer
  std::vector<int64_t> in_block;  // per input: 0 plain, else the layout it arrives in
  // A MaxPool (a dnnl kernel, takes blocked values) reads the output; else it is a graph output.
  bool output_feeds_blocked_reader = false;
  Precision precision = Precision::fp32;
};

struct DnnlRun {
  std::unique_ptr<Kernel> kernel;  // null when the factory declined
  ValueDesc out;                   // the layout the kernel chose
  Tensor plain;                    // its output, converted to plain
  bool padding_zero = true;        // blocked output: the padding channels hold zeros
};

inline DnnlRun run_dnnl(DnnlCase c, const Shape& out_shape) {
  Graph g;
  const size_t n_in = c.inputs.size();
  c.constant.resize(n_in, false);
  c.in_block.resize(n_in, 0);
  for (size_t i = 0; i < n_in; ++i) {
    if (!c.inputs[i].defined()) c.node.inputs[i] = "";
    if (c.constant[i]) g.initializers[c.node.inputs[i]] = c.inputs[i];
  }
  g.nodes.push_back(c.node);
  if (c.output_feeds_blocked_reader) {
    Node pool = make_node("MaxPool", 1, 1, {Attribute::of_ints("kernel_shape", {1, 1})});
    pool.inputs = {c.node.outputs[0]};
    pool.outputs = {"pool_out"};
    g.nodes.push_back(pool);
    g.outputs.push_back(ValueInfo{"pool_out", TypeInfo::of(DType::f32, out_shape), ""});
  } else {
    g.outputs.push_back(ValueInfo{c.node.outputs[0], TypeInfo::of(DType::f32, out_shape), ""});
  }
  std::vector<ValueDesc> in_descs(n_in);
  std::vector<const ValueDesc*> in_ptrs;
  std::vector<const Tensor*> consts;
  for (size_t i = 0; i < n_in; ++i) {
    const Tensor& t = c.inputs[i];
    in_descs[i] = ValueDesc{t.dtype(), t.shape(), true, c.in_block[i]};
    in_ptrs.push_back(t.defined() ? &in_descs[i] : nullptr);
    consts.push_back(t.defined() && c.constant[i] ? &t : nullptr);
  }
  CompileOptions options;
  options.precision = c.precision;
  KernelRequest req{g.nodes[0], g, in_ptrs, consts, {ValueDesc{DType::f32, out_shape}}, options};
  DnnlRun run;
  for (const KernelEntry* e : KernelRegistry::instance().find(c.node.domain, c.node.op_type))
    if (e->variant == "dnnl") run.kernel = e->make(req);
  if (run.kernel == nullptr) return run;
  run.out = req.outputs[0];
  std::vector<Tensor> physical(n_in);
  std::vector<const Tensor*> ins;
  for (size_t i = 0; i < n_in; ++i) {
    if (!c.inputs[i].defined()) {
      ins.push_back(nullptr);
      continue;
    }
    physical[i] = c.in_block[i] == 0
                      ? c.inputs[i]
                      : dnnl_kernels::reorder_plain_to_blocked(c.inputs[i], c.in_block[i]);
    ins.push_back(&physical[i]);
  }
  std::vector<Tensor> outs = {Tensor(DType::f32, run.out.physical_shape())};
  // Garbage in the output: the kernel must write every element, padding included.
  for (int64_t i = 0; i < outs[0].numel(); ++i) outs[0].data<float>()[i] = 12345.0f;
  run.kernel->run(ins, outs);
  if (run.out.plain()) {
    run.plain = outs[0];
  } else {
    run.plain = dnnl_kernels::reorder_blocked_to_plain(outs[0], out_shape, run.out.block);
    const int64_t b = run.out.block, ch = out_shape[1];
    const float* p = outs[0].data<float>();
    for (int64_t i = 0; i < outs[0].numel(); ++i) {
      const int64_t inner = i % b;
      const int64_t cb =
          (i / b / shape_numel(Shape(out_shape.begin() + 2, out_shape.end()))) % ((ch + b - 1) / b);
      if (cb * b + inner >= ch && p[i] != 0.0f) run.padding_zero = false;
    }
  }
  return run;
}

inline double relative_l2(const Tensor& got, const Tensor& want) {
  EXPECT_EQ(shape_str(got.shape()), shape_str(want.shape()));
  double num = 0, den = 0;
  for (int64_t i = 0; i < want.numel() && i < got.numel(); ++i) {
    double d = double(got.data<float>()[i]) - double(want.data<float>()[i]);
    num += d * d;
    den += double(want.data<float>()[i]) * want.data<float>()[i];
  }
  return std::sqrt(num / (den > 0 ? den : 1e-30));
}

inline std::vector<Attribute> with_activation(std::vector<Attribute> attrs, const std::string& act,
                                              std::vector<float> params) {
  attrs.push_back(Attribute::of_string("activation", act));
  attrs.push_back(Attribute::of_floats("activation_params", std::move(params)));
  return attrs;
}

// Every activation of fused_activation.hpp, with parameters.
inline std::vector<std::pair<std::string, std::vector<float>>> all_activations() {
  return {
      {"", {}},          {"Relu", {}},    {"Clip", {-0.3f, 0.4f}}, {"HardSigmoid", {0.3f, 0.6f}},
      {"HardSwish", {}}, {"Sigmoid", {}}, {"LeakyRelu", {0.1f}},   {"Gelu", {}},
      {"GeluTanh", {}},  {"Tanh", {}}};
}

}  // namespace nnaccel::testing
