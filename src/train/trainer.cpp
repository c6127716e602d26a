// The training loop: batches -> forward/backward (Autograd) -> optimizer, with evaluation,
// progress, checkpoints and bit-identical resume.
//
// Determinism: data order and augmentation come from the DataLoader's seeded generators, the
// Dropout masks from a seed derived from (seed, step, node), the learning rate from the step, and
// the optimizer is elementwise; so the weights after step s depend only on the seed, the options,
// the thread count (the kernels' reductions split by thread) and s. A checkpoint therefore needs
// no generator state beyond the seed, the step and the loader position.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "core/check.hpp"
#include "core/parallel.hpp"
#include "kernels/dnnl/dnnl_common.hpp"
#include "nnaccel/onnx_io.hpp"
#include "nnaccel/train.hpp"
#include "train/autograd/autograd.hpp"
#include "train/autograd/dnnl_ops.hpp"
#include "train/block_activations.hpp"
#include "train/checkpoint.hpp"
#include "train/data/data_loader.hpp"
#include "train/progress.hpp"

namespace nnaccel {

namespace {

namespace fs = std::filesystem;

// splitmix64: a well-mixed seed per (run seed, step, dropout node).
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// The index of the first element that is NaN or infinite, or -1.
int64_t first_non_finite(const Tensor& t) {
  if (t.dtype() == DType::bf16) {
    const auto* d = static_cast<const uint16_t*>(t.raw());
    for (int64_t i = 0; i < t.numel(); ++i)
      if ((d[i] & 0x7f80) == 0x7f80) return i;  // exponent all ones: infinite or NaN
    return -1;
  }
  if (t.dtype() != DType::f32) return -1;
  const float* d = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i)
    if (!std::isfinite(d[i])) return i;
  return -1;
}

void check_shapes_match(const Model& a, const Model& b) {
  const auto& x = a.graph.initializers;
  const auto& y = b.graph.initializers;
  for (const auto& [name, t] : x) {
    auto it = y.find(name);
    NNA_CHECK(it != y.end() && it->second.shape() == t.shape() && it->second.dtype() == t.dtype(),
              "--resume: the checkpoint's model differs from the model being trained (weight "
              "'{}')",
              name);
  }
  NNA_CHECK(x.size() == y.size(),
            "--resume: the checkpoint's model has {} weights, the model being trained {}", y.size(),
            x.size());
}

}  // namespace

TrainPrecision parse_train_precision(const std::string& name) {
  if (name == "fp32") return TrainPrecision::fp32;
  if (name == "bf16") return TrainPrecision::bf16;
  fail("--precision: '{}' is not fp32 or bf16", name);
}

std::string train_precision_name(TrainPrecision precision) {
  return precision == TrainPrecision::bf16 ? "bf16" : "fp32";
}

std::string checkpoint_path(const std::string& dir) {
  return (fs::path(dir) / "checkpoint.nnackpt").string();
}

struct Trainer::Impl {
  Model model;
  LabeledData test;
  TrainerOptions options;
  TrainingGraph tg;
  std::unique_ptr<Autograd> autograd;
  std::unique_ptr<train::DataLoader> loader;
  Optimizer optimizer;
  std::map<std::string, Tensor> params;  // share storage with the model's initializers
  int64_t step = 0;
  int64_t total_steps = 0;

  // Statistics of the current epoch, for its report and the progress line.
  double loss_sum = 0;
  int64_t correct = 0, images = 0, batches = 0;
  std::vector<double> step_seconds;  // of this epoch, without the process's first step
  bool first_step_done = false;
  train::Progress progress;

