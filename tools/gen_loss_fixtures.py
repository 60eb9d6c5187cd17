#!/usr/bin/env python3
"""Generate PyTorch reference fixtures for pixelgrad's loss functions.

Run from the repository root with the system interpreter (Debian's
python3-torch):

    /usr/bin/python3 tools/gen_loss_fixtures.py

It writes test/fixtures/loss.json (compact, floats rounded to 7 significant
digits, no indentation):

    {"generator": "tools/gen_loss_fixtures.py", "torch": <torch.__version__>,
     "cases": [CASE, ...]}

    CASE = {"name": unique string, "loss": pixelgrad function name,
            "options": {pixelgrad option: value, ...}   (no tensors),
            "tensors": {"input": T, "target": T, "weight"?: T, "posWeight"?: T},
            "output": {"shape", "data"},
            "upstream": {"shape", "data"} | null,
            "grad": {"shape", "data"}}
    T = {"shape", "data", "dtype": "float32" | "int32"}

Everything is float32; class indices are int32 (int64 for torch).  Inputs are
rounded to 7 significant digits *before* the loss is computed, so pixelgrad
sees exactly the float32 values torch saw.  grad is the gradient of the loss
with respect to "input": for scalar losses d loss / d input, for
reduction='none' torch.autograd.grad(output, input, upstream) with a random
upstream gradient of the output's shape.

The diceLoss reference is a plain torch implementation of the formula in
src/nn/functional/loss.ts (torch has no Dice loss): with p = softmax(logits, 1)
and t = one_hot(target), per sample n and class c, over the spatial dims,
dice = (2 sum p t + smooth) / (sum p + sum t + smooth), loss[n] = 1 - mean_c dice,
pixels whose target is ignore_index left out of the sums.

The global RNG is seeded once (torch.manual_seed(0)) and the cases are built
in table order, so the output is deterministic for a given torch build.
"""

import os

import torch
import torch.nn.functional as F

from fixture_json import enc, r7, write_fixture

OUT_PATH = os.path.join("test", "fixtures", "loss.json")




def round7(t):
    """A float32 tensor whose values are exactly the 7-significant-digit decimals written out."""
    return torch.tensor([r7(v) for v in t.reshape(-1).tolist()], dtype=torch.float32).reshape(t.shape)




# ---------------------------------------------------------------------------
# Tensor makers (drawn from the global RNG when the case is built).
# ---------------------------------------------------------------------------

def randn(*shape, scale=1.0):
    return lambda: torch.randn(shape) * scale


def log_probs(*shape, dim=1):
    return lambda: torch.log_softmax(torch.randn(shape) * 1.5, dim=dim if len(shape) > 1 else 0)


def probs(*shape):
    """Probabilities in [0.02, 0.98]: away from 0 and 1 where torch's BCE backward clamps."""
    return lambda: torch.rand(shape) * 0.96 + 0.02


def soft(*shape, dim=1):
    """Class probabilities along `dim` (soft labels)."""
    return lambda: torch.softmax(torch.randn(shape) * 2, dim=dim if len(shape) > 1 else 0)


def labels(classes, *shape, ignore=None, n_ignore=0):
    """int class indices; the first n_ignore positions of a random permutation set to `ignore`."""
    def make():
        t = torch.randint(0, classes, shape, dtype=torch.int64)
        if n_ignore:
            flat = t.reshape(-1)
            flat[torch.randperm(flat.numel())[:n_ignore]] = ignore
        return t
    return make


def binary(*shape):
    return lambda: torch.randint(0, 2, shape).to(torch.float32)


def positive(*shape, lo=0.5, hi=2.0):
    return lambda: torch.rand(shape) * (hi - lo) + lo


def fixed(values, dtype=torch.float32):
    return lambda: torch.tensor(values, dtype=dtype)


# ---------------------------------------------------------------------------
# torch references, by pixelgrad loss name.
# ---------------------------------------------------------------------------

