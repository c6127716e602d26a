#pragma once
// Training: building classifiers, turning an inference model into a training graph, optimizers,
// learning-rate schedules, the Trainer (epochs, evaluation, checkpoints, bit-identical resume)
// and evaluation of a model's top-1 accuracy.
//
// Input convention of the models built here and of the data given to the Trainer: f32 NCHW
// images with pixel values scaled to [0, 1] (raw u8 / 255), no mean/std normalization; the model
// outputs logits [N, classes].
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nnaccel/graph.hpp"
#include "nnaccel/tensor.hpp"

namespace nnaccel {

// ---------------------------------------------------------------------------------------------
// Model builder.

struct ClassifierSpec {
  std::string arch = "lenet5";  // mlp | lenet5 | resnet-s
  int64_t channels = 1, height = 28, width = 28;
  int64_t classes = 10;
  uint64_t seed = 0;  // weight initialization
};

// The architectures build_classifier accepts, for help texts and error messages.
std::vector<std::string> classifier_archs();
// An opset-17 ONNX model with input "input" f32 [N,C,H,W] (N symbolic) and output "logits"
// f32 [N,classes]. Weights: Kaiming-normal (fan in) before ReLU, Xavier-uniform for the final
// classifier, zero biases, BatchNorm scale 1 / bias 0 / mean 0 / var 1. The same spec gives
// the same weights bit for bit on every platform. Throws Error on an unknown arch or bad sizes.
Model build_classifier(const ClassifierSpec& spec);
int64_t parameter_count(const Model& model);  // elements of the float initializers

// ---------------------------------------------------------------------------------------------
// Training graph.

struct TrainingGraphOptions {
  std::string freeze_regex;  // float initializers whose name matches (std::regex_search) stay fixed
  std::string labels_name = "labels";
  std::string loss_name = "loss";
};

struct BatchNormStat {
  std::string initializer;  // the running mean or var initializer of the inference model
  std::string updated;      // the training graph's output value holding its new value
};

struct TrainingGraph {
  Graph graph;                      // shares the inference model's initializer storage
  std::string input;                // the image input
  std::string logits;               // the inference model's output
  std::string labels;               // i64 [N] class indices
  std::string loss;                 // scalar mean cross entropy
  std::vector<std::string> params;  // trainable float initializers, sorted by name
  std::vector<BatchNormStat> bn_stats;
  std::vector<size_t> dropout_nodes;  // indices in graph.nodes; their `seed` is set per step
};

// From an inference model with one float image input and one logits output [N, classes]:
// float Constant nodes become initializers (in `model`, so the trained weights are exported),
// BatchNormalization runs in training mode and exposes its running statistics, Dropout runs in
// training mode, and SoftmaxCrossEntropyLoss(logits, labels) gives the loss. Parameters: the
// float initializers except BatchNorm running statistics and frozen names. Throws Error naming
// what is missing (no float input, not one output, no parameter left).
TrainingGraph make_training_graph(Model& model, const TrainingGraphOptions& options = {});

// ---------------------------------------------------------------------------------------------
// Optimizers.

enum class OptimizerKind { sgd, adam, adamw };

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::sgd;
  float momentum = 0.9f;                            // sgd
  bool nesterov = false;                            // sgd
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;  // adam, adamw
  // sgd and adam: L2 term wd * p added to the gradient; adamw: decoupled, p -= lr * wd * p.
  // Applied to parameters of rank >= 2 only (not to biases and normalization scales).
  float weight_decay = 0.0f;
};

OptimizerKind parse_optimizer_kind(const std::string& name);  // throws Error on an unknown name
std::string optimizer_kind_name(OptimizerKind kind);

// Updates parameters in place. Its state (moments, step count) is a list of named tensors so
// checkpoints can store and restore it exactly.
class Optimizer {
 public:
  explicit Optimizer(OptimizerConfig config);
  const OptimizerConfig& config() const { return config_; }
  // One step at learning rate lr: params[name] -= ... using grads[name] for every name in
  // params (the grads map must hold each). Elementwise, so its result does not depend on the
  // thread count.
  void step(std::map<std::string, Tensor>& params, const std::map<std::string, Tensor>& grads,
            float lr);
  int64_t steps() const { return steps_; }
  // "NAME/m", "NAME/v" (adam), "NAME/momentum" (sgd); the step count is separate.
  std::map<std::string, Tensor> state() const;
  void restore(const std::map<std::string, Tensor>& state, int64_t steps);

 private:
  OptimizerConfig config_;
  int64_t steps_ = 0;
  std::map<std::string, Tensor> state_;
};

// Scales every gradient by max_norm / global_norm when the global L2 norm (all gradients as one
// vector, summed in double in name order) exceeds max_norm. Returns the norm before clipping.
double clip_grad_global_norm(std::map<std::string, Tensor>& grads, double max_norm);

// ---------------------------------------------------------------------------------------------
// Learning-rate schedules: an optional linear warm-up, then constant, step or cosine decay.

enum class ScheduleKind { constant, step, cosine };

