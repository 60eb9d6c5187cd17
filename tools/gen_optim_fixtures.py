#!/usr/bin/env python3
"""Generate PyTorch reference fixtures for pixelgrad's optimisers, LR schedulers and gradient clipping.

Run from the repository root with the system interpreter (Debian's
python3-torch, 1.13):

    /usr/bin/python3 tools/gen_optim_fixtures.py

It writes test/fixtures/optim.json:

    {"generator": "tools/gen_optim_fixtures.py", "torch": <torch.__version__>,
     "optimizers": [OPT, ...], "schedulers": [SCHED, ...], "clip": CLIP}

    OPT = {"name", "optimizer": pixelgrad class name,
           "options": {camelCase options},
           "groups": null | [{"params": [param indices], ...camelCase options}],
           "params": [{"shape", "data"}, ...]         initial values (float32),
           "grads":  [[{"shape","data"} | null per param] per step],
           "after":  [[{"shape","data"} per param] per step]}

      The test sets p.grad to each step's gradient (null = no gradient, the
      parameter is skipped), calls step() and compares the parameters.

    SCHED = {"name", "optimizer": {"type", "options", "groups"},
             "scheduler": {"type", "options"}   (SequentialLR: options.schedulers
                                                 is a list of {"type","options"}),
             "steps": N, "metrics": [N numbers] (ReduceLROnPlateau only),
             "lrs": [[lr per group] for the construction and each of N steps],
             "momentum": [[momentum or beta1 per group] ...] | null}

      Each step is optimizer.step() (no gradients: a no-op) then
      scheduler.step() (or scheduler.step(metric)).

    CLIP = {"params": [{"shape", "grad": {"shape","data"} | null}],
            "norm": [{"maxNorm", "normType": number | "inf", "total", "grads": [...]}],
            "value": [{"clipValue", "grads": [...]}]}

Everything is float32. Inputs (initial parameters, gradients) are rounded to
8 significant digits BEFORE torch uses them, so the test starts from exactly
the same float32 values; outputs are rounded to 8 significant digits.  The
global RNG is seeded once (torch.manual_seed(0)) and cases are built in
table order, so the output is deterministic for a given torch build.
"""

import json
import math
import os
import warnings

import torch
from torch.nn.utils import clip_grad_norm_, clip_grad_value_

OUT_PATH = os.path.join("test", "fixtures", "optim.json")
STEPS = 5
SHAPES = [[3, 4], [4]]


def r8(v):
    return float("%.8g" % v) + 0.0  # + 0.0 turns -0.0 into 0.0


def quantize(t):
    """A float32 tensor holding exactly the values the fixture will store."""
    return torch.tensor([r8(v) for v in t.reshape(-1).tolist()], dtype=torch.float32).reshape(t.shape)


def enc(t):
    t = t.detach()
    return {"shape": list(t.shape), "data": [r8(v) for v in t.to(torch.float32).reshape(-1).tolist()]}


def snake(name):
    out = []
    for ch in name:
        if ch.isupper():
            out.append("_" + ch.lower())
        else:
            out.append(ch)
    return "".join(out)


TORCH_NAMES = {"tMax": "T_max"}


def torch_kwargs(options):
    out = {}
    for k, v in options.items():
        key = TORCH_NAMES.get(k, snake(k))
        out[key] = tuple(v) if k == "betas" else v
    return out


OPTIMIZERS = {
    "SGD": torch.optim.SGD,
    "Adam": torch.optim.Adam,
    "AdamW": torch.optim.AdamW,
    "RMSprop": torch.optim.RMSprop,
    "Adagrad": torch.optim.Adagrad,
}


def make_optimizer(kind, options, groups, params):
    cls = OPTIMIZERS[kind]
    if groups is None:
        return cls(params, **torch_kwargs(options))
    torch_groups = []
    for g in groups:
        d = torch_kwargs({k: v for k, v in g.items() if k != "params"})
        d["params"] = [params[i] for i in g["params"]]
        torch_groups.append(d)
    return cls(torch_groups, **torch_kwargs(options))