def dice_ref(logits, target, smooth=1.0, reduction="mean", ignore_index=None):
    C = logits.shape[1]
    p = torch.softmax(logits, dim=1)
    valid = torch.ones_like(target, dtype=torch.bool) if ignore_index is None else target != ignore_index
    onehot = F.one_hot(torch.where(valid, target, torch.zeros_like(target)), C)  # [N, ..., C]
    onehot = onehot.movedim(-1, 1).to(p.dtype) * valid.unsqueeze(1)
    p = p * valid.unsqueeze(1).to(p.dtype)
    dims = tuple(range(2, logits.dim()))
    spatial = (lambda x: x.sum(dim=dims)) if dims else (lambda x: x)  # torch sums all for dim=()
    dice = (2 * spatial(p * onehot) + smooth) / (spatial(p) + spatial(onehot) + smooth)
    loss = 1 - dice.mean(dim=1)
    return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]


def torch_loss(loss, t, o):
    red = o.get("reduction", "mean")
    x, y = t["input"], t["target"]
    if loss == "mseLoss":
        return F.mse_loss(x, y, reduction=red)
    if loss == "l1Loss":
        return F.l1_loss(x, y, reduction=red)
    if loss == "smoothL1Loss":
        return F.smooth_l1_loss(x, y, reduction=red, beta=o.get("beta", 1.0))
    if loss == "nllLoss":
        return F.nll_loss(x, y, weight=t.get("weight"), ignore_index=o.get("ignoreIndex", -100),
                          reduction=red)
    if loss == "crossEntropy":
        return F.cross_entropy(x, y, weight=t.get("weight"), ignore_index=o.get("ignoreIndex", -100),
                               reduction=red, label_smoothing=o.get("labelSmoothing", 0.0))
    if loss == "binaryCrossEntropy":
        return F.binary_cross_entropy(x, y, weight=t.get("weight"), reduction=red)
    if loss == "bceWithLogits":
        return F.binary_cross_entropy_with_logits(x, y, weight=t.get("weight"), reduction=red,
                                                  pos_weight=t.get("posWeight"))
    if loss == "diceLoss":
        return dice_ref(x, y, smooth=o.get("smooth", 1.0), reduction=red,
                        ignore_index=o.get("ignoreIndex"))
    raise ValueError(loss)


# ---------------------------------------------------------------------------
# Case table.
# ---------------------------------------------------------------------------

CASES = []
REDUCTIONS = ("mean", "sum", "none")


def case(name, loss, options, **tensors):
    CASES.append(dict(name=name, loss=loss, options=options, tensors=tensors))


# --- regression --------------------------------------------------------------
for red in REDUCTIONS:
    case("mse_" + red, "mseLoss", {"reduction": red}, input=randn(3, 4), target=randn(3, 4))
    case("l1_" + red, "l1Loss", {"reduction": red}, input=randn(3, 4), target=randn(3, 4))
    case("smoothL1_" + red, "smoothL1Loss", {"reduction": red},
         input=randn(3, 4, scale=1.5), target=randn(3, 4))
case("mse_4d", "mseLoss", {}, input=randn(2, 2, 3, 3), target=randn(2, 2, 3, 3))
case("smoothL1_beta0.5_mean", "smoothL1Loss", {"beta": 0.5}, input=randn(3, 4), target=randn(3, 4))
case("smoothL1_beta2_none", "smoothL1Loss", {"beta": 2.0, "reduction": "none"},
     input=randn(3, 4, scale=2), target=randn(3, 4))
case("smoothL1_beta0_sum", "smoothL1Loss", {"beta": 0.0, "reduction": "sum"},
     input=randn(3, 4), target=randn(3, 4))

# --- nll ------------------------------------------------------------------------
N, C = 5, 4
for red in REDUCTIONS:
    case("nll_" + red, "nllLoss", {"reduction": red}, input=log_probs(N, C), target=labels(C, N))
    case("nll_weight_" + red, "nllLoss", {"reduction": red},
         input=log_probs(N, C), target=labels(C, N), weight=positive(C))
    case("nll_ignore_" + red, "nllLoss", {"reduction": red},
         input=log_probs(N, C), target=labels(C, N, ignore=-100, n_ignore=2))
case("nll_weight_ignore2_mean", "nllLoss", {"ignoreIndex": 2},
     input=log_probs(N, C), target=labels(C, N), weight=positive(C))
case("nll_1d_none", "nllLoss", {"reduction": "none"}, input=log_probs(C), target=fixed(2, torch.int64))
case("nll_1d_weight_mean", "nllLoss", {}, input=log_probs(C), target=fixed(1, torch.int64),
     weight=positive(C))
