// Labeled images for training and evaluation: Fashion-MNIST or a folder of .npy files.
#include "core/check.hpp"
#include "nnaccel/train.hpp"
#include "train/data/dataset.hpp"

namespace nnaccel {

LabeledData load_labeled_data(const std::string& spec, bool train) {
  NNA_CHECK(!spec.empty(), "--data: empty value (use fashion-mnist or a folder of .npy files)");
  train::Dataset d = spec == "fashion-mnist"
                         ? train::load_fashion_mnist(train::kFashionMnistDir, train)
                         : train::load_npy_folder(spec);
  NNA_CHECK(d.labels.defined(), "--data '{}': no labels.npy; training and evaluation need labels",
            spec);
  NNA_CHECK(d.inputs.rank() == 3 || d.inputs.rank() == 4,
            "--data '{}': inputs must be images [N,H,W] or [N,C,H,W], got {}", spec,
            shape_str(d.inputs.shape()));
  return {d.inputs, d.labels};
}

}  // namespace nnaccel
