#!/usr/bin/env python3
"""Generate reference fixtures for pixelgrad's segmentation pieces.

Run from the repository root with the system interpreter (Debian's python3-torch and
python3-scipy):

    /usr/bin/python3 tools/gen_seg_fixtures.py

It writes test/fixtures/segment.json:

    {"generator", "torch", "scipy", "cases": [CASE, ...]} with CASE one of
    {"name", "kind": "weightMap", "mask": T, "options": {...}, "output": T}
    {"name", "kind": "loss", "loss": "crossEntropy" | "diceLoss" | "ceDiceLoss",
     "options": {...}, "tensors": {"input", "target", "weight"?, "weightMap"?}, "output": T, "grad": T}
    {"name", "kind": "rand", "predicted": T, "truth": T, "output": {"vRand", "split", "merge"}}

References:
- weightMap: the U-Net paper's w(x) = w_c(x) + w0 exp(-(d1 + d2)^2 / 2 sigma^2), with objects the
  4-connected components of non-background pixels (scipy.ndimage.label), d1 <= d2 from
  scipy.ndimage.distance_transform_edt of each object's complement, the border term on background
  pixels only, w_c scikit-learn's 'balanced' weights over the mask (or 1 for 'none').
- crossEntropy with weightMap: torch's cross_entropy(reduction='none', weight=w) times the map;
  'mean' divides by sum(w[t] * map) over the pixels not ignored.
- diceLoss: softmax probabilities p and one-hot t, dice = (2 sum p t + smooth) / (sum p + sum t +
  smooth) over the spatial dims (and the batch with batch=True), 1 - mean over the classes kept
  (classes 1.. without the background, or one classIndex).
- rand: the foreground-restricted Rand scores of the ISBI 2012 challenge from a contingency table
  of scipy.ndimage.label segments over the pixels that are foreground in the truth.
"""

import os

import numpy as np
import scipy
import scipy.ndimage as ndi
import torch
import torch.nn.functional as F

from fixture_json import enc, r7, write_fixture

OUT_PATH = os.path.join("test", "fixtures", "segment.json")


def round7(t):
    return torch.tensor([r7(v) for v in t.reshape(-1).tolist()], dtype=torch.float32).reshape(t.shape)


def weight_map(mask, w0=10.0, sigma=5.0, class_weights="balanced", background=0):
    h, w = mask.shape
    if class_weights == "none":
        wc = np.ones((h, w))
    else:
        ids, counts = np.unique(mask, return_counts=True)
        lut = {i: mask.size / (len(ids) * c) for i, c in zip(ids, counts)}
        wc = np.vectorize(lut.get)(mask).astype(np.float64)
    labels, count = ndi.label(mask != background)
    if count < 2 or w0 == 0:
        return wc
    # The nearest and second-nearest object's distance, kept as running minima (a membrane image has
    # hundreds of cells: a stack of every object's distances would take gigabytes).
    d1, d2 = np.full((h, w), np.inf), np.full((h, w), np.inf)
    for k in range(1, count + 1):
        d = ndi.distance_transform_edt(labels != k)
        d1, d2 = np.minimum(d1, d), np.minimum(d2, np.maximum(d1, d))
    border = w0 * np.exp(-((d1 + d2) ** 2) / (2 * sigma ** 2))
    return wc + border * (mask == background)


