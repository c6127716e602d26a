// nnaccel eval: top-1 accuracy of a classifier, run through nnaccel::Session.
#include <fmt/format.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "core/check.hpp"
#include "nnaccel/onnx_io.hpp"
#include "nnaccel/train.hpp"

namespace nnaccel::cli {

int run_eval(const EvalOptions& o) {
  NNA_CHECK(o.threads >= 0 && o.threads <= 1024, "--threads: {} not in 0..1024", o.threads);
  NNA_CHECK(o.batch >= 1 && o.batch <= 65536, "--batch: {} not in 1..65536", o.batch);
  Model model = load_onnx(o.model);
  LabeledData data = load_labeled_data(o.data, false);
  nnaccel::EvalOptions eo;
  eo.batch_size = o.batch;
  eo.threads = o.threads;
  eo.progress = ::isatty(2) != 0;
  const double accuracy = [&] {
    try {
      return evaluate_accuracy(model, data, eo);
    } catch (const Error& e) {
      throw Error(fmt::format("{}: {}", o.model, e.what()));
    }
  }();
  if (o.json) {
    nlohmann::json j;
    j["model"] = o.model;
    j["data"] = o.data;
    j["images"] = data.inputs.dim(0);
    j["accuracy"] = accuracy;
    fmt::print("{}\n", j.dump(2));
  } else {
    fmt::print("accuracy: {:.2f}%\n", 100.0 * accuracy);
  }
  return 0;
}

}  // namespace nnaccel::cli
