// Static int8 QDQ quantization of the tiny Fashion-MNIST CNN: the graph takes the standard QDQ
// form, weights shrink to a quarter, and predictions hold.
#include <gtest/gtest.h>

#include <cmath>

#include "compress/quantize/calibrator.hpp"
#include "compress/quantize/quantize_qdq.hpp"
#include "nnaccel/npy.hpp"
#include "nnaccel/onnx_io.hpp"

namespace nnaccel {
namespace {

TEST(QuantizeQdq, TinyCnnKeepsItsPredictionsWithInt8Weights) {
  std::string dir = std::string(NNACCEL_SOURCE_DIR) + "/models/";
  Model fp32 = load_onnx(dir + "tiny_cnn.onnx");
  Tensor images = load_npy(dir + "tiny_cnn_input.npy");
  const std::string input = fp32.graph.inputs[0].name;
  QdqConfig config;
  std::vector<std::string> acts = qdq_activations(fp32, config);
  int quantizable = 0;
  for (const Node& n : fp32.graph.nodes)
    quantizable += n.op_type == "Conv" || n.op_type == "Gemm" || n.op_type == "MatMul";
  ASSERT_GE(acts.size(), 2u);
  Calibrator cal(fp32, acts, ObserverConfig{});
  cal.observe({{input, images}});
  Model q = fp32;
  std::vector<QuantizedLayer> layers = quantize_to_qdq(q, cal.ranges(), config);
  EXPECT_EQ(static_cast<int>(layers.size()), quantizable);
  for (const QuantizedLayer& l : layers) {
    EXPECT_GT(l.weight_sqnr_db, 30.0) << l.node;  // per-channel int8
    EXPECT_GT(l.input_quant.scale, 0.0f) << l.node;
  }
  int quantize_nodes = 0, dequantize_nodes = 0;
  for (const Node& n : q.graph.nodes) {
    quantize_nodes += n.op_type == "QuantizeLinear";
    dequantize_nodes += n.op_type == "DequantizeLinear";
  }
  EXPECT_EQ(quantize_nodes, static_cast<int>(acts.size()));
  EXPECT_GE(dequantize_nodes, quantize_nodes + quantizable);  // activations, weights (+ biases)
  // Weights are stored as int8: the float weights of quantized layers are gone.
  uint64_t fp32_bytes = 0, q_bytes = 0;
  for (const auto& [name, t] : fp32.graph.initializers) fp32_bytes += t.nbytes();
  for (const auto& [name, t] : q.graph.initializers) q_bytes += t.nbytes();
  EXPECT_LT(static_cast<double>(q_bytes), 0.3 * static_cast<double>(fp32_bytes));
  // It exports as standard ONNX and reads back.
  std::string path = ::testing::TempDir() + "/tiny_cnn_qdq.onnx";
  save_onnx(q, path);
  Model back = load_onnx(path);
  // Predictions: the same classes as fp32 on all 8 images, logits close.
  SessionOptions ref;
  ref.fast = false;
  Tensor want = Session(fp32, ref).run({{input, images}})[0];
  Tensor got = Session(back, ref).run({{input, images}})[0];
  ASSERT_EQ(got.shape(), want.shape());
  const int64_t classes = want.shape()[1];
  double signal = 0, noise = 0;
  for (int64_t b = 0; b < want.shape()[0]; ++b) {
    int64_t aw = 0, ag = 0;
    for (int64_t c = 0; c < classes; ++c) {
      const float w = want.data<float>()[b * classes + c], g = got.data<float>()[b * classes + c];
      if (w > want.data<float>()[b * classes + aw]) aw = c;
      if (g > got.data<float>()[b * classes + ag]) ag = c;
      signal += static_cast<double>(w) * w;
      noise += (static_cast<double>(w) - g) * (static_cast<double>(w) - g);
    }
    EXPECT_EQ(ag, aw) << "image " << b;
  }
  EXPECT_GT(10.0 * std::log10(signal / noise), 20.0);
}

}  // namespace
}  // namespace nnaccel
