#!/usr/bin/env python3
"""scikit-learn 1.2 reference values for pixelgrad's t-SNE (src/embed/tsne*.ts).

Run from the repository root with Debian's python3-sklearn:

    /usr/bin/python3 tools/gen_tsne_fixtures.py

Writes test/fixtures/tsne.json (floats at full float64 precision) from three clustered point
sets: sklearn's private t-SNE pieces, which define its semantics —
  - joint P, dense (_joint_probabilities over squared distances) for perplexities 5 and 12,
    and sparse (_joint_probabilities_nn over the 3·perplexity+1 nearest neighbours), as CSR;
  - the exact KL divergence and gradient (_kl_divergence) at a given 2-D map, and the KL at a
    3-D map (sklearn's 3-D gradient uses the kernel where the derivative needs (1 + d²/α)⁻¹);
  - the Barnes-Hut KL and gradient (_kl_divergence_bh, float32 inside) at angle 0.5;
  - 120 steps of the optimiser (_gradient_descent: momentum, gains) on the exact objective.
"""
import os

import numpy as np
import sklearn
from scipy.spatial.distance import pdist, squareform
from sklearn.manifold._t_sne import (_gradient_descent, _joint_probabilities, _joint_probabilities_nn,
                                     _kl_divergence, _kl_divergence_bh)
from sklearn.neighbors import NearestNeighbors

from fixture_json import write_fixture

OUT = os.path.join("test", "fixtures", "tsne.json")
rng = np.random.default_rng(12)


def blobs(n, d, centres):
    c = rng.normal(scale=4.0, size=(centres, d))
    return np.concatenate([c[i % centres] + rng.normal(size=(1, d)) for i in range(n)])


def flat(a):
    """Values with 12 significant digits: far below the tolerances of the tests, a third smaller than repr."""
    return [float("%.12g" % v) + 0.0 for v in np.asarray(a, dtype=np.float64).ravel()]


def case(name, n, d, centres, perplexities):
    x = np.round(blobs(n, d, centres), 6)  # the inputs as the test reads them
    d2 = squareform(pdist(x, "sqeuclidean"))
    out = {"name": name, "n": n, "d": d, "x": flat(x), "joint": []}
    sparse_first = None
    for perp in perplexities:
        dense = _joint_probabilities(d2, perp, 0)  # condensed: the upper triangle row by row
        k = min(n - 1, int(3.0 * perp + 1))
        graph = NearestNeighbors(n_neighbors=k).fit(x).kneighbors_graph(mode="distance")
        graph.data **= 2
        sparse = _joint_probabilities_nn(graph, perp, 0)
        sparse_first = sparse_first if sparse_first is not None else sparse
        out["joint"].append({"perplexity": perp, "k": k, "dense": flat(dense),
                             "indptr": [int(v) for v in sparse.indptr], "indices": [int(v) for v in sparse.indices],
                             "values": flat(sparse.data)})
    p_dense = _joint_probabilities(d2, perplexities[0], 0)  # condensed, as _kl_divergence takes it
    y = np.round(rng.normal(scale=2.0, size=(n, 2)), 9)
    kl, grad = _kl_divergence(y.ravel().copy(), p_dense, 1, n, 2)
    out["map2"] = flat(y)
    out["exact"] = {"kl": float(kl), "grad": flat(grad)}
    y3 = np.round(rng.normal(scale=2.0, size=(n, 3)), 9)
    kl3, _ = _kl_divergence(y3.ravel().copy(), p_dense, 2, n, 3)
    out["map3"] = flat(y3)
    out["exact3_kl"] = float(kl3)
    kl_bh, grad_bh = _kl_divergence_bh(y.ravel().copy(), sparse_first, 1, n, 2, angle=0.5, compute_error=True)
    out["bh"] = {"angle": 0.5, "kl": float(kl_bh), "grad": flat(grad_bh)}
    # 120 steps of the optimiser from the 2-D map; a small step keeps the path stable to rounding
    # (whole fits are chaotic: a 1e-14 change of the start changes sklearn's own result).
    z, kl_z, last = _gradient_descent(_kl_divergence, y.ravel().copy(), 0, 120, n_iter_check=50, momentum=0.5,
                                      learning_rate=10.0, args=[p_dense * 2.0, 1, n, 2], n_iter_without_progress=250)
    out["descent"] = {"exaggeration": 2.0, "learning_rate": 10.0, "momentum": 0.5, "n_iter": 120,
                      "embedding": flat(z), "kl": float(kl_z), "last": int(last)}
    return out


cases = [
    case("blobs48", 48, 6, 3, [5.0, 12.0]),
    case("blobs30", 30, 4, 2, [4.0, 9.0]),
]
write_fixture(OUT, "tools/gen_tsne_fixtures.py", cases, sklearn=sklearn.__version__)
