// Legacy upgrade rules: ops that were removed or replaced, rewritten into canonical ops
// (Upsample and Resize-10 -> Resize, Scatter -> ScatterElements, Scan-8 -> Loop over Scan-9,
// and the experimental ops of early opsets as small decompositions).
#include <algorithm>
#include <limits>

#include "core/cast.hpp"
#include "core/check.hpp"
#include "onnx/upgrade_rewriter.hpp"

namespace nnaccel::upgrade {

namespace {

// Resize with the coordinate mapping of Upsample and Resize-10: x_in = x_out / scale
// ("asymmetric"), nearest rounding down.
void emit_legacy_resize(Node& n, Rewriter& rw, const std::string& scales) {
  std::string mode = n.attr_string("mode", "nearest");
  if (mode == "bilinear") mode = "linear";
  if (mode != "nearest" && mode != "linear")
    fail("{}: mode '{}' is not supported (nearest or linear)", n.describe(), mode);
  Node r;
  r.op_type = "Resize";
  r.name = n.name;
  r.inputs = {n.inputs[0], "", scales};
  r.outputs = n.outputs;
  r.attrs = {Attribute::of_string("mode", mode),
             Attribute::of_string("coordinate_transformation_mode", "asymmetric")};
  if (mode == "nearest") r.attrs.push_back(Attribute::of_string("nearest_mode", "floor"));
  rw.emit(std::move(r));
}

// Upsample-1 (height_scale, width_scale of NCHW), -7 (scales attribute), -9/10 (scales input).
void upsample_rule(Node n, Rewriter& rw) {
  const std::string base = base_name(n);
  if (n.has_attr("height_scale") || n.has_attr("width_scale")) {
    expect_inputs(n, 1, 1);
    float h = n.attr_float("height_scale", 1), w = n.attr_float("width_scale", 1);
    emit_legacy_resize(n, rw, rw.constant(base + "_scales", Tensor::from_f32({4}, {1, 1, h, w})));
  } else if (n.has_attr("scales")) {
    expect_inputs(n, 1, 1);
    std::vector<float> s = n.attr_floats("scales");
    Tensor t(DType::f32, {static_cast<int64_t>(s.size())});
    std::copy(s.begin(), s.end(), t.data<float>());  // s may be empty
    emit_legacy_resize(n, rw, rw.constant(base + "_scales", t));
  } else {
    expect_inputs(n, 2, 2);
    emit_legacy_resize(n, rw, n.inputs[1]);
  }
}

// Resize-10: (X, scales) with Upsample's coordinate mapping.
void resize10_rule(Node n, Rewriter& rw) {
  expect_inputs(n, 2, 2);
  emit_legacy_resize(n, rw, n.inputs[1]);
}

// Scatter-9/11 is ScatterElements under its old name.
void scatter_rule(Node n, Rewriter& rw) {
  n.op_type = "ScatterElements";
  rw.emit(std::move(n));
}

// Scan-8 had a leading batch axis on every state and scan input and output, and an optional
// sequence_lens first input. Rewritten as Loop over the batch whose body gathers one batch entry
// and runs Scan-9 on it; the Loop's scan outputs stack the per-entry results back along axis 0.
void scan8_rule(Node n, Rewriter& rw) {
  if (n.inputs.size() < 2) fail("{}: expects at least 2 inputs", n.describe());
  if (!n.inputs[0].empty()) fail("{}: Scan-8 with sequence_lens is not supported", n.describe());
  const Attribute* body = n.attr("body");
  if (body == nullptr || !body->g) fail("{}: attribute 'body' is required", n.describe());
  const std::string base = base_name(n);
  std::vector<std::string> data(n.inputs.begin() + 1, n.inputs.end());

  auto shape = rw.add("Shape", {data[0]}, {}, base + "_shape");
  auto batch = rw.add("Gather", {shape, rw.const_i64_scalar(base + "_zero", 0)},
                      {Attribute::of_int("axis", 0)}, base + "_batch");

  auto loop_body = std::make_shared<Graph>();
  loop_body->name = base + "_batch_body";
  std::string iter = rw.fresh(base + "_b");
  std::string cond_in = rw.fresh(base + "_cond_in");
  std::string cond_out = rw.fresh(base + "_cond_out");
  loop_body->inputs = {ValueInfo{iter, TypeInfo::of(DType::i64, {}), ""},
                       ValueInfo{cond_in, TypeInfo::of(DType::boolean, {}), ""}};
  Node id;
  id.op_type = "Identity";
  id.name = cond_out;
  id.inputs = {cond_in};
  id.outputs = {cond_out};
  loop_body->nodes.push_back(id);
  Node scan;
  scan.op_type = "Scan";
  scan.name = n.name;
  for (const std::string& d : data) {
    std::string slice = rw.fresh(d + "_entry");
    Node g;
    g.op_type = "Gather";
    g.name = slice;
    g.inputs = {d, iter};
    g.outputs = {slice};
    g.attrs = {Attribute::of_int("axis", 0)};
    loop_body->nodes.push_back(g);
    scan.inputs.push_back(slice);
  }
  for (const Attribute& a : n.attrs) {
    if (a.name == "directions") {
      Attribute d = a;
      d.name = "scan_input_directions";
      scan.attrs.push_back(d);
    } else {
      scan.attrs.push_back(a);
    }
  }
  loop_body->outputs.push_back(ValueInfo{cond_out, TypeInfo::of(DType::boolean, {}), ""});
  for (size_t i = 0; i < n.outputs.size(); ++i) {
    std::string o = rw.fresh((n.outputs[i].empty() ? base : n.outputs[i]) + "_entry");
    scan.outputs.push_back(o);
    ValueInfo vi{o, {}, ""};
    if (i < body->g->outputs.size()) {
      vi.type.dtype = body->g->outputs[i].type.dtype;  // dims differ: no batch axis
    }
    loop_body->outputs.push_back(vi);
  }
  loop_body->nodes.push_back(std::move(scan));

  Node loop;
  loop.op_type = "Loop";
  loop.name = n.name.empty() ? base + "_loop" : n.name + "_loop";
  loop.inputs = {batch, ""};
  loop.outputs = n.outputs;
  loop.attrs = {Attribute::of_graph("body", loop_body)};
  rw.emit(std::move(loop));
}

// --- experimental ops of opsets 1-9, removed in opset 10 ---

// ImageScaler: y = scale * x + bias[c] for NCHW x.
void image_scaler_rule(Node n, Rewriter& rw) {
  expect_inputs(n, 1, 1);
  const std::string base = base_name(n), x = n.inputs[0];
  float scale = n.attr_float("scale", 1.0f);
  std::vector<float> bias = n.attr_floats("bias");
  std::string scaled =
      rw.add("Mul", {x, rw.constant_like(base + "_scale", {scale}, {}, x)}, {}, base + "_scaled");
  std::vector<double> b(bias.begin(), bias.end());
  std::string bias_c =
      rw.constant_like(base + "_bias", b, {static_cast<int64_t>(b.size()), 1, 1}, x);
  rw.add_named("Add", {scaled, bias_c}, n.outputs, {}, n.name);
}

// Scale: y = scale * x.
void scale_rule(Node n, Rewriter& rw) {
  expect_inputs(n, 1, 1);
  const std::string base = base_name(n), x = n.inputs[0];
  std::string s = rw.constant_like(base + "_scale", {n.attr_float("scale", 1.0f)}, {}, x);
  rw.add_named("Mul", {x, s}, n.outputs, {}, n.name);
}

// Affine: y = alpha * x + beta.
void affine_rule(Node n, Rewriter& rw) {
  expect_inputs(n, 1, 1);
  const std::string base = base_name(n), x = n.inputs[0];
  std::string a = rw.constant_like(base + "_alpha", {n.attr_float("alpha", 1.0f)}, {}, x);
  std::string b = rw.constant_like(base + "_beta", {n.attr_float("beta", 0.0f)}, {}, x);
  rw.add_named("Add", {rw.add("Mul", {x, a}, {}, base + "_scaled"), b}, n.outputs, {}, n.name);
}

// ScaledTanh: y = alpha * tanh(beta * x); ParametricSoftplus: y = alpha * softplus(beta * x).
void scaled_activation_rule(Node n, Rewriter& rw) {
  expect_inputs(n, 1, 1);
  const std::string base = base_name(n), x = n.inputs[0];
  const char* act = n.op_type == "ScaledTanh" ? "Tanh" : "Softplus";
  std::string a = rw.constant_like(base + "_alpha", {n.attr_float("alpha", 1.0f)}, {}, x);
  std::string b = rw.constant_like(base + "_beta", {n.attr_float("beta", 1.0f)}, {}, x);
  std::string inner = rw.add("Mul", {x, b}, {}, base + "_scaled_in");
  std::string y = rw.add(act, {inner}, {}, base + "_act");
  rw.add_named("Mul", {y, a}, n.outputs, {}, n.name);
}

// Crop: NCHW crop by border = [left, top, right, bottom], or to scale = [height, width] from the
// top-left border.
void crop_rule(Node n, Rewriter& rw) {
  expect_inputs(n, 1, 1);
  std::vector<int64_t> border = n.attr_ints("border");
  if (border.size() != 4) fail("{}: 'border' needs 4 values, has {}", n.describe(), border.size());
  for (int64_t b : border)
    if (b < 0) fail("{}: 'border' values must be non-negative", n.describe());
  std::vector<int64_t> scale = n.attr_ints("scale");
  const int64_t left = border[0], top = border[1], right = border[2], bottom = border[3];
  std::vector<int64_t> ends;
  if (!scale.empty()) {
    if (scale.size() != 2) fail("{}: 'scale' needs 2 values, has {}", n.describe(), scale.size());
    for (int64_t v : scale)
      if (v < 0 || v > (int64_t{1} << 40)) fail("{}: 'scale' values out of range", n.describe());
    for (int64_t v : border)
      if (v > (int64_t{1} << 40)) fail("{}: 'border' values out of range", n.describe());
    ends = {top + scale[0], left + scale[1]};
  } else {
    const int64_t kEnd = std::numeric_limits<int64_t>::max();
    ends = {bottom ? -bottom : kEnd, right ? -right : kEnd};
  }
  const std::string base = base_name(n);
  rw.add_named("Slice",
               {n.inputs[0], rw.const_i64(base + "_starts", {top, left}),
                rw.const_i64(base + "_ends", ends), rw.const_i64(base + "_axes", {2, 3})},
               n.outputs, {}, n.name);
}

// DynamicSlice: Slice-10 with the same inputs.
void dynamic_slice_rule(Node n, Rewriter& rw) {
  expect_inputs(n, 3, 4);
  n.op_type = "Slice";
  rw.emit(std::move(n));
}

// ConstantFill: a tensor of `value` shaped by the input (input_as_shape=1: its values, else its
// shape) followed by extra_shape, or by the `shape` attribute when there is no input.
void constant_fill_rule(Node n, Rewriter& rw) {
  expect_inputs(n, 0, 1);
  const std::string base = base_name(n);
  DType dt = static_cast<DType>(n.attr_int("dtype", static_cast<int64_t>(DType::f32)));
  if (!dtype_is_known(static_cast<int32_t>(dt)) || dt == DType::undefined || dt == DType::string)
    fail("{}: unsupported dtype {}", n.describe(), static_cast<int>(dt));
  Tensor value(DType::f64, {1});
  value.data<double>()[0] = n.attr_float("value", 0.0f);
  Attribute v;
  v.name = "value";
  v.kind = Attribute::Kind::t;
  v.t = cast_tensor(value, dt);  // ConstantOfShape takes its element type from `value`
  std::string shape;
  std::vector<int64_t> extra = n.attr_ints("extra_shape");
  if (n.inputs.empty() || n.inputs[0].empty()) {
    std::vector<int64_t> s = n.attr_ints("shape");
    s.insert(s.end(), extra.begin(), extra.end());
    shape = rw.const_i64(base + "_shape", s);
  } else {
    if (n.attr_int("input_as_shape", 0) != 0) {
      shape = rw.add("Cast", {n.inputs[0]}, {Attribute::of_int("to", static_cast<int64_t>(DType::i64))},
                     base + "_shape");
    } else {
      shape = rw.add("Shape", {n.inputs[0]}, {}, base + "_shape");
    }
    if (!extra.empty())
      shape = rw.add("Concat", {shape, rw.const_i64(base + "_extra_shape", extra)},
                     {Attribute::of_int("axis", 0)}, base + "_full_shape");
  }
  rw.add_named("ConstantOfShape", {shape}, n.outputs, {v}, n.name);
}

// MeanVarianceNormalization-1 (experimental): per sample, over H and W (and C when
// across_channels); normalize_variance=0 only subtracts the mean.
void mvn1_rule(Node n, Rewriter& rw) {
  expect_inputs(n, 1, 1);
  std::vector<int64_t> axes =
      n.attr_int("across_channels", 0) ? std::vector<int64_t>{1, 2, 3} : std::vector<int64_t>{2, 3};
  if (n.attr_int("normalize_variance", 1) != 0) {
    Node m;
    m.op_type = "MeanVarianceNormalization";
    m.name = n.name;
    m.inputs = n.inputs;
    m.outputs = n.outputs;
    m.attrs = {Attribute::of_ints("axes", axes)};
    rw.emit(std::move(m));
    return;
  }
  const std::string base = base_name(n);
  std::string mean = rw.add("ReduceMean", {n.inputs[0]}, {Attribute::of_ints("axes", axes)}, base + "_mean");
  rw.add_named("Sub", {n.inputs[0], mean}, n.outputs, {}, n.name);
}

constexpr int64_t kAlways = kCanonicalOpset + 1;

}  // namespace

const std::vector<RuleEntry>& replaced_op_rules() {
  static const std::vector<RuleEntry> rules = {
      {"Upsample", kAlways, upsample_rule},
      {"Resize", 11, resize10_rule},
      {"Scatter", kAlways, scatter_rule},
      {"Scan", 9, scan8_rule},
      {"ImageScaler", kAlways, image_scaler_rule},
      {"Scale", kAlways, scale_rule},
      {"Affine", kAlways, affine_rule},
      {"ScaledTanh", kAlways, scaled_activation_rule},
      {"ParametricSoftplus", kAlways, scaled_activation_rule},
      {"Crop", kAlways, crop_rule},
      {"DynamicSlice", kAlways, dynamic_slice_rule},
      {"ConstantFill", kAlways, constant_fill_rule},
      {"MeanVarianceNormalization", 9, mvn1_rule},
  };
  return rules;
}

}  // namespace nnaccel::upgrade
