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
  int threads = -1;  // -1: not given; recorded only (the reference executor is single-threaded)
  bool profile = false;
  bool json = false;
};
int run_bench(const BenchOptions& o);

}  // namespace nnaccel::cli
