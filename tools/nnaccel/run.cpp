// nnaccel run: a model on inputs from files, outputs to DIR/NAME.npy.
#include <fmt/format.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "commands.hpp"
#include "core/check.hpp"
#include "input_files.hpp"
#include "nnaccel/npy.hpp"
#include "nnaccel/onnx_io.hpp"
#include "nnaccel/session.hpp"

namespace nnaccel::cli {

namespace fs = std::filesystem;

namespace {

std::string safe_file_stem(const std::string& name) {
  std::string s = name;
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') c = '_';
  if (s.empty() || s == "." || s == "..") s = "output" + s;
  return s;
}

}  // namespace

int run_run(const RunOptions& o) {
  Session session = Session::load(o.model);
  for (const std::string& spec : o.inputs) {
    std::string name, file;
    split_name_value(spec, "--input", "FILE", name, file);
    session.set_input(name, load_input_file(file));
  }
  session.run();

  std::error_code ec;
  fs::create_directories(o.out_dir, ec);
  if (!fs::is_directory(o.out_dir, ec)) fail("cannot create output folder '{}'", o.out_dir);
  std::set<std::string> used;
  nlohmann::json map = nlohmann::json::object();
  for (size_t i = 0; i < session.outputs().size(); ++i) {
    const std::string& name = session.outputs()[i].name;
    std::string stem = safe_file_stem(name);
    std::string file = stem + ".npy";
    for (int k = 1; used.count(file); ++k) file = fmt::format("{}_{}.npy", stem, k);
    used.insert(file);
    std::string path = (fs::path(o.out_dir) / file).string();
    save_npy(session.output(i), path);
    map[name] = path;
    if (!o.json) {
      const Tensor& t = session.output(i);
      fmt::print("{} {} {} -> {}\n", name, dtype_name(t.dtype()), shape_str(t.shape()), path);
    }
  }
  if (o.json) fmt::print("{}\n", map.dump(2));
  return 0;
}

}  // namespace nnaccel::cli
