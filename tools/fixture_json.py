"""Shared encoding of tensors for the JSON fixtures written by the tools/gen_*_fixtures.py scripts."""
import json
import os

import torch


def r7(v):
    """A float rounded to 7 significant digits (enough for float32); + 0.0 turns -0.0 into 0.0."""
    return float("%.7g" % v) + 0.0


def enc(t, with_dtype=True):
    """{"shape", "data"[, "dtype"]} of a tensor: floats rounded by r7, integers as ints (int32 in pixelgrad)."""
    t = t.detach()
    d = {"shape": list(t.shape)}
    if t.dtype.is_floating_point:
        d["data"] = [r7(v) for v in t.to(torch.float32).reshape(-1).tolist()]
        dtype = "float32"
    else:
        d["data"] = [int(v) for v in t.to(torch.int64).reshape(-1).tolist()]
        dtype = "int32"
    if with_dtype:
        d["dtype"] = dtype
    return d


def write_fixture(path, generator, cases, **extra):
    """Writes {"generator", "torch", **extra, "cases"} as compact JSON, after checking that case names are unique."""
    names = [c["name"] for c in cases]
    dup = {n for n in names if names.count(n) > 1}
    assert not dup, "duplicate case names: %s" % sorted(dup)
    doc = {"generator": generator, "torch": torch.__version__, **extra, "cases": cases}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write(json.dumps(doc, separators=(",", ":"), allow_nan=False) + "\n")
    print("wrote %s: %d cases, %d bytes" % (path, len(cases), os.path.getsize(path)))
