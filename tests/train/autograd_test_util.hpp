#pragma once
// Finite-difference checks of gradient rules: one node under test whose float outputs are
// reduced to a scalar loss = sum_o sum(out_o * R_o) with random fixed R_o, all in f64; the
// analytic gradients Autograd returns are compared with central differences.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

#include "core/cast.hpp"
#include "nnaccel/error.hpp"
#include "ops/op_test_util.hpp"
#include "train/autograd/autograd.hpp"

namespace nnaccel::testing {

inline Attribute attr_i(const std::string& n, int64_t v) { return Attribute::of_int(n, v); }
inline Attribute attr_f(const std::string& n, float v) { return Attribute::of_float(n, v); }
inline Attribute attr_s(const std::string& n, std::string v) {
  return Attribute::of_string(n, std::move(v));
}
inline Attribute attr_is(const std::string& n, std::vector<int64_t> v) {
  return Attribute::of_ints(n, std::move(v));
}

// Largest |a - ref| relative to the largest |ref| (a of any float type).
inline double relative_error(const Tensor& a, const Tensor& ref) {
  EXPECT_EQ(a.shape(), ref.shape());
  double scale = 0, err = 0;
  for (int64_t i = 0; i < ref.numel(); ++i) scale = std::max(scale, std::fabs(ref.at_f64(i)));
  for (int64_t i = 0; i < ref.numel(); ++i)
    err = std::max(err, std::fabs(a.at_f64(i) - ref.at_f64(i)));
  return scale > 0 ? err / scale : err;
}

struct GradCheckOptions {
  std::set<size_t> wrt;            // inputs to differentiate
  std::vector<size_t> outputs{0};  // outputs that feed the loss
  double rel_tol = 1e-6;
  double abs_tol = 1e-8;
  double step = 1e-6;
  int max_elements = 120;  // elements checked per input (a random subset above)
};

// Builds `op` with `inputs` (undefined = omitted), runs Autograd and compares every wanted
// gradient with central differences. Returns the analytic gradients by input index.
inline std::map<size_t, Tensor> check_gradients(const std::string& op,
                                                const std::vector<Tensor>& inputs,
                                                std::vector<Attribute> attrs,
                                                const GradCheckOptions& opt, int num_outputs = 1,
                                                const std::string& domain = "") {
  Graph g;
  Node n;
  n.op_type = op;
  n.domain = domain;
  n.name = "under_test";
  n.attrs = std::move(attrs);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string name = inputs[i].defined() ? "in" + std::to_string(i) : "";
    n.inputs.push_back(name);
    if (inputs[i].defined()) g.initializers[name] = inputs[i].clone();
  }
  for (int o = 0; o < num_outputs; ++o) n.outputs.push_back("out" + std::to_string(o));
  g.nodes.push_back(n);
  std::string loss;
  for (size_t o : opt.outputs) {
    const std::string out = "out" + std::to_string(o), w = "w" + std::to_string(o);
    Node mul;
    mul.op_type = "Mul";
    mul.name = "weight" + std::to_string(o);
    mul.inputs = {out, w};
    mul.outputs = {out + "_w"};
    Node sum;
    sum.op_type = "ReduceSum";
    sum.name = "sum" + std::to_string(o);
    sum.inputs = {out + "_w"};
    sum.outputs = {out + "_s"};
    sum.attrs = {Attribute::of_int("keepdims", 0)};
    g.nodes.push_back(mul);
    g.nodes.push_back(sum);
    if (loss.empty()) {
      loss = out + "_s";
    } else {
      Node add;
      add.op_type = "Add";
      add.name = "acc" + std::to_string(o);
      add.inputs = {loss, out + "_s"};
      add.outputs = {loss + "+"};
      loss = add.outputs[0];
      g.nodes.push_back(add);
    }
  }
  std::vector<std::string> params;
  for (size_t k : opt.wrt) params.push_back("in" + std::to_string(k));
  // The weights need the outputs' shapes: one plain forward first.
  Graph shapes_graph = g;
  shapes_graph.nodes.resize(1);
  Autograd shape_run(shapes_graph, {}, "out0");
  shape_run.forward({});
  for (size_t o : opt.outputs) {
    const Tensor& y = shape_run.value("out" + std::to_string(o));
    g.initializers["w" + std::to_string(o)] =
        random_f64(y.shape(), 1000 + static_cast<uint32_t>(o), 0.5, 1.5);
  }
  Autograd ag(g, params, loss);
  ag.forward({});
  std::map<std::string, Tensor> grads = ag.backward();
  std::map<size_t, Tensor> result;
  std::mt19937 rng(7);
  for (size_t k : opt.wrt) {
    const std::string name = "in" + std::to_string(k);
    const Tensor& analytic = grads.at(name);
    EXPECT_EQ(analytic.shape(), inputs[k].shape()) << op << " input " << k;
    result[k] = analytic;
    Tensor& x = g.initializers.at(name);
    std::vector<int64_t> elems;
    for (int64_t e = 0; e < x.numel(); ++e) elems.push_back(e);
    if (static_cast<int64_t>(elems.size()) > opt.max_elements) {
      std::shuffle(elems.begin(), elems.end(), rng);
      elems.resize(static_cast<size_t>(opt.max_elements));
    }
    for (int64_t e : elems) {
      double* p = x.data<double>() + e;
      const double orig = *p;
      const double h = opt.step * std::max(1.0, std::fabs(orig));
      *p = orig + h;
      ag.forward({});
      const double up = ag.value(loss).at_f64(0);
      *p = orig - h;
      ag.forward({});
      const double down = ag.value(loss).at_f64(0);
      *p = orig;
      const double numeric = (up - down) / (2 * h);
      const double a = analytic.at_f64(e);
      const double tol = opt.abs_tol + opt.rel_tol * std::max(std::fabs(a), std::fabs(numeric));
      EXPECT_NEAR(a, numeric, tol) << op << " d/d input " << k << " element " << e;
    }
  }
  return result;
}

