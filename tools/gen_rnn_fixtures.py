#!/usr/bin/env python3
"""PyTorch reference fixtures for pixelgrad's recurrent layers (RNN, LSTM, GRU and their cells).

Run from the repository root with Debian's python3-torch:

    /usr/bin/python3 tools/gen_rnn_fixtures.py

Writes test/fixtures/rnn.json: {"torch": version, "cases": [CASE...], "paramCounts": {...}}.
Each CASE builds one torch layer (its pixelgrad twin is named by "layer" and configured by
"config", in pixelgrad's option names), runs it on a seeded random input (with initial states
"h0"/"c0" when present, and per-sequence "lengths" through pack_padded_sequence(...,
enforce_sorted=False) and pad_packed_sequence(..., total_length=seq) when present), and records
the state dict, the outputs ("output", final "h" and "c"), random upstream gradients of each
output, and the gradients of the input, of h0/c0 and of every parameter.
"""
import os

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from fixture_json import enc, write_fixture

OUT = os.path.join("test", "fixtures", "rnn.json")
torch.manual_seed(0)

I, H, L, B = 2, 3, 5, 3


def arr(t):
    return enc(t, with_dtype=False)


TORCH_LAYER = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}
TORCH_CELL = {"RNNCell": nn.RNNCell, "LSTMCell": nn.LSTMCell, "GRUCell": nn.GRUCell}


def layer_case(name, layer, config, h0=False, lengths=None, unbatched=False, train=True):
    """One sequence layer; config uses pixelgrad's names (inputSize, hiddenSize, numLayers, ...)."""
    kw = {"num_layers": config.get("numLayers", 1), "bias": config.get("bias", True),
          "batch_first": config.get("batchFirst", False), "dropout": config.get("dropout", 0.0),
          "bidirectional": config.get("bidirectional", False)}
    if "nonlinearity" in config:
        kw["nonlinearity"] = config["nonlinearity"]
    m = TORCH_LAYER[layer](config["inputSize"], config["hiddenSize"], **kw)
    m.train(train)
    D = 2 if kw["bidirectional"] else 1
    hid = config["hiddenSize"]
    if unbatched:
        x = torch.randn(L, config["inputSize"])
        state_shape = (kw["num_layers"] * D, hid)
    else:
        x = torch.randn(B, L, config["inputSize"]) if kw["batch_first"] else torch.randn(L, B, config["inputSize"])
        state_shape = (kw["num_layers"] * D, B, hid)
    x.requires_grad_(True)
    states = []
    if h0:
        states = [torch.randn(*state_shape, requires_grad=True)]
        if layer == "LSTM":
            states.append(torch.randn(*state_shape, requires_grad=True))
    hx = None if not states else (tuple(states) if layer == "LSTM" else states[0])
    if lengths is not None:
        packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=kw["batch_first"], enforce_sorted=False)
        out, hn = m(packed, hx)
        out, _ = pad_packed_sequence(out, batch_first=kw["batch_first"], total_length=L)
    else:
        out, hn = m(x, hx)
    outs = [out] + (list(hn) if layer == "LSTM" else [hn])
    ups = [torch.randn_like(o) for o in outs]
    params = [p for _, p in m.named_parameters()]
    grads = torch.autograd.grad(outs, [x] + states + params, ups, allow_unused=True)
    case = {
        "name": name, "layer": layer, "config": config, "train": train,
        "state": {k: arr(v) for k, v in m.state_dict().items()},
        "input": arr(x),
        "output": arr(out), "h": arr(outs[1]),
        "upstream": {"output": arr(ups[0]), "h": arr(ups[1])},
        "grads": {"input": arr(grads[0]),
                  "params": {n: arr(g) for (n, _), g in zip(m.named_parameters(), grads[1 + len(states):])}},
    }
    if layer == "LSTM":
        case["c"] = arr(outs[2])
        case["upstream"]["c"] = arr(ups[2])
    if states:
        case["h0"] = arr(states[0])
        case["grads"]["h0"] = arr(grads[1])
        if layer == "LSTM":
            case["c0"] = arr(states[1])
            case["grads"]["c0"] = arr(grads[2])
    if lengths is not None:
        case["lengths"] = lengths
    return case


