#!/usr/bin/env python3
"""Generate PyTorch reference fixtures for pixelgrad's op tests.

Run from the repository root with the system interpreter (Debian's
python3-torch):

    /usr/bin/python3 tools/gen_op_fixtures.py

It writes test/fixtures/ops.json:

    {"generator": "tools/gen_op_fixtures.py", "torch": <torch.__version__>,
     "cases": [CASE, ...]}

    CASE = {"name": unique string, "op": pixelgrad op name, "args": {...},
            "inputs":  [{"shape", "data", "dtype", "grad"}, ...],
            "output":  {"shape", "data", "dtype"}   (or {"parts": [...]} for split),
            "upstream": {"shape", "data"} (or {"parts": [...]}) | null,
            "grads":   [{"shape", "data"} | null, ...] | null}

Everything is computed in float32 (index / label / condition tensors are
int32 and converted to int64 or bool where torch requires it).  The upstream
gradient is a random tensor of the output's shape and
grads = torch.autograd.grad(output, float inputs, upstream).  The global RNG
is seeded once (torch.manual_seed(0)) and the case table is evaluated in
order, so the output is deterministic for a given torch build.  Floats are
rounded to 7 significant digits and written without indentation.
"""

import os

import torch
import torch.nn.functional as F

from fixture_json import enc, r7, write_fixture

OUT_PATH = os.path.join("test", "fixtures", "ops.json")
GAP = 0.1  # minimum distance of inputs from kinks / ties


# ---------------------------------------------------------------------------
# Input specifications.  Each spec makes one tensor, drawing from the global
# RNG when the case is built (table order => deterministic).
# ---------------------------------------------------------------------------

class Spec:
    grad = True

    def make(self):
        raise NotImplementedError


class Randn(Spec):
    """Standard normal values, optionally scaled, kept >= gap away from `avoid` points."""

    def __init__(self, shape, scale=1.0, avoid=(), grad=True, gap=GAP):
        self.shape, self.scale, self.avoid, self.grad = list(shape), scale, avoid, grad
        self.gap = gap

    def make(self):
        x = torch.randn(self.shape) * self.scale
        for _ in range(1000):
            bad = torch.zeros(self.shape, dtype=torch.bool)
            for p in self.avoid:
                bad |= (x - p).abs() < self.gap
            if not bad.any():
                return x
            x = torch.where(bad, torch.randn(self.shape) * self.scale, x)
        raise RuntimeError("could not draw values away from %r" % (self.avoid,))


class Positive(Spec):
    """Uniform values in [0.5, 1.5): safe for log / sqrt / pow bases."""

    def __init__(self, shape, grad=True):
        self.shape, self.grad = list(shape), grad

    def make(self):
        return torch.rand(self.shape) + 0.5


class Fixed(Spec):
    """A literal tensor (float32 or int32)."""

    def __init__(self, values, dtype=torch.int32, grad=False):
        self.values, self.dtype, self.grad = values, dtype, grad

    def make(self):
        return torch.tensor(self.values, dtype=self.dtype)


def no_ties(a_idx=0, b_idx=1):
    """prep hook: redraw two inputs until their broadcast values differ by >= GAP."""

    def prep(specs, tensors):
        for _ in range(1000):
            a, b = tensors[a_idx], tensors[b_idx]
            if ((a - b).abs() >= GAP).all():
                return tensors
            tensors[a_idx] = specs[a_idx].make()
            tensors[b_idx] = specs[b_idx].make()
        raise RuntimeError("could not draw tie-free pair")

    return prep


# ---------------------------------------------------------------------------
# Case table.
# ---------------------------------------------------------------------------

CASES = []


def case(name, op, args, inputs, fn, differentiable=True, prep=None):
    CASES.append(dict(name=name, op=op, args=args, inputs=inputs, fn=fn,
                      differentiable=differentiable, prep=prep))


def dims(d):
    """pixelgrad dim arg (None | int | list) -> torch dim arg."""
    return tuple(d) if isinstance(d, list) else d


# --- binary elementwise with broadcasting -----------------------------------
BINARY = {
    "add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div,
    "maximum": torch.maximum, "minimum": torch.minimum,
}
BINARY_SHAPES = [
    ("same", [2, 3], [2, 3]),
    ("broadcast", [2, 3], [3]),
    ("broadcast2", [3, 1, 4], [2, 1]),
    ("scalar", [], [2, 3]),
]
for op, f in BINARY.items():
    for tag, sa, sb in BINARY_SHAPES:
        a = Randn(sa)
        # keep divisors well away from zero (|b| >= 0.5) so grads stay moderate
        b = Randn(sb, avoid=(0.0,), gap=0.5) if op == "div" else Randn(sb)
        prep = no_ties() if op in ("maximum", "minimum") else None
        case("%s_%s" % (op, tag), op, {}, [a, b],
             lambda t, f=f: f(t[0], t[1]), prep=prep)

