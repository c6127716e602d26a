#include "train/checkpoint.hpp"

#include <zlib.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "core/atomic_file.hpp"
#include "core/check.hpp"

namespace nnaccel::train {
namespace {

constexpr char kMagic[8] = {'N', 'N', 'A', 'C', 'K', 'P', 'T', '1'};
constexpr uint64_t kMaxHeaderBytes = uint64_t{64} << 20;

uint32_t crc32_of(const std::string& bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  size_t done = 0;
  while (done < bytes.size()) {  // zlib takes uInt lengths
    const size_t n = std::min<size_t>(bytes.size() - done, size_t{1} << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + done), static_cast<uInt>(n));
    done += n;
  }
  return static_cast<uint32_t>(crc);
}

void put_u64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t get_u64(const std::string& in, size_t at) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(in[at + i])) << (8 * i);
  return v;
}

}  // namespace

void write_checkpoint(const std::string& path, const Checkpoint& c) {
  std::string payload;
  std::ostringstream h;
  h << "format nnaccel-checkpoint-v1\n"
    << "step " << c.step << "\n"
    << "optimizer_steps " << c.optimizer_steps << "\n"
    << "seed " << c.seed << "\n"
    << "batch_size " << c.batch_size << "\n"
    << "optimizer " << c.optimizer << "\n"
    << "threads " << c.threads << "\n"
    << "precision " << c.precision << "\n"
    << "loader " << c.loader << "\n";
  h << "blob model " << payload.size() << " " << c.model_onnx.size() << "\n";
  payload += c.model_onnx;
  for (const auto& [name, t] : c.optimizer_state) {
    NNA_CHECK(t.dtype() == DType::f32, "checkpoint: state '{}' is not float32", name);
    NNA_CHECK(name.find('\n') == std::string::npos && !name.empty(),
              "checkpoint: state name '{}' cannot be stored", name);
    h << "tensor " << payload.size() << " " << t.nbytes() << " " << t.rank();
    for (int64_t d : t.shape()) h << " " << d;
    h << " " << name << "\n";
    payload.append(static_cast<const char*>(t.raw()), t.nbytes());
  }
  h << "payload_size " << payload.size() << "\n"
    << "payload_crc32 " << crc32_of(payload) << "\n";
  const std::string header = h.str();
  std::string file(kMagic, sizeof kMagic);
  put_u64(file, header.size());
  file += header;
  file += payload;
  write_file_atomic(path, file);
}

Checkpoint read_checkpoint(const std::string& path) {
  auto bad = [&](const std::string& why) -> Error {
    return Error(fmt::format("checkpoint '{}': {}", path, why));
  };
  std::ifstream in(path, std::ios::binary);
  if (!in) throw bad("cannot open it");
  std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (file.size() < 16 || std::memcmp(file.data(), kMagic, sizeof kMagic) != 0)
    throw bad("not an nnaccel checkpoint (bad magic)");
  const uint64_t header_size = get_u64(file, 8);
  if (header_size > kMaxHeaderBytes || header_size > file.size() - 16)
    throw bad("truncated (header larger than the file)");
  const std::string header = file.substr(16, header_size);
  const std::string payload = file.substr(16 + header_size);

  Checkpoint c;
  bool have_format = false, have_size = false, have_crc = false, have_model = false;
  uint64_t payload_size = 0, crc = 0;
  auto slice = [&](uint64_t offset, uint64_t size) {
    uint64_t end = 0;
    if (__builtin_add_overflow(offset, size, &end) || end > payload.size())
      throw bad(fmt::format("a section [{}, +{}) lies outside the {} payload bytes (truncated?)",
                            offset, size, payload.size()));
    return payload.substr(offset, size);
  };
  std::istringstream lines(header);
  std::string line;
  std::vector<std::string> tensor_lines, model_lines;
  while (std::getline(lines, line)) {
    std::istringstream ls(line);
    std::string key;
    ls >> key;
    auto num = [&](auto& v) {
      if (!(ls >> v)) throw bad(fmt::format("malformed header line '{}'", line));
    };
    if (key == "format") {
      std::string f;
      ls >> f;
      if (f != "nnaccel-checkpoint-v1") throw bad(fmt::format("unsupported format '{}'", f));
      have_format = true;
    } else if (key == "step") {
      num(c.step);
    } else if (key == "optimizer_steps") {
      num(c.optimizer_steps);
    } else if (key == "seed") {
      num(c.seed);
    } else if (key == "batch_size") {
      num(c.batch_size);
    } else if (key == "optimizer") {
      num(c.optimizer);
    } else if (key == "threads") {
      num(c.threads);
    } else if (key == "precision") {
      num(c.precision);
    } else if (key == "loader") {
      c.loader = line.size() > 7 ? line.substr(7) : "";
    } else if (key == "payload_size") {
      num(payload_size);
      have_size = true;
    } else if (key == "payload_crc32") {
      num(crc);
      have_crc = true;
    } else if (key == "blob") {
      model_lines.push_back(line);
    } else if (key == "tensor") {
      tensor_lines.push_back(line);
    } else if (!key.empty()) {
      throw bad(fmt::format("unknown header key '{}'", key));
    }
  }
  if (!have_format || !have_size || !have_crc) throw bad("header incomplete (truncated?)");
  if (payload_size != payload.size())
    throw bad(fmt::format("payload has {} bytes, header says {} (truncated?)", payload.size(),
                          payload_size));
  if (crc32_of(payload) != crc) throw bad("payload checksum mismatch (corrupt)");
  if (c.step < 0 || c.optimizer_steps < 0 || c.batch_size < 1) throw bad("bad step or batch size");

  for (const std::string& l : model_lines) {
    std::istringstream ls(l);
    std::string key, what;
    uint64_t off = 0, size = 0;
    if (!(ls >> key >> what >> off >> size) || what != "model")
      throw bad(fmt::format("malformed header line '{}'", l));
    c.model_onnx = slice(off, size);
    have_model = true;
  }
  if (!have_model) throw bad("no model in the checkpoint");
  for (const std::string& l : tensor_lines) {
    std::istringstream ls(l);
    std::string key;
    uint64_t off = 0, size = 0;
    int rank = 0;
    if (!(ls >> key >> off >> size >> rank) || rank < 0 || rank > 8)
      throw bad(fmt::format("malformed header line '{}'", l));
    Shape shape(static_cast<size_t>(rank));
    for (int64_t& d : shape)
      if (!(ls >> d) || d < 0) throw bad(fmt::format("malformed header line '{}'", l));
    std::string name;
    std::getline(ls, name);
    if (name.size() < 2) throw bad(fmt::format("malformed header line '{}'", l));
    name = name.substr(1);
    const std::string bytes = slice(off, size);
    int64_t numel = 1;
    for (int64_t d : shape)
      if (__builtin_mul_overflow(numel, d, &numel)) throw bad("tensor size overflows");
    if (numel > (int64_t{1} << 60) || static_cast<uint64_t>(numel) * 4 != size)
      throw bad(fmt::format("tensor '{}' has {} bytes for shape {}", name, size, shape_str(shape)));
    Tensor t(DType::f32, shape);
    std::memcpy(t.raw(), bytes.data(), bytes.size());
    c.optimizer_state[name] = t;
  }
  return c;
}

}  // namespace nnaccel::train
