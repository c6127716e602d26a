// nnaccel compare: two models on the same data (report/model_comparison.hpp does the work).
#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "report/model_comparison.hpp"

namespace nnaccel::cli {

namespace {

double ratio(double b, double a) { return a > 0 ? b / a : 0.0; }

nlohmann::json figures_json(const ModelFigures& f) {
  nlohmann::json j;
  j["model"] = f.path;
  if (f.accuracy >= 0) j["accuracy"] = f.accuracy;
  j["file_bytes"] = f.file_bytes;
  j["weight_bytes"] = f.weight_bytes;
  j["median_ms"] = f.median_ms;
  return j;
}

// JSON has no infinity: identical outputs give a null SQNR.
nlohmann::json finite_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nullptr; }

}  // namespace

int run_compare(const CompareOptions& o) {
  nnaccel::CompareOptions co;
  co.data = o.data;
  co.batch = o.batch;
  co.threads = o.threads;
  co.iters = o.iters;
  co.progress = ::isatty(2) != 0;
  const ModelComparison r = compare_models(o.a, o.b, co);
  const ModelFigures& a = r.a;
  const ModelFigures& b = r.b;
  if (o.json) {
    nlohmann::json j;
    j["a"] = figures_json(a);
    j["b"] = figures_json(b);
    j["samples"] = r.samples;
    j["latency_batch"] = r.latency_batch;
    nlohmann::json ratios;
    ratios["file_bytes"] = ratio(b.file_bytes, a.file_bytes);
    ratios["weight_bytes"] = ratio(b.weight_bytes, a.weight_bytes);
    ratios["median_ms"] = ratio(b.median_ms, a.median_ms);
    if (a.accuracy >= 0) ratios["accuracy"] = ratio(b.accuracy, a.accuracy);
    j["ratios_b_over_a"] = ratios;
    nlohmann::json outs = nlohmann::json::array();
    for (const NamedAgreement& n : r.outputs)
      outs.push_back({{"output", n.output},
                      {"sqnr_db", finite_or_null(n.agreement.sqnr_db)},
                      {"cosine", n.agreement.cosine},
                      {"argmax_agreement", n.agreement.argmax_agreement},
                      {"positions", n.agreement.positions}});
    j["outputs"] = outs;
    fmt::print("{}\n", j.dump(2));
    return 0;
  }
  fmt::print("A  {}\nB  {}\n", a.path, b.path);
  fmt::print("data: {} samples\n\n", r.samples);
  fmt::print("{:<16} {:>14} {:>14} {:>10}\n", "", "A", "B", "B/A");
  if (a.accuracy >= 0)
    fmt::print("{:<16} {:>13.2f}% {:>13.2f}% {:>10}\n", "accuracy", 100 * a.accuracy,
               100 * b.accuracy, fmt::format("{:+.2f} pts", 100 * (b.accuracy - a.accuracy)));
  fmt::print("{:<16} {:>14} {:>14} {:>10.3f}\n", "file bytes", a.file_bytes, b.file_bytes,
             ratio(b.file_bytes, a.file_bytes));
  fmt::print("{:<16} {:>14} {:>14} {:>10.3f}\n", "weight bytes", a.weight_bytes, b.weight_bytes,
             ratio(b.weight_bytes, a.weight_bytes));
  fmt::print("{:<16} {:>11.3f} ms {:>11.3f} ms {:>10.3f}\n",
             fmt::format("latency (b={})", r.latency_batch), a.median_ms, b.median_ms,
             ratio(b.median_ms, a.median_ms));
  fmt::print("(latency: median of {} runs on the fast path)\n\nB against A:\n", o.iters);
  for (const NamedAgreement& n : r.outputs)
    fmt::print(
        "  {}: SQNR {} dB, cosine {:.6f}, argmax agreement {:.2f}% of {} positions\n", n.output,
        std::isfinite(n.agreement.sqnr_db) ? fmt::format("{:.2f}", n.agreement.sqnr_db) : "inf",
        n.agreement.cosine, 100 * n.agreement.argmax_agreement, n.agreement.positions);
  return 0;
}

}  // namespace nnaccel::cli
