// Legacy upgrade rules: ops whose semantics or attributes changed in place (legacy broadcasting,
// Softmax's 2-D coercion, BatchNormalization's test/spatial flags, Cast's string type, ...).
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "core/check.hpp"
#include "onnx/upgrade_rewriter.hpp"

namespace nnaccel::upgrade {

namespace {

// Add/Sub/Mul/Div/Pow/And/Or/Xor/Equal/Greater/Less before opset 7: with broadcast=1, B's dims
// line up with A's starting at `axis` (default: A's trailing dims, which is numpy's rule too).
// Numpy broadcasting gives the same result once B carries trailing 1s.
void legacy_broadcast_rule(Node n, Rewriter& rw) {
  expect_inputs(n, 2, 2);
  int64_t broadcast = n.attr_int("broadcast", 0);
  const Attribute* axis_attr = n.attr("axis");
  bool has_axis = axis_attr != nullptr;
  int64_t axis = n.attr_int("axis", 0);
  n.erase_attr("broadcast");
  n.erase_attr("axis");
  if (broadcast != 0 && has_axis)
    n.inputs[1] = rw.align_at_axis(n.inputs[1], axis, n.inputs[0], base_name(n) + "_b", n);
  rw.emit(std::move(n));
}

// Gemm-1/6: C was broadcast to (M, N) when broadcast=1; unidirectional numpy broadcasting (the
// canonical rule) accepts the same shapes.
void gemm_rule(Node n, Rewriter& rw) {
  n.erase_attr("broadcast");
  rw.emit(std::move(n));
}

// PRelu-1/6: the slope is one value or one per channel (axis 1). Numpy broadcasting aligns a
// rank-1 slope with the last axis instead, so give it trailing 1s.
void prelu_rule(Node n, Rewriter& rw) {
  expect_inputs(n, 2, 2);
  const std::string& slope = n.inputs[1];
  const Tensor* c = rw.value(slope);
  bool single = c != nullptr && c->numel() == 1;
  if (!single && rw.rank(slope) == 1) {
    int64_t rx = rw.rank(n.inputs[0]);
    if (rx < 0 || rx > 2)
      n.inputs[1] = rw.align_at_axis(slope, 1, n.inputs[0], base_name(n) + "_slope", n);
  }
  rw.emit(std::move(n));
}

// Softmax/LogSoftmax/Hardmax before opset 13 coerce the input to 2-D at `axis` (default 1) and
// normalize each row. When axis is the last one that is the canonical single-axis op; otherwise
// Flatten(axis) -> op(axis=-1) -> Reshape to the input's shape.
void softmax_rule(Node n, Rewriter& rw) {
  expect_inputs(n, 1, 1);
  if (n.outputs.size() != 1 || n.outputs[0].empty()) fail("{}: expects one output", n.describe());
  int64_t axis = n.attr_int("axis", 1);
  const std::string x = n.inputs[0];
  int64_t r = rw.rank(x);
  if (r >= 0) {
    if (axis < -r || axis > r || (r > 0 && axis == r))
      fail("{}: axis {} is out of range for rank {}", n.describe(), axis, r);
    int64_t ax = axis < 0 ? axis + r : axis;
    if (ax == r - 1 || r == 0) {
      n.set_attr(Attribute::of_int("axis", -1));
      rw.emit(std::move(n));
      return;
    }
  }
  const std::string base = base_name(n);
  std::string flat = rw.add("Flatten", {x}, {Attribute::of_int("axis", axis)}, base + "_2d");
  std::string shape = rw.add("Shape", {x}, {}, base + "_shape");
  std::string out = n.outputs[0];
  n.inputs = {flat};
  n.outputs = {rw.fresh(out + "_2d_out")};
  n.set_attr(Attribute::of_int("axis", -1));
  std::string row = n.outputs[0];
  std::string name = n.name;
  rw.emit(std::move(n));
  rw.add_named("Reshape", {row, shape}, {out}, {}, name + "_reshape");
}

// BatchNormalization before opset 14: `is_test` (< 7), `spatial` (< 9) and the training outputs
// (mean, var, saved_mean, saved_var), which became training_mode=1 with running mean and var.
void batchnorm_rule(Node n, Rewriter& rw) {
  expect_inputs(n, 5, 5);
  int64_t is_test = n.attr_int("is_test", 0);
  int64_t spatial = n.attr_int("spatial", 1);
  n.erase_attr("is_test");
  n.erase_attr("spatial");
  bool training = false;
  for (size_t i = 1; i < n.outputs.size(); ++i)
    if (!n.outputs[i].empty()) {
      if (i >= 3)
        fail(
            "{}: the saved_mean/saved_var outputs of training-mode BatchNormalization are not "
            "supported",
            n.describe());
      if (is_test != 0 && rw.opset() < 7)
        fail("{}: is_test=1 but the training outputs are used", n.describe());
      training = true;
    }
  if (n.outputs.size() > 3) n.outputs.resize(3);
  while (n.outputs.size() > 1 && n.outputs.back().empty()) n.outputs.pop_back();
  if (training) n.set_attr(Attribute::of_int("training_mode", 1));

  // spatial=0: scale/B/mean/var hold one value per (C, D1, ..., Dn) element. With rank-1
  // statistics that is the spatial form; otherwise compute it elementwise (numpy broadcasting
  // lines up (C, D1..Dn) with (N, C, D1..Dn)).
  if (spatial == 0 && rw.rank(n.inputs[1]) != 1) {
    if (training) fail("{}: spatial=0 in training mode is not supported", n.describe());
    const std::string base = base_name(n);
    const std::string &x = n.inputs[0], &scale = n.inputs[1], &b = n.inputs[2];
    const std::string &mean = n.inputs[3], &var = n.inputs[4];
    std::string eps =
        rw.constant_like(base + "_epsilon", {n.attr_float("epsilon", 1e-5f)}, {}, var);
    std::string std_dev =
        rw.add("Sqrt", {rw.add("Add", {var, eps}, {}, base + "_var_eps")}, {}, base + "_std");
    std::string centered = rw.add("Sub", {x, mean}, {}, base + "_centered");
    std::string normed = rw.add("Div", {centered, std_dev}, {}, base + "_normalized");
    std::string scaled = rw.add("Mul", {normed, scale}, {}, base + "_scaled");
    rw.add_named("Add", {scaled, b}, {n.outputs[0]}, {}, n.name);
    return;
  }
  rw.emit(std::move(n));
}

// Cast-1: `to` was the type's name ("FLOAT") rather than its TensorProto enum value.
void cast_rule(Node n, Rewriter& rw) {
  const Attribute* to = n.attr("to");
  if (to != nullptr && to->kind == Attribute::Kind::s) {
    std::string name = to->s;
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    onnx::TensorProto_DataType dt;
    if (!onnx::TensorProto_DataType_Parse(name, &dt) || dt == onnx::TensorProto::UNDEFINED)
      fail("{}: unknown type name '{}' in attribute 'to'", n.describe(), to->s);
    n.set_attr(Attribute::of_int("to", static_cast<int64_t>(dt)));
  }
  rw.emit(std::move(n));
}

// Concat-1: axis was optional, default 1.
void concat_rule(Node n, Rewriter& rw) {
  if (!n.has_attr("axis")) n.set_attr(Attribute::of_int("axis", 1));
  rw.emit(std::move(n));
}

// LpPool-1 / GlobalLpPool-1: p was a float.
void lppool_rule(Node n, Rewriter& rw) {
  const Attribute* p = n.attr("p");
  if (p != nullptr && p->kind == Attribute::Kind::f) {
    float v = p->f;
    if (!(v >= 1 && v <= 1e6f) || v != std::floor(v))
      fail("{}: p = {} is not an integer", n.describe(), v);
    n.set_attr(Attribute::of_int("p", static_cast<int64_t>(v)));
  }
  rw.emit(std::move(n));
}

// RoiAlign-10 had no coordinate_transformation_mode; its behaviour is "output_half_pixel",
// while the canonical default is "half_pixel".
void roialign_rule(Node n, Rewriter& rw) {
  if (!n.has_attr("coordinate_transformation_mode"))
    n.set_attr(Attribute::of_string("coordinate_transformation_mode", "output_half_pixel"));
  rw.emit(std::move(n));
}

// Selu-1 had slightly different defaults.
void selu_rule(Node n, Rewriter& rw) {
  if (!n.has_attr("alpha")) n.set_attr(Attribute::of_float("alpha", 1.6732f));
  if (!n.has_attr("gamma")) n.set_attr(Attribute::of_float("gamma", 1.0507f));
  rw.emit(std::move(n));
}

// RNN/GRU/LSTM-1: `output_sequence` (Y is simply optional now); GRU-1 spelled its default
// direction "foward".
void rnn_rule(Node n, Rewriter& rw) {
  n.erase_attr("output_sequence");
  if (n.op_type == "GRU" && n.attr_string("direction", "forward") == "foward")
    n.set_attr(Attribute::of_string("direction", "forward"));
  rw.emit(std::move(n));
}

}  // namespace

const std::vector<RuleEntry>& semantic_rules() {
  static const std::vector<RuleEntry> rules = {
      {"Add", 7, legacy_broadcast_rule},
      {"Sub", 7, legacy_broadcast_rule},
      {"Mul", 7, legacy_broadcast_rule},
      {"Div", 7, legacy_broadcast_rule},
      {"Pow", 7, legacy_broadcast_rule},
      {"And", 7, legacy_broadcast_rule},
      {"Or", 7, legacy_broadcast_rule},
      {"Xor", 7, legacy_broadcast_rule},
      {"Equal", 7, legacy_broadcast_rule},
      {"Greater", 7, legacy_broadcast_rule},
      {"Less", 7, legacy_broadcast_rule},
      {"Gemm", 7, gemm_rule},
      {"PRelu", 7, prelu_rule},
      {"Softmax", 13, softmax_rule},
      {"LogSoftmax", 13, softmax_rule},
      {"Hardmax", 13, softmax_rule},
      {"BatchNormalization", 14, batchnorm_rule},
      {"Cast", 6, cast_rule},
      {"Concat", 4, concat_rule},
      {"LpPool", 2, lppool_rule},
      {"GlobalLpPool", 2, lppool_rule},
      {"RoiAlign", 16, roialign_rule},
      {"Selu", 6, selu_rule},
      {"RNN", 7, rnn_rule},
      {"GRU", 7, rnn_rule},
      {"LSTM", 7, rnn_rule},
  };
  return rules;
}

}  // namespace nnaccel::upgrade
