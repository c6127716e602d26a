// The weight budget's choice of per-tensor layers: least added noise per byte saved first, only as
// many as the excess needs, all of them (not enough) when they cannot cover it, and layers sharing
// a weight together.
#include "compress/quantize/weight_budget.hpp"

#include <gtest/gtest.h>

namespace nnaccel {
namespace {

QuantizedLayer row(const std::string& node, int64_t scales, double noise, double per_tensor) {
  QuantizedLayer l;
  l.node = node;
  l.weight_scales = scales;
  l.rtn_noise = noise;
  l.rtn_noise_per_tensor = per_tensor;
  l.per_tensor_saving = static_cast<uint64_t>(scales - 1) * 4;
  return l;
}

TEST(WeightBudget, CheapestPerByteFirstAndOnlyAsManyAsNeeded) {
  const std::vector<QuantizedLayer> layers = {
      row("head", 101, 1e-5, 1e-3),  // 400 bytes, 2.5e-6 per byte
      row("dw", 11, 1e-5, 2e-5),     // 40 bytes, 2.5e-7 per byte: cheapest
      row("pw", 51, 1e-5, 1e-2),     // 200 bytes, 5e-5 per byte: dearest
      row("tensor", 1, 1e-4, 1e-4),  // already one scale: nothing to save
  };
  GranularityChoice c = per_tensor_layers_for(layers, 30);
  EXPECT_EQ(c.per_tensor, (std::set<std::string>{"dw"}));
  EXPECT_EQ(c.saving, 40u);
  EXPECT_TRUE(c.enough);
  c = per_tensor_layers_for(layers, 41);
  EXPECT_EQ(c.per_tensor, (std::set<std::string>{"dw", "head"}));
  EXPECT_EQ(c.saving, 440u);
  EXPECT_TRUE(c.enough);
  c = per_tensor_layers_for(layers, 0);
  EXPECT_TRUE(c.per_tensor.empty());
  EXPECT_TRUE(c.enough);
  c = per_tensor_layers_for(layers, 10000);
  EXPECT_EQ(c.per_tensor, (std::set<std::string>{"dw", "head", "pw"}));
  EXPECT_EQ(c.saving, 640u);
  EXPECT_FALSE(c.enough);
}

// Layers reading copies of one weight share its scales in the file: they move together, the
// bytes counted once and the noise summed.
TEST(WeightBudget, LayersSharingAWeightMoveTogether) {
  std::vector<QuantizedLayer> layers = {
      row("a", 101, 1e-5, 1e-4),  // a and b: noise 2 * 9e-5 for their shared 400 bytes
      row("b", 101, 1e-5, 1e-4),
      row("c", 101, 1e-5, 1.5e-4),  // 1.4e-4 for its 400 bytes: cheaper per byte
  };
  layers[0].weight = layers[1].weight = "[100, 4] 1f";
  layers[2].weight = "[100, 4] 2e";
  GranularityChoice c = per_tensor_layers_for(layers, 100);
  EXPECT_EQ(c.per_tensor, (std::set<std::string>{"c"}));
  EXPECT_EQ(c.saving, 400u);
  c = per_tensor_layers_for(layers, 500);
  EXPECT_EQ(c.per_tensor, (std::set<std::string>{"a", "b", "c"}));
  EXPECT_EQ(c.saving, 800u);  // a and b save their shared 400 bytes once
  EXPECT_TRUE(c.enough);
  c = per_tensor_layers_for(layers, 100, {"c"});  // c already moved
  EXPECT_EQ(c.per_tensor, (std::set<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace nnaccel
