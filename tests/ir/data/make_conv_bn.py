# Makes conv_bn.onnx for tests/ir/passes_model_test.cpp: a tiny torch CNN exported WITHOUT torch's
# own constant folding and with TrainingMode.PRESERVE, so the (inference-form) BatchNormalization
# nodes and the Constant/Unsqueeze/Concat shape computation survive into the file and the
# optimizer has real work. Run here with /usr/bin/python3 (Debian's python3-torch); the output is
# byte-for-byte reproducible (seed 0).
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 4, (3, 2), padding=(1, 0))
        self.b1 = nn.BatchNorm2d(4)
        self.c2 = nn.Conv2d(4, 6, 3, bias=False, groups=2, stride=(2, 1))
        self.b2 = nn.BatchNorm2d(6)
        self.fc = nn.Linear(6 * 3 * 2, 5)
        self.b3 = nn.BatchNorm1d(5)

    def forward(self, x):
        y = torch.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        y = y.reshape(y.shape[0], -1)
        return self.b3(self.fc(y))


torch.manual_seed(0)
net = Net()
for bn in (net.b1, net.b2, net.b3):
    bn.running_mean.uniform_(-1, 1)
    bn.running_var.uniform_(0.2, 2)
    bn.weight.data.uniform_(0.5, 2)
    bn.bias.data.uniform_(-1, 1)
net.eval()
torch.onnx.export(net, torch.randn(2, 3, 7, 5), "conv_bn.onnx", opset_version=13,
                  do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE,
                  input_names=["x"], output_names=["y"])