// One node's output and the gradients of loss = sum(y * r) (r random, fixed) with respect to its
// defined inputs, everything cast to `dtype`; `bf16_products` runs Conv/Gemm/MatMul in bf16
// (Autograd::set_bf16_products). Used to compare the fast paths with the f64 reference.
struct NodeRun {
  Tensor y;
  std::map<std::string, Tensor> grads;
};

inline NodeRun run_node(const std::string& op, const std::vector<Tensor>& inputs,
                        std::vector<Attribute> attrs, DType dtype, bool bf16_products = false) {
  Graph g;
  Node n;
  n.op_type = op;
  n.name = "under_test";
  n.attrs = std::move(attrs);
  std::vector<std::string> params;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string name = inputs[i].defined() ? "in" + std::to_string(i) : "";
    n.inputs.push_back(name);
    if (inputs[i].defined()) {
      g.initializers[name] = cast_tensor(inputs[i], dtype);
      params.push_back(name);
    }
  }
  n.outputs = {"y"};
  g.nodes.push_back(n);
  Graph probe = g;
  Autograd shapes(probe, {}, "y");
  shapes.forward({});
  g.initializers["r"] = cast_tensor(random_f64(shapes.value("y").shape(), 99), dtype);
  Node mul;
  mul.op_type = "Mul";
  mul.name = "mul";
  mul.inputs = {"y", "r"};
  mul.outputs = {"yr"};
  Node sum;
  sum.op_type = "ReduceSum";
  sum.name = "sum";
  sum.inputs = {"yr"};
  sum.outputs = {"loss"};
  sum.attrs = {Attribute::of_int("keepdims", 0)};
  g.nodes.push_back(mul);
  g.nodes.push_back(sum);
  Autograd ag(g, params, "loss");
  ag.set_bf16_products(bf16_products);
  ag.forward({});
  NodeRun r;
  r.y = ag.value("y").clone();
  r.grads = ag.backward();
  return r;
}

// Central-difference check of every parameter of a whole graph (f64 initializers), up to
// `max_elements` random elements per parameter.
inline void check_graph_gradients(Graph& g, const std::vector<std::string>& params,
                                  const std::string& loss,
                                  const std::map<std::string, Tensor>& feeds = {},
                                  double rel_tol = 1e-6, int max_elements = 40) {
  Autograd ag(g, params, loss);
  ag.forward(feeds);
  const std::map<std::string, Tensor> grads = ag.backward();
  std::mt19937 rng(11);
  for (const std::string& name : params) {
    const Tensor& analytic = grads.at(name);
    Tensor& x = g.initializers.at(name);
    ASSERT_EQ(x.dtype(), DType::f64) << name;
    std::vector<int64_t> elems;
    for (int64_t e = 0; e < x.numel(); ++e) elems.push_back(e);
    std::shuffle(elems.begin(), elems.end(), rng);
    if (static_cast<int64_t>(elems.size()) > max_elements)
      elems.resize(static_cast<size_t>(max_elements));
    for (int64_t e : elems) {
      double* p = x.data<double>() + e;
      const double orig = *p;
      const double h = 1e-6 * std::max(1.0, std::fabs(orig));
      *p = orig + h;
      ag.forward(feeds);
      const double up = ag.value(loss).at_f64(0);
      *p = orig - h;
      ag.forward(feeds);
      const double down = ag.value(loss).at_f64(0);
      *p = orig;
      const double numeric = (up - down) / (2 * h);
      const double a = analytic.at_f64(e);
      EXPECT_NEAR(a, numeric, 1e-8 + rel_tol * std::max(std::fabs(a), std::fabs(numeric)))
          << "d loss / d " << name << "[" << e << "]";
    }
  }
}

// Appends nodes to a graph: b.op("MatMul", {"a", "w"}, {attrs}) returns the new value's name.
class GradGraphBuilder {
 public:
  explicit GradGraphBuilder(Graph& g) : g_(g) {}
  std::string op(const std::string& type, std::vector<std::string> inputs,
                 std::vector<Attribute> attrs = {}, const std::string& domain = "") {
    Node n;
    n.op_type = type;
    n.domain = domain;
    n.name = type + std::to_string(g_.nodes.size());
    n.inputs = std::move(inputs);
    n.outputs = {n.name + "_out"};
    n.attrs = std::move(attrs);
    g_.nodes.push_back(n);
    return n.outputs[0];
  }
  std::string init(const std::string& name, Tensor t) {
    g_.initializers[name] = std::move(t);
    return name;
  }

 private:
  Graph& g_;
};

}  // namespace nnaccel::testing
