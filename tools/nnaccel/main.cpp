// nnaccel: the command line. Errors in input are one line on stderr and exit status 2.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <new>
#include <string>

#include "commands.hpp"
#include "nnaccel/error.hpp"
#include "nnaccel/tensor.hpp"

namespace {

// "--max-memory 8G" -> bytes.
uint64_t parse_bytes(const std::string& s) {
  if (s.empty()) throw nnaccel::Error("--max-memory: empty value");
  size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(s, &pos);
  } catch (...) {
    throw nnaccel::Error("--max-memory: '" + s + "' is not a size");
  }
  std::string unit = s.substr(pos);
  double mult = 1;
  if (unit == "" || unit == "B") mult = 1;
  else if (unit == "K" || unit == "KB") mult = 1024.0;
  else if (unit == "M" || unit == "MB") mult = 1024.0 * 1024;
  else if (unit == "G" || unit == "GB") mult = 1024.0 * 1024 * 1024;
  else throw nnaccel::Error("--max-memory: unknown unit '" + unit + "' (use K, M or G)");
  if (!(v > 0)) throw nnaccel::Error("--max-memory: must be positive");
  return static_cast<uint64_t>(v * mult);
}

// Error messages quote names from the user's files; keep the report on one line whatever they hold.
std::string one_line(const char* what) {
  std::string s;
  for (const char* p = what; *p != '\0'; ++p) {
    unsigned char c = static_cast<unsigned char>(*p);
    if (c == '\n') s += "\\n";
    else if (c < 0x20 || c == 0x7f) s += '?';
    else s += static_cast<char>(c);
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"nnaccel: make trained neural networks smaller and faster"};
  app.require_subcommand(1);
  std::string max_memory;
  app.add_option("--max-memory", max_memory,
                 "cap on any single allocation, e.g. 4G (default: physical memory)");

  nnaccel::cli::InspectOptions inspect;
  auto* ci = app.add_subcommand("inspect", "describe a model: inputs, outputs, ops, parameters");
  ci->add_option("model", inspect.model, "ONNX model")->required();
  ci->add_flag("--json", inspect.json, "machine-readable output");

  nnaccel::cli::RunOptions run;
  auto* cr = app.add_subcommand("run", "run a model on inputs from .npy or .pb files");
  cr->add_option("model", run.model, "ONNX model")->required();
  cr->add_option("--input,-i", run.inputs, "NAME=FILE (.npy or ONNX TensorProto .pb)");
  cr->add_option("--out,-o", run.out_dir, "folder for the outputs (NAME.npy)")->required();
  cr->add_flag("--json", run.json, "print a map of output names to files");

  nnaccel::cli::ConformanceOptions conf;
  auto* cc = app.add_subcommand("conformance", "run ONNX backend test cases below folders");
  cc->add_option("dirs", conf.dirs, "folders holding test cases")->required();
  cc->add_option("--expected-failures", conf.expected_failures,
                 "file of cases whose expected data no correct implementation meets");
  cc->add_flag("--verbose,-v", conf.verbose, "print every case");
  cc->add_option("--min-passed", conf.min_passed,
                 "exit non-zero when fewer cases pass (guards against cases turning into skips)");
  cc->add_flag("--reference", conf.reference,
               "run on the reference interpreter instead of the compiled fast path");

  nnaccel::cli::BenchOptions bench;
  auto* cb = app.add_subcommand("bench", "time a model on inputs from files or random data");
  cb->add_option("model", bench.model, "ONNX model")->required();
  cb->add_option("--input,-i", bench.inputs, "NAME=FILE (.npy or .pb); others get random data");
  cb->add_option("--shape", bench.shapes, "NAME=D0,D1,... dims of a random input");
  cb->add_option("--batch", bench.batch,
                 "value of a dynamic leading dim; throughput counts it (default: the first "
                 "input's leading dim)");
  cb->add_option("--warmup", bench.warmup, "untimed runs first (default 3)");
  cb->add_option("--iters", bench.iters, "timed runs (default 20)");
  cb->add_option("--threads", bench.threads, "threads (default 0: the cores this process may use)");
  cb->add_option("--precision", bench.precision,
                 "fp32, bf16 or auto: numerics of conv/matmul on the fast path (default fp32)");
  cb->add_flag("--reference", bench.reference,
               "the reference interpreter (node by node, reference kernels) instead of the fast "
               "path");
  cb->add_flag("--profile", bench.profile, "time per op type and the 10 slowest nodes");
  cb->add_flag("--json", bench.json, "one JSON object");

  nnaccel::cli::TrainOptions train;
  auto* ct = app.add_subcommand("train", "train a classifier (built-in architecture or ONNX model)");
  ct->add_option("--arch", train.arch, "mlp, lenet5 or resnet-s");
  ct->add_option("--model", train.model, "ONNX model to fine-tune (weights in initializers)");
  ct->add_option("--data", train.data, "fashion-mnist or a folder with inputs.npy and labels.npy")
      ->required();
  ct->add_option("--test-data", train.test_data, "evaluation folder for a --data folder");
  ct->add_option("--out,-o", train.out, "the trained inference model (.onnx)")->required();
  ct->add_option("--epochs", train.epochs, "default 10");
  ct->add_option("--batch", train.batch, "default 64");
  ct->add_option("--lr", train.lr, "peak learning rate (default 0.05 sgd, 0.001 adam/adamw)");
  ct->add_option("--optimizer", train.optimizer, "sgd (default), adam or adamw");
  ct->add_option("--schedule", train.schedule, "cosine (default), step or constant");
  ct->add_option("--warmup", train.warmup, "linear warm-up steps (default min(500, run/10))");
  ct->add_option("--weight-decay", train.weight_decay, "default 5e-4 (sgd, adamw), 0 (adam)");
  ct->add_option("--momentum", train.momentum, "sgd momentum (default 0.9)");
  ct->add_flag("--nesterov", train.nesterov, "Nesterov momentum");
  ct->add_option("--clip-norm", train.clip_norm, "clip gradients to this global L2 norm");
  ct->add_option("--precision", train.precision,
                 "fp32 (default) or bf16: mixed precision (bf16 conv/matmul, f32 weights)");
  ct->add_option("--layout", train.layout,
                 "blocked (default): activations between convolutions stay channel-blocked (bf16 "
                 "under --precision bf16); plain: NCHW f32 everywhere (slower, for comparison)");
  ct->add_option("--seed", train.seed, "data order, augmentation, dropout and init (default 0)");
  ct->add_option("--threads", train.threads, "default: every core this process may use");
  ct->add_option("--crop-padding", train.crop_padding, "augment: random crop after padding");
  ct->add_flag("--hflip", train.hflip, "augment: random horizontal flips");
  ct->add_option("--freeze", train.freeze, "keep weights whose name matches this regex fixed");
  ct->add_option("--checkpoint-dir", train.checkpoint_dir, "folder for the checkpoint");
  ct->add_option("--checkpoint-every", train.checkpoint_every,
                 "steps between checkpoints (default: every epoch)");
  ct->add_option("--max-steps", train.max_steps, "stop after this many steps");
  ct->add_flag("--resume", train.resume, "continue from the checkpoint in --checkpoint-dir");

  nnaccel::cli::EvalOptions eval;
  auto* ce = app.add_subcommand("eval", "top-1 accuracy of a classifier on labeled data");
  ce->add_option("model", eval.model, "ONNX model")->required();
  ce->add_option("--data", eval.data, "fashion-mnist (its 10,000 test images) or a .npy folder")
      ->required();
  ce->add_option("--threads", eval.threads, "default: every core this process may use");
  ce->add_option("--batch", eval.batch, "images per run (default 250)");
  ce->add_flag("--json", eval.json, "one JSON object");

  nnaccel::cli::QuantizeOptions quant;
  auto* cq = app.add_subcommand("quantize", "post-training int8 quantization (static QDQ or dynamic)");
  cq->add_option("model", quant.model, "float ONNX model")->required();
  cq->add_option("--calib", quant.calib,
                 "fashion-mnist, a folder of .npy batches (or with inputs.npy), or NAME=DIR per "
                 "input");
  cq->add_option("--calib-size", quant.calib_size,
                 "calibration samples (default: 1024 of fashion-mnist, all of a folder)");
  cq->add_option("--scheme", quant.scheme, "int8 (the only one so far)");
  cq->add_flag("--per-channel", quant.per_channel, "weights per output channel (default)");
  cq->add_flag("--per-tensor", quant.per_tensor, "one weight scale per tensor");
  cq->add_flag("--symmetric", quant.symmetric, "symmetric activations");
  cq->add_option("--activations", quant.activations, "u8 (default) or s8");
  cq->add_option("--method", quant.method,
                 "calibration: minmax (default), moving-average, percentile, mse or entropy");
  cq->add_option("--percentile", quant.percentile, "percentile method: upper percentile kept "
                 "(default 99.99)");
  cq->add_flag("--dynamic", quant.dynamic,
               "dynamic quantization (DynamicQuantizeLinear + MatMulInteger/ConvInteger), no "
               "calibration");
  cq->add_flag("--cle", quant.cle, "cross-layer equalization first");
  cq->add_flag("--bias-correction", quant.bias_correction, "correct the biases' mean error");
  cq->add_flag("--gptq", quant.gptq,
               "round weights by GPTQ (least output error on the calibration inputs)");
  cq->add_option("--weight-budget", quant.weight_budget,
                 "weights at most this fraction of fp32's bytes (e.g. 0.26): the layers that lose "
                 "least by it take one scale per tensor until they fit");
  cq->add_option("--op-types", quant.op_types,
                 "ops to quantize (default Conv,Gemm,MatMul,Add,MaxPool and the ops that only "
                 "move data: Reshape,Flatten,Transpose,Squeeze,Unsqueeze,Identity,Concat)")
      ->delimiter(',');
  cq->add_option("--exclude", quant.exclude, "node names kept in float")->delimiter(',');
  cq->add_flag("--sensitivity", quant.sensitivity,
               "quantize one layer at a time and print the metric per layer, worst first");
  cq->add_option("--calib-state", quant.calib_state,
                 "calibration state saved after every batch; resumes from it when present");
  cq->add_option("--threads", quant.threads, "default: every core this process may use");
  cq->add_option("--out,-o", quant.out, "the quantized model (.onnx)")->required();

  nnaccel::cli::CompareOptions cmp;
  auto* cm = app.add_subcommand("compare", "two models on the same data: accuracy, agreement, "
                                "size, latency");
  cm->add_option("a", cmp.a, "reference ONNX model (e.g. float)")->required();
  cm->add_option("b", cmp.b, "ONNX model compared with it (e.g. quantized)")->required();
  cm->add_option("--data", cmp.data,
                 "fashion-mnist (test split), a folder (inputs.npy [labels.npy], or .npy "
                 "batches), or NAME=DIR per input")
      ->required();
  cm->add_option("--batch", cmp.batch, "samples per run (default 64)");
  cm->add_option("--threads", cmp.threads, "default: every core this process may use");
  cm->add_option("--iters", cmp.iters, "timed runs per model (default 10)");
  cm->add_flag("--json", cmp.json, "one JSON object");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "nnaccel: %s\n", e.what());
    return 2;
  }
  try {
    nnaccel::set_max_allocation_bytes(max_memory.empty() ? nnaccel::physical_memory_bytes()
                                                         : parse_bytes(max_memory));
    if (*ci) return nnaccel::cli::run_inspect(inspect);
    if (*cr) return nnaccel::cli::run_run(run);
    if (*cc) return nnaccel::cli::run_conformance(conf);
    if (*cb) return nnaccel::cli::run_bench(bench);
    if (*ct) return nnaccel::cli::run_train(train);
    if (*ce) return nnaccel::cli::run_eval(eval);
    if (*cq) return nnaccel::cli::run_quantize(quant);
    if (*cm) return nnaccel::cli::run_compare(cmp);
  } catch (const nnaccel::Error& e) {
    std::fprintf(stderr, "nnaccel: error: %s\n", one_line(e.what()).c_str());
    return 2;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "nnaccel: error: out of memory\n");
    return 2;
  } catch (const std::exception& e) {
    // Not an input problem nnaccel recognized: a bug, reported as such (EX_SOFTWARE).
    std::fprintf(stderr, "nnaccel: internal error: %s\n", one_line(e.what()).c_str());
    return 70;
  }
  return 0;
}
