#!/usr/bin/python3
"""Makes models/tiny_cnn.onnx, the small model of nnaccel's demo, and its sample input.

A tiny CNN (Conv, Relu, MaxPool, Flatten, Gemm; 4.3k parameters) trained for one epoch on
Fashion-MNIST from Debian's dataset-fashion-mnist, exported with Debian's PyTorch 1.13 at opset 17.
Everything is seeded and runs on one thread, so re-running it gives the same files.

Run from the repository root:  /usr/bin/python3 models/make_tiny_cnn.py
Writes (next to this script):
  tiny_cnn.onnx           input "image" float32 [N,1,28,28] in [0,1]; output "logits" float32 [N,10]
  tiny_cnn_input.npy      the first 8 test images, float32 [8,1,28,28]
  tiny_cnn_labels.npy     their labels, int64 [8]
  tiny_cnn_expected.npy   PyTorch's logits for them, float32 [8,10]
"""
import gzip
import os

import numpy as np
import torch
from torch import nn

DATA = "/usr/share/datasets/fashion-mnist"
HERE = os.path.dirname(os.path.abspath(__file__))
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
           "Bag", "Ankle boot"]


def read_idx(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


class TinyCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 4x14x14
            nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))   # 8x7x7
        self.classifier = nn.Linear(8 * 7 * 7, 10)

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    x_train = torch.from_numpy(read_idx("train-images-idx3-ubyte.gz").astype(np.float32) / 255.0)
    y_train = torch.from_numpy(read_idx("train-labels-idx1-ubyte.gz").astype(np.int64))
    x_test = torch.from_numpy(read_idx("t10k-images-idx3-ubyte.gz").astype(np.float32) / 255.0)
    y_test = torch.from_numpy(read_idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))
    x_train, x_test = x_train.unsqueeze(1), x_test.unsqueeze(1)

    model = TinyCnn()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    order = torch.randperm(len(x_train))
    model.train()
    for start in range(0, len(order), 64):
        idx = order[start:start + 64]
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x_train[idx]), y_train[idx])
        loss.backward()
        opt.step()

    model.eval()
    with torch.no_grad():
        correct = sum(int((model(x_test[i:i + 1000]).argmax(1) == y_test[i:i + 1000]).sum())
                      for i in range(0, len(x_test), 1000))
        sample = x_test[:8].contiguous()
        expected = model(sample)
    print(f"test accuracy after one epoch: {correct / len(x_test):.4f}")

    path = os.path.join(HERE, "tiny_cnn.onnx")
    torch.onnx.export(model, sample, path, opset_version=17, input_names=["image"],
                      output_names=["logits"],
                      dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}})
    np.save(os.path.join(HERE, "tiny_cnn_input.npy"), sample.numpy())
    np.save(os.path.join(HERE, "tiny_cnn_labels.npy"), y_test[:8].numpy())
    np.save(os.path.join(HERE, "tiny_cnn_expected.npy"), expected.numpy())
    for i in range(8):
        print(f"  image {i}: label {CLASSES[int(y_test[i])]:12s} "
              f"predicted {CLASSES[int(expected[i].argmax())]}")
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
