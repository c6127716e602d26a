// NumPy .npy reading and writing.
#include "nnaccel/npy.hpp"

#include <cstring>
#include <fstream>
#include <sstream>

#include "core/atomic_file.hpp"
#include "core/check.hpp"
#include "core/checked_math.hpp"

namespace nnaccel {

namespace {

DType dtype_from_descr(const std::string& d, const std::string& path) {
  if (d.size() < 3) fail("{}: unsupported dtype '{}'", path, d);
  char order = d[0];
  std::string code = d.substr(1);
  if (order == '>' && code != "u1" && code != "i1" && code != "b1")
    fail("{}: big-endian arrays are not supported", path);
  static const std::pair<const char*, DType> table[] = {
      {"f4", DType::f32}, {"f8", DType::f64}, {"f2", DType::f16}, {"i1", DType::i8},
      {"u1", DType::u8},  {"i2", DType::i16}, {"u2", DType::u16}, {"i4", DType::i32},
      {"u4", DType::u32}, {"i8", DType::i64}, {"u8", DType::u64}, {"b1", DType::boolean}};
  for (const auto& [c, t] : table)
    if (code == c) return t;
  fail("{}: unsupported dtype '{}'", path, d);
}

const char* descr_of(DType t) {
  switch (t) {
    case DType::f32: return "<f4";
    case DType::f64: return "<f8";
    case DType::f16: return "<f2";
    case DType::i8: return "|i1";
    case DType::u8: return "|u1";
    case DType::i16: return "<i2";
    case DType::u16: return "<u2";
    case DType::i32: return "<i4";
    case DType::u32: return "<u4";
    case DType::i64: return "<i8";
    case DType::u64: return "<u8";
    case DType::boolean: return "|b1";
    default: return nullptr;
  }
}

// Value of `key` in the header dict: the text after "'key':" up to the next top-level comma.
std::string dict_value(const std::string& header, const std::string& key, const std::string& path) {
  size_t k = header.find("'" + key + "'");
  if (k == std::string::npos) fail("{}: .npy header has no '{}'", path, key);
  size_t colon = header.find(':', k);
  if (colon == std::string::npos) fail("{}: malformed .npy header", path);
  size_t i = colon + 1;
  while (i < header.size() && header[i] == ' ') ++i;
  if (i < header.size() && header[i] == '(') {
    size_t e = header.find(')', i);
    if (e == std::string::npos) fail("{}: malformed .npy header", path);
    return header.substr(i, e - i + 1);
  }
  size_t e = header.find_first_of(",}", i);
  if (e == std::string::npos) fail("{}: malformed .npy header", path);
  return header.substr(i, e - i);
}

}  // namespace

Tensor load_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open '{}'", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  const std::string bytes = ss.str();
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0)
    fail("'{}' is not a .npy file", path);
  int major = static_cast<uint8_t>(bytes[6]);
  size_t header_len;
  size_t header_start;
  if (major == 1) {
    header_len = static_cast<uint8_t>(bytes[8]) | (static_cast<size_t>(static_cast<uint8_t>(bytes[9])) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) fail("'{}' is truncated", path);
    uint32_t l;
    std::memcpy(&l, bytes.data() + 8, 4);
    header_len = l;
    header_start = 12;
  } else {
    fail("'{}': unsupported .npy version {}", path, major);
  }
  if (header_start + header_len > bytes.size()) fail("'{}': truncated .npy header", path);
  std::string header = bytes.substr(header_start, header_len);
  std::string descr = dict_value(header, "descr", path);
  if (descr.size() < 2 || (descr.front() != '\'' && descr.front() != '"'))
    fail("{}: malformed descr", path);
  descr = descr.substr(1, descr.size() - 2);
  DType dt = dtype_from_descr(descr, path);
  std::string fortran = dict_value(header, "fortran_order", path);
  if (fortran.find("True") != std::string::npos)
    fail("{}: Fortran-ordered arrays are not supported", path);
  std::string shape_text = dict_value(header, "shape", path);
  Shape shape;
  {
    std::string s = shape_text.substr(1, shape_text.size() - 2);
    std::stringstream parts(s);
    std::string item;
    while (std::getline(parts, item, ',')) {
      size_t a = item.find_first_not_of(" L");
      if (a == std::string::npos) continue;
      char* end = nullptr;
      errno = 0;
      long long v = std::strtoll(item.c_str() + a, &end, 10);
      if (errno != 0 || v < 0) fail("{}: bad dimension '{}' in shape", path, item);
      shape.push_back(v);
    }
  }
  int64_t n = 1;
  for (int64_t d : shape) n = checked_mul(n, d, "npy element count");
  size_t data_start = header_start + header_len;
  size_t need = dtype_storage_bytes(dt, n);
  if (bytes.size() - data_start != need)
    fail("'{}': has {} data bytes but shape {} of {} needs {}", path, bytes.size() - data_start,
         shape_str(shape), dtype_name(dt), need);
  Tensor t(dt, shape);
  std::memcpy(t.raw(), bytes.data() + data_start, need);
  if (dt == DType::boolean) {
    auto* b = t.data<uint8_t>();
    for (int64_t i = 0; i < n; ++i) b[i] = b[i] != 0;
  }
  return t;
}

void save_npy(const Tensor& t, const std::string& path) {
  Tensor src = t;
  const char* descr = descr_of(t.dtype());
  if (descr == nullptr) fail("cannot write {} tensors to .npy", dtype_name(t.dtype()));
  std::string shape;
  for (int64_t d : t.shape()) shape += std::to_string(d) + ", ";
  if (t.rank() == 1) shape.pop_back();  // "(5,)"
  else if (!shape.empty()) shape.resize(shape.size() - 2);
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}), }}",
                                   descr, shape);
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::string out = "\x93NUMPY";
  out.push_back(1);
  out.push_back(0);
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>(header.size() >> 8));
  out += header;
  out.append(static_cast<const char*>(src.raw()), src.nbytes());
  write_file_atomic(path, out);
}

}  // namespace nnaccel
