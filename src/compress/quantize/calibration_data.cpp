#include "compress/quantize/calibration_data.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "core/check.hpp"
#include "nnaccel/npy.hpp"
#include "train/data/data_loader.hpp"
#include "train/data/dataset.hpp"

namespace nnaccel {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> npy_files(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    std::error_code ec2;
    if (e.path().extension() == ".npy" && e.is_regular_file(ec2)) files.push_back(e.path());
  }
  if (ec) fail("data folder '{}' cannot be read: {}", dir, ec.message());
  std::sort(files.begin(), files.end());
  if (files.empty()) fail("data folder '{}' holds no .npy files", dir);
  return files;
}

// The batch must be what the model declares for the input: dtype, rank and every known dim.
void check_feed(const ValueInfo& input, const Tensor& t, const std::string& source) {
  const TypeInfo& type = input.type;
  if (type.dtype != DType::undefined && t.dtype() != type.dtype)
    fail("{}: is {}, but model input '{}' is {}", source, dtype_name(t.dtype()), input.name,
         dtype_name(type.dtype));
  if (!type.has_shape) return;
  bool ok = t.rank() == static_cast<int>(type.dims.size());
  for (size_t d = 0; ok && d < type.dims.size(); ++d)
    ok = !type.dims[d].known() || type.dims[d].value == t.dim(static_cast<int>(d));
  if (!ok) {
    std::string want;
    for (const Dim& d : type.dims)
      want += (want.empty() ? "" : ",") +
              (d.known() ? std::to_string(d.value) : (d.param.empty() ? "?" : d.param));
    fail("{}: has shape {}, but model input '{}' is [{}]", source, shape_str(t.shape()), input.name,
         want);
  }
}

Tensor first_rows(const Tensor& t, int64_t rows) {
  Shape s = t.shape();
  s[0] = rows;
  Tensor out(t.dtype(), s);
  std::memcpy(out.raw(), t.raw(), out.nbytes());
  return out;
}

int64_t fixed_batch_of(const ValueInfo& v) {
  if (v.type.has_shape && !v.type.dims.empty() && v.type.dims[0].known())
    return v.type.dims[0].value;
  return 0;
}

}  // namespace

struct CalibrationData::Impl {
  CalibrationDataOptions options;
  std::vector<ValueInfo> inputs;
  std::string description;
  int64_t batches_read = 0, samples_read = 0;
  // A data set cut into batches by the training loader.
  std::unique_ptr<train::DataLoader> loader;
  int64_t loader_samples = 0;
  int64_t fixed_batch = 0;
  // Or batch files: per input, its files in name order.
  std::vector<std::pair<ValueInfo, std::vector<std::string>>> files;

  const ValueInfo& input(const std::string& name) const {
    for (const ValueInfo& v : inputs)
      if (v.name == name) return v;
    fail("data '{}': the model has no input named '{}'", description, name);
  }

  void use_dataset(train::Dataset d, const std::string& what) {
    if (inputs.size() != 1)
      fail("data '{}': the model has {} inputs; give NAME=DIR for each", what, inputs.size());
    if (d.inputs.rank() != 3 && d.inputs.rank() != 4)
      fail("data '{}': inputs must be images [N,H,W] or [N,C,H,W], got {}", what,
           shape_str(d.inputs.shape()));
    fixed_batch = fixed_batch_of(inputs[0]);
    train::LoaderOptions lo;
    lo.batch_size = fixed_batch > 0 ? fixed_batch : options.batch_size;
    lo.shuffle = options.shuffle;
    lo.seed = 0;
    lo.drop_last = fixed_batch > 0;
    lo.scale = d.inputs.dtype() == DType::u8 ? 1.0f / 255.0f : 1.0f;
    loader_samples = d.size();
    loader = std::make_unique<train::DataLoader>(std::move(d), lo);
  }

  int64_t batch_size() const { return fixed_batch > 0 ? fixed_batch : options.batch_size; }

  int64_t remaining(int64_t want) const {
    if (options.max_samples <= 0) return want;
    return std::min(want, options.max_samples - samples_read);
  }

  std::optional<DataBatch> next_from_loader() {
    if (remaining(1) <= 0) return std::nullopt;
    if (fixed_batch > 0 && batches_read > 0 && remaining(fixed_batch) < fixed_batch)
      return std::nullopt;  // a fixed-batch model takes whole batches only
    std::optional<train::Batch> b = loader->next();
    if (!b) return std::nullopt;
    DataBatch out;
    const int64_t rows = fixed_batch > 0 ? b->inputs.dim(0) : remaining(b->inputs.dim(0));
    out.samples = rows;
    Tensor x = rows < b->inputs.dim(0) ? first_rows(b->inputs, rows) : b->inputs;
    // The loader gives images [B, C, H, W] (a channel of 1 for [N, H, W] data); a model reading
    // [B, L, D] (a sequence) takes the data's own rank.
    const TypeInfo& want = inputs[0].type;
    if (want.has_shape && want.dims.size() == 3 && x.rank() == 4 && x.dim(1) == 1)
      x = x.reshaped({x.dim(0), x.dim(2), x.dim(3)});
    check_feed(inputs[0], x, fmt::format("data '{}' batch {}", description, batches_read + 1));
    out.feeds[inputs[0].name] = x;
    if (b->labels.defined())
      out.labels = rows < b->labels.dim(0) ? first_rows(b->labels, rows) : b->labels;
    return out;
  }

