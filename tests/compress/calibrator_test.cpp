// Calibration through the fast path on the tiny Fashion-MNIST CNN: ranges equal the values the
// reference interpreter computes, and a calibration stopped and resumed equals one run straight.
#include <gtest/gtest.h>

#include <algorithm>

#include "compress/quantize/calibrator.hpp"
#include "nnaccel/error.hpp"
#include "nnaccel/npy.hpp"
#include "nnaccel/onnx_io.hpp"

namespace nnaccel {
namespace {

struct TinyCnn {
  Model model;
  Tensor images;  // [8,1,28,28]
  std::vector<std::string> activations;
};

TinyCnn tiny_cnn() {
  std::string dir = std::string(NNACCEL_SOURCE_DIR) + "/models/";
  TinyCnn t{load_onnx(dir + "tiny_cnn.onnx"), load_npy(dir + "tiny_cnn_input.npy"), {}};
  for (const Node& n : t.model.graph.nodes)
    if (n.op_type == "Relu" || n.op_type == "Conv" || n.op_type == "Gemm")
      t.activations.push_back(n.outputs[0]);
  return t;
}

Tensor slice_batch(const Tensor& images, int64_t begin, int64_t count) {
  Shape s = images.shape();
  s[0] = count;
  Tensor out(DType::f32, s);
  const int64_t per = images.numel() / images.shape()[0];
  std::copy_n(images.data<float>() + begin * per, count * per, out.data<float>());
  return out;
}

TEST(Calibrator, RangesAreTheExtremesOfTheReferenceValues) {
  TinyCnn t = tiny_cnn();
  ASSERT_GE(t.activations.size(), 3u);
  const std::string input = t.model.graph.inputs[0].name;
  Calibrator cal(t.model, t.activations, ObserverConfig{});
  cal.observe({{input, slice_batch(t.images, 0, 4)}});
  cal.observe({{input, slice_batch(t.images, 4, 4)}});
  EXPECT_EQ(cal.batches(), 2);
  // The same values from the reference interpreter, all 8 images at once.
  Model probe = t.model;
  for (const std::string& v : t.activations) probe.graph.outputs.push_back(ValueInfo{v, {}, ""});
  SessionOptions ref;
  ref.fast = false;
  Session s(probe, ref);
  std::vector<Tensor> outs = s.run({{input, t.images}});
  std::map<std::string, QuantRange> ranges = cal.ranges();
  for (size_t k = 0; k < t.activations.size(); ++k) {
    const Tensor& v = outs[t.model.graph.outputs.size() + k];
    const float* p = v.data<float>();
    auto [lo, hi] = std::minmax_element(p, p + v.numel());
    EXPECT_NEAR(ranges[t.activations[k]].min, *lo, 1e-4 * (1 + std::abs(*lo))) << t.activations[k];
    EXPECT_NEAR(ranges[t.activations[k]].max, *hi, 1e-4 * (1 + std::abs(*hi))) << t.activations[k];
  }
}

TEST(Calibrator, AResumedCalibrationEqualsAStraightOne) {
  TinyCnn t = tiny_cnn();
  const std::string input = t.model.graph.inputs[0].name;
  ObserverConfig c;
  c.method = CalibrationMethod::entropy;
  Calibrator straight(t.model, t.activations, c), first(t.model, t.activations, c);
  for (int64_t b = 0; b < 8; b += 2) straight.observe({{input, slice_batch(t.images, b, 2)}});
  for (int64_t b = 0; b < 4; b += 2) first.observe({{input, slice_batch(t.images, b, 2)}});
  Calibrator resumed(t.model, t.activations, c);
  resumed.load_state(first.save_state());
  EXPECT_EQ(resumed.batches(), 2);
  for (int64_t b = 4; b < 8; b += 2) resumed.observe({{input, slice_batch(t.images, b, 2)}});
  std::map<std::string, QuantRange> a = straight.ranges(), r = resumed.ranges();
  for (const std::string& v : t.activations) {
    EXPECT_EQ(a[v].min, r[v].min) << v;
    EXPECT_EQ(a[v].max, r[v].max) << v;
  }
  // A state from other settings or other values is refused with a message.
  Calibrator other(t.model, {t.activations[0]}, c);
  EXPECT_THROW(other.load_state(first.save_state()), Error);
  Calibrator minmax(t.model, t.activations, ObserverConfig{});
  EXPECT_THROW(minmax.load_state(first.save_state()), Error);
  EXPECT_THROW(Calibrator(t.model, {"no_such_value"}, c), Error);
}

}  // namespace
}  // namespace nnaccel