def blobs(h, w, centres, radius, cls=1):
    yy, xx = np.mgrid[0:h, 0:w]
    m = np.zeros((h, w), dtype=np.int64)
    for (cy, cx), r, c in zip(centres, radius, cls if isinstance(cls, list) else [cls] * len(centres)):
        m[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = c
    return m


def weight_cases():
    cases = []
    cells = blobs(24, 32, [(6, 6), (6, 17), (17, 10), (16, 26)], [5, 5.5, 6, 5])
    membrane = np.ones((20, 20), dtype=np.int64)  # ISBI-like: 1 = cell, 0 = membrane lines
    membrane[7, :] = 0
    membrane[:, 12] = 0
    membrane[15, 3:] = 0
    multi = blobs(20, 24, [(5, 5), (5, 14), (14, 9), (14, 20)], [4, 4, 5, 3], cls=[1, 2, 1, 3])
    for name, mask, opts in [
        ("four discs, defaults", cells, {}),
        ("four discs, w0 5 sigma 3, no class weights", cells, {"w0": 5.0, "sigma": 3.0, "classWeights": "none"}),
        ("membrane grid, defaults", membrane, {}),
        ("multi-class objects, sigma 2", multi, {"sigma": 2.0}),
        ("one object: class weights only", blobs(12, 12, [(6, 6)], [3]), {}),
    ]:
        ref = weight_map(mask, opts.get("w0", 10.0), opts.get("sigma", 5.0), opts.get("classWeights", "balanced"))
        cases.append({"name": name, "kind": "weightMap", "mask": enc(torch.from_numpy(mask)), "options": opts,
                      "output": enc(torch.from_numpy(ref))})
    return cases


def dice_ref(x, t, smooth=1.0, include_background=True, class_index=None, batch=False, ignore_index=None, reduction="mean"):
    c = x.shape[1]
    valid = torch.ones_like(t, dtype=x.dtype) if ignore_index is None else (t != ignore_index).to(x.dtype)
    safe = torch.where(t == ignore_index, torch.zeros_like(t), t) if ignore_index is not None else t
    onehot = F.one_hot(safe, c).movedim(-1, 1).to(x.dtype) * valid.unsqueeze(1)
    p = torch.softmax(x, 1) * valid.unsqueeze(1)
    dims = [d for d in range(x.ndim) if d != 1 and (batch or d != 0)]
    inter = (p * onehot).sum(dims)
    den = p.sum(dims) + onehot.sum(dims) + smooth
    dice = (2 * inter + smooth) / den
    axis = 0 if batch else 1
    if class_index is not None:
        dice = dice.narrow(axis, class_index, 1)
    elif not include_background:
        dice = dice.narrow(axis, 1, c - 1)
    loss = 1 - dice.mean(axis)
    if batch or reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


def ce_ref(x, t, weight=None, weight_map=None, ignore_index=-100, reduction="mean"):
    per = F.cross_entropy(x, t, weight=weight, ignore_index=ignore_index, reduction="none")
    m = weight_map if weight_map is not None else torch.ones_like(per)
    per = per * m
    if reduction == "none":
        return per
    if reduction == "sum":
        return per.sum()
    valid = (t != ignore_index).to(x.dtype)
    wt = weight[torch.where(t == ignore_index, torch.zeros_like(t), t)] if weight is not None else torch.ones_like(per)
    return per.sum() / (wt * m * valid).sum()


def loss_cases():
    cases = []
    torch.manual_seed(0)

    def logits(*shape):
        return round7(torch.randn(*shape) * 2)

    def labels(c, *shape):
        return torch.randint(0, c, shape)

    def add(name, loss, options, x, t, fn, weight=None, wmap=None):
        x = x.clone().requires_grad_(True)
        out = fn(x)
        upstream = None
        if out.ndim > 0:
            upstream = round7(torch.randn(out.shape))
            (out * upstream).sum().backward()
        else:
            out.backward()
        tensors = {"input": enc(x), "target": enc(t)}
        if weight is not None:
            tensors["weight"] = enc(weight)
        if wmap is not None:
            tensors["weightMap"] = enc(wmap)
        cases.append({"name": name, "kind": "loss", "loss": loss, "options": options, "tensors": tensors,
                      "output": enc(out), "upstream": enc(upstream) if upstream is not None else None, "grad": enc(x.grad)})

    x, t = logits(2, 3, 4, 5), labels(3, 2, 4, 5)
    w = round7(torch.rand(3) + 0.5)
    m = round7(torch.rand(2, 4, 5) * 3 + 0.2)
    add("weightMap mean", "crossEntropy", {}, x, t, lambda z: ce_ref(z, t, weight_map=m), wmap=m)
    add("weightMap and class weights mean", "crossEntropy", {}, x, t, lambda z: ce_ref(z, t, weight=w, weight_map=m), weight=w, wmap=m)
    add("weightMap sum", "crossEntropy", {"reduction": "sum"}, x, t, lambda z: ce_ref(z, t, weight_map=m, reduction="sum"), wmap=m)
    add("weightMap none", "crossEntropy", {"reduction": "none"}, x, t, lambda z: ce_ref(z, t, weight=w, weight_map=m, reduction="none"), weight=w, wmap=m)
    ti = t.clone()
    ti[0, 1, 2] = 255
    ti[1, 3, 0] = 255
    add("weightMap ignoreIndex 255", "crossEntropy", {"ignoreIndex": 255}, x, ti, lambda z: ce_ref(z, ti, weight=w, weight_map=m, ignore_index=255), weight=w, wmap=m)

    xb, tb = logits(3, 2, 6, 6), labels(2, 3, 6, 6)
    xm, tm = logits(2, 4, 5, 5), labels(4, 2, 5, 5)
    dice_variants = [
        ("binary foreground classIndex 1", xb, tb, {"classIndex": 1}),
        ("binary foreground classIndex 1, none", xb, tb, {"classIndex": 1, "reduction": "none"}),
        ("binary foreground over the batch", xb, tb, {"classIndex": 1, "batch": True}),
        ("multi-class without background", xm, tm, {"includeBackground": False}),
        ("multi-class without background, sum, smooth 0", xm, tm, {"includeBackground": False, "reduction": "sum", "smooth": 0}),
        ("multi-class over the batch", xm, tm, {"batch": True, "smooth": 0.5}),
        ("multi-class over the batch without background", xm, tm, {"batch": True, "includeBackground": False}),
        ("classIndex 2 none", xm, tm, {"classIndex": 2, "reduction": "none", "smooth": 0.1}),
    ]
    for name, xx, tt, o in dice_variants:
        kw = {"smooth": o.get("smooth", 1.0), "include_background": o.get("includeBackground", True), "class_index": o.get("classIndex"),
              "batch": o.get("batch", False), "reduction": o.get("reduction", "mean")}
        add(name, "diceLoss", o, xx, tt, lambda z, tt=tt, kw=kw: dice_ref(z, tt, **kw))
    tmi = tm.clone()
    tmi[0, 0, :] = 255
    add("without background, ignoreIndex, over the batch", "diceLoss", {"includeBackground": False, "batch": True, "ignoreIndex": 255}, xm, tmi,
        lambda z: dice_ref(z, tmi, include_background=False, batch=True, ignore_index=255))

    add("ce+dice defaults", "ceDiceLoss", {}, xm, tm, lambda z: ce_ref(z, tm) + dice_ref(z, tm))
    add("ce+dice weighted terms, weightMap, dice without background", "ceDiceLoss",
        {"ceWeight": 0.5, "diceWeight": 2, "dice": {"includeBackground": False}}, x, t,
        lambda z: 0.5 * ce_ref(z, t, weight=w, weight_map=m) + 2 * dice_ref(z, t, include_background=False), weight=w, wmap=m)
    return cases


def rand_ref(pred, truth):
    sp, st, sq = 0.0, 0.0, 0.0
    for p, t in zip(pred.reshape(-1, *pred.shape[-2:]), truth.reshape(-1, *truth.shape[-2:])):
        ps, _ = ndi.label(p != 0)
        ts, _ = ndi.label(t != 0)
        keep = ts != 0
        a, b = ps[keep], ts[keep]
        pairs = np.unique(np.stack([a, b]), axis=1, return_counts=True)[1]
        rows = np.unique(a, return_counts=True)[1]
        cols = np.unique(b, return_counts=True)[1]
        sp += float((pairs.astype(np.float64) ** 2).sum())
        ss = float((rows.astype(np.float64) ** 2).sum())
        tt = float((cols.astype(np.float64) ** 2).sum())
        st += ss
        sq += tt
    return {"vRand": sp / (0.5 * st + 0.5 * sq), "split": sp / sq, "merge": sp / st}


def rand_cases():
    rng = np.random.default_rng(3)
    truth = np.ones((16, 16), dtype=np.int64)
    truth[5, :] = 0
    truth[:, 9] = 0
    truth[12, :9] = 0
    merged = truth.copy()
    merged[5, 2:4] = 1  # a gap in a membrane merges two cells
    split = truth.copy()
    split[:, 4] = 0  # an extra membrane splits cells
    noisy = np.where(rng.random(truth.shape) < 0.08, 1 - truth, truth)
    cases = []
    for name, pred, tr in [("identical", truth, truth), ("merge error", merged, truth), ("split error", split, truth),
                           ("noisy, two images", np.stack([noisy, split]), np.stack([truth, truth]))]:
        cases.append({"name": name, "kind": "rand", "predicted": enc(torch.from_numpy(pred)), "truth": enc(torch.from_numpy(tr)),
                      "output": rand_ref(pred, tr)})
    return cases


if __name__ == "__main__":
    write_fixture(OUT_PATH, "tools/gen_seg_fixtures.py", weight_cases() + loss_cases() + rand_cases(), scipy=scipy.__version__)