  std::optional<DataBatch> next_from_files() {
    const size_t k = static_cast<size_t>(batches_read);
    if (k >= files[0].second.size() || remaining(1) <= 0) return std::nullopt;
    DataBatch out;
    int64_t rows = -1;
    for (const auto& [input, paths] : files) {
      Tensor t = load_npy(paths[k]);
      if (t.rank() < 1) fail("{}: a batch needs a leading batch dimension, got a scalar", paths[k]);
      if (rows < 0) rows = remaining(t.dim(0));
      if (rows < t.dim(0) && t.dim(0) > 0) t = first_rows(t, rows);
      check_feed(input, t, paths[k]);
      out.feeds[input.name] = t;
    }
    out.samples = rows;
    return out;
  }
};

CalibrationData::CalibrationData(const std::vector<std::string>& specs,
                                 const std::vector<ValueInfo>& inputs,
                                 CalibrationDataOptions options)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.options = options;
  m.inputs = inputs;
  NNA_CHECK(options.max_samples >= 0, "sample count must be at least 1 (given {})",
            options.max_samples);
  NNA_CHECK(options.batch_size >= 1, "batch size must be at least 1 (given {})",
            options.batch_size);
  NNA_CHECK(!specs.empty(), "no data given (use fashion-mnist, a folder, or NAME=DIR)");
  for (const std::string& s : specs) m.description += (m.description.empty() ? "" : " ") + s;
  std::error_code ec;
  const std::string& first = specs[0];
  if (specs.size() == 1 && first == "fashion-mnist") {
    m.use_dataset(train::load_fashion_mnist(train::kFashionMnistDir, options.train_split), first);
    return;
  }
  if (specs.size() == 1 && fs::is_directory(first, ec)) {
    if (fs::exists(fs::path(first) / "inputs.npy", ec)) {
      m.use_dataset(train::load_npy_folder(first), first);
      return;
    }
    if (inputs.size() != 1)
      fail("data '{}': the model has {} inputs; give NAME=DIR for each", first, inputs.size());
    m.files.push_back({inputs[0], npy_files(first)});
    return;
  }
  for (const std::string& s : specs) {
    const size_t eq = s.find('=');
    if (eq == std::string::npos || eq == 0) {
      if (specs.size() == 1) fail("data '{}' is not fashion-mnist, a folder or NAME=DIR", s);
      fail("data '{}': with several folders each must be NAME=DIR", s);
    }
    const std::string name = s.substr(0, eq), dir = s.substr(eq + 1);
    const ValueInfo& input = m.input(name);
    for (const auto& f : m.files)
      if (f.first.name == name) fail("data: input '{}' is given twice", name);
    if (!fs::is_directory(dir, ec)) fail("data '{}': '{}' is not a folder", s, dir);
    m.files.push_back({input, npy_files(dir)});
  }
  for (const ValueInfo& v : inputs) {
    bool given = false;
    for (const auto& f : m.files) given = given || f.first.name == v.name;
    if (!given)
      fail("data '{}': no folder for model input '{}' (add {}=DIR)", m.description, v.name, v.name);
  }
  for (const auto& f : m.files)
    if (f.second.size() != m.files[0].second.size())
      fail("data: input '{}' has {} batch files but '{}' has {}", f.first.name, f.second.size(),
           m.files[0].first.name, m.files[0].second.size());
}

CalibrationData::~CalibrationData() = default;
CalibrationData::CalibrationData(CalibrationData&&) noexcept = default;

std::optional<DataBatch> CalibrationData::next() {
  std::optional<DataBatch> b = impl_->loader ? impl_->next_from_loader() : impl_->next_from_files();
  if (b) {
    ++impl_->batches_read;
    impl_->samples_read += b->samples;
  }
  return b;
}

void CalibrationData::skip(int64_t batches, int64_t samples) {
  Impl& m = *impl_;
  NNA_CHECK(batches >= 0 && samples >= 0, "data: cannot skip {} batches", batches);
  if (m.loader) {
    const int64_t position = batches * m.batch_size();
    NNA_CHECK(position <= m.loader_samples,
              "data '{}': cannot resume after batch {}, it has only {} samples", m.description,
              batches, m.loader_samples);
    m.loader->restore(train::LoaderState{0, 0, position});
  } else {
    NNA_CHECK(static_cast<size_t>(batches) <= m.files[0].second.size(),
              "data '{}': cannot resume after batch {}, it has only {} batch files", m.description,
              batches, m.files[0].second.size());
  }
  m.batches_read = batches;
  m.samples_read = samples;
}

int64_t CalibrationData::total_batches() const {
  const Impl& m = *impl_;
  if (!m.loader) return static_cast<int64_t>(m.files[0].second.size());
  int64_t samples = m.loader_samples;
  if (m.options.max_samples > 0) samples = std::min(samples, m.options.max_samples);
  const int64_t b = m.batch_size();
  return m.fixed_batch > 0 ? std::max<int64_t>(samples / b, 1) : (samples + b - 1) / b;
}

int64_t CalibrationData::batches_read() const { return impl_->batches_read; }
int64_t CalibrationData::samples_read() const { return impl_->samples_read; }
bool CalibrationData::has_labels() const {
  return impl_->loader && impl_->loader->dataset().labels.defined();
}
std::string CalibrationData::description() const { return impl_->description; }

}  // namespace nnaccel