  Impl(Model m, const LabeledData& train_data, LabeledData test_data, TrainerOptions o)
      : model(std::move(m)),
        test(std::move(test_data)),
        options(std::move(o)),
        optimizer(options.optimizer),
        progress(options.progress) {
    NNA_CHECK(options.epochs >= 1, "--epochs must be >= 1, got {}", options.epochs);
    NNA_CHECK(options.batch_size >= 1, "--batch must be >= 1, got {}", options.batch_size);
    NNA_CHECK(options.threads >= 0, "--threads must be >= 0, got {}", options.threads);
    NNA_CHECK(options.checkpoint_every >= 0, "--checkpoint-every must be >= 0");
    NNA_CHECK(!options.resume || !options.checkpoint_dir.empty(),
              "--resume needs --checkpoint-dir");
    NNA_CHECK(train_data.labels.defined(), "training data has no labels");
    set_thread_count(options.threads);
    // Model copies share tensor storage; the trainer updates weights in place, so it owns its own.
    for (auto& [name, t] : model.graph.initializers) t = t.clone();

    train::LoaderOptions lo;
    lo.batch_size = options.batch_size;
    lo.shuffle = true;
    lo.seed = options.seed;
    lo.drop_last = train_data.inputs.dim(0) >= options.batch_size;  // equal batches for BatchNorm
    lo.scale = train_data.inputs.dtype() == DType::u8 ? 1.0f / 255.0f : 1.0f;
    lo.crop_padding = options.crop_padding;
    lo.hflip = options.hflip;
    loader = std::make_unique<train::DataLoader>(
        train::Dataset{train_data.inputs, train_data.labels}, lo);

    TrainingGraphOptions tgo;
    tgo.freeze_regex = options.freeze_regex;
    tg = make_training_graph(model, tgo);  // lifts constants, validates the model
    if (options.resume) load_checkpoint();
    check_input_shape(train_data.inputs);

    total_steps = options.epochs * loader->batches_per_epoch();
    if (options.max_steps > 0) total_steps = std::min(total_steps, options.max_steps);
    if (options.schedule.total_steps == 0) options.schedule.total_steps = total_steps;
    learning_rate(options.schedule, 0);  // validates the schedule before any work

    for (const std::string& p : tg.params) {
      Tensor& t = model.graph.initializers.at(p);
      NNA_CHECK(t.dtype() == DType::f32, "training: parameter '{}' is {}; only float32 is trained",
                p, dtype_name(t.dtype()));
      params[p] = t;
    }
    if (options.blocked_activations && grad::dnnl_enabled() && dnnl_kernels::channel_block() > 0)
      block_activations(tg, dnnl_kernels::channel_block(),
                        options.precision == TrainPrecision::bf16 ? DType::bf16 : DType::f32);
    autograd = std::make_unique<Autograd>(tg.graph, tg.params, tg.loss);
    autograd->set_bf16_products(options.precision == TrainPrecision::bf16);
  }

  void load_checkpoint() {
    const std::string path = checkpoint_path(options.checkpoint_dir);
    train::Checkpoint c = train::read_checkpoint(path);
    auto mismatch = [&](const char* what, const std::string& was, const std::string& now) {
      NNA_CHECK(was == now, "--resume: '{}' was written with {} {}, this run has {}", path, what,
                was, now);
    };
    mismatch("--seed", std::to_string(c.seed), std::to_string(options.seed));
    mismatch("--batch", std::to_string(c.batch_size), std::to_string(options.batch_size));
    mismatch("--optimizer", c.optimizer, optimizer_kind_name(options.optimizer.kind));
    mismatch("--precision", c.precision, train_precision_name(options.precision));
    Model saved = [&] {
      try {
        return load_onnx_bytes(c.model_onnx, options.checkpoint_dir);
      } catch (const Error& e) {
        throw Error(fmt::format("checkpoint '{}': its model does not load: {}", path, e.what()));
      }
    }();
    check_shapes_match(model, saved);
    model = std::move(saved);
    TrainingGraphOptions tgo;
    tgo.freeze_regex = options.freeze_regex;
    tg = make_training_graph(model, tgo);
    optimizer.restore(c.optimizer_state, c.optimizer_steps);
    loader->restore(train::LoaderState::parse(c.loader));
    step = c.step;
  }

  void check_input_shape(const Tensor& inputs) {
    const ValueInfo* in = nullptr;
    for (const ValueInfo& v : model.graph.inputs)
      if (v.name == tg.input) in = &v;
    if (in == nullptr || !in->type.has_shape) return;
    const Shape data = inputs.rank() == 3 ? Shape{inputs.dim(1), inputs.dim(2)}
                                          : Shape{inputs.dim(1), inputs.dim(2), inputs.dim(3)};
    const auto& dims = in->type.dims;
    Shape want;
    for (size_t i = 1; i < dims.size(); ++i) want.push_back(dims[i].value);
    Shape have = data;
    if (inputs.rank() == 3) have.insert(have.begin(), 1);
    bool ok = want.size() == have.size();
    for (size_t i = 0; ok && i < want.size(); ++i) ok = want[i] < 0 || want[i] == have[i];
    NNA_CHECK(ok, "the data's images are {} but the model's input '{}' takes {} per sample",
              shape_str(have), tg.input, shape_str(want));
    if (dims[0].known())
      NNA_CHECK(dims[0].value == options.batch_size,
                "the model's input '{}' has a fixed batch of {}; use --batch {}", tg.input,
                dims[0].value, dims[0].value);
  }

