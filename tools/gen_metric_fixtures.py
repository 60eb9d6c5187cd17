#!/usr/bin/env python3
"""scikit-learn reference values for pixelgrad's metrics (src/train/metrics.ts).

Run from the repository root with Debian's python3-sklearn:

    /usr/bin/python3 tools/gen_metric_fixtures.py

Writes test/fixtures/metrics.json: random logits and labels, and sklearn's accuracy, top-k
accuracy, confusion matrix, per-class precision/recall/F1/support (zero_division=0), macro F1,
and per-class Jaccard (IoU) for flattened segmentation maps.
"""
import os

import numpy as np
import torch
from sklearn.metrics import (accuracy_score, confusion_matrix, f1_score, jaccard_score,
                             precision_recall_fscore_support, top_k_accuracy_score)

from fixture_json import enc, write_fixture

OUT = os.path.join("test", "fixtures", "metrics.json")
rng = np.random.default_rng(0)


def classification(name, n, c, bias):
    y = rng.integers(0, c, n)
    logits = rng.normal(size=(n, c)).astype(np.float32)
    logits[np.arange(n), y] += bias  # make predictions better than chance
    pred = logits.argmax(1)
    labels = list(range(c))
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    return {
        "name": name, "kind": "classification", "numClasses": c,
        "logits": enc(torch.tensor(logits), False), "target": enc(torch.tensor(y, dtype=torch.int32), False),
        "accuracy": float(accuracy_score(y, pred)),
        "top2": float(top_k_accuracy_score(y, logits, k=2, labels=labels)),
        "confusion": confusion_matrix(y, pred, labels=labels).tolist(),
        "precision": p.tolist(), "recall": r.tolist(), "f1": f.tolist(), "support": s.tolist(),
        "macroF1": float(f1_score(y, pred, labels=labels, average="macro", zero_division=0)),
    }


def segmentation(name, n, c, h, w):
    y = rng.integers(0, c, (n, h, w))
    logits = rng.normal(size=(n, c, h, w)).astype(np.float32)
    np.put_along_axis(logits, y[:, None], np.take_along_axis(logits, y[:, None], 1) + 1.0, 1)
    pred = logits.argmax(1)
    labels = list(range(c))
    iou = jaccard_score(y.ravel(), pred.ravel(), labels=labels, average=None, zero_division=0)
    return {
        "name": name, "kind": "segmentation", "numClasses": c,
        "logits": enc(torch.tensor(logits), False), "target": enc(torch.tensor(y, dtype=torch.int32), False),
        "accuracy": float(accuracy_score(y.ravel(), pred.ravel())),
        "confusion": confusion_matrix(y.ravel(), pred.ravel(), labels=labels).tolist(),
        "iou": iou.tolist(),
        "dice": (2 * iou / (1 + iou)).tolist(),  # Dice = 2·IoU/(1 + IoU) per class
    }


cases = [
    classification("classes5", 60, 5, 1.0),
    classification("classes10_one_missing", 40, 10, 0.8),
    segmentation("segmentation3", 2, 3, 6, 5),
]
write_fixture(OUT, "tools/gen_metric_fixtures.py", cases)
