#include "onnx/proto_tensor.hpp"

#include <sys/stat.h>

#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/check.hpp"
#include "core/checked_math.hpp"

namespace nnaccel {

namespace fs = std::filesystem;

namespace {

std::string tensor_label(const onnx::TensorProto& p) {
  return p.name().empty() ? std::string("tensor") : fmt::format("tensor '{}'", p.name());
}

// Resolves an external data location, refusing anything outside base_dir.
std::string external_path(const std::string& base_dir, const std::string& location,
                          const std::string& label) {
  if (base_dir.empty()) fail("{}: external data is not allowed here", label);
  fs::path loc(location);
  if (location.empty()) fail("{}: external data location is empty", label);
  if (location.find('\0') != std::string::npos)
    fail("{}: external data location contains a NUL character", label);
  if (loc.is_absolute()) fail("{}: external data path '{}' is absolute", label, location);
  for (const auto& part : loc)
    if (part == "..")
      fail("{}: external data path '{}' escapes the model's folder", label, location);
  std::error_code ec;
  fs::path base = fs::weakly_canonical(fs::path(base_dir), ec);
  fs::path full = fs::weakly_canonical(fs::path(base_dir) / loc, ec);
  if (ec) fail("{}: external data file '{}' cannot be resolved", label, location);
  auto rel = full.lexically_relative(base);
  if (rel.empty() || *rel.begin() == "..")
    fail("{}: external data path '{}' escapes the model's folder", label, location);
  return full.string();
}

// Where a tensor's external data lives, checked against the file before anything is allocated.
struct ExternalSlice {
  std::string path;
  std::string location;
  int64_t offset = 0;
};

ExternalSlice check_external(const onnx::TensorProto& p, const std::string& base_dir, size_t nbytes,
                             const std::string& label) {
  ExternalSlice r;
  int64_t length = -1;
  for (const auto& kv : p.external_data()) {
    auto parse = [&](const std::string& v) -> int64_t {
      char* end = nullptr;
      errno = 0;
      long long x = std::strtoll(v.c_str(), &end, 10);
      if (errno != 0 || end == v.c_str() || *end != '\0' || x < 0)
        fail("{}: external data {} '{}' is not a non-negative integer", label, kv.key(), v);
      return x;
    };
    if (kv.key() == "location")
      r.location = kv.value();
    else if (kv.key() == "offset")
      r.offset = parse(kv.value());
    else if (kv.key() == "length")
      length = parse(kv.value());
  }
  r.path = external_path(base_dir, r.location, label);
  struct stat st {};
  if (::stat(r.path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    fail("{}: external data file '{}' not found (or not a regular file)", label, r.location);
  int64_t file_size = st.st_size;
  if (length >= 0 && static_cast<uint64_t>(length) != nbytes)
    fail("{}: external data length {} but the shape needs {} bytes", label, length, nbytes);
  if (r.offset > file_size ||
      static_cast<uint64_t>(nbytes) > static_cast<uint64_t>(file_size - r.offset))
    fail("{}: external data at offset {} + {} bytes is past the end of '{}' ({} bytes)", label,
         r.offset, nbytes, r.location, file_size);
  return r;
}

void read_external(const ExternalSlice& slice, void* dst, size_t nbytes, const std::string& label) {
  std::ifstream in(slice.path, std::ios::binary);
  in.seekg(slice.offset);
  in.read(static_cast<char*>(dst), static_cast<std::streamsize>(nbytes));
  if (!in) fail("{}: could not read external data from '{}'", label, slice.location);
}

template <typename Field>
void check_count(const Field& f, int64_t n, const std::string& label) {
  if (static_cast<int64_t>(f.size()) != n)
    fail("{}: has {} values but its shape needs {}", label, f.size(), n);
}

}  // namespace

Tensor tensor_from_proto(const onnx::TensorProto& p, const std::string& base_dir) {
  const std::string label = tensor_label(p);
  if (!dtype_is_known(p.data_type()) || p.data_type() == 0)
    fail("{}: unknown data type {}", label, p.data_type());
  DType dt = static_cast<DType>(p.data_type());
  if (dt == DType::string) fail("{}: string tensors are not supported", label);
  if (dt == DType::c64 || dt == DType::c128) fail("{}: complex tensors are not supported", label);
  Shape shape;
  for (int64_t d : p.dims()) {
    if (d < 0) fail("{}: negative dimension {}", label, d);
    shape.push_back(d);
  }
  int64_t n = 1;
  // Strides are products of dims even when some dim is 0: the non-zero dims must multiply
  // within int64_t too.
  int64_t strides = 1;
  for (int64_t d : shape) {
    n = checked_mul(n, d, "tensor element count");
    if (d != 0) strides = checked_mul(strides, d, "tensor strides");
  }
  if (checked_mul(n, dtype_bits(dt), "tensor size") / 8 > (int64_t{1} << 46))
    fail("{}: shape {} is too large", label, shape_str(shape));
  size_t nbytes = dtype_storage_bytes(dt, n);

  const bool external = p.data_location() == onnx::TensorProto::EXTERNAL;
  // Check the bytes present before allocating.
  ExternalSlice slice;
  if (external) {
    slice = check_external(p, base_dir, nbytes, label);
  } else {
    if (p.has_raw_data()) {
      if (p.raw_data().size() != nbytes)
        fail("{}: raw data has {} bytes but shape {} of {} needs {}", label, p.raw_data().size(),
             shape_str(shape), dtype_name(dt), nbytes);
    } else {
      int64_t have = 0;
      switch (dt) {
        case DType::f32:
          have = p.float_data_size();
          break;
        case DType::f64:
          have = p.double_data_size();
          break;
        case DType::i64:
          have = p.int64_data_size();
          break;
        case DType::u32:
        case DType::u64:
          have = p.uint64_data_size();
          break;
        default:
          have = p.int32_data_size();
          break;
      }
      int64_t need = n;
      if (dt == DType::u4 || dt == DType::i4) need = (n + 1) / 2;
      if (have != need)
        fail("{}: has {} values but shape {} needs {}", label, have, shape_str(shape), need);
    }
  }
  Tensor t(dt, shape);
  if (external) {
    read_external(slice, t.raw(), nbytes, label);
    return t;
  }
  if (nbytes == 0) return t;  // (an empty repeated field has no buffer to copy from)
  if (p.has_raw_data()) {
    std::memcpy(t.raw(), p.raw_data().data(), nbytes);
    return t;
  }
  switch (dt) {
    case DType::f32:
      std::memcpy(t.raw(), p.float_data().data(), nbytes);
      break;
    case DType::f64:
      std::memcpy(t.raw(), p.double_data().data(), nbytes);
      break;
    case DType::i64:
      std::memcpy(t.raw(), p.int64_data().data(), nbytes);
      break;
    case DType::u64:
      std::memcpy(t.raw(), p.uint64_data().data(), nbytes);
      break;
    case DType::u32: {
      auto* d = t.data<uint32_t>();
      for (int64_t i = 0; i < n; ++i)
        d[i] = static_cast<uint32_t>(p.uint64_data(static_cast<int>(i)));
      break;
    }
    default: {
      // int32_data holds int32, and the low bits of every narrower type (f16/bf16 as bits).
      int bits = dtype_bits(dt);
      auto* bytes = static_cast<uint8_t*>(t.raw());
      int64_t count = (bits == 4) ? (n + 1) / 2 : n;
      for (int64_t i = 0; i < count; ++i) {
        int32_t v = p.int32_data(static_cast<int>(i));
        switch (bits) {
          case 4:
            bytes[i] = static_cast<uint8_t>(v);
            break;
          case 8:
            bytes[i] = static_cast<uint8_t>(v);
            break;
          case 16: {
            uint16_t u = static_cast<uint16_t>(v);
            std::memcpy(bytes + 2 * i, &u, 2);
            break;
          }
          case 32:
            std::memcpy(bytes + 4 * i, &v, 4);
            break;
          default:
            fail("{}: unsupported data type {}", label, dtype_name(dt));
        }
      }
      if (dt == DType::boolean)
        for (int64_t i = 0; i < n; ++i) bytes[i] = bytes[i] != 0;
    }
  }
  return t;
}

void tensor_to_proto(const Tensor& t, onnx::TensorProto* p) {
  p->set_data_type(static_cast<int32_t>(t.dtype()));
  p->clear_dims();
  for (int64_t d : t.shape()) p->add_dims(d);
  p->set_raw_data(t.raw(), t.nbytes());
}

}  // namespace nnaccel
