// hello_session: load an ONNX model with nnaccel, run it once, print what comes out.
//
//   hello_session MODEL [INPUT.npy]
//
// INPUT.npy feeds the model's first input; without it every input is synthesized (unknown dims
// taken as 1, float inputs filled with a fixed pattern, others with zeros).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nnaccel/nnaccel.hpp>

namespace {

nnaccel::Tensor synthesize(const nnaccel::ValueInfo& info) {
  nnaccel::Shape shape;
  for (const nnaccel::Dim& d : info.type.dims) shape.push_back(d.known() ? d.value : 1);
  nnaccel::Tensor t(info.type.dtype, shape);
  if (t.dtype() == nnaccel::DType::f32) {
    float* p = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = 0.5f + 0.5f * std::sin(0.1f * static_cast<float>(i));
  }
  return t;
}

void print_output(const std::string& name, const nnaccel::Tensor& t) {
  std::printf("%s: %s %s\n", name.c_str(), nnaccel::dtype_name(t.dtype()),
              nnaccel::shape_str(t.shape()).c_str());
  if (!nnaccel::dtype_is_float(t.dtype()) || t.numel() == 0) return;
  // One line per row of the last dimension (at most 8 rows, 10 values each), with its argmax.
  const int64_t cols = t.rank() == 0 ? 1 : t.shape().back();
  const int64_t rows = cols == 0 ? 0 : t.numel() / cols;
  for (int64_t r = 0; r < std::min<int64_t>(rows, 8); ++r) {
    std::printf("  [%lld]", static_cast<long long>(r));
    int64_t best = 0;
    for (int64_t c = 0; c < cols; ++c) {
      double v = t.at_f64(r * cols + c);
      if (v > t.at_f64(r * cols + best)) best = c;
      if (c < 10) std::printf(" %.4g", v);
    }
    std::printf("%s  argmax %lld\n", cols > 10 ? " ..." : "", static_cast<long long>(best));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s MODEL [INPUT.npy]\n", argv[0]);
    return 2;
  }
  try {
    nnaccel::Session session = nnaccel::Session::load(argv[1]);
    for (size_t i = 0; i < session.inputs().size(); ++i) {
      const nnaccel::ValueInfo& info = session.inputs()[i];
      nnaccel::Tensor value = (i == 0 && argc == 3) ? nnaccel::load_npy(argv[2]) : synthesize(info);
      std::printf("input %s: %s %s\n", info.name.c_str(), nnaccel::dtype_name(value.dtype()),
                  nnaccel::shape_str(value.shape()).c_str());
      session.set_input(info.name, value);
    }
    session.run();
    for (size_t i = 0; i < session.outputs().size(); ++i)
      print_output(session.outputs()[i].name, session.output(i));
  } catch (const nnaccel::Error& e) {
    std::fprintf(stderr, "hello_session: error: %s\n", e.what());
    return 2;
  }
  return 0;
}
