"""ONNX fixtures: LeNet-5, a ResNet basic block and a small U-Net exported by torch.onnx.export
(opset 13, dynamic batch, eval mode, no constant folding so batch norm stays its own node with
PyTorch's parameter names), each with an input, PyTorch's output, and the gradients of
sum(output * probe) with respect to the input and every parameter (the model in eval mode).
Also one graph with an operator pixelgrad does not import (Erf), for the error message.
Writes test/fixtures/onnx.json (the .onnx bytes base64-encoded)."""
import base64
import io
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from fixture_json import enc, write_fixture  # noqa: E402

torch.manual_seed(0)


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 2 * 2, 120)  # 16×16 input (pixelgrad LeNet5 inputSize 16)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class Block(nn.Module):
    """A ResNet basic block with a projection shortcut, global average pooling and a softmax head."""
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(8)
        self.shortcut = nn.Sequential(nn.Conv2d(3, 8, 1, stride=2, bias=False), nn.BatchNorm2d(8))
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        out = F.relu(out + self.shortcut(x))
        out = torch.flatten(F.adaptive_avg_pool2d(out, 1), 1)
        return torch.softmax(self.fc(F.dropout(out, 0.5, self.training)), 1)


class SmallUNet(nn.Module):
    """Two levels: encoder, bottleneck, transposed-conv and nearest-upsample paths, concat, sigmoid, tanh, leaky relu."""
    def __init__(self):
        super().__init__()
        self.enc = nn.Conv2d(1, 4, 3, padding=1)
        self.mid = nn.Conv2d(4, 8, 3, padding=1)
        self.up = nn.ConvTranspose2d(8, 4, 2, stride=2)
        self.dec = nn.Conv2d(4 + 4 + 8, 4, 3, padding=1)
        self.head = nn.Conv2d(4, 2, 1)

    def forward(self, x):
        e = F.leaky_relu(self.enc(x), 0.1)
        m = torch.tanh(self.mid(F.max_pool2d(e, 2)))
        u = torch.cat([self.up(m), e, F.interpolate(m, scale_factor=2, mode="nearest")], 1)
        return self.head(torch.sigmoid(self.dec(u)) * 2.0)


def export(model, x):
    buf = io.BytesIO()
    torch.onnx.export(model, x, buf, opset_version=13, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "N"}, "output": {0: "N"}}, do_constant_folding=False,
                      training=torch.onnx.TrainingMode.PRESERVE)
    return buf.getvalue()


def case(name, model, shape):
    model.eval()
    for m in model.modules():  # batch norm with statistics that are not the defaults
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    x = torch.randn(*shape, requires_grad=True)
    out = model(x)
    probe = torch.randn(out.shape)
    (out * probe).sum().backward()
    grads = {k: enc(p.grad, False) for k, p in model.named_parameters()}
    return {"name": name, "onnx": base64.b64encode(export(model, x.detach())).decode(), "input": enc(x, False),
            "output": enc(out, False), "probe": enc(probe, False), "inputGrad": enc(x.grad, False), "paramGrads": grads}


class Unsupported(nn.Module):
    def forward(self, x):
        return torch.erf(x)


cases = [case("lenet5", LeNet5(), (2, 1, 16, 16)), case("resblock", Block(), (2, 3, 8, 8)), case("unet", SmallUNet(), (2, 1, 8, 8))]
cases.append({"name": "erf", "onnx": base64.b64encode(export(Unsupported(), torch.randn(1, 2))).decode()})
write_fixture(os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "onnx.json"), "tools/gen_onnx_fixtures.py", cases)

try:  # the ONNX checker, where python3-onnx is installed
    import onnx
    for c in cases:
        onnx.checker.check_model(onnx.load_from_string(base64.b64decode(c["onnx"])))
        print("onnx.checker: %s ok" % c["name"])
except ImportError:
    print("python onnx not installed: exports not checked")