# --- pow --------------------------------------------------------------------
case("pow_scalar", "pow", {"exponent": 2.5}, [Positive([2, 3])],
     lambda t: torch.pow(t[0], 2.5))
case("pow_tensor_broadcast", "pow", {}, [Positive([2, 3]), Randn([3])],
     lambda t: torch.pow(t[0], t[1]))

# --- unary ------------------------------------------------------------------
UNARY = {
    "neg": (torch.neg, Randn([2, 3, 4])),
    "exp": (torch.exp, Randn([2, 3, 4])),
    "log": (torch.log, Positive([2, 3, 4])),
    "sqrt": (torch.sqrt, Positive([2, 3, 4])),
    "abs": (torch.abs, Randn([2, 3, 4], avoid=(0.0,))),
    "relu": (torch.relu, Randn([2, 3, 4], avoid=(0.0,))),
    "sigmoid": (torch.sigmoid, Randn([2, 3, 4])),
    "tanh": (torch.tanh, Randn([2, 3, 4])),
}
for op, (f, spec) in UNARY.items():
    case(op, op, {}, [spec], lambda t, f=f: f(t[0]))

case("leakyRelu", "leakyRelu", {"negativeSlope": 0.2}, [Randn([2, 3, 4], avoid=(0.0,))],
     lambda t: F.leaky_relu(t[0], negative_slope=0.2))
case("elu", "elu", {"alpha": 1.3}, [Randn([2, 3, 4], avoid=(0.0,))],
     lambda t: F.elu(t[0], alpha=1.3))
case("gelu_none", "gelu", {"approximate": "none"}, [Randn([2, 3, 4])],
     lambda t: F.gelu(t[0], approximate="none"))
case("gelu_tanh", "gelu", {"approximate": "tanh"}, [Randn([2, 3, 4])],
     lambda t: F.gelu(t[0], approximate="tanh"))
# beta=2, threshold=3: x*beta > 3 <=> x > 1.5; scale 2 so several entries cross it,
# and keep away from the switch point 1.5.
case("softplus_beta_threshold", "softplus", {"beta": 2, "threshold": 3},
     [Randn([2, 3, 4], scale=2.0, avoid=(1.5,))],
     lambda t: F.softplus(t[0], beta=2, threshold=3))
case("softplus_default", "softplus", {}, [Randn([2, 3, 4])],
     lambda t: F.softplus(t[0]))

# --- clamp ------------------------------------------------------------------
case("clamp_min_max", "clamp", {"min": -0.5, "max": 0.5},
     [Randn([2, 3, 4], avoid=(-0.5, 0.5))],
     lambda t: torch.clamp(t[0], min=-0.5, max=0.5))
case("clamp_min", "clamp", {"min": 0}, [Randn([2, 3, 4], avoid=(0.0,))],
     lambda t: torch.clamp(t[0], min=0))

# --- where ------------------------------------------------------------------
case("where_broadcast", "where", {},
     [Fixed([[1, 0, 1], [0, 0, 1]]), Randn([2, 3]), Randn([3])],
     lambda t: torch.where(t[0].bool(), t[1], t[2]))

# --- comparisons (non-differentiable, int32 0/1 output) ----------------------
COMPARE = {"eq": torch.eq, "ne": torch.ne, "lt": torch.lt,
           "le": torch.le, "gt": torch.gt, "ge": torch.ge}
# Fixed operands (shared by all six) so that each row of the broadcast holds one
# equal, one smaller and one larger pair: every comparison gets a mix of 0 and 1.
CMP_A = [[0.5, -1.0, 1.5], [1.0, -0.5, -2.0]]
CMP_B = [0.5, -0.5, 1.0]
for op, f in COMPARE.items():
    case(op + "_broadcast", op, {},
         [Fixed(CMP_A, torch.float32), Fixed(CMP_B, torch.float32)],
         lambda t, f=f: f(t[0], t[1]), differentiable=False)

# --- reductions -------------------------------------------------------------
def reduction(f, d, keep):
    """dim None means all dims (spelled out: torch.amax has no dim=None)."""
    return lambda t: f(t[0], dim=dims(d) if d is not None else tuple(range(t[0].dim())),
                       keepdim=keep)