case("nll_4d_weight_ignore_mean", "nllLoss", {"ignoreIndex": -1},
     input=log_probs(2, 3, 3, 3), target=labels(3, 2, 3, 3, ignore=-1, n_ignore=4), weight=positive(3))
case("nll_4d_none", "nllLoss", {"reduction": "none"},
     input=log_probs(2, 3, 3, 3), target=labels(3, 2, 3, 3))

# --- cross entropy: class indices ------------------------------------------------
for red in REDUCTIONS:
    case("ce_" + red, "crossEntropy", {"reduction": red}, input=randn(N, C), target=labels(C, N))
    case("ce_weight_" + red, "crossEntropy", {"reduction": red},
         input=randn(N, C), target=labels(C, N), weight=positive(C))
    case("ce_ignore_" + red, "crossEntropy", {"reduction": red},
         input=randn(N, C), target=labels(C, N, ignore=-100, n_ignore=2))
    case("ce_ls_" + red, "crossEntropy", {"reduction": red, "labelSmoothing": 0.1},
         input=randn(N, C), target=labels(C, N))
    case("ce_ls_weight_ignore_" + red, "crossEntropy",
         {"reduction": red, "labelSmoothing": 0.2, "ignoreIndex": 1},
         input=randn(N, C), target=labels(C, N, ignore=1, n_ignore=1), weight=positive(C))
case("ce_ls_weight_mean", "crossEntropy", {"labelSmoothing": 0.3},
     input=randn(N, C), target=labels(C, N), weight=positive(C))
case("ce_ls1_mean", "crossEntropy", {"labelSmoothing": 1.0}, input=randn(N, C), target=labels(C, N))
case("ce_scaled_logits_mean", "crossEntropy", {}, input=randn(N, C, scale=30), target=labels(C, N))
case("ce_1d_mean", "crossEntropy", {}, input=randn(C), target=fixed(3, torch.int64))
case("ce_1d_ls_weight_none", "crossEntropy", {"reduction": "none", "labelSmoothing": 0.1},
     input=randn(C), target=fixed(0, torch.int64), weight=positive(C))
# pixel-wise segmentation [N,C,H,W] with [N,H,W] labels
for red in REDUCTIONS:
    case("ce_4d_" + red, "crossEntropy", {"reduction": red},
         input=randn(2, 3, 3, 3), target=labels(3, 2, 3, 3))
case("ce_4d_weight_ignore_mean", "crossEntropy", {"ignoreIndex": 255},
     input=randn(2, 3, 3, 3), target=labels(3, 2, 3, 3, ignore=255, n_ignore=5), weight=positive(3))
case("ce_4d_ls_weight_ignore_mean", "crossEntropy", {"ignoreIndex": 255, "labelSmoothing": 0.1},
     input=randn(2, 3, 3, 3), target=labels(3, 2, 3, 3, ignore=255, n_ignore=5), weight=positive(3))
case("ce_4d_ls_none", "crossEntropy", {"reduction": "none", "labelSmoothing": 0.05},
     input=randn(2, 3, 3, 3), target=labels(3, 2, 3, 3))
case("ce_3d_weight_sum", "crossEntropy", {"reduction": "sum"},
     input=randn(2, 3, 4), target=labels(3, 2, 4), weight=positive(3))

# --- cross entropy: class probabilities ------------------------------------------
for red in REDUCTIONS:
    case("ce_probs_" + red, "crossEntropy", {"reduction": red}, input=randn(N, C), target=soft(N, C))
    case("ce_probs_weight_ls_" + red, "crossEntropy", {"reduction": red, "labelSmoothing": 0.2},
         input=randn(N, C), target=soft(N, C), weight=positive(C))
case("ce_probs_weight_mean", "crossEntropy", {}, input=randn(N, C), target=soft(N, C), weight=positive(C))
case("ce_probs_ls_mean", "crossEntropy", {"labelSmoothing": 0.1}, input=randn(N, C), target=soft(N, C))
case("ce_probs_1d_sum", "crossEntropy", {"reduction": "sum"}, input=randn(C), target=soft(C))
case("ce_probs_4d_mean", "crossEntropy", {}, input=randn(2, 3, 3, 3), target=soft(2, 3, 3, 3))
case("ce_probs_4d_weight_ls_none", "crossEntropy", {"reduction": "none", "labelSmoothing": 0.1},
     input=randn(2, 3, 3, 3), target=soft(2, 3, 3, 3), weight=positive(3))

