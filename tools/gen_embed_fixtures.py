#!/usr/bin/env python3
"""scikit-learn reference values for pixelgrad's embedding tools (src/embed/): PCA, k-NN, trustworthiness.

Run from the repository root with Debian's python3-sklearn (1.2):

    /usr/bin/python3 tools/gen_embed_fixtures.py

Writes test/fixtures/embed.json. Inputs are rounded to 3 decimals, so the float64 values read from
JSON are exactly the ones sklearn saw; outputs are written at full float64 precision.
- PCA: N > D and N < D, whiten on and off, a fraction as n_components, the 'randomized' solver
  (explicit, and chosen by 'auto'), with components, explained variance (ratio), singular values,
  mean, noise variance, the transform of held-out rows and the inverse transform.
- k-NN: neighbours (Euclidean and cosine) of queries, predictions and probabilities of
  KNeighborsClassifier with uniform and distance weights, a two-class tie, leave-one-out accuracy.
- trustworthiness(X, Y, n_neighbors=k) for several k, Euclidean and cosine.
"""
import json
import os

import numpy as np
import sklearn
from sklearn.decomposition import PCA
from sklearn.manifold import trustworthiness
from sklearn.model_selection import LeaveOneOut, cross_val_score
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors

OUT = os.path.join("test", "fixtures", "embed.json")
rng = np.random.default_rng(12)


def mat(a):
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "data": [float(v) + 0.0 for v in a.reshape(-1)]}


def ints(a):
    return [int(v) for v in np.asarray(a).reshape(-1)]


def data(n, d, spectrum=None):
    """n×d Gaussian rows with per-column scales `spectrum` (distinct variances), rounded to 3 decimals."""
    scale = np.linspace(3.0, 0.3, d) if spectrum is None else spectrum
    mix = np.linalg.qr(rng.normal(size=(d, d)))[0]
    return np.round((rng.normal(size=(n, d)) * scale) @ mix + rng.normal(size=d), 3)


def pca_case(name, x, xt, **kw):
    p = PCA(random_state=0, **kw).fit(x)
    y = p.transform(xt)
    return {
        "name": name, "kind": "pca", "options": kw, "solver": p._fit_svd_solver,
        "x": mat(x), "xt": mat(xt),
        "components": mat(p.components_), "explainedVariance": mat(p.explained_variance_),
        "explainedVarianceRatio": mat(p.explained_variance_ratio_), "singularValues": mat(p.singular_values_),
        "mean": mat(p.mean_), "noiseVariance": float(p.noise_variance_),
        "transform": mat(y), "inverse": mat(p.inverse_transform(y)),
    }


cases = []
x = data(40, 6)
cases.append(pca_case("pca_tall_full", x, data(5, 6)))
cases.append(pca_case("pca_tall_whiten_k3", x, data(5, 6), n_components=3, whiten=True))
x = data(8, 20)
cases.append(pca_case("pca_wide_full", x, data(3, 20)))
cases.append(pca_case("pca_wide_whiten_k5", x, data(3, 20), n_components=5, whiten=True))
cases.append(pca_case("pca_fraction", data(50, 10), data(4, 10), n_components=0.8))
# Randomized: a spectrum that decays, so 10 components are well separated from the rest.
spec = np.concatenate([np.linspace(20, 6, 10), np.full(190, 0.5)])
cases.append(pca_case("pca_randomized", data(100, 200, spec), data(4, 200, spec), n_components=10, svd_solver="randomized"))
cases.append(pca_case("pca_auto_randomized", data(510, 20, np.concatenate([np.linspace(9, 4, 3), np.full(17, 0.4)])), data(4, 20), n_components=3))

# k-NN on continuous data (no equal distances).
xtr = np.round(rng.normal(size=(30, 5)), 3)
ytr = rng.integers(0, 3, 30)
xq = np.round(rng.normal(size=(7, 5)), 3)
for metric in ["euclidean", "cosine"]:
    nn = NearestNeighbors(n_neighbors=4, metric=metric, algorithm="brute").fit(xtr)
    dist, ind = nn.kneighbors(xq)
    knn = {}
    for weights in ["uniform", "distance"]:
        clf = KNeighborsClassifier(n_neighbors=4, weights=weights, metric=metric, algorithm="brute").fit(xtr, ytr)
        loo = cross_val_score(KNeighborsClassifier(n_neighbors=4, weights=weights, metric=metric, algorithm="brute"), xtr, ytr, cv=LeaveOneOut()).mean()
        knn[weights] = {"predict": ints(clf.predict(xq)), "proba": mat(clf.predict_proba(xq)), "score": float(clf.score(xq, ytr[:7])), "leaveOneOut": float(loo)}
    cases.append({
        "name": "knn_%s" % metric, "kind": "knn", "metric": metric, "k": 4,
        "train": mat(xtr), "labels": ints(ytr), "queries": mat(xq),
        "indices": ints(ind), "distances": mat(dist), "votes": knn,
    })
# A tie between two classes: two neighbours of each, at distinct distances; labels 2 and 5 (not 0-based).
xt1 = np.array([[0.0], [1.0], [-1.5], [2.5], [10.0]])
yt1 = np.array([5, 2, 5, 2, 5])
clf = KNeighborsClassifier(n_neighbors=4, algorithm="brute").fit(xt1, yt1)
cases.append({"name": "knn_tie", "kind": "knn_tie", "k": 4, "train": mat(xt1), "labels": ints(yt1), "queries": mat([[0.2], [0.6]]),
              "predict": ints(clf.predict(np.array([[0.2], [0.6]]))), "proba": mat(clf.predict_proba(np.array([[0.2], [0.6]])))})

# trustworthiness of a noisy 2-D projection.
xs = np.round(rng.normal(size=(60, 10)), 3)
ys = np.round(xs[:, :2] + 0.6 * rng.normal(size=(60, 2)), 3)
for metric in ["euclidean", "cosine"]:
    ks = [1, 5, 10, 29]
    cases.append({"name": "trust_%s" % metric, "kind": "trustworthiness", "metric": metric, "x": mat(xs), "y": mat(ys),
                  "k": ks, "values": [float(trustworthiness(xs, ys, n_neighbors=k, metric=metric)) for k in ks]})

names = [c["name"] for c in cases]
assert len(set(names)) == len(names)
doc = {"generator": "tools/gen_embed_fixtures.py", "sklearn": sklearn.__version__, "cases": cases}
with open(OUT, "w") as fh:
    fh.write(json.dumps(doc, separators=(",", ":"), allow_nan=False) + "\n")
print("wrote %s: %d cases, %d bytes" % (OUT, len(cases), os.path.getsize(OUT)))
