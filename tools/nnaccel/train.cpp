// nnaccel train: train a built-in classifier or fine-tune an ONNX model; writes the inference
// model.
#include "nnaccel/train.hpp"

#include <fmt/format.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "commands.hpp"
#include "core/check.hpp"
#include "kernels/dnnl/dnnl_common.hpp"
#include "kernels/dnnl/dnnl_precision.hpp"
#include "nnaccel/onnx_io.hpp"

namespace nnaccel::cli {

namespace fs = std::filesystem;

namespace {

// A training step allocates the same few dozen activation and gradient tensors (up to a few MB)
// and frees them again. glibc serves blocks that large with fresh mmap()s and gives freed heap
// tops back to the kernel, so every step page-faulted all of them in again (a fifth of the step
// time of resnet-s). Keeping them in the heap makes the later steps reuse the pages.
void keep_freed_memory() {
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

}  // namespace

int run_train(const TrainOptions& o) {
  NNA_CHECK(o.arch.empty() != o.model.empty(), "train: give exactly one of --arch and --model");
  const TrainPrecision precision = parse_train_precision(o.precision);
  keep_freed_memory();
  NNA_CHECK(o.epochs >= 1 && o.epochs <= 100000, "--epochs: {} not in 1..100000", o.epochs);
  NNA_CHECK(o.batch >= 1 && o.batch <= 65536, "--batch: {} not in 1..65536", o.batch);
  NNA_CHECK(o.threads >= 0 && o.threads <= 1024, "--threads: {} not in 0..1024", o.threads);
  NNA_CHECK(o.lr == -1 || (o.lr > 0 && o.lr < 100), "--lr: {} must be in (0, 100)", o.lr);
  NNA_CHECK(o.crop_padding >= 0 && o.crop_padding <= 64, "--crop-padding: {} not in 0..64",
            o.crop_padding);
  NNA_CHECK(o.checkpoint_every >= 0 && o.max_steps >= 0 && o.clip_norm >= 0,
            "--checkpoint-every, --max-steps and --clip-norm must be >= 0");
  NNA_CHECK(o.checkpoint_every == 0 || !o.checkpoint_dir.empty(),
            "--checkpoint-every needs --checkpoint-dir");
  const fs::path out_dir = fs::absolute(fs::path(o.out)).parent_path();
  std::error_code ec;
  NNA_CHECK(fs::is_directory(out_dir, ec), "--out: folder '{}' does not exist", out_dir.string());
  NNA_CHECK(!fs::is_directory(o.out, ec), "--out: '{}' is a folder", o.out);

  TrainerOptions t;
  t.epochs = o.epochs;
  t.batch_size = o.batch;
  t.max_steps = o.max_steps;
  t.optimizer.kind = parse_optimizer_kind(o.optimizer);
  t.optimizer.momentum = static_cast<float>(o.momentum);
  t.optimizer.nesterov = o.nesterov;
  const bool sgd = t.optimizer.kind == OptimizerKind::sgd;
  t.precision = precision;
  NNA_CHECK(o.layout == "blocked" || o.layout == "plain", "--layout: '{}' is not blocked or plain",
            o.layout);
  t.blocked_activations = o.layout == "blocked";
  t.optimizer.weight_decay = static_cast<float>(
      o.weight_decay >= 0 ? o.weight_decay
                          : (t.optimizer.kind == OptimizerKind::adam ? 0.0 : 5e-4));
  t.schedule.kind = parse_schedule_kind(o.schedule);
  t.schedule.base_lr = static_cast<float>(o.lr > 0 ? o.lr : (sgd ? 0.05 : 0.001));
  t.clip_norm = o.clip_norm;
  t.seed = o.seed;
  t.threads = o.threads;
  t.crop_padding = o.crop_padding;
  t.hflip = o.hflip;
  t.freeze_regex = o.freeze;
  t.checkpoint_dir = o.checkpoint_dir;
  t.checkpoint_every = o.checkpoint_every;
  t.resume = o.resume;
  t.progress = ::isatty(2) != 0;

  LabeledData train = load_labeled_data(o.data, true);
  LabeledData test;
  if (o.data == "fashion-mnist") {
    test = load_labeled_data(o.data, false);
  } else if (!o.test_data.empty()) {
    test = load_labeled_data(o.test_data, false);
  }
  Model model;
  if (!o.arch.empty()) {
    ClassifierSpec spec;
    spec.arch = o.arch;
    const Tensor& x = train.inputs;
    spec.channels = x.rank() == 4 ? x.dim(1) : 1;
    spec.height = x.dim(x.rank() - 2);
    spec.width = x.dim(x.rank() - 1);
    int64_t max_label = 0;
    for (int64_t i = 0; i < train.labels.numel(); ++i)
      max_label = std::max(max_label, train.labels.data<int64_t>()[i]);
    spec.classes = std::max<int64_t>(max_label + 1, 2);
    spec.seed = o.seed;
    model = build_classifier(spec);
  } else {
    model = load_onnx(o.model);
  }

  const int64_t per_epoch = train.inputs.dim(0) / o.batch;
  int64_t steps = o.epochs * std::max<int64_t>(per_epoch, 1);
  if (o.max_steps > 0) steps = std::min(steps, o.max_steps);
  t.schedule.warmup_steps = o.warmup >= 0 ? o.warmup : std::min<int64_t>(500, steps / 10);
  t.on_epoch = [&](const EpochReport& r) {
    std::string test_acc =
        r.test_accuracy >= 0 ? fmt::format(", test {:.2f}%", 100.0 * r.test_accuracy) : "";
    fmt::print(
        "epoch {}/{}: step {}, loss {:.4f}, train {:.2f}%{} ({:.1f} s, {:.0f} img/s, {:.1f} "
        "ms/step median)\n",
        r.epoch, o.epochs, r.step, r.train_loss, 100.0 * r.train_accuracy, test_acc, r.seconds,
        r.images_per_second, 1000.0 * r.median_step_seconds);
    std::fflush(stdout);
  };
  if (precision == TrainPrecision::bf16) {
    // Without native bf16 oneDNN would emulate it at a fraction of the fp32 speed.
    if (!dnnl_kernels::cpu_has_bf16()) {
      t.precision = TrainPrecision::fp32;
      fmt::print("--precision bf16: this CPU has no native bf16 (AVX512-BF16); training in fp32\n");
    } else if (!dnnl_kernels::bf16_is_faster()) {
      fmt::print(
          "--precision bf16: bf16 products measured no faster than fp32 on this CPU; training in "
          "bf16 as asked\n");
    }
  }
  const int64_t params = parameter_count(model);
  Trainer trainer(std::move(model), train, test, t);
  fmt::print("training {} ({} parameters) on {} images, {} steps, {} lr {}, {}\n",
             o.arch.empty() ? o.model : o.arch, params, train.inputs.dim(0), steps, o.optimizer,
             t.schedule.base_lr, train_precision_name(t.precision));
  std::fflush(stdout);
  if (trainer.step() > 0) fmt::print("resuming at step {}\n", trainer.step());
  std::fflush(stdout);
  trainer.run();
  save_onnx(trainer.model(), o.out);
  fmt::print("wrote {}\n", o.out);
  return 0;
}

}  // namespace nnaccel::cli