def cell_case(name, layer, config, hx=False, unbatched=False):
    kw = {"bias": config.get("bias", True)}
    if "nonlinearity" in config:
        kw["nonlinearity"] = config["nonlinearity"]
    m = TORCH_CELL[layer](config["inputSize"], config["hiddenSize"], **kw)
    shape_x = (config["inputSize"],) if unbatched else (B, config["inputSize"])
    shape_h = (config["hiddenSize"],) if unbatched else (B, config["hiddenSize"])
    x = torch.randn(*shape_x, requires_grad=True)
    states = []
    if hx:
        states = [torch.randn(*shape_h, requires_grad=True)]
        if layer == "LSTMCell":
            states.append(torch.randn(*shape_h, requires_grad=True))
    arg = None if not states else (tuple(states) if layer == "LSTMCell" else states[0])
    res = m(x, arg)
    outs = list(res) if layer == "LSTMCell" else [res]
    ups = [torch.randn_like(o) for o in outs]
    params = [p for _, p in m.named_parameters()]
    grads = torch.autograd.grad(outs, [x] + states + params, ups)
    case = {
        "name": name, "layer": layer, "config": config, "train": True,
        "state": {k: arr(v) for k, v in m.state_dict().items()},
        "input": arr(x),
        "output": arr(outs[0]),
        "upstream": {"output": arr(ups[0])},
        "grads": {"input": arr(grads[0]),
                  "params": {n: arr(g) for (n, _), g in zip(m.named_parameters(), grads[1 + len(states):])}},
    }
    if layer == "LSTMCell":
        case["c"] = arr(outs[1])
        case["upstream"]["c"] = arr(ups[1])
    if states:
        case["h0"] = arr(states[0])
        case["grads"]["h0"] = arr(grads[1])
        if layer == "LSTMCell":
            case["c0"] = arr(states[1])
            case["grads"]["c0"] = arr(grads[2])
    return case


base = {"inputSize": I, "hiddenSize": H}
cases = []
for kind, layer, extra in [("rnn_tanh", "RNN", {}), ("rnn_relu", "RNN", {"nonlinearity": "relu"}),
                           ("lstm", "LSTM", {}), ("gru", "GRU", {})]:
    cfg = {**base, **extra}
    cases += [
        layer_case(f"{kind}_seq_first", layer, cfg),
        layer_case(f"{kind}_batch_first_h0", layer, {**cfg, "batchFirst": True}, h0=True),
        layer_case(f"{kind}_2layer_bidirectional_h0", layer, {**cfg, "numLayers": 2, "bidirectional": True}, h0=True),
        layer_case(f"{kind}_2layer_bidirectional_batch_first", layer, {**cfg, "numLayers": 2, "bidirectional": True, "batchFirst": True}),
        layer_case(f"{kind}_lengths_2layer_bidirectional", layer, {**cfg, "numLayers": 2, "bidirectional": True}, lengths=[5, 2, 4]),
        layer_case(f"{kind}_lengths_batch_first_h0_short", layer, {**cfg, "batchFirst": True, "bidirectional": True}, h0=True, lengths=[3, 1, 2]),
    ]
    if kind != "rnn_relu":
        cases += [
            layer_case(f"{kind}_lengths_2layer_h0", layer, {**cfg, "numLayers": 2}, h0=True, lengths=[2, 5, 5]),
            layer_case(f"{kind}_nobias_unbatched_bidirectional", layer, {**cfg, "bias": False, "bidirectional": True}, h0=True, unbatched=True),
            # dropout = 1 zeroes the first layer's outputs deterministically, in training only.
            layer_case(f"{kind}_2layer_dropout1_train", layer, {**cfg, "numLayers": 2, "dropout": 1.0}),
            layer_case(f"{kind}_2layer_dropout_eval", layer, {**cfg, "numLayers": 2, "dropout": 0.5}, train=False),
        ]

for layer, extra, tag in [("RNNCell", {}, "rnn_cell_tanh"), ("RNNCell", {"nonlinearity": "relu"}, "rnn_cell_relu"),
                          ("LSTMCell", {}, "lstm_cell"), ("GRUCell", {}, "gru_cell")]:
    cfg = {**base, **extra}
    cases += [
        cell_case(f"{tag}_hx", layer, cfg, hx=True),
        cell_case(f"{tag}_no_hx", layer, cfg),
        cell_case(f"{tag}_nobias_unbatched_hx", layer, {**cfg, "bias": False}, hx=True, unbatched=True),
    ]


class RowRnn(nn.Module):
    """models.rowRnn: each [1,28,28] digit read as 28 rows of 28 features; last hidden state → Linear."""

    def __init__(self, cell, hidden=128, layers=1, classes=10):
        super().__init__()
        self.rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell](28, hidden, num_layers=layers, batch_first=True)
        self.fc = nn.Linear(hidden, classes)

    def forward(self, x):
        out, _ = self.rnn(x.reshape(x.shape[0], 28, 28))
        return self.fc(out[:, -1])


def count(m):
    return sum(p.numel() for p in m.parameters())


param_counts = {
    "rowRnn_lstm": count(RowRnn("lstm")), "rowRnn_gru": count(RowRnn("gru")), "rowRnn_rnn": count(RowRnn("rnn")),
    "rowRnn_lstm_h64_l2": count(RowRnn("lstm", 64, 2)),
}
param_names = {"rowRnn_lstm_h64_l2": list(RowRnn("lstm", 64, 2).state_dict().keys())}

write_fixture(OUT, "tools/gen_rnn_fixtures.py", cases, paramCounts=param_counts, paramNames=param_names)