struct ScheduleConfig {
  ScheduleKind kind = ScheduleKind::constant;
  float base_lr = 0.01f;
  int64_t warmup_steps = 0;  // lr rises linearly: base * (s + 1) / warmup for s < warmup
  int64_t total_steps = 0;   // cosine: decays from base to min_lr over total - warmup steps
  float min_lr = 0.0f;
  int64_t step_size = 1;  // step: lr *= gamma every step_size steps after warm-up
  float gamma = 0.1f;
};

ScheduleKind parse_schedule_kind(const std::string& name);        // constant | step | cosine
float learning_rate(const ScheduleConfig& config, int64_t step);  // step counts from 0

// ---------------------------------------------------------------------------------------------
// Data.

// Images and labels: inputs u8 or f32 [N,H,W] or [N,C,H,W] (u8 is divided by 255), labels i64
// [N]. The tensors are shared, not copied.
struct LabeledData {
  Tensor inputs;
  Tensor labels;
};

// "fashion-mnist" (the Debian package's files) or a folder of .npy files (inputs.npy, labels.npy;
// labels required). `train` picks the split of Fashion-MNIST; a folder has one split.
LabeledData load_labeled_data(const std::string& spec, bool train);

// ---------------------------------------------------------------------------------------------
// Trainer.

// Numerics of training. bf16: mixed precision, with the operands of the convolutions and matrix
// products (forward, data and weight gradients) rounded to bf16 and f32 accumulation and
// results; weights, optimizer state, normalization, activations and the loss stay f32.
enum class TrainPrecision { fp32, bf16 };
TrainPrecision parse_train_precision(const std::string& name);  // fp32 | bf16, else Error
std::string train_precision_name(TrainPrecision precision);

struct EpochReport {
  int64_t epoch = 0;          // 1-based
  int64_t step = 0;           // optimizer steps done so far
  double train_loss = 0;      // mean over the epoch's batches run in this process
  double train_accuracy = 0;  // fraction
  double test_accuracy = -1;  // fraction; -1 when not evaluated
  double seconds = 0;
  double images_per_second = 0;
  // Median wall time of the epoch's optimizer steps (forward, backward, update; not the data
  // loading), without the first step of the process (it creates the kernels); 0 when none.
  double median_step_seconds = 0;
};

struct TrainerOptions {
  int64_t epochs = 1;
  int64_t batch_size = 64;
  int64_t max_steps = 0;  // > 0: stop after this many optimizer steps in total
  OptimizerConfig optimizer;
  // bf16 runs in bf16 whatever the CPU: on one without native bf16 (cpu_has_bf16() false)
  // oneDNN emulates it slowly, so callers check first (the CLI falls back to fp32).
  TrainPrecision precision = TrainPrecision::fp32;
  // Activations between convolutions, BatchNorms, ReLUs and Adds kept channel-blocked (in bf16
  // under bf16 precision) when oneDNN runs here; false keeps every value plain NCHW f32 (slower;
  // for comparisons).
  bool blocked_activations = true;
  ScheduleConfig schedule;   // total_steps 0: epochs * batches per epoch
  double clip_norm = 0.0;    // > 0: clip gradients to this global norm
  uint64_t seed = 0;         // data order, augmentation, dropout
  int threads = 0;           // 0: every core this process may use
  int64_t crop_padding = 0;  // augmentation: random crop after padding by this many pixels
  bool hflip = false;        // augmentation: random horizontal flip
  std::string freeze_regex;
  std::string checkpoint_dir;    // empty: no checkpoints
  int64_t checkpoint_every = 0;  // steps; 0: at the end of every epoch only
  bool resume = false;           // continue from checkpoint_dir's checkpoint
  bool evaluate_each_epoch = true;
  bool progress = false;  // one updating line on stderr (the CLI sets it when stderr is a TTY)
  // Called after each epoch's evaluation (the CLI prints a line).
  std::function<void(const EpochReport&)> on_epoch;
};

class Trainer {
 public:
  // `model` is the inference model to train (the trainer works on its own copy of the weights:
  // model() returns them). Throws Error on bad options, data that does not fit the model, or (with
  // resume) a missing, corrupt or mismatched checkpoint.
  Trainer(Model model, LabeledData train, LabeledData test, TrainerOptions options);
  ~Trainer();
  // Trains until the epochs (or max_steps) are done. Throws Error naming the step and the first
  // tensor that went bad when the loss or a gradient is NaN or infinite.
  std::vector<EpochReport> run();
  // Runs at most n optimizer steps (for tests and for stopping part-way); returns how many ran.
  int64_t run_steps(int64_t n);
  void save_checkpoint() const;  // into options.checkpoint_dir
  const Model& model() const;
  int64_t step() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Path of the checkpoint file the Trainer writes in a folder.
std::string checkpoint_path(const std::string& dir);

// Top-1 accuracy (fraction) of a classifier on labeled data, run through nnaccel::Session.
struct EvalOptions {
  int64_t batch_size = 250;  // used when the model's batch dim is symbolic
  int threads = 0;
  bool progress = false;
};
double evaluate_accuracy(const Model& model, const LabeledData& data,
                         const EvalOptions& options = {});

}  // namespace nnaccel
