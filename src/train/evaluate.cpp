// Top-1 accuracy of a classifier through nnaccel::Session (the runtime users deploy with).
#include <unistd.h>

#include <cstring>

#include "core/check.hpp"
#include "nnaccel/session.hpp"
#include "nnaccel/train.hpp"
#include "train/data/data_loader.hpp"

namespace nnaccel {

double evaluate_accuracy(const Model& model, const LabeledData& data, const EvalOptions& options) {
  NNA_CHECK(data.labels.defined() && data.labels.dtype() == DType::i64,
            "evaluation needs int64 labels");
  Model copy = model;  // the session may pack weights; never alias the caller's tensors
  for (auto& [name, t] : copy.graph.initializers) t = t.clone();
  SessionOptions so;
  so.threads = options.threads;
  Session session(std::move(copy), so);
  NNA_CHECK(session.inputs().size() == 1 && session.outputs().size() >= 1,
            "evaluation: the model must have one input and output logits, it has {} inputs",
            session.inputs().size());
  const ValueInfo& in = session.inputs()[0];
  int64_t fixed_batch = 0;
  if (in.type.has_shape && !in.type.dims.empty() && in.type.dims[0].known())
    fixed_batch = in.type.dims[0].value;

  train::LoaderOptions lo;
  lo.batch_size = fixed_batch > 0 ? fixed_batch : options.batch_size;
  lo.shuffle = false;
  lo.scale = data.inputs.dtype() == DType::u8 ? 1.0f / 255.0f : 1.0f;
  train::DataLoader loader(train::Dataset{data.inputs, data.labels}, lo);
  const bool tty = options.progress && ::isatty(2) != 0;
  int64_t correct = 0, seen = 0, batches = 0;
  while (auto batch = loader.next()) {
    const int64_t b = batch->inputs.dim(0);
    Tensor x = batch->inputs;
    if (fixed_batch > 0 && b < fixed_batch) {  // pad the last batch; padded rows are not counted
      Shape s = x.shape();
      s[0] = fixed_batch;
      Tensor padded(DType::f32, s);
      std::memcpy(padded.raw(), x.raw(), x.nbytes());
      x = padded;
    }
    session.set_input(in.name, x);
    session.run();
    const Tensor& logits = session.output(0);
    NNA_CHECK(logits.dtype() == DType::f32 && logits.rank() == 2 && logits.dim(0) == x.dim(0),
              "evaluation: output '{}' is {} {}, expected float32 logits [{}, classes]",
              session.outputs()[0].name, dtype_name(logits.dtype()), shape_str(logits.shape()),
              x.dim(0));
    const int64_t k = logits.dim(1);
    for (int64_t i = 0; i < b; ++i) {
      const float* row = logits.data<float>() + i * k;
      int64_t best = 0;
      for (int64_t j = 1; j < k; ++j)
        if (row[j] > row[best]) best = j;
      correct += best == batch->labels.data<int64_t>()[i] ? 1 : 0;
    }
    seen += b;
    if (tty && (++batches % 4 == 0))
      std::fprintf(stderr, "\revaluating %lld/%lld", static_cast<long long>(seen),
                   static_cast<long long>(data.inputs.dim(0)));
  }
  if (tty) std::fprintf(stderr, "\r\033[K");
  NNA_CHECK(seen > 0, "evaluation: no data");
  return static_cast<double>(correct) / static_cast<double>(seen);
}

}  // namespace nnaccel
