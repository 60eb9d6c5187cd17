#!/usr/bin/env python3
"""PyTorch reference values for pixelgrad's attacks (src/attack/attacks.ts).

Run from the repository root with Debian's python3-torch:

    /usr/bin/python3 tools/gen_attack_fixtures.py

torchattacks is not installed: its FGSM, BIM, PGD and PGDL2 are written out below with plain
autograd, step for step as in torchattacks 3.x (model in eval mode, mean cross-entropy, the
normalisation applied between the pixels and the model). The random starts are drawn with
pixelgrad's generator (tools/random_reference.py, in the order src/attack/attacks.ts draws them),
so that the seeded attacks can be compared number for number.

Writes test/fixtures/attack.json: a small CNN (conv 3→4, 3×3, pad 1, ReLU, max pool 2, linear
64→5) with fixed weights, its input normalisation, 6 RGB 8×8 images in [0, 1] (some pixels at
exactly 0 and 1), their labels, and the adversarial images of each case.
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from fixture_json import enc, write_fixture
from random_reference import Xoshiro128ss

OUT = os.path.join("test", "fixtures", "attack.json")
MEAN = [0.5, 0.4, 0.3]
STD = [0.2, 0.25, 0.3]

torch.manual_seed(0)
model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 5))
model.eval()
images = torch.rand(6, 3, 8, 8)
images[images < 0.08] = 0.0  # pixels on the box's faces, where clamping matters
images[images > 0.92] = 1.0
with torch.no_grad():
    labels = model((images - torch.tensor(MEAN).view(3, 1, 1)) / torch.tensor(STD).view(3, 1, 1)).argmax(1)
targets = (labels + 1) % 5


def exact(t):
    """{"shape", "data"} with every float32 value written exactly (inputs must be bit-identical)."""
    return {"shape": list(t.shape), "data": [float(v) for v in t.detach().reshape(-1).tolist()]}


def forward(x):
    return model((x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1))


def gradient(x, labels, targeted):
    x = x.clone().detach().requires_grad_(True)
    loss = F.cross_entropy(forward(x), labels)
    cost = -loss if targeted else loss
    return torch.autograd.grad(cost, x)[0]


def fgsm(x, labels, eps, targeted=False):
    adv = x + eps * gradient(x, labels, targeted).sign()
    return torch.clamp(adv, 0, 1).detach()


def linf_iterate(x, labels, eps, alpha, steps, adv, targeted):
    for _ in range(steps):
        adv = adv.detach() + alpha * gradient(adv, labels, targeted).sign()
        delta = torch.clamp(adv - x, min=-eps, max=eps)
        adv = torch.clamp(x + delta, min=0, max=1).detach()
    return adv


def bim(x, labels, eps, alpha, steps, targeted=False):
    return linf_iterate(x, labels, eps, alpha, steps, x.clone(), targeted)


def pgd(x, labels, eps, alpha, steps, seed, targeted=False):
    g = Xoshiro128ss(seed)
    u = torch.tensor([g.random() for _ in range(x.numel())], dtype=torch.float32).view_as(x)
    adv = torch.clamp(x + (u * 2 - 1) * eps, 0, 1)
    return linf_iterate(x, labels, eps, alpha, steps, adv, targeted)


def pgd_l2(x, labels, eps, alpha, steps, seed, targeted=False):
    n = x.shape[0]
    g = Xoshiro128ss(seed)
    direction = torch.tensor([g.normal() for _ in range(x.numel())], dtype=torch.float32).view_as(x)
    radius = torch.tensor([g.random() for _ in range(n)], dtype=torch.float32).view(n, 1, 1, 1)
    norms = direction.view(n, -1).norm(p=2, dim=1).view(n, 1, 1, 1)
    adv = torch.clamp(x + direction / norms * radius * eps, 0, 1)
    for _ in range(steps):
        grad = gradient(adv, labels, targeted)
        grad = grad / (grad.view(n, -1).norm(p=2, dim=1) + 1e-10).view(n, 1, 1, 1)
        adv = adv.detach() + alpha * grad
        delta = adv - x
        delta_norms = delta.view(n, -1).norm(p=2, dim=1)
        factor = torch.min(eps / delta_norms, torch.ones_like(delta_norms))
        delta = delta * factor.view(-1, 1, 1, 1)
        adv = torch.clamp(x + delta, min=0, max=1).detach()
    return adv


cases = [
    {"name": "fgsm", "method": "fgsm", "options": {"eps": 0.1}, "adv": fgsm(images, labels, 0.1)},
    {"name": "fgsm-targeted", "method": "fgsm", "options": {"eps": 0.1}, "targeted": True, "adv": fgsm(images, targets, 0.1, True)},
    {"name": "bim", "method": "bim", "options": {"eps": 0.1, "alpha": 0.02, "steps": 7}, "adv": bim(images, labels, 0.1, 0.02, 7)},
    {"name": "pgd", "method": "pgd", "options": {"eps": 0.1, "alpha": 0.025, "steps": 5, "seed": 7},
     "adv": pgd(images, labels, 0.1, 0.025, 5, 7)},
    {"name": "pgd-targeted", "method": "pgd", "options": {"eps": 0.2, "alpha": 0.05, "steps": 6, "seed": 11}, "targeted": True,
     "adv": pgd(images, targets, 0.2, 0.05, 6, 11, True)},
    {"name": "pgdL2", "method": "pgdL2", "options": {"eps": 0.5, "alpha": 0.15, "steps": 5, "seed": 3},
     "adv": pgd_l2(images, labels, 0.5, 0.15, 5, 3)},
    {"name": "pgdL2-targeted", "method": "pgdL2", "options": {"eps": 1.0, "alpha": 0.3, "steps": 6, "seed": 5}, "targeted": True,
     "adv": pgd_l2(images, targets, 1.0, 0.3, 6, 5, True)},
]
for c in cases:
    adv = c.pop("adv")
    with torch.no_grad():
        c["adv"] = enc(adv, False)
        c["advPred"] = forward(adv).argmax(1).tolist()

write_fixture(
    OUT, "tools/gen_attack_fixtures.py", cases,
    normalize={"mean": MEAN, "std": STD},
    state={k: exact(v) for k, v in model.state_dict().items()},
    images=exact(images), labels=labels.tolist(), targets=targets.tolist(),
)