for name, op, f, d, keep in [
    ("sum_all", "sum", torch.sum, None, False),
    ("sum_dim1", "sum", torch.sum, 1, False),
    ("sum_dims02_keep", "sum", torch.sum, [0, 2], True),
    ("mean_dim_neg1", "mean", torch.mean, -1, False),
    ("max_dim1", "max", torch.amax, 1, False),
    ("min_dims01_keep", "min", torch.amin, [0, 1], True),
    ("max_all", "max", torch.amax, None, False),
]:
    case(name, op, {"dim": d, "keepDim": keep}, [Randn([2, 3, 4])],
         reduction(f, d, keep))

for op, f in (("argmax", torch.argmax), ("argmin", torch.argmin)):
    case(op + "_dim1", op, {"dim": 1, "keepDim": False}, [Randn([2, 3, 4], grad=False)],
         lambda t, f=f: f(t[0], dim=1, keepdim=False), differentiable=False)
    case(op + "_all", op, {"dim": None}, [Randn([2, 3, 4], grad=False)],
         lambda t, f=f: f(t[0]), differentiable=False)

for op, f in (("var", torch.var), ("std", torch.std)):
    for tag, d, corr, keep in [("dim1", 1, 1, False),
                               ("all_corr0", None, 0, False),
                               ("dims02_keep", [0, 2], 1, True)]:
        case("%s_%s" % (op, tag), op, {"dim": d, "correction": corr, "keepDim": keep},
             [Randn([2, 3, 4])],
             lambda t, f=f, d=d, corr=corr, keep=keep:
                 f(t[0], dim=dims(d), correction=corr, keepdim=keep))

case("logsumexp_dim1", "logsumexp", {"dim": 1, "keepDim": False}, [Randn([2, 3, 4])],
     lambda t: torch.logsumexp(t[0], dim=1, keepdim=False))
case("logsumexp_dims12_keep", "logsumexp", {"dim": [1, 2], "keepDim": True},
     [Randn([2, 3, 4])], lambda t: torch.logsumexp(t[0], dim=(1, 2), keepdim=True))
case("softmax_dim1", "softmax", {"dim": 1}, [Randn([2, 3, 4])],
     lambda t: torch.softmax(t[0], dim=1))
case("softmax_dim_neg1", "softmax", {"dim": -1}, [Randn([2, 3, 4])],
     lambda t: torch.softmax(t[0], dim=-1))
case("logSoftmax_dim0", "logSoftmax", {"dim": 0}, [Randn([2, 3, 4])],
     lambda t: torch.log_softmax(t[0], dim=0))
case("logSoftmax_dim_neg1", "logSoftmax", {"dim": -1}, [Randn([2, 3, 4])],
     lambda t: torch.log_softmax(t[0], dim=-1))

# --- matmul -----------------------------------------------------------------
for tag, sa, sb in [("2d", [3, 4], [4, 5]),
                    ("1d_1d", [4], [4]),
                    ("1d_2d", [4], [4, 5]),
                    ("2d_1d", [3, 4], [4]),
                    ("batched", [2, 3, 4], [4, 5]),
                    ("broadcast_batch", [2, 1, 3, 4], [3, 4, 2])]:
    case("matmul_" + tag, "matmul", {}, [Randn(sa), Randn(sb)],
         lambda t: torch.matmul(t[0], t[1]))

# --- shape ops --------------------------------------------------------------
case("reshape_6x4", "reshape", {"shape": [6, 4]}, [Randn([2, 3, 4])],
     lambda t: t[0].reshape(6, 4))
case("reshape_infer", "reshape", {"shape": [-1, 2]}, [Randn([2, 3, 4])],
     lambda t: t[0].reshape(-1, 2))
case("flatten_1_end", "flatten", {"startDim": 1, "endDim": -1}, [Randn([2, 3, 4])],
     lambda t: torch.flatten(t[0], 1, -1))
case("squeeze_dim1", "squeeze", {"dim": 1}, [Randn([3, 1, 4])],
     lambda t: t[0].squeeze(1))
case("squeeze_all", "squeeze", {"dim": None}, [Randn([1, 3, 1, 2])],
     lambda t: t[0].squeeze())
case("unsqueeze_neg1", "unsqueeze", {"dim": -1}, [Randn([2, 3])],
     lambda t: t[0].unsqueeze(-1))
case("permute_201", "permute", {"dims": [2, 0, 1]}, [Randn([2, 3, 4])],
     lambda t: t[0].permute(2, 0, 1))
case("transpose_0_2", "transpose", {"dim0": 0, "dim1": 2}, [Randn([2, 3, 4])],
     lambda t: t[0].transpose(0, 2))
case("expand_3x1", "expand", {"shape": [2, 3, 4]}, [Randn([3, 1])],
     lambda t: t[0].expand(2, 3, 4))
case("expand_keep_dim", "expand", {"shape": [2, -1, 4]}, [Randn([1, 3, 1])],
     lambda t: t[0].expand(2, -1, 4))

