"""Reference attributions for test/explain.test.ts, from PyTorch autograd and module hooks (Captum
is not packaged here, so each method is written out as Captum defines it).

A small CNN with fixed random weights (conv 2->4 3x3 pad 1, ReLU, max pool 2, conv 4->6 3x3 pad 1,
ReLU, linear 96->3) on two 2x8x8 inputs with targets [0, 2]: saliency (signed and absolute),
input x gradient, guided backprop and deconvolution (full backward hooks on the ReLU modules that
clamp the gradient), Grad-CAM on both conv layers (pre- and post-ReLU maps at the layer's
resolution, and upsampled bilinearly), guided Grad-CAM, integrated gradients with every
quadrature rule (Captum's points and weights) and its convergence delta, occlusion, and guided
backprop from the strongest activation of conv2.

Run: python3 tools/gen_explain_fixtures.py  (writes test/fixtures/explain.json)
"""
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from fixture_json import enc, write_fixture

torch.manual_seed(13)


class TinyCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 4, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(4, 6, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.fc = nn.Linear(6 * 4 * 4, 3)

    def forward(self, x):
        x = F.max_pool2d(self.relu1(self.conv1(x)), 2)
        x = self.relu2(self.conv2(x))
        return self.fc(torch.flatten(x, 1))


model = TinyCnn().eval()
x = torch.rand(2, 2, 8, 8)
targets = torch.tensor([0, 2])
relus = [model.relu1, model.relu2]


def input_grad(inp):
    inp = inp.clone().requires_grad_(True)
    out = model(inp)
    (g,) = torch.autograd.grad(out.gather(1, targets.repeat(inp.shape[0] // 2).view(-1, 1)).sum(), [inp])
    return g


def with_relu_hooks(hook, fn):
    handles = [r.register_full_backward_hook(hook) for r in relus]
    try:
        return fn()
    finally:
        for h in handles:
            h.remove()


grad = input_grad(x)
guided = with_relu_hooks(lambda m, gin, gout: (gin[0].clamp(min=0),), lambda: input_grad(x))
deconv = with_relu_hooks(lambda m, gin, gout: (gout[0].clamp(min=0),), lambda: input_grad(x))


def grad_cam(layer):
    store = {}
    h = layer.register_forward_hook(lambda m, i, o: store.__setitem__("a", o))
    out = model(x)
    h.remove()
    a = store["a"]
    (g,) = torch.autograd.grad(out.gather(1, targets.view(-1, 1)).sum(), [a])
    pre = (g.mean(dim=(2, 3), keepdim=True) * a).sum(1, keepdim=True).detach()
    post = pre.clamp(min=0)
    up = F.interpolate(post, size=x.shape[2:], mode="bilinear", align_corners=False)
    return pre, post, up


cams = {name: grad_cam(getattr(model, name)) for name in ["conv1", "conv2"]}


def channel_guided(layer):
    """Guided backprop from each input's strongest activation (any channel, any position) of the layer."""
    store = {}
    h = layer.register_forward_hook(lambda m, i, o: store.__setitem__("a", o))

    def run():
        inp = x.clone().requires_grad_(True)
        model(inp)
        a = store["a"].flatten(1)
        best = a.argmax(1)
        (g,) = torch.autograd.grad(a.gather(1, best.view(-1, 1)).sum(), [inp])
        return g, (best // (store["a"].shape[2] * store["a"].shape[3])).tolist()

    try:
        return with_relu_hooks(lambda m, gin, gout: (gin[0].clamp(min=0),), run)
    finally:
        h.remove()


channel_grad, channel_ids = channel_guided(model.conv2)
guided_grad_cam = guided * cams["conv2"][2]


def rule(method, n):
    """Captum's approximation_methods: (step sizes, alphas)."""
    if method == "riemannLeft":
        return [1 / n] * n, list(np.linspace(0, 1 - 1 / n, n))
    if method == "riemannRight":
        return [1 / n] * n, list(np.linspace(1 / n, 1, n))
    if method == "riemannMiddle":
        return [1 / n] * n, list(np.linspace(1 / (2 * n), 1 - 1 / (2 * n), n))
    if method == "riemannTrapezoid":
        return [1 / (2 * (n - 1))] + [1 / (n - 1)] * (n - 2) + [1 / (2 * (n - 1))], list(np.linspace(0, 1, n))
    nodes, weights = np.polynomial.legendre.leggauss(n)
    return list(0.5 * weights), list(0.5 * (nodes + 1))


def integrated_gradients(method, n, baseline):
    xd, bd = x.double(), baseline.double()
    model.double()
    steps, alphas = rule(method, n)
    total = torch.zeros_like(xd)
    for w, a in zip(steps, alphas):
        total += w * input_grad(bd + a * (xd - bd))
    attr = total * (xd - bd)
    with torch.no_grad():
        gap = model(xd).gather(1, targets.view(-1, 1)).view(-1) - model(bd).gather(1, targets.view(-1, 1)).view(-1)
    model.float()
    return attr, attr.view(2, -1).sum(1) - gap


def occlusion(window, stride, baseline):
    """Captum's Occlusion over [C, H, W] windows (all channels), averaged per position."""
    total = torch.zeros_like(x)
    count = torch.zeros_like(x)
    with torch.no_grad():
        full = model(x).gather(1, targets.view(-1, 1)).view(-1)
        for i in range(0, x.shape[2] - window[0] + 1, stride[0]):
            for j in range(0, x.shape[3] - window[1] + 1, stride[1]):
                occ = x.clone()
                occ[:, :, i:i + window[0], j:j + window[1]] = baseline
                drop = full - model(occ).gather(1, targets.view(-1, 1)).view(-1)
                total[:, :, i:i + window[0], j:j + window[1]] += drop.view(-1, 1, 1, 1)
                count[:, :, i:i + window[0], j:j + window[1]] += 1
    return total / count.clamp(min=1)


cases = [
    {"name": "saliency", "abs": enc(grad.abs()), "signed": enc(grad)},
    {"name": "inputXGradient", "expected": enc(x * grad)},
    {"name": "guidedBackprop", "expected": enc(guided)},
    {"name": "deconvolution", "expected": enc(deconv)},
    {"name": "guidedGradCam", "layer": "conv2", "expected": enc(guided_grad_cam)},
    {"name": "channelGuidedBackprop", "layer": "conv2", "channels": channel_ids, "expected": enc(channel_grad)},
]
for name, (pre, post, up) in cams.items():
    cases.append({"name": "gradCam." + name, "layer": name, "pre": enc(pre), "post": enc(post), "upsampled": enc(up)})
ig_baseline = torch.full_like(x, 0.25)
for method in ["riemannLeft", "riemannRight", "riemannMiddle", "riemannTrapezoid", "gaussLegendre"]:
    attr, delta = integrated_gradients(method, 7, ig_baseline)
    steps, alphas = rule(method, 7)
    cases.append({"name": "integratedGradients." + method, "method": method, "steps": 7, "baseline": 0.25,
                  "alphas": [float(a) for a in alphas], "weights": [float(w) for w in steps],
                  "expected": enc(attr), "delta": enc(delta)})
for window, stride, baseline in [((3, 3), (1, 1), 0.0), ((2, 4), (2, 2), 0.5), ((3, 3), (2, 2), 0.0)]:
    cases.append({"name": "occlusion.%dx%d.s%d.b%g" % (window + (stride[0], baseline)), "window": list(window),
                  "stride": list(stride), "baseline": baseline, "expected": enc(occlusion(window, stride, baseline))})

state = {k: enc(v, with_dtype=False) for k, v in model.state_dict().items()}
write_fixture(os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "explain.json"),
              "tools/gen_explain_fixtures.py", cases, state=state, input=enc(x), targets=targets.tolist())
