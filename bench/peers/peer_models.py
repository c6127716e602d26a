"""The PyTorch models of the peer comparison, built the same way (seeded weights) wherever they
are needed: prepare_models.py exports them to ONNX, bench_torch.py times them in PyTorch, so the
three engines of bench_peers.sh run the same weights. torch is imported only when a model is
built: the scripts that just need the names stay quick."""

TORCH_MODELS = ["resnet18", "mobilenet_v2", "transformer_encoder"]
# ONNX opset of each export.
OPSETS = {"resnet18": 13, "mobilenet_v2": 15, "transformer_encoder": 17}


def set_batchnorm_stats(model, seed):
    """Without pretrained weights, default BatchNorm statistics (mean 0, var 1) make deep nets
    collapse (MobileNetV2's outputs ~1e-9). Gives BatchNorm random affine parameters, then
    measures its statistics on a few random batches, as training would have."""
    import torch
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.data = 0.5 + torch.rand(m.weight.shape, generator=g)
            m.bias.data = 0.1 * torch.randn(m.bias.shape, generator=g)
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the batches below
    model.train()
    with torch.no_grad():
        for _ in range(4):
            model(torch.randn(8, 3, 224, 224, generator=g))
    model.eval()


def build(name):
    """The model NAME in eval mode with its seeded weights."""
    import torch
    import torchvision
    if name in ("resnet18", "mobilenet_v2"):
        torch.manual_seed(1)
        ctor = torchvision.models.resnet18 if name == "resnet18" else torchvision.models.mobilenet_v2
        model = ctor(weights=None)
        set_batchnorm_stats(model, seed=2)
        return model
    if name == "transformer_encoder":
        torch.manual_seed(3)
        layer = torch.nn.TransformerEncoderLayer(d_model=256, nhead=4, batch_first=True)
        return torch.nn.TransformerEncoder(layer, num_layers=4).eval()
    raise ValueError(f"no PyTorch model named {name}")


def input_name(name):
    return "src" if name == "transformer_encoder" else "input"


def output_name(name):
    return "out" if name == "transformer_encoder" else "logits"
