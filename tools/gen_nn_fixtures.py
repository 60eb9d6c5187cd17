#!/usr/bin/env python3
"""PyTorch reference fixtures for pixelgrad's layers and models.

Run from the repository root with Debian's python3-torch:

    /usr/bin/python3 tools/gen_nn_fixtures.py

Writes test/fixtures/nn.json: {"torch": version, "cases": [CASE...], "paramCounts": {...}}.
Each CASE builds one torch layer (its pixelgrad twin is named by "layer" and configured by
"config", in pixelgrad's option names), runs it on a seeded random input in training or eval
mode, and records its state dict, the output, a random upstream gradient, the gradients of the
input and of every parameter, and the buffers after the forward pass (BatchNorm statistics).
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

from fixture_json import enc, write_fixture

# The U-Net of src/models/unet.ts (same module names), shared with the PyTorch twins of the models.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "pytorch"))
from pixelgrad_models import UNet  # noqa: E402

OUT = os.path.join("test", "fixtures", "nn.json")
torch.manual_seed(0)



def arr(t):
    return enc(t, with_dtype=False)


def run(name, layer, config, module, input_shape, train=True, steps=1, input_tensor=None):
    module.train(train)
    # Randomise affine norm parameters so that they matter in the check.
    with torch.no_grad():
        for pname, p in module.named_parameters():
            if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.GroupNorm)):
                p.copy_(torch.randn_like(p) * 0.5 + (1.0 if pname.endswith("weight") else 0.0))
    state = {k: arr(v) for k, v in module.state_dict().items()}
    inputs = []
    out = None
    for _ in range(steps):
        x = (input_tensor if input_tensor is not None else torch.randn(*input_shape)).clone().requires_grad_(True)
        inputs.append(x)
        out = module(x)
    upstream = torch.randn_like(out)
    params = [p for _, p in module.named_parameters()]
    grads = torch.autograd.grad(out, [inputs[-1]] + params, upstream)
    return {
        "name": name, "layer": layer, "config": config, "train": train,
        "state": state,
        "inputs": [arr(x) for x in inputs],
        "output": arr(out), "upstream": arr(upstream),
        "inputGrad": arr(grads[0]),
        "paramGrads": {n: arr(g) for (n, _), g in zip(module.named_parameters(), grads[1:])},
        "buffersAfter": {k: arr(v) for k, v in module.named_buffers()},
    }


cases = [
    run("linear", "Linear", {"inFeatures": 5, "outFeatures": 3}, nn.Linear(5, 3), [4, 5]),
    run("linear_3d_nobias", "Linear", {"inFeatures": 5, "outFeatures": 3, "bias": False}, nn.Linear(5, 3, bias=False), [2, 3, 5]),
    run("conv2d_pad1", "Conv2d", {"inChannels": 3, "outChannels": 4, "kernelSize": 3, "padding": 1}, nn.Conv2d(3, 4, 3, padding=1), [2, 3, 6, 5]),
    run("conv2d_stride_dilation_groups", "Conv2d",
        {"inChannels": 4, "outChannels": 6, "kernelSize": [3, 2], "stride": [2, 1], "padding": [1, 0], "dilation": [1, 2], "groups": 2},
        nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2), [2, 4, 7, 8]),
    run("conv2d_depthwise_same", "Conv2d", {"inChannels": 4, "outChannels": 4, "kernelSize": 3, "groups": 4, "padding": "same"},
        nn.Conv2d(4, 4, 3, groups=4, padding="same"), [1, 4, 5, 6]),
    run("conv2d_same_even_kernel", "Conv2d", {"inChannels": 2, "outChannels": 3, "kernelSize": [2, 4], "padding": "same", "dilation": [1, 1]},
        nn.Conv2d(2, 3, (2, 4), padding="same"), [1, 2, 5, 6]),
    run("conv2d_valid_nobias", "Conv2d", {"inChannels": 2, "outChannels": 3, "kernelSize": 3, "padding": "valid", "bias": False},
        nn.Conv2d(2, 3, 3, padding="valid", bias=False), [2, 2, 5, 5]),
    run("conv2d_reflect", "Conv2d", {"inChannels": 2, "outChannels": 2, "kernelSize": 3, "padding": [1, 2], "paddingMode": "reflect"},
        nn.Conv2d(2, 2, 3, padding=(1, 2), padding_mode="reflect"), [1, 2, 5, 6]),
    run("conv2d_circular", "Conv2d", {"inChannels": 2, "outChannels": 2, "kernelSize": 3, "padding": 1, "paddingMode": "circular"},
        nn.Conv2d(2, 2, 3, padding=1, padding_mode="circular"), [1, 2, 4, 5]),
    run("conv2d_unbatched", "Conv2d", {"inChannels": 2, "outChannels": 3, "kernelSize": 3, "padding": 1},
        nn.Conv2d(2, 3, 3, padding=1), [2, 4, 4]),
    run("conv_transpose2d_stride_outpad", "ConvTranspose2d",
        {"inChannels": 4, "outChannels": 3, "kernelSize": 3, "stride": 2, "padding": 1, "outputPadding": 1},
        nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1), [2, 4, 3, 4]),
    run("conv_transpose2d_groups_dilation", "ConvTranspose2d",
        {"inChannels": 4, "outChannels": 6, "kernelSize": 2, "groups": 2, "dilation": 2, "bias": False},
        nn.ConvTranspose2d(4, 6, 2, groups=2, dilation=2, bias=False), [1, 4, 3, 3]),
    run("conv_transpose2d_unet_up", "ConvTranspose2d", {"inChannels": 4, "outChannels": 2, "kernelSize": 2, "stride": 2},
        nn.ConvTranspose2d(4, 2, 2, stride=2), [2, 4, 4, 4]),
    run("conv1d", "Conv1d", {"inChannels": 3, "outChannels": 5, "kernelSize": 3, "stride": 2, "padding": 1},
        nn.Conv1d(3, 5, 3, stride=2, padding=1), [2, 3, 9]),
    run("maxpool_overlap_pad", "MaxPool2d", {"kernelSize": 3, "stride": 2, "padding": 1}, nn.MaxPool2d(3, 2, 1), [2, 3, 7, 6]),
    run("maxpool_ceil_dilation", "MaxPool2d", {"kernelSize": 2, "ceilMode": True, "dilation": [1, 2]},
        nn.MaxPool2d(2, ceil_mode=True, dilation=(1, 2)), [1, 2, 5, 7]),
    run("avgpool_exclude_pad", "AvgPool2d", {"kernelSize": 3, "stride": 2, "padding": 1, "countIncludePad": False},
        nn.AvgPool2d(3, 2, 1, count_include_pad=False), [2, 2, 7, 6]),
    run("avgpool_ceil_include_pad", "AvgPool2d", {"kernelSize": [2, 3], "padding": 1, "ceilMode": True},
        nn.AvgPool2d((2, 3), padding=1, ceil_mode=True), [1, 2, 5, 7]),
    run("avgpool_divisor", "AvgPool2d", {"kernelSize": 2, "divisorOverride": 3}, nn.AvgPool2d(2, divisor_override=3), [1, 2, 4, 6]),
    run("adaptive_avgpool_uneven", "AdaptiveAvgPool2d", {"outputSize": [3, 2]}, nn.AdaptiveAvgPool2d((3, 2)), [2, 2, 5, 7]),
    run("adaptive_avgpool_global", "AdaptiveAvgPool2d", {"outputSize": 1}, nn.AdaptiveAvgPool2d(1), [2, 3, 4, 5]),
    run("upsample_nearest_scale", "Upsample", {"scaleFactor": 2, "mode": "nearest"}, nn.Upsample(scale_factor=2, mode="nearest"), [1, 2, 3, 4]),
    run("upsample_nearest_size", "Upsample", {"size": [5, 7], "mode": "nearest"}, nn.Upsample(size=(5, 7), mode="nearest"), [1, 2, 3, 4]),
    run("upsample_bilinear", "Upsample", {"size": [5, 7], "mode": "bilinear", "alignCorners": False},
        nn.Upsample(size=(5, 7), mode="bilinear", align_corners=False), [1, 2, 3, 4]),
    run("upsample_bilinear_aligned", "Upsample", {"scaleFactor": 2, "mode": "bilinear", "alignCorners": True},
        nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True), [1, 2, 3, 4]),
    run("upsample_bilinear_scale_1_5", "Upsample", {"scaleFactor": 1.5, "mode": "bilinear"},
        nn.Upsample(scale_factor=1.5, mode="bilinear"), [1, 1, 4, 4]),
    run("batchnorm2d_train", "BatchNorm2d", {"numFeatures": 3}, nn.BatchNorm2d(3), [4, 3, 3, 2]),
    run("batchnorm2d_train_two_steps_cma", "BatchNorm2d", {"numFeatures": 3, "momentum": None}, nn.BatchNorm2d(3, momentum=None), [4, 3, 2, 2], steps=2),
    run("batchnorm2d_eval", "BatchNorm2d", {"numFeatures": 3, "eps": 1e-3},
        (lambda m: (m.running_mean.copy_(torch.randn(3)), m.running_var.copy_(torch.rand(3) + 0.5), m)[-1])(nn.BatchNorm2d(3, eps=1e-3)),
        [2, 3, 3, 3], train=False),
    run("batchnorm1d_2d_input", "BatchNorm1d", {"numFeatures": 4, "momentum": 0.3}, nn.BatchNorm1d(4, momentum=0.3), [6, 4]),
    run("batchnorm1d_3d_input_no_affine", "BatchNorm1d", {"numFeatures": 2, "affine": False}, nn.BatchNorm1d(2, affine=False), [3, 2, 5]),
    run("layernorm_last", "LayerNorm", {"normalizedShape": [4]}, nn.LayerNorm(4), [2, 3, 4]),
    run("layernorm_two_dims", "LayerNorm", {"normalizedShape": [3, 4], "eps": 1e-3}, nn.LayerNorm([3, 4], eps=1e-3), [2, 3, 4]),
    run("groupnorm", "GroupNorm", {"numGroups": 2, "numChannels": 4}, nn.GroupNorm(2, 4), [2, 4, 3, 3]),
]


# --- models: parameter counts, and one full forward/backward of a small ResNet ---

class BasicBlock(nn.Module):
    def __init__(self, inp, planes, stride, kind):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.stride, self.inp, self.planes, self.kind = stride, inp, planes, kind
        self.shortcut = None
        if (stride != 1 or inp != planes) and kind == "B":
            self.shortcut = nn.Sequential(nn.Conv2d(inp, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        if self.shortcut is not None:
            s = self.shortcut(x)
        elif self.stride == 1 and self.inp == self.planes:
            s = x
        else:
            extra = self.planes - self.inp
            s = F.pad(x[:, :, ::self.stride, ::self.stride], (0, 0, 0, 0, extra // 2, extra - extra // 2))
        return F.relu(out + s)


class ResNet(nn.Module):
    def __init__(self, depth=20, widths=(16, 32, 64), kind="A", classes=10, in_ch=3):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(in_ch, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])

        def stage(inp, planes, stride):
            return nn.Sequential(*[BasicBlock(inp if i == 0 else planes, planes, stride if i == 0 else 1, kind) for i in range(n)])
        self.layer1 = stage(widths[0], widths[0], 1)
        self.layer2 = stage(widths[0], widths[1], 2)
        self.layer3 = stage(widths[1], widths[2], 2)
        self.fc = nn.Linear(widths[2], classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(torch.flatten(x, 1)))
        return self.fc3(F.relu(self.fc2(x)))


def small_vgg(widths=(32, 64, 128), bn=True, hidden=256, classes=10, in_ch=3, size=32):
    layers, c = [], in_ch
    for w in widths:
        for _ in range(2):
            layers += [nn.Conv2d(c, w, 3, padding=1, bias=not bn)] + ([nn.BatchNorm2d(w)] if bn else []) + [nn.ReLU()]
            c = w
        layers.append(nn.MaxPool2d(2))
    side = size >> len(widths)
    return nn.Sequential(nn.Sequential(*layers), nn.Sequential(nn.Flatten(), nn.Linear(c * side * side, hidden), nn.ReLU(), nn.Dropout(0.5), nn.Linear(hidden, classes)))


def count(m):
    return sum(p.numel() for p in m.parameters())


param_counts = {
    "lenet5": count(LeNet5()),
    "resnet20_A": count(ResNet(20, kind="A")),
    "resnet20_B": count(ResNet(20, kind="B")),
    "resnet32_A": count(ResNet(32, kind="A")),
    "resnet56_A": count(ResNet(56, kind="A")),
    "smallVgg_bn": count(small_vgg()),
    "smallVgg_nobn_w16_32": count(small_vgg(widths=(16, 32), bn=False, hidden=64)),
    "unet_w6": count(UNet()),
}

tiny = ResNet(8, widths=(4, 8, 16), kind="A", classes=3, in_ch=2)
cases.append(run("resnet8_tiny_A_train", "ResNetTiny", {"depth": 8, "widths": [4, 8, 16], "shortcut": "A", "numClasses": 3, "inChannels": 2}, tiny, [2, 2, 8, 8]))
tinyB = ResNet(8, widths=(4, 8, 16), kind="B", classes=3, in_ch=2)
cases.append(run("resnet8_tiny_B_eval", "ResNetTiny", {"depth": 8, "widths": [4, 8, 16], "shortcut": "B", "numClasses": 3, "inChannels": 2}, tinyB, [2, 2, 8, 8], train=False))

cases.append(run("unet_small", "UNet", {"inChannels": 2, "numClasses": 3, "widths": [2, 4, 8]}, UNet(2, 3, (2, 4, 8)), [2, 2, 8, 8]))

write_fixture(OUT, "tools/gen_nn_fixtures.py", cases, paramCounts=param_counts)
