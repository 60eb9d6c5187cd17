#!/usr/bin/env python3
"""PyTorch's optimiser state_dict() names and values, for pixelgrad's serialised optimiser state.

Run from the repository root with the system interpreter (torch 1.13):

    /usr/bin/python3 tools/gen_optim_state_fixture.py

It writes test/fixtures/optim-state.json: {"generator", "torch", "cases": [CASE, ...]} with

    CASE = {"name", "optimizer": pixelgrad class name, "options": {camelCase options},
            "params": [{"shape", "data"}, ...], "grads": [[{"shape", "data"} | null per param] per step],
            "state": {param index: {torch key: {"shape", "data"} | number}},
            "param_groups": [{torch key: value, "params": [indices]}]}

after len(grads) steps; a null gradient skips the parameter at that step (so it may have no state).
Tensor values are rounded to 7 significant digits (fixture_json.enc); 0-d "step" tensors become numbers.
"""
import torch

from fixture_json import enc, r7, write_fixture

OUT_PATH = "test/fixtures/optim-state.json"

OPTIMIZERS = {"SGD": torch.optim.SGD, "Adam": torch.optim.Adam, "AdamW": torch.optim.AdamW,
              "RMSprop": torch.optim.RMSprop, "Adagrad": torch.optim.Adagrad}


def snake(name):
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


CASES = [
    ("sgd_momentum", "SGD", {"lr": 0.1, "momentum": 0.9, "weightDecay": 0.01}),
    ("sgd_nesterov", "SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True}),
    ("adam", "Adam", {"lr": 0.01}),
    ("adam_amsgrad", "Adam", {"lr": 0.02, "betas": [0.8, 0.99], "amsgrad": True}),
    ("adamw", "AdamW", {"lr": 0.01, "weightDecay": 0.1}),
    ("rmsprop", "RMSprop", {"lr": 0.01}),
    ("rmsprop_centered_momentum", "RMSprop", {"lr": 0.01, "momentum": 0.9, "centered": True}),
    ("adagrad", "Adagrad", {"lr": 0.1, "lrDecay": 0.01, "initialAccumulatorValue": 0.1}),
]

SHAPES = [[2, 3], [3]]
STEPS = 3


def rounded(t):
    """A float32 tensor holding exactly the rounded values the fixture stores."""
    return torch.tensor([r7(v) for v in t.reshape(-1).tolist()], dtype=torch.float32).reshape(t.shape)


def encode_state_value(v):
    if torch.is_tensor(v) and v.dim() == 0:
        return v.item()
    if torch.is_tensor(v):
        return enc(v, with_dtype=False)
    return v


def main():
    torch.manual_seed(0)
    cases = []
    for name, kind, options in CASES:
        params = [rounded(torch.randn(s)).requires_grad_() for s in SHAPES]
        grads = [[None if (step == 0 and i == 1) else rounded(torch.randn(s)) for i, s in enumerate(SHAPES)] for step in range(STEPS)]
        kwargs = {snake(k): (tuple(v) if k == "betas" else v) for k, v in options.items()}
        init = [enc(p, with_dtype=False) for p in params]
        opt = OPTIMIZERS[kind](params, **kwargs)
        for step_grads in grads:
            for p, g in zip(params, step_grads):
                p.grad = None if g is None else g.clone()
            opt.step()
        sd = opt.state_dict()
        state = {str(i): {k: encode_state_value(v) for k, v in s.items()} for i, s in sd["state"].items()}
        groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()} for g in sd["param_groups"]]
        cases.append({
            "name": name, "optimizer": kind, "options": options, "params": init,
            "grads": [[None if g is None else enc(g, with_dtype=False) for g in sg] for sg in grads],
            "state": state, "param_groups": groups,
        })
    write_fixture(OUT_PATH, "tools/gen_optim_state_fixture.py", cases)


if __name__ == "__main__":
    main()
