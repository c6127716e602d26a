// nnaccel quantize: post-training int8 quantization; the library does the work
// (compress/quantize/quantize_pipeline.hpp), this file parses flags and prints the report.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "commands.hpp"
#include "compress/quantize/quantize_pipeline.hpp"
#include "core/check.hpp"
#include "nnaccel/onnx_io.hpp"

namespace nnaccel::cli {

namespace {

namespace fs = std::filesystem;

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  return fs::exists(a, ec) && fs::exists(b, ec) && fs::equivalent(a, b, ec);
}

nnaccel::QuantizeOptions parse(const QuantizeOptions& o) {
  nnaccel::QuantizeOptions q;
  NNA_CHECK(o.scheme == "int8", "--scheme: '{}' is not supported (int8)", o.scheme);
  NNA_CHECK(!(o.per_channel && o.per_tensor), "--per-channel and --per-tensor exclude each other");
  NNA_CHECK(o.threads >= 0 && o.threads <= 1024, "--threads: {} not in 0..1024", o.threads);
  NNA_CHECK(o.calib_size == -1 || o.calib_size >= 1, "--calib-size must be at least 1 (given {})",
            o.calib_size);
  q.calib = o.calib;
  q.calib_size = o.calib_size < 0 ? 0 : o.calib_size;
  if (o.activations == "u8")
    q.qdq.activation_type = DType::u8;
  else if (o.activations == "s8" || o.activations == "i8")
    q.qdq.activation_type = DType::i8;
  else
    fail("--activations: '{}' is not u8 or s8", o.activations);
  q.qdq.activation_symmetric = o.symmetric;
  q.qdq.per_channel = !o.per_tensor;
  try {
    q.observer.method = calibration_method_from_name(o.method);
  } catch (const Error& e) {
    fail("--method: {}", e.what());
  }
  if (o.percentile != -1) {
    NNA_CHECK(q.observer.method == CalibrationMethod::percentile,
              "--percentile needs --method percentile");
    NNA_CHECK(o.percentile > 50 && o.percentile <= 100, "--percentile: {} not in (50, 100]",
              o.percentile);
    q.observer.percentile = o.percentile;
  }
  if (!o.op_types.empty()) {
    // What the static rewrite knows (its default set) plus what the dynamic one rewrites.
    std::set<std::string> known = QdqConfig{}.op_types;
    known.insert({"Conv", "MatMul", "Gemm"});
    q.qdq.op_types.clear();
    for (const std::string& t : o.op_types) {
      NNA_CHECK(known.count(t), "--op-types: '{}' is not one of {}", t, fmt::join(known, ", "));
      q.qdq.op_types.insert(t);
    }
  }
  for (const std::string& e : o.exclude) {
    NNA_CHECK(!e.empty(), "--exclude: an empty node name");
    q.qdq.exclude.insert(e);
  }
  q.dynamic = o.dynamic;
  q.cross_layer_equalization = o.cle;
  q.bias_correction = o.bias_correction;
  q.gptq = o.gptq;
  NNA_CHECK(!(o.weight_budget != -1 && o.per_tensor),
            "--weight-budget chooses per-tensor layers itself; drop --per-tensor");
  // The library reads 0 as no budget (and checks the rest); given here it is a budget.
  NNA_CHECK(o.weight_budget != 0,
            "--weight-budget: 0 is not a fraction of the float weights in "
            "(0, 1]");
  q.weight_budget = o.weight_budget == -1 ? 0 : o.weight_budget;
  q.sensitivity = o.sensitivity;
  q.state_file = o.calib_state;
  q.threads = o.threads;
  q.progress = ::isatty(2) != 0;
  return q;
}

std::string range_text(const QuantizedLayer& l, bool dynamic) {
  if (dynamic) return "dynamic";
  return fmt::format("[{:.4g}, {:.4g}]", l.input_range.min, l.input_range.max);
}

std::string db(double v) { return std::isinf(v) ? "inf" : fmt::format("{:.1f}", v); }

std::string bytes_text(uint64_t b) {
  if (b >= 10 * 1024 * 1024) return fmt::format("{:.1f} MiB", static_cast<double>(b) / 1048576.0);
  if (b >= 10 * 1024) return fmt::format("{:.1f} KiB", static_cast<double>(b) / 1024.0);
  return fmt::format("{} B", b);
}

void print_report(const QuantizeOptions& o, const nnaccel::QuantizeOptions& q,
                  const QuantizeResult& r, uint64_t fp32_weights, uint64_t fp32_file) {
  if (o.dynamic) {
    fmt::print("dynamic int8: {} -> {} ({} weights, u8 activations quantized at run time)\n",
               o.model, o.out, q.qdq.per_channel ? "per-channel" : "per-tensor");
    size_t convs = 0;
    for (const QuantizedLayer& l : r.layers) convs += l.op_type == "Conv";
    if (convs > 0)
      fmt::print(
          "note: {} Conv layers quantized dynamically; each pays a range pass, a quantize pass and a "
          "float rescale per run, which can make it slower than fp32 (bench/RESULTS.md: 1.6x on "
          "the Fashion-MNIST CNN); static quantization (--calib) keeps convs integer end to end\n",
          convs);
  } else {
    fmt::print("static int8 QDQ: {} -> {} ({}, {} weights, {}{} activations)\n", o.model, o.out,
               calibration_method_name(q.observer.method),
               q.qdq.per_channel ? "per-channel" : "per-tensor", o.symmetric ? "symmetric " : "",
               q.qdq.activation_type == DType::u8 ? "u8" : "s8");
    fmt::print("calibration: {} samples in {} batches{}\n", r.calibration_samples,
               r.calibration_batches,
               r.resumed_batches > 0
                   ? fmt::format(" ({} restored from {})", r.resumed_batches, o.calib_state)
                   : "");
  }
  if (o.cle)
    fmt::print("cross-layer equalization: {} layer pairs rescaled, {} channels' bias absorbed\n",
               r.cle_pairs, r.high_bias_channels);
  if (o.bias_correction) fmt::print("bias correction: {} layers corrected\n", r.bias_corrected);
  if (o.gptq)
    fmt::print("GPTQ: {} of {} layers' weights rounded (the rest to nearest)\n", r.gptq_layers,
               r.layers.size());
  if (q.weight_budget > 0)
    fmt::print("weight budget {:.4g} of fp32 ({}): {} layer{} weights per tensor{}\n",
               q.weight_budget, bytes_text(r.weight_budget_bytes), r.budget_per_tensor.size(),
               r.budget_per_tensor.size() == 1 ? "'s" : "s'",
               r.budget_met ? "" : "; still over: the scales were not the only excess");
  fmt::print("\n{:<28} {:<7} {:<22} {:<20} {:<21} {:>9} {:>9}\n", "node", "op", "input range",
             "input scale / zp", "weight scales", "w SQNR", "out SQNR");
  for (const QuantizedLayer& l : r.layers) {
    auto it = r.output_sqnr_db.find(l.node);
    fmt::print(
        "{:<28} {:<7} {:<22} {:<20} {:<21} {:>9} {:>9}\n", l.node, l.op_type,
        range_text(l, o.dynamic),
        o.dynamic ? "dynamic"
                  : fmt::format("{:.4g} / {}", l.input_quant.scale, l.input_quant.zero_point),
        l.weight_scales > 1 ? fmt::format("{:.3g}..{:.3g}", l.weight_scale_min, l.weight_scale_max)
                            : fmt::format("{:.3g} (one)", l.weight_scale_min),
        db(l.weight_sqnr_db), it == r.output_sqnr_db.end() ? "-" : db(it->second));
  }
  fmt::print("(SQNR in dB; out SQNR: the layer's output against float on one batch)\n\n");
  const uint64_t q_weights = initializer_bytes(r.model);
  std::error_code ec;
  const uint64_t q_file = fs::file_size(o.out, ec);
  auto ratio = [](uint64_t a, uint64_t b) { return b ? static_cast<double>(a) / b : 0.0; };
  fmt::print("weights  fp32 {:>12}  int8 {:>12}  ratio {:.2f}x smaller\n", bytes_text(fp32_weights),
             bytes_text(q_weights), ratio(fp32_weights, q_weights));
  fmt::print("file     fp32 {:>12}  int8 {:>12}  ratio {:.2f}x smaller\n", bytes_text(fp32_file),
             bytes_text(q_file), ratio(fp32_file, q_file));
  if (!r.sensitivity.empty()) {
    const bool acc = r.sensitivity_metric == "accuracy";
    fmt::print("\nsensitivity: each layer quantized alone, worst first ({}{})\n",
               acc ? "accuracy on " + r.sensitivity_data : "output SQNR dB against float",
               acc ? fmt::format("; float {:.2f}%", 100 * r.float_score) : "");
    for (const LayerSensitivity& s : r.sensitivity) {
      if (acc)
        fmt::print("  {:<28} {:<7} {:>7.2f}%  drop {:+.2f} pts\n", s.node, s.op_type, 100 * s.score,
                   100 * (r.float_score - s.score));
      else
        fmt::print("  {:<28} {:<7} {:>9} dB\n", s.node, s.op_type, db(s.score));
    }
  }
}

}  // namespace

int run_quantize(const QuantizeOptions& o) {
  const nnaccel::QuantizeOptions q = parse(o);
  std::error_code ec;
  NNA_CHECK(fs::is_regular_file(o.model, ec), "model '{}' not found", o.model);
  NNA_CHECK(!same_file(o.model, o.out), "--out '{}' is the input model; write a new file", o.out);
  NNA_CHECK(o.calib_state.empty() || !same_file(o.calib_state, o.model),
            "--calib-state '{}' is the input model", o.calib_state);
  NNA_CHECK(o.calib_state != o.out, "--calib-state and --out are the same file");
  const fs::path parent = fs::path(o.out).parent_path();
  NNA_CHECK(parent.empty() || fs::is_directory(parent, ec), "--out: folder '{}' does not exist",
            parent.string());
  Model model = [&] {
    try {
      return load_onnx(o.model);
    } catch (const Error& e) {
      throw Error(fmt::format("{}: {}", o.model, e.what()));
    }
  }();
  const QuantizeResult r = quantize_model(model, q);
  save_onnx(r.model, o.out);
  print_report(o, q, r, initializer_bytes(model), fs::file_size(o.model));
  return 0;
}

}  // namespace nnaccel::cli
