# Makes the small torch exports that tests/ir/fusion_model_test.cpp runs the fusing optimizer on:
#   encoder_layer.onnx  a tiny transformer encoder layer (GELU feed-forward) at opset 13, where
#                       torch writes LayerNorm as ReduceMean/Sub/Pow/.../Add and GELU via Erf
#   gelu_mlp.onnx       Linear -> GELU -> Linear -> GELU(tanh) -> Linear
#   residual_block.onnx a conv block with BatchNorm, ReLU6, HardSwish and a residual add
# Run here with /usr/bin/python3 (Debian's python3-torch 1.13); seeded, so reproducible.
import torch
import torch.nn as nn


class GeluMlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(12, 20)
        self.l2 = nn.Linear(20, 16)
        self.l3 = nn.Linear(16, 6)

    def forward(self, x):
        y = nn.functional.gelu(self.l1(x))
        y = nn.functional.gelu(self.l2(y), approximate="tanh")
        return self.l3(y)


class ResidualBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn0 = nn.BatchNorm2d(8)
        self.c1 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.c2 = nn.Conv2d(8, 8, 3, padding=1, groups=2, bias=False)
        self.bn2 = nn.BatchNorm2d(8)
        self.c3 = nn.Conv2d(8, 4, 1)
        self.fc = nn.Linear(4, 5)

    def forward(self, x):
        x = nn.functional.relu6(self.bn0(self.stem(x)))
        y = nn.functional.hardswish(self.bn1(self.c1(x)))
        y = torch.relu(self.bn2(self.c2(y)) + x)
        y = torch.sigmoid(self.c3(y))
        return torch.relu(self.fc(y.mean(dim=(2, 3))))


def randomize_bns(net):
    for m in net.modules():
        if isinstance(m, (nn.BatchNorm2d, nn.LayerNorm)):
            m.weight.data.uniform_(0.5, 2)
            m.bias.data.uniform_(-1, 1)
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.2, 2)


def export(net, example, path):
    torch.manual_seed(0)
    randomize_bns(net)
    net.eval()
    # Not under no_grad: there torch 1.13 swaps the encoder layer for a fused kernel that has no
    # ONNX export.
    torch.onnx.export(net, example, path, opset_version=13, input_names=["x"], output_names=["y"])


torch.manual_seed(0)
enc = nn.TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=24, dropout=0.0,
                                 activation="gelu", batch_first=True)
export(enc, torch.randn(2, 5, 16), "encoder_layer.onnx")
torch.manual_seed(1)
export(GeluMlp(), torch.randn(3, 12), "gelu_mlp.onnx")
torch.manual_seed(2)
export(ResidualBlock(), torch.randn(1, 3, 9, 7), "residual_block.onnx")