case("concat_dim1", "concat", {"dim": 1},
     [Randn([2, 1, 4]), Randn([2, 3, 4]), Randn([2, 2, 4])],
     lambda t: torch.cat(t, dim=1))
case("stack_dim1", "stack", {"dim": 1}, [Randn([2, 3]), Randn([2, 3]), Randn([2, 3])],
     lambda t: torch.stack(t, dim=1))
case("split_size2", "split", {"splitSizeOrSections": 2, "dim": 1}, [Randn([2, 5, 3])],
     lambda t: torch.split(t[0], 2, dim=1))
case("split_sections", "split", {"splitSizeOrSections": [1, 4], "dim": 1},
     [Randn([2, 5, 3])], lambda t: torch.split(t[0], [1, 4], dim=1))

case("narrow_dim1", "narrow", {"dim": 1, "start": 1, "length": 2}, [Randn([2, 4, 3])],
     lambda t: torch.narrow(t[0], 1, 1, 2))
case("slice_step2", "slice", {"dim": 2, "start": 1, "end": 5, "step": 2},
     [Randn([2, 3, 6])], lambda t: t[0][:, :, 1:5:2])

# --- indexing ---------------------------------------------------------------
case("indexSelect_dim1", "indexSelect", {"dim": 1},
     [Randn([3, 4, 2]), Fixed([2, 0, 2])],
     lambda t: torch.index_select(t[0], 1, t[1].long()))
case("gather_dim1", "gather", {"dim": 1},
     [Randn([3, 4]), Fixed([[0, 3], [1, 1], [2, 2]])],
     lambda t: torch.gather(t[0], 1, t[1].long()))

# --- pad --------------------------------------------------------------------
for tag, shape, args in [
    ("constant_1d", [2, 3], {"pads": [1, 2], "mode": "constant", "value": 0.5}),
    ("constant_2d", [1, 2, 3, 3], {"pads": [1, 1, 2, 0], "mode": "constant", "value": 0}),
    ("reflect", [1, 2, 4], {"pads": [2, 1], "mode": "reflect"}),
    ("replicate", [1, 1, 3, 3], {"pads": [1, 2, 1, 1], "mode": "replicate"}),
    ("circular", [1, 2, 4], {"pads": [2, 1], "mode": "circular"}),
]:
    if args["mode"] == "constant":
        fn = lambda t, a=args: F.pad(t[0], a["pads"], mode="constant", value=a["value"])
    else:
        fn = lambda t, a=args: F.pad(t[0], a["pads"], mode=a["mode"])
    case("pad_" + tag, "pad", args, [Randn(shape)], fn)


# ---------------------------------------------------------------------------
# Building and serialising.
# ---------------------------------------------------------------------------





def build(c):
    specs = c["inputs"]
    tensors = [s.make() for s in specs]
    if c["prep"] is not None:
        tensors = c["prep"](specs, tensors)
    for s, t in zip(specs, tensors):
        if s.grad:
            assert t.dtype == torch.float32
            t.requires_grad_(True)
    inputs = []
    for s, t in zip(specs, tensors):
        e = enc(t)
        e["grad"] = bool(s.grad) and c["differentiable"]
        inputs.append(e)

    out = c["fn"](tensors)
    parts = list(out) if isinstance(out, (tuple, list)) else None
    outs = parts if parts is not None else [out]
    for o in outs:
        if o.dtype == torch.bool:
            pass  # encoded as int32 0/1 by enc()
        elif o.dtype.is_floating_point:
            assert o.dtype == torch.float32, o.dtype
        assert torch.isfinite(o.to(torch.float32)).all(), c["name"]

    if parts is not None:
        output = {"parts": [enc(o) for o in parts]}
    else:
        output = enc(out)

    upstream = grads = None
    if c["differentiable"]:
        ups = [torch.randn(o.shape) for o in outs]
        diff_idx = [i for i, s in enumerate(specs) if s.grad]
        g = torch.autograd.grad(outs, [tensors[i] for i in diff_idx], ups, allow_unused=True)
        grads = [None] * len(specs)
        for i, gi in zip(diff_idx, g):
            grads[i] = enc(gi if gi is not None else torch.zeros_like(tensors[i]), False)
        if parts is not None:
            upstream = {"parts": [enc(u, False) for u in ups]}
        else:
            upstream = enc(ups[0], False)

    return {"name": c["name"], "op": c["op"], "args": c["args"], "inputs": inputs,
            "output": output, "upstream": upstream, "grads": grads}


def main():
    torch.manual_seed(0)
    write_fixture(OUT_PATH, "tools/gen_op_fixtures.py", [build(c) for c in CASES])


if __name__ == "__main__":
    main()
