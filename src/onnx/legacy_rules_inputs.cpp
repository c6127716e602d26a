// Legacy upgrade rules: attributes that later opsets turned into inputs (axes, split sizes, slice
// bounds, pads, clip bounds, k, shapes, repeats, dropout ratio).
#include <cmath>
#include <limits>

#include "core/check.hpp"
#include "onnx/upgrade_rewriter.hpp"

namespace nnaccel::upgrade {

namespace {

// Some exporters label files with an old opset but write an op's newer input form: a node that
// already has inputs beyond the first and none of the legacy attributes is left as it is.
bool already_canonical(const Node& n, std::initializer_list<const char*> legacy_attrs) {
  if (n.inputs.size() < 2) return false;
  for (const char* a : legacy_attrs)
    if (n.has_attr(a)) return false;
  return true;
}

// Moves the INTS attribute `attr` into input slot `slot` as an int64 initializer.
void ints_attr_to_input(Node& n, Rewriter& rw, const std::string& attr, size_t slot) {
  std::vector<int64_t> v = n.attr_ints(attr);
  n.erase_attr(attr);
  if (n.inputs.size() <= slot) n.inputs.resize(slot + 1);
  n.inputs[slot] = rw.const_i64(base_name(n) + "_" + attr, v);
}

// Squeeze-1/11, Unsqueeze-1/11, ReduceSum-1/11: `axes` attribute -> input 1.
void axes_to_input(Node n, Rewriter& rw) {
  if (already_canonical(n, {"axes"})) return rw.emit(std::move(n));
  expect_inputs(n, 1, 1);
  const Attribute* a = n.attr("axes");
  bool required = n.op_type == "Unsqueeze";
  if (a == nullptr) {
    if (required) fail("{}: attribute 'axes' is required", n.describe());
  } else if (a->kind == Attribute::Kind::ints && a->ints.empty() && !required) {
    n.erase_attr("axes");  // empty axes meant "all", as does an omitted axes input
  } else {
    ints_attr_to_input(n, rw, "axes", 1);
  }
  rw.emit(std::move(n));
}

// Split-1/2/11: `split` attribute (or, in Split-1, a float second input) -> int64 input 1.
void split_rule(Node n, Rewriter& rw) {
  expect_inputs(n, 1, 2);
  if (!n.has_attr("axis")) n.set_attr(Attribute::of_int("axis", 0));
  if (n.has_attr("split")) {
    n.inputs.resize(1);
    ints_attr_to_input(n, rw, "split", 1);
  } else if (rw.opset() < 2 && n.inputs.size() == 2 && !n.inputs[1].empty()) {
    // Split-1 took the sizes as a tensor of the data type.
    const std::string& in = n.inputs[1];
    if (const Tensor* v = rw.value(in)) {
      std::vector<int64_t> sizes;
      for (int64_t i = 0; i < v->numel(); ++i) {
        double x = v->at_f64(i);
        if (!(x >= 0 && x <= 9.0e15 && x == std::floor(x)))
          fail("{}: split size {} is not a non-negative integer", n.describe(), x);
        sizes.push_back(static_cast<int64_t>(x));
      }
      n.inputs[1] = rw.const_i64(base_name(n) + "_split", sizes);
    } else {
      n.inputs[1] = rw.add("Cast", {in}, {Attribute::of_int("to", static_cast<int64_t>(DType::i64))},
                           base_name(n) + "_split");
    }
  }
  rw.emit(std::move(n));
}

// Slice-1: starts/ends/axes attributes -> inputs 1..3.
void slice_rule(Node n, Rewriter& rw) {
  if (already_canonical(n, {"starts", "ends", "axes"})) return rw.emit(std::move(n));
  expect_inputs(n, 1, 1);
  for (const char* req : {"starts", "ends"})
    if (!n.has_attr(req)) fail("{}: attribute '{}' is required", n.describe(), req);
  size_t count = n.attr_ints("starts").size();
  if (n.attr_ints("ends").size() != count)
    fail("{}: 'starts' has {} values but 'ends' has {}", n.describe(), count,
         n.attr_ints("ends").size());
  bool has_axes = n.has_attr("axes");
  if (has_axes && n.attr_ints("axes").size() != count)
    fail("{}: 'starts' has {} values but 'axes' has {}", n.describe(), count,
         n.attr_ints("axes").size());
  ints_attr_to_input(n, rw, "starts", 1);
  ints_attr_to_input(n, rw, "ends", 2);
  if (has_axes) ints_attr_to_input(n, rw, "axes", 3);
  rw.emit(std::move(n));
}

// Pad-1 (`paddings`) and Pad-2 (`pads`), with `value` -> inputs pads and constant_value.
void pad_rule(Node n, Rewriter& rw) {
  if (already_canonical(n, {"pads", "paddings", "value"})) return rw.emit(std::move(n));
  expect_inputs(n, 1, 1);
  const char* name = n.has_attr("pads") ? "pads" : "paddings";
  if (!n.has_attr(name)) fail("{}: attribute 'pads' is required", n.describe());
  std::vector<int64_t> pads = n.attr_ints(name);
  float value = n.attr_float("value", 0.0f);
  std::string mode = n.attr_string("mode", "constant");
  n.erase_attr("pads");
  n.erase_attr("paddings");
  n.erase_attr("value");
  n.inputs.push_back(rw.const_i64(base_name(n) + "_pads", pads));
  if (mode == "constant" && value != 0.0f)
    n.inputs.push_back(rw.constant_like(base_name(n) + "_value", {value}, {}, n.inputs[0]));
  rw.emit(std::move(n));
}

// Clip-1/6: min/max attributes -> optional inputs of the input's type.
void clip_rule(Node n, Rewriter& rw) {
  if (already_canonical(n, {"min", "max"})) return rw.emit(std::move(n));
  expect_inputs(n, 1, 1);
  std::string x = n.inputs[0];
  const std::string base = base_name(n);
  std::string lo, hi;
  if (n.has_attr("min")) lo = rw.constant_like(base + "_min", {n.attr_float("min", 0)}, {}, x);
  if (n.has_attr("max")) hi = rw.constant_like(base + "_max", {n.attr_float("max", 0)}, {}, x);
  n.erase_attr("min");
  n.erase_attr("max");
  if (!hi.empty())
    n.inputs = {x, lo, hi};
  else if (!lo.empty())
    n.inputs = {x, lo};
  rw.emit(std::move(n));
}

// TopK-1: `k` attribute -> int64 input K of shape [1].
void topk_rule(Node n, Rewriter& rw) {
  if (already_canonical(n, {"k"})) return rw.emit(std::move(n));
  expect_inputs(n, 1, 1);
  if (!n.has_attr("k")) fail("{}: attribute 'k' is required", n.describe());
  int64_t k = n.attr_int("k", 0);
  n.erase_attr("k");
  n.inputs.push_back(rw.const_i64(base_name(n) + "_k", {k}));
  rw.emit(std::move(n));
}

// Reshape-1: `shape` attribute -> input.
void reshape_rule(Node n, Rewriter& rw) {
  if (already_canonical(n, {"shape"})) return rw.emit(std::move(n));
  expect_inputs(n, 1, 1);
  if (!n.has_attr("shape")) fail("{}: attribute 'shape' is required", n.describe());
  ints_attr_to_input(n, rw, "shape", 1);
  rw.emit(std::move(n));
}

// Tile-1: inputs (input, tiles, axis) repeat one axis -> Tile-6 repeats for every axis.
void tile_rule(Node n, Rewriter& rw) {
  expect_inputs(n, 3, 3);
  const std::string x = n.inputs[0];
  const std::string base = base_name(n);
  const Tensor* tiles = rw.value(n.inputs[1]);
  const Tensor* axis = rw.value(n.inputs[2]);
  int64_t r = rw.rank(x);
  if (tiles != nullptr && axis != nullptr && r >= 0) {
    if (tiles->numel() != 1 || axis->numel() != 1)
      fail("{}: 'tiles' and 'axis' must hold one value each", n.describe());
    int64_t ax = axis->at_i64(0);
    if (ax < -r || ax >= r) fail("{}: axis {} is out of range for rank {}", n.describe(), ax, r);
    if (ax < 0) ax += r;
    std::vector<int64_t> repeats(static_cast<size_t>(r), 1);
    repeats[static_cast<size_t>(ax)] = tiles->at_i64(0);
    n.inputs = {x, rw.const_i64(base + "_repeats", repeats)};
  } else {
    // repeats = ScatterElements(ones(rank), [axis], [tiles])
    std::string rank =
        rw.add("Shape", {rw.add("Shape", {x}, {}, base + "_shape")}, {}, base + "_rank");
    Attribute one;
    one.name = "value";
    one.kind = Attribute::Kind::t;
    one.t = Tensor::from_i64({1}, {1});
    std::string ones = rw.add("ConstantOfShape", {rank}, {one}, base + "_ones");
    auto as_i64_1d = [&](const std::string& v, const char* what) {
      std::string c = rw.add("Cast", {v}, {Attribute::of_int("to", static_cast<int64_t>(DType::i64))},
                             base + "_" + what + "_i64");
      return rw.add("Reshape", {c, rw.const_i64(base + "_one_dim", {1})}, {},
                    base + "_" + what + "_1d");
    };
    std::string idx = as_i64_1d(n.inputs[2], "axis");
    std::string upd = as_i64_1d(n.inputs[1], "tiles");
    n.inputs = {
        x, rw.add("ScatterElements", {ones, idx, upd}, {Attribute::of_int("axis", 0)}, base + "_repeats")};
  }
  rw.emit(std::move(n));
}

// Dropout-1/6/7/10: `ratio` attribute -> input, `is_test` dropped (the canonical Dropout is in
// inference mode unless training_mode says otherwise). Before opset 10 the mask had the data's
// type; since then it is bool.
void dropout_rule(Node n, Rewriter& rw) {
  if (already_canonical(n, {"ratio", "is_test"})) return rw.emit(std::move(n));
  expect_inputs(n, 1, 1);
  const std::string base = base_name(n);
  bool has_ratio = n.has_attr("ratio");
  float ratio = n.attr_float("ratio", 0.5f);
  n.erase_attr("ratio");
  n.erase_attr("is_test");
  if (has_ratio) n.inputs.push_back(rw.constant(base + "_ratio", Tensor::scalar_f32(ratio)));
  if (rw.opset() < 10 && n.outputs.size() > 1 && !n.outputs[1].empty()) {
    std::string mask = n.outputs[1];
    std::string data = n.inputs[0];
    n.outputs[1] = rw.fresh(mask + "_bool");
    std::string bool_mask = n.outputs[1];
    std::string name = n.name;
    rw.emit(std::move(n));
    rw.add_named("CastLike", {bool_mask, data}, {mask}, {}, name + "_mask");
    return;
  }
  rw.emit(std::move(n));
}

}  // namespace

const std::vector<RuleEntry>& input_rules() {
  static const std::vector<RuleEntry> rules = {
      {"Squeeze", 13, axes_to_input},   {"Unsqueeze", 13, axes_to_input},
      {"ReduceSum", 13, axes_to_input}, {"Split", 13, split_rule},
      {"Slice", 10, slice_rule},        {"Pad", 11, pad_rule},
      {"Clip", 11, clip_rule},          {"TopK", 10, topk_rule},
      {"Reshape", 5, reshape_rule},     {"Tile", 6, tile_rule},
      {"Dropout", 12, dropout_rule},
  };
  return rules;
}

}  // namespace nnaccel::upgrade