# --- binary cross entropy ----------------------------------------------------------
for red in REDUCTIONS:
    case("bce_" + red, "binaryCrossEntropy", {"reduction": red}, input=probs(3, 4), target=binary(3, 4))
    case("bce_weight_" + red, "binaryCrossEntropy", {"reduction": red},
         input=probs(3, 4), target=probs(3, 4), weight=positive(4))
case("bce_4d_weight_mean", "binaryCrossEntropy", {}, input=probs(2, 2, 3, 3), target=binary(2, 2, 3, 3),
     weight=positive(2, 1, 1))

# --- binary cross entropy with logits -----------------------------------------------
for red in REDUCTIONS:
    case("bcel_" + red, "bceWithLogits", {"reduction": red}, input=randn(3, 4, scale=2), target=binary(3, 4))
    case("bcel_weight_" + red, "bceWithLogits", {"reduction": red},
         input=randn(3, 4, scale=2), target=probs(3, 4), weight=positive(4))
    case("bcel_posWeight_" + red, "bceWithLogits", {"reduction": red},
         input=randn(3, 4, scale=2), target=binary(3, 4), posWeight=positive(4, lo=0.5, hi=4))
case("bcel_weight_posWeight_none", "bceWithLogits", {"reduction": "none"},
     input=randn(3, 4, scale=2), target=probs(3, 4), weight=positive(3, 1), posWeight=positive(4, lo=0.5, hi=4))
case("bcel_large_logits_mean", "bceWithLogits", {},
     input=fixed([[-120.0, -40.0, -15.0, 0.0], [15.0, 40.0, 120.0, -3.0]]),
     target=fixed([[1.0, 0.0, 1.0, 1.0], [0.0, 1.0, 1.0, 0.0]]))
case("bcel_4d_posWeight_mean", "bceWithLogits", {},
     input=randn(2, 2, 3, 3, scale=2), target=binary(2, 2, 3, 3), posWeight=positive(2, 1, 1, lo=0.5, hi=4))

# --- dice ----------------------------------------------------------------------------
for red in REDUCTIONS:
    case("dice_4d_" + red, "diceLoss", {"reduction": red}, input=randn(2, 3, 3, 3), target=labels(3, 2, 3, 3))
case("dice_smooth0.5_mean", "diceLoss", {"smooth": 0.5}, input=randn(2, 3, 3, 3, scale=2),
     target=labels(3, 2, 3, 3))
case("dice_ignore_none", "diceLoss", {"reduction": "none", "ignoreIndex": 255},
     input=randn(2, 3, 3, 3), target=labels(3, 2, 3, 3, ignore=255, n_ignore=5))
case("dice_3d_sum", "diceLoss", {"reduction": "sum"}, input=randn(2, 4, 5), target=labels(4, 2, 5))
case("dice_2d_mean", "diceLoss", {}, input=randn(N, C), target=labels(C, N))


# ---------------------------------------------------------------------------

def build(c):
    tensors = {}
    for k, make in c["tensors"].items():
        t = make()
        tensors[k] = round7(t) if t.dtype.is_floating_point else t
    x = tensors["input"].clone().requires_grad_(True)
    tensors["input"] = x
    out = torch_loss(c["loss"], tensors, c["options"])
    assert out.dtype == torch.float32
    if out.dim() == 0:
        upstream = None
        (grad,) = torch.autograd.grad(out, x)
    else:
        up = round7(torch.randn(out.shape))
        upstream = enc(up, False)
        (grad,) = torch.autograd.grad(out, x, up)
    assert torch.isfinite(out).all() and torch.isfinite(grad).all(), c["name"]
    return {"name": c["name"], "loss": c["loss"], "options": c["options"],
            "tensors": {k: enc(v) for k, v in tensors.items()},
            "output": enc(out, False), "upstream": upstream, "grad": enc(grad, False)}


def main():
    torch.manual_seed(0)
    write_fixture(OUT_PATH, "tools/gen_loss_fixtures.py", [build(c) for c in CASES])


if __name__ == "__main__":
    main()
