#pragma once
// The subcommands of the nnaccel CLI. main.cpp parses flags (CLI11 stays in that one file, it is
// slow to compile); each subcommand lives in its own file and returns the process exit status.
#include <cstdint>
#include <string>
#include <vector>

namespace nnaccel::cli {

struct InspectOptions {
  std::string model;
  bool json = false;
};
int run_inspect(const InspectOptions& o);

struct RunOptions {
  std::string model;
  std::vector<std::string> inputs;  // NAME=FILE
  std::string out_dir;
  bool json = false;
};
int run_run(const RunOptions& o);

struct ConformanceOptions {
  std::vector<std::string> dirs;
  std::string expected_failures;  // file listing cases to skip with their reasons
  bool verbose = false;
  int min_passed = 0;  // fail the run when fewer cases pass
  bool reference = false;  // the reference interpreter instead of the compiled fast path
};
int run_conformance(const ConformanceOptions& o);

struct BenchOptions {
  std::string model;
  std::vector<std::string> inputs;  // NAME=FILE
  std::vector<std::string> shapes;  // NAME=D0,D1,...
  int64_t batch = -1;               // -1: not given
  int warmup = 3;
  int iters = 20;
  int threads = 0;                 // 0: the cores this process may use
  std::string precision = "fp32";  // fp32, bf16 or auto
  bool reference = false;          // the reference interpreter instead of the fast path
  bool profile = false;
  bool json = false;
};
int run_bench(const BenchOptions& o);

struct TrainOptions {
  std::string arch;        // --arch: build this classifier
  std::string model;       // --model: fine-tune this ONNX file
  std::string data;        // fashion-mnist or a folder of .npy files
  std::string test_data;   // evaluation data for a --data folder (default: none)
  std::string out;
  int64_t epochs = 10;
  int64_t batch = 64;
  double lr = -1;          // -1: the optimizer's default
  std::string optimizer = "sgd";
  std::string schedule = "cosine";
  int64_t warmup = -1;     // steps; -1: min(500, a tenth of the run)
  double weight_decay = -1;  // -1: 5e-4 for sgd and adamw, 0 for adam
  double momentum = 0.9;
  bool nesterov = false;
  double clip_norm = 0;
  std::string precision = "fp32";
  std::string layout = "blocked";  // blocked or plain: activations between convolutions
  uint64_t seed = 0;
  int threads = 0;
  int64_t crop_padding = 0;
  bool hflip = false;
  std::string freeze;
  std::string checkpoint_dir;
  int64_t checkpoint_every = 0;
  int64_t max_steps = 0;
  bool resume = false;
};
int run_train(const TrainOptions& o);

struct EvalOptions {
  std::string model;
  std::string data;
  int threads = 0;
  int64_t batch = 250;
  bool json = false;
};
int run_eval(const EvalOptions& o);

struct QuantizeOptions {
  std::string model;
  std::vector<std::string> calib;  // fashion-mnist, DIR, or NAME=DIR per input
  int64_t calib_size = -1;         // -1: not given
  std::string scheme = "int8";
  bool per_channel = false, per_tensor = false;
  bool symmetric = false;
  std::string activations = "u8";
  std::string method = "minmax";
  double percentile = -1;  // -1: not given
  bool dynamic = false;
  bool cle = false, bias_correction = false, gptq = false;
  double weight_budget = -1;          // -1: not given
  std::vector<std::string> op_types;  // comma-separated lists
  std::vector<std::string> exclude;
  bool sensitivity = false;
  std::string calib_state;
  int threads = 0;
  std::string out;
};
int run_quantize(const QuantizeOptions& o);

struct CompareOptions {
  std::string a, b;
  std::vector<std::string> data;
  int64_t batch = 64;
  int threads = 0;
  int iters = 10;
  bool json = false;
};
int run_compare(const CompareOptions& o);

}  // namespace nnaccel::cli