  // Names the first tensor (the batch, a parameter, then node outputs in graph order) holding a
  // NaN or infinity.
  std::string first_bad_tensor(const train::Batch& batch) const {
    if (first_non_finite(batch.inputs) >= 0) return fmt::format("the input batch '{}'", tg.input);
    for (const auto& [name, t] : params)
      if (first_non_finite(t) >= 0) return fmt::format("parameter '{}'", name);
    for (const Node& n : tg.graph.nodes)
      for (const std::string& out : n.outputs) {
        if (out.empty()) continue;
        const Tensor* t = nullptr;
        try {
          t = &autograd->value(out);
        } catch (const Error&) {
          continue;  // not kept by the forward pass
        }
        if (first_non_finite(*t) >= 0) return fmt::format("'{}' (output of {})", out, n.describe());
      }
    return "none found";
  }

  void train_step(const train::Batch& batch) {
    const auto start = std::chrono::steady_clock::now();
    const float lr = learning_rate(options.schedule, step);
    for (size_t k = 0; k < tg.dropout_nodes.size(); ++k) {
      const uint64_t s = mix(mix(options.seed ^ mix(static_cast<uint64_t>(step))) + k);
      tg.graph.nodes[tg.dropout_nodes[k]].set_attr(
          Attribute::of_int("seed", static_cast<int64_t>(s >> 33)));
    }
    autograd->forward({{tg.input, batch.inputs}, {tg.labels, batch.labels}});
    const Tensor& loss_t = autograd->value(tg.loss);
    const float loss = loss_t.to_f32_vector().at(0);
    if (!std::isfinite(loss))
      fail("step {}: the loss is {}; first non-finite tensor: {}", step + 1, loss,
           first_bad_tensor(batch));
    std::map<std::string, Tensor> grads = autograd->backward();
    for (const std::string& p : tg.params) {
      auto it = grads.find(p);
      NNA_CHECK(it != grads.end(), "training: autograd returned no gradient for '{}'", p);
      const int64_t bad = first_non_finite(it->second);
      if (bad >= 0)
        fail("step {}: the gradient of parameter '{}' is {} at element {}", step + 1, p,
             it->second.data<float>()[bad], bad);
    }
    if (options.clip_norm > 0) clip_grad_global_norm(grads, options.clip_norm);
    optimizer.step(params, grads, lr);
    for (const BatchNormStat& s : tg.bn_stats) {
      const Tensor& updated = autograd->value(s.updated);
      Tensor& dst = model.graph.initializers.at(s.initializer);
      NNA_CHECK(updated.dtype() == dst.dtype() && updated.numel() == dst.numel(),
                "training: BatchNorm statistic '{}' changed type", s.initializer);
      std::memcpy(dst.raw(), updated.raw(), dst.nbytes());
    }
    ++step;
    if (first_step_done)
      step_seconds.push_back(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    first_step_done = true;

    const Tensor& logits = autograd->value(tg.logits);
    const int64_t b = batch.inputs.dim(0), k = logits.numel() / std::max<int64_t>(b, 1);
    for (int64_t i = 0; i < b; ++i) {
      const float* row = logits.data<float>() + i * k;
      int64_t best = 0;
      for (int64_t j = 1; j < k; ++j)
        if (row[j] > row[best]) best = j;
      correct += best == batch.labels.data<int64_t>()[i] ? 1 : 0;
    }
    loss_sum += loss;
    images += b;
    ++batches;
    progress.update(
        fmt::format("epoch {}/{} step {}/{} loss {:.4f} acc {:.2f}% lr {:.3g}", loader->epoch() + 1,
                    options.epochs, step, total_steps, loss_sum / static_cast<double>(batches),
                    100.0 * static_cast<double>(correct) / static_cast<double>(images), lr),
        images, step, total_steps);
  }

  EpochReport end_epoch(int64_t finished_epoch) {
    EpochReport r;
    r.epoch = finished_epoch + 1;
    r.step = step;
    r.train_loss = batches > 0 ? loss_sum / static_cast<double>(batches) : 0.0;
    r.train_accuracy =
        images > 0 ? static_cast<double>(correct) / static_cast<double>(images) : 0.0;
    r.seconds = progress.epoch_seconds();
    r.images_per_second = r.seconds > 0 ? static_cast<double>(images) / r.seconds : 0.0;
    if (!step_seconds.empty()) {
      auto mid = step_seconds.begin() + static_cast<std::ptrdiff_t>(step_seconds.size() / 2);
      std::nth_element(step_seconds.begin(), mid, step_seconds.end());
      r.median_step_seconds = *mid;
    }
    progress.clear();
    if (options.evaluate_each_epoch && test.inputs.defined()) {
      EvalOptions eo;
      eo.threads = options.threads;
      eo.progress = options.progress;
      r.test_accuracy = evaluate_accuracy(model, test, eo);
      set_thread_count(
          options.threads);  // a Session may set its own; training results depend on it
    }
    loss_sum = 0;
    correct = images = batches = 0;
    step_seconds.clear();
    progress.start_epoch();
    return r;
  }

  void save() const {
    NNA_CHECK(!options.checkpoint_dir.empty(), "no checkpoint folder given");
    std::error_code ec;
    fs::create_directories(options.checkpoint_dir, ec);
    NNA_CHECK(fs::is_directory(options.checkpoint_dir, ec), "cannot create checkpoint folder '{}'",
              options.checkpoint_dir);
    train::Checkpoint c;
    c.step = step;
    c.optimizer_steps = optimizer.steps();
    c.seed = options.seed;
    c.batch_size = options.batch_size;
    c.optimizer = optimizer_kind_name(options.optimizer.kind);
    c.threads = thread_count();
    c.precision = train_precision_name(options.precision);
    c.loader = loader->state().to_string();
    c.model_onnx = serialize_onnx(model);
    c.optimizer_state = optimizer.state();
    train::write_checkpoint(checkpoint_path(options.checkpoint_dir), c);
  }

  bool done() const {
    return loader->epoch() >= options.epochs ||
           (options.max_steps > 0 && step >= options.max_steps);
  }

  // Runs until done or `limit` steps ran; epoch ends (evaluation, report) happen on the way.
  int64_t run(int64_t limit, std::vector<EpochReport>* reports) {
    int64_t ran = 0;
    progress.start_epoch();
    while (!done() && ran < limit) {
      const int64_t epoch = loader->epoch();
      std::optional<train::Batch> batch = loader->next();
      if (!batch) {
        EpochReport r = end_epoch(epoch);
        if (options.on_epoch) options.on_epoch(r);
        if (reports != nullptr) reports->push_back(r);
        if (!options.checkpoint_dir.empty() && options.checkpoint_every == 0) save();
        continue;
      }
      train_step(*batch);
      ++ran;
      if (!options.checkpoint_dir.empty() && options.checkpoint_every > 0 &&
          step % options.checkpoint_every == 0)
        save();
    }
    // Stopped part-way through an epoch by max_steps: report (and evaluate) what was trained.
    if (reports != nullptr && batches > 0 && done()) {
      EpochReport r = end_epoch(loader->epoch());
      if (options.on_epoch) options.on_epoch(r);
      reports->push_back(r);
    }
    progress.clear();
    return ran;
  }
};

Trainer::Trainer(Model model, LabeledData train, LabeledData test, TrainerOptions options)
    : impl_(std::make_unique<Impl>(std::move(model), train, std::move(test), std::move(options))) {}

Trainer::~Trainer() = default;

std::vector<EpochReport> Trainer::run() {
  std::vector<EpochReport> reports;
  impl_->run(INT64_MAX, &reports);
  if (!impl_->options.checkpoint_dir.empty()) impl_->save();
  return reports;
}

int64_t Trainer::run_steps(int64_t n) { return impl_->run(n, nullptr); }

void Trainer::save_checkpoint() const { impl_->save(); }

const Model& Trainer::model() const { return impl_->model; }

int64_t Trainer::step() const { return impl_->step; }

}  // namespace nnaccel