# ---------------------------------------------------------------------------
# Optimiser cases: (name, optimizer, options, groups, missing grads).
# missing: set of (step, param index) whose gradient is None at that step.
# ---------------------------------------------------------------------------

OPT_CASES = [
    ("sgd_plain", "SGD", {"lr": 0.1}, None, ()),
    ("sgd_momentum", "SGD", {"lr": 0.1, "momentum": 0.9}, None, ()),
    ("sgd_dampening", "SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3}, None, ()),
    ("sgd_nesterov", "SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True}, None, ()),
    ("sgd_weight_decay", "SGD", {"lr": 0.1, "momentum": 0.5, "weightDecay": 0.1}, None, ()),
    ("sgd_weight_decay_plain", "SGD", {"lr": 0.2, "weightDecay": 0.05}, None, ()),
    ("sgd_maximize", "SGD", {"lr": 0.05, "momentum": 0.9, "weightDecay": 0.01, "maximize": True}, None, ()),
    ("sgd_missing_grad", "SGD", {"lr": 0.1, "momentum": 0.9}, None, ((0, 1), (2, 0))),
    ("sgd_two_groups", "SGD", {"lr": 0.05, "momentum": 0.9},
     [{"params": [0], "lr": 0.1}, {"params": [1], "lr": 0.01, "momentum": 0.5, "nesterov": True}], ()),
    ("adam_plain", "Adam", {"lr": 0.01}, None, ()),
    ("adam_defaults", "Adam", {}, None, ()),
    ("adam_amsgrad", "Adam", {"lr": 0.02, "betas": [0.8, 0.99], "amsgrad": True}, None, ()),
    ("adam_weight_decay", "Adam", {"lr": 0.01, "weightDecay": 0.1}, None, ()),
    ("adam_large_eps", "Adam", {"lr": 0.01, "eps": 0.1}, None, ()),
    ("adam_maximize", "Adam", {"lr": 0.01, "maximize": True, "weightDecay": 0.05}, None, ()),
    ("adam_missing_grad", "Adam", {"lr": 0.01}, None, ((1, 1), (2, 1))),
    ("adam_two_groups", "Adam", {"lr": 0.01},
     [{"params": [1], "lr": 0.003, "betas": [0.5, 0.9]}, {"params": [0], "amsgrad": True}], ()),
    ("adamw_defaults", "AdamW", {"lr": 0.01}, None, ()),
    ("adamw_weight_decay", "AdamW", {"lr": 0.02, "weightDecay": 0.3, "betas": [0.85, 0.995], "eps": 0.01}, None, ()),
    ("adamw_amsgrad_maximize", "AdamW", {"lr": 0.01, "amsgrad": True, "maximize": True}, None, ()),
    ("rmsprop_plain", "RMSprop", {"lr": 0.01}, None, ()),
    ("rmsprop_momentum", "RMSprop", {"lr": 0.01, "momentum": 0.9, "alpha": 0.9}, None, ()),
    ("rmsprop_centered", "RMSprop", {"lr": 0.01, "centered": True}, None, ()),
    ("rmsprop_centered_momentum", "RMSprop", {"lr": 0.005, "centered": True, "momentum": 0.5, "eps": 0.05}, None, ()),
    ("rmsprop_weight_decay", "RMSprop", {"lr": 0.01, "weightDecay": 0.1, "maximize": True}, None, ()),
    ("adagrad_plain", "Adagrad", {"lr": 0.1}, None, ()),
    ("adagrad_lr_decay_init", "Adagrad", {"lr": 0.1, "lrDecay": 0.2, "initialAccumulatorValue": 0.5}, None, ()),
    ("adagrad_weight_decay", "Adagrad", {"lr": 0.05, "weightDecay": 0.1, "eps": 0.1, "maximize": True}, None, ((1, 0),)),
]


def build_opt_case(name, kind, options, groups, missing):
    init = [quantize(torch.randn(s)) for s in SHAPES]
    grads = [[quantize(torch.randn(s)) for s in SHAPES] for _ in range(STEPS)]
    for step, i in missing:
        grads[step][i] = None
    params = [t.clone().requires_grad_(True) for t in init]
    opt = make_optimizer(kind, options, groups, params)
    after = []
    for step in range(STEPS):
        for p, g in zip(params, grads[step]):
            p.grad = None if g is None else g.clone()
        opt.step()
        after.append([enc(p) for p in params])
    return {
        "name": name, "optimizer": kind, "options": options, "groups": groups,
        "params": [enc(t) for t in init],
        "grads": [[None if g is None else enc(g) for g in step] for step in grads],
        "after": after,
    }


# ---------------------------------------------------------------------------
# Scheduler cases.
# ---------------------------------------------------------------------------

SCHEDULERS = {
    "StepLR": torch.optim.lr_scheduler.StepLR,
    "MultiStepLR": torch.optim.lr_scheduler.MultiStepLR,
    "ExponentialLR": torch.optim.lr_scheduler.ExponentialLR,
    "CosineAnnealingLR": torch.optim.lr_scheduler.CosineAnnealingLR,
    "LinearLR": torch.optim.lr_scheduler.LinearLR,
    "OneCycleLR": torch.optim.lr_scheduler.OneCycleLR,
    "ReduceLROnPlateau": torch.optim.lr_scheduler.ReduceLROnPlateau,
}

SGD2 = {"type": "SGD", "options": {"lr": 0.1, "momentum": 0.9}, "groups": [{"params": [0]}, {"params": [1], "lr": 0.01}]}
SGD1 = {"type": "SGD", "options": {"lr": 0.1}, "groups": None}
ADAM2 = {"type": "Adam", "options": {"lr": 0.001}, "groups": [{"params": [0]}, {"params": [1], "betas": [0.8, 0.99]}]}
RMS1 = {"type": "RMSprop", "options": {"lr": 0.01, "momentum": 0.5}, "groups": None}

PLATEAU_METRICS = [1.0, 0.9, 0.8, 0.8, 0.81, 0.79, 0.79, 0.795, 0.79, 0.6, 0.6, 0.6, 0.6, 0.6, 0.59997,
                   0.59, 0.58, 0.58, 0.58, 0.58, 0.58, 0.58, 0.4, 0.41, 0.42, 0.43, 0.44, 0.45, 0.46, 0.47]
PLATEAU_FLAT = [1.0, 0.9] + [0.9] * 12 + [0.85] + [0.86] * 15
PLATEAU_MAX = [0.1, 0.2, 0.25, 0.25, 0.26, 0.255, 0.262, 0.3, 0.3, 0.3, 0.3, 0.31, 0.3, 0.29, 0.5,
               0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.6, 0.6, 0.6, 0.6]

SCHED_CASES = [
    ("step_lr", SGD2, {"type": "StepLR", "options": {"stepSize": 7, "gamma": 0.5}}, 30, None),
    ("step_lr_default_gamma", SGD1, {"type": "StepLR", "options": {"stepSize": 3}}, 30, None),
    ("multistep_lr", SGD2, {"type": "MultiStepLR", "options": {"milestones": [5, 12, 12, 20], "gamma": 0.3}}, 30, None),
    ("exponential_lr", SGD2, {"type": "ExponentialLR", "options": {"gamma": 0.9}}, 30, None),
    ("cosine_lr", SGD2, {"type": "CosineAnnealingLR", "options": {"tMax": 10, "etaMin": 0.001}}, 30, None),
    ("cosine_lr_long", SGD1, {"type": "CosineAnnealingLR", "options": {"tMax": 30}}, 30, None),
    ("linear_lr", SGD2, {"type": "LinearLR", "options": {"startFactor": 0.1, "endFactor": 1.0, "totalIters": 5}}, 30, None),
    ("linear_lr_decay", SGD1, {"type": "LinearLR", "options": {"startFactor": 1.0, "endFactor": 0.25, "totalIters": 12}}, 30, None),
    ("linear_lr_defaults", SGD1, {"type": "LinearLR", "options": {}}, 30, None),
    ("sequential_warmup_cosine", SGD2, {"type": "SequentialLR", "options": {
        "schedulers": [{"type": "LinearLR", "options": {"startFactor": 0.1, "totalIters": 5}},
                       {"type": "CosineAnnealingLR", "options": {"tMax": 25, "etaMin": 0.0001}}],
        "milestones": [5]}}, 30, None),
    ("sequential_three", SGD1, {"type": "SequentialLR", "options": {
        "schedulers": [{"type": "LinearLR", "options": {"startFactor": 0.5, "totalIters": 4}},
                       {"type": "ExponentialLR", "options": {"gamma": 0.8}},
                       {"type": "StepLR", "options": {"stepSize": 4, "gamma": 0.5}}],
        "milestones": [6, 15]}}, 30, None),
    ("onecycle_sgd_cos", SGD2, {"type": "OneCycleLR", "options": {"maxLr": [0.5, 0.05], "totalSteps": 30}}, 30, None),
    ("onecycle_adam_linear_three_phase", ADAM2, {"type": "OneCycleLR", "options": {
        "maxLr": 0.01, "epochs": 4, "stepsPerEpoch": 8, "pctStart": 0.25, "annealStrategy": "linear",
        "threePhase": True, "divFactor": 10.0, "finalDivFactor": 100.0, "baseMomentum": 0.8, "maxMomentum": 0.9}}, 30, None),
    ("onecycle_rmsprop_no_momentum", RMS1, {"type": "OneCycleLR", "options": {
        "maxLr": 0.2, "totalSteps": 40, "pctStart": 0.4, "cycleMomentum": False}}, 30, None),
    # Runs of one to three steps: phases shorter than a step, or ending before step 0.
    ("onecycle_one_step", SGD2, {"type": "OneCycleLR", "options": {"maxLr": 0.1, "totalSteps": 1}}, 1, None),
    ("onecycle_two_steps", SGD2, {"type": "OneCycleLR", "options": {"maxLr": 0.1, "totalSteps": 2}}, 2, None),
    ("onecycle_three_steps", SGD2, {"type": "OneCycleLR", "options": {"maxLr": 0.1, "epochs": 3, "stepsPerEpoch": 1}}, 3, None),
    ("onecycle_two_steps_three_phase", SGD2, {"type": "OneCycleLR", "options": {
        "maxLr": 0.1, "totalSteps": 2, "threePhase": True}}, 2, None),
    ("plateau_min_rel", SGD2, {"type": "ReduceLROnPlateau", "options": {
        "factor": 0.5, "patience": 2, "cooldown": 1, "minLr": [0.02, 0.004]}}, 30, PLATEAU_METRICS),
    ("plateau_max_abs", SGD1, {"type": "ReduceLROnPlateau", "options": {
        "mode": "max", "factor": 0.3, "patience": 1, "threshold": 0.01, "thresholdMode": "abs", "eps": 1e-3}}, 30, PLATEAU_MAX),
    ("plateau_defaults", SGD1, {"type": "ReduceLROnPlateau", "options": {}}, 30, PLATEAU_FLAT),
]


def make_scheduler(spec, opt):
    kind, options = spec["type"], spec["options"]
    if kind == "SequentialLR":
        subs = [make_scheduler(s, opt) for s in options["schedulers"]]
        return torch.optim.lr_scheduler.SequentialLR(opt, subs, options["milestones"])
    kwargs = torch_kwargs(options)
    if kind == "OneCycleLR" and "pct_start" in kwargs:
        kwargs["pct_start"] = float(kwargs["pct_start"])
    return SCHEDULERS[kind](opt, **kwargs)


def momenta(opt, kind):
    if kind in ("Adam", "AdamW"):
        return [g["betas"][0] for g in opt.param_groups]
    return [g["momentum"] for g in opt.param_groups]


def build_sched_case(name, ospec, sspec, steps, metrics):
    params = [torch.zeros(s, requires_grad=True) for s in SHAPES]
    if ospec["groups"] is None:
        opt = make_optimizer(ospec["type"], ospec["options"], None, params)
    else:
        opt = make_optimizer(ospec["type"], ospec["options"], ospec["groups"], params)
    sched = make_scheduler(sspec, opt)
    track_momentum = sspec["type"] == "OneCycleLR" and sspec["options"].get("cycleMomentum", True)
    lrs = [[g["lr"] for g in opt.param_groups]]
    mom = [momenta(opt, ospec["type"])] if track_momentum else None
    for i in range(steps):
        opt.step()
        if metrics is not None:
            sched.step(metrics[i])
        else:
            sched.step()
        lrs.append([g["lr"] for g in opt.param_groups])
        if track_momentum:
            mom.append(momenta(opt, ospec["type"]))
    return {
        "name": name, "optimizer": ospec, "scheduler": sspec, "steps": steps, "metrics": metrics,
        "lrs": [[r8(v) for v in row] for row in lrs],
        "momentum": None if mom is None else [[r8(v) for v in row] for row in mom],
    }


# ---------------------------------------------------------------------------
# Gradient clipping.
# ---------------------------------------------------------------------------

CLIP_SHAPES = [[3, 4], [4], [2, 2, 2], [5]]
CLIP_NORM = [(1.0, 2.0), (100.0, 2.0), (0.5, math.inf), (2.0, 1.0), (1.5, 3.0), (0.0, 2.0)]
CLIP_VALUES = [0.3, 10.0]


def build_clip():
    grads = [quantize(torch.randn(s) * (2.0 if i == 0 else 0.7)) for i, s in enumerate(CLIP_SHAPES)]
    grads[3] = None  # a parameter without a gradient is ignored

    def fresh():
        ps = []
        for s, g in zip(CLIP_SHAPES, grads):
            p = torch.zeros(s, requires_grad=True)
            p.grad = None if g is None else g.clone()
            ps.append(p)
        return ps

    norm = []
    for max_norm, norm_type in CLIP_NORM:
        ps = fresh()
        total = clip_grad_norm_(ps, max_norm, norm_type=norm_type)
        norm.append({"maxNorm": max_norm, "normType": "inf" if norm_type == math.inf else norm_type,
                     "total": r8(float(total)), "grads": [None if p.grad is None else enc(p.grad) for p in ps]})
    value = []
    for clip in CLIP_VALUES:
        ps = fresh()
        clip_grad_value_(ps, clip)
        value.append({"clipValue": clip, "grads": [None if p.grad is None else enc(p.grad) for p in ps]})
    return {"params": [{"shape": s, "grad": None if g is None else enc(g)} for s, g in zip(CLIP_SHAPES, grads)],
            "norm": norm, "value": value}


def main():
    # SequentialLR itself calls the deprecated scheduler.step(0) at each milestone.
    warnings.filterwarnings("ignore", message="The epoch parameter in `scheduler.step\\(\\)`")
    torch.manual_seed(0)
    names = [c[0] for c in OPT_CASES] + [c[0] for c in SCHED_CASES]
    dup = {n for n in names if names.count(n) > 1}
    assert not dup, "duplicate case names: %s" % sorted(dup)
    doc = {
        "generator": "tools/gen_optim_fixtures.py",
        "torch": torch.__version__,
        "optimizers": [build_opt_case(*c) for c in OPT_CASES],
        "schedulers": [build_sched_case(*c) for c in SCHED_CASES],
        "clip": build_clip(),
    }
    os.makedirs(os.path.dirname(OUT_PATH), exist_ok=True)
    text = json.dumps(doc, separators=(",", ":"), allow_nan=False)
    with open(OUT_PATH, "w") as fh:
        fh.write(text + "\n")
    print("wrote %s (%d bytes)" % (OUT_PATH, len(text) + 1))


if __name__ == "__main__":
    main()
