/**
 * t-SNE (src/embed/tsne*.ts, quadtree.ts) against scikit-learn 1.2 (test/fixtures/tsne.json, from
 * tools/gen_tsne_fixtures.py): joint probabilities, exact and Barnes-Hut KL and gradients, a whole
 * exact fit; gradients against finite differences; Barnes-Hut at angle 0 against exact; new points
 * placed into an MNIST map; option errors.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { Tensor } from '../src/tensor.js';
import { ArgumentError, NotSupportedError } from '../src/errors.js';
import { KNeighborsClassifier, leaveOneOutAccuracy } from '../src/embed/classifier.js';
import { QuadTree } from '../src/embed/quadtree.js';
import { BarnesHutWork, TSNE, gradientDescent, klDivergenceBH, klDivergenceExact, placementGradient, type Objective, type TSNEProgress } from '../src/embed/tsne.js';
import { conditionalProbabilities, jointProbabilities, jointProbabilitiesNN, nearestNeighbors, squaredDistances, type SparseAffinities } from '../src/embed/tsne-affinity.js';
import { mnist } from '../src/data/node/mnist.js';
import { Generator } from '../src/random.js';
import { assertClose } from './helpers/assert.js';
import { crowding, crowdingFigure } from '../examples/crowding.js';

interface Joint { perplexity: number; k: number; dense: number[]; indptr: number[]; indices: number[]; values: number[] }
interface Case {
  name: string; n: number; d: number; x: number[]; joint: Joint[];
  map2: number[]; exact: { kl: number; grad: number[] }; map3: number[]; exact3_kl: number;
  bh: { angle: number; kl: number; grad: number[] };
  descent: { exaggeration: number; learning_rate: number; momentum: number; n_iter: number; embedding: number[]; kl: number; last: number };
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/tsne.json', import.meta.url), 'utf8')) as { cases: Case[] };

const matrix = (c: Case) => ({ data: Float64Array.from(c.x), rows: c.n, cols: c.d });
const denseP = (c: Case, j = 0) => jointProbabilities(squaredDistances(matrix(c)), c.n, c.joint[j].perplexity);

/** The full n×n matrix of sklearn's condensed (upper-triangle) vector. */
function squareform(v: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(n * n);
  let e = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) out[i * n + j] = out[j * n + i] = v[e++];
  return out;
}

/** A dense matrix as CSR with every off-diagonal entry (for Barnes-Hut on the exact P). */
function toSparse(p: Float64Array, n: number): SparseAffinities {
  const indptr = new Int32Array(n + 1), indices: number[] = [], values: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) if (j !== i) { indices.push(j); values.push(p[i * n + j]); }
    indptr[i + 1] = indices.length;
  }
  return { n, indptr, indices: Int32Array.from(indices), values: Float64Array.from(values) };
}

function randomMap(n: number, d: number, seed: number, scale = 2): Float64Array {
  const g = new Generator(seed);
  return Float64Array.from({ length: n * d }, () => scale * g.normal());
}

/** Central differences of f at y along every coordinate. */
function numericGradient(f: (y: Float64Array) => number, y: Float64Array, h = 1e-6): Float64Array {
  const g = new Float64Array(y.length);
  for (let k = 0; k < y.length; k++) {
    const keep = y[k];
    y[k] = keep + h; const up = f(y);
    y[k] = keep - h; const down = f(y);
    y[k] = keep;
    g[k] = (up - down) / (2 * h);
  }
  return g;
}

describe('t-SNE affinities against scikit-learn', () => {
  for (const c of fixture.cases) {
    for (const [j, joint] of c.joint.entries()) {
      test(`${c.name}: dense joint P, perplexity ${joint.perplexity}`, () => {
        assertClose(denseP(c, j), squareform(joint.dense, c.n), { atol: 1e-17, rtol: 1e-7, what: 'P' });
      });
      test(`${c.name}: sparse joint P over ${joint.k} neighbours, perplexity ${joint.perplexity}`, () => {
        const nn = nearestNeighbors(new Tensor(Float64Array.from(c.x), [c.n, c.d]), joint.k);
        const p = jointProbabilitiesNN(nn.indices, nn.d2, c.n, joint.k, joint.perplexity);
        assert.deepEqual([...p.indptr], joint.indptr);
        assert.deepEqual([...p.indices], joint.indices);
        assertClose(p.values, joint.values, { atol: 1e-12, rtol: 1e-7, what: 'P values' });
      });
    }
  }

  test('each conditional distribution has the requested perplexity', () => {
    const c = fixture.cases[0];
    const p = conditionalProbabilities(squaredDistances(matrix(c)), c.n, c.n, 7);
    for (let i = 0; i < c.n; i++) {
      let h = 0, s = 0;
      for (let j = 0; j < c.n; j++) { const v = p[i * c.n + j]; s += v; if (v > 0) h -= v * Math.log(v); }
      assert.ok(Math.abs(s - 1) < 1e-12, `row ${i} sums to ${s}`);
      assert.ok(Math.abs(Math.exp(h) - 7) < 1e-3, `row ${i} has perplexity ${Math.exp(h)}`);
    }
  });
});

describe('t-SNE objective against scikit-learn', () => {
  for (const c of fixture.cases) {
    test(`${c.name}: exact KL and gradient at a 2-D map`, () => {
      const grad = new Float64Array(c.n * 2);
      const kl = klDivergenceExact(denseP(c), Float64Array.from(c.map2), c.n, 2, grad);
      assertClose([kl], [c.exact.kl], { atol: 0, rtol: 1e-8, what: 'KL' });
      assertClose(grad, c.exact.grad, { atol: 1e-10, rtol: 1e-6, what: 'gradient' });
    });
    test(`${c.name}: exact KL at a 3-D map (2 degrees of freedom)`, () => {
      const kl = klDivergenceExact(denseP(c), Float64Array.from(c.map3), c.n, 3, new Float64Array(c.n * 3));
      assertClose([kl], [c.exact3_kl], { atol: 0, rtol: 1e-8, what: 'KL' });
    });
    test(`${c.name}: Barnes-Hut KL and gradient at angle ${c.bh.angle} (sklearn computes in float32)`, () => {
      const nn = nearestNeighbors(new Tensor(Float64Array.from(c.x), [c.n, c.d]), c.joint[0].k);
      const p = jointProbabilitiesNN(nn.indices, nn.d2, c.n, c.joint[0].k, c.joint[0].perplexity);
      const grad = new Float64Array(c.n * 2);
      const kl = klDivergenceBH(p, Float64Array.from(c.map2), grad, { angle: c.bh.angle });
      assertClose([kl], [c.bh.kl], { atol: 0, rtol: 1e-5, what: 'KL' });
      const scale = Math.max(...c.bh.grad.map(Math.abs));
      assertClose(grad, c.bh.grad, { atol: 1e-5 * scale, rtol: 1e-4, what: 'gradient' });
    });
    test(`${c.name}: ${c.descent.n_iter} steps of the optimiser (momentum, gains) follow sklearn's`, () => {
      const f = c.descent, P = denseP(c), y = Float64Array.from(c.map2);
      const objective: Objective = (p, grad, computeError, exaggeration) => klDivergenceExact(P, p, c.n, 2, grad, { computeError, exaggeration });
      const r = gradientDescent(objective, y, { start: 0, stop: f.n_iter, nIter: f.n_iter, momentum: f.momentum, learningRate: f.learning_rate, exaggeration: f.exaggeration, minGradNorm: 1e-7, nIterWithoutProgress: 250 });
      assert.equal(r.last, f.last);
      assertClose([r.error], [f.kl], { atol: 0, rtol: 1e-8, what: 'KL' });
      assertClose(y, f.embedding, { atol: 1e-8, rtol: 1e-7, what: 'embedding' });
    });
  }
});

describe('t-SNE gradients', () => {
  const c = fixture.cases[1];
  const P = denseP(c);
  for (const [label, dims, kernel] of [['Student-t, 2-D', 2, 'studentT'], ['Student-t, 3-D (α = 2)', 3, 'studentT'], ['Gaussian (symmetric SNE)', 2, 'gaussian']] as const) {
    test(`exact gradient vs finite differences: ${label}`, () => {
      const y = randomMap(c.n, dims, 3, kernel === 'gaussian' ? 0.7 : 2);
      const grad = new Float64Array(y.length);
      klDivergenceExact(P, y, c.n, dims, grad, { kernel });
      const f = (z: Float64Array) => klDivergenceExact(P, z, c.n, dims, new Float64Array(z.length), { kernel });
      assertClose(grad, numericGradient(f, y), { atol: 1e-7, rtol: 1e-5, what: 'gradient' });
    });
  }

  test('Barnes-Hut at angle 0 equals the exact gradient and KL on the same P', () => {
    const y = randomMap(c.n, 2, 5);
    const exact = new Float64Array(c.n * 2), bh = new Float64Array(c.n * 2);
    const klExact = klDivergenceExact(P, y, c.n, 2, exact, { exaggeration: 12 });
    const klBH = klDivergenceBH(toSparse(P, c.n), y, bh, { angle: 0, exaggeration: 12 });
    assertClose(bh, exact, { atol: 1e-13, rtol: 1e-9, what: 'gradient' });
    assertClose([klBH], [klExact], { atol: 0, rtol: 1e-9, what: 'KL' });
  });

  test('Barnes-Hut at angle 0.5 stays close to exact', () => {
    const y = randomMap(c.n, 2, 6);
    const exact = new Float64Array(c.n * 2), bh = new Float64Array(c.n * 2);
    klDivergenceExact(P, y, c.n, 2, exact);
    klDivergenceBH(toSparse(P, c.n), y, bh, { angle: 0.5, work: new BarnesHutWork(c.n) });
    let err = 0, norm = 0;
    for (let k = 0; k < bh.length; k++) { err += (bh[k] - exact[k]) ** 2; norm += exact[k] ** 2; }
    assert.ok(Math.sqrt(err / norm) < 0.05, `relative error ${Math.sqrt(err / norm)}`);
    assert.ok(err > 0, 'angle 0.5 summarises some cells');
  });

  test('placing new points: gradient of Σ KL(Pᵢ‖Qᵢ) vs finite differences', () => {
    const nRef = 40, m = 6, k = 8;
    const fitted = randomMap(nRef, 2, 7, 3), y = randomMap(m, 2, 8, 3);
    const g = new Generator(9);
    const neighbors = Int32Array.from({ length: m * k }, (_, e) => (e * 7 + g.integer(0, 5)) % nRef);
    const P = Float64Array.from({ length: m * k }, () => g.random() + 0.1);
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let e = i * k; e < (i + 1) * k; e++) s += P[e];
      for (let e = i * k; e < (i + 1) * k; e++) P[e] /= s;
    }
    // Σᵢ Σⱼ pⱼ|ᵢ log(pⱼ|ᵢ / qⱼ|ᵢ), qⱼ|ᵢ = wᵢⱼ / Σ over all fitted points: written out independently.
    const objective = (z: Float64Array) => {
      let c2 = 0;
      for (let i = 0; i < m; i++) {
        let zsum = 0;
        for (let j = 0; j < nRef; j++) zsum += 1 / (1 + (z[2 * i] - fitted[2 * j]) ** 2 + (z[2 * i + 1] - fitted[2 * j + 1]) ** 2);
        for (let e = i * k; e < (i + 1) * k; e++) {
          const j = neighbors[e], w = 1 / (1 + (z[2 * i] - fitted[2 * j]) ** 2 + (z[2 * i + 1] - fitted[2 * j + 1]) ** 2);
          c2 += P[e] * Math.log(P[e] / (w / zsum));
        }
      }
      return c2;
    };
    const grad = new Float64Array(2 * m);
    placementGradient(P, neighbors, k, fitted, new QuadTree().build(fitted, nRef), y, grad, 0, new Float64Array(3));
    assertClose(grad, numericGradient(objective, y), { atol: 1e-8, rtol: 1e-5, what: 'gradient' });
  });
});

describe('QuadTree', () => {
  test('repulsion at angle 0 is the direct sum; duplicates share a leaf and are skipped at the point', () => {
    const pts = Float64Array.from([0, 0, 1, 2, -3, 0.5, 1, 2, 4, -1, 0.25, 0.25]);
    const n = pts.length / 2, tree = new QuadTree().build(pts, n), out = new Float64Array(3);
    for (let i = 0; i < n; i++) {
      tree.repulsion(pts[2 * i], pts[2 * i + 1], 0, out);
      let fx = 0, fy = 0, s = 0;
      for (let j = 0; j < n; j++) {
        const dx = pts[2 * i] - pts[2 * j], dy = pts[2 * i + 1] - pts[2 * j + 1];
        if (dx === 0 && dy === 0) continue;
        const q = 1 / (1 + dx * dx + dy * dy);
        s += q; fx += q * q * dx; fy += q * q * dy;
      }
      assertClose(out, [fx, fy, s], { atol: 1e-15, rtol: 1e-12, what: `point ${i}` });
    }
    // Every point once in the depth-first order, the two duplicates (1 and 3) side by side.
    const order = [...tree.order];
    assert.deepEqual([...order].sort(), [0, 1, 2, 3, 4, 5]);
    assert.equal(Math.abs(order.indexOf(1) - order.indexOf(3)), 1);
    // A rebuild with other points replaces the tree.
    tree.build(Float64Array.from([5, 5, -5, -5]), 2);
    assert.deepEqual([...tree.order].sort(), [0, 1]);
    assert.throws(() => tree.build(Float64Array.from([0, 0, NaN, 1]), 2), /QuadTree.build: point 1 is not finite \(NaN, 1\)/);
  });
});

describe('TSNE', () => {
  const c = fixture.cases[0];
  const x = new Tensor(Float64Array.from(c.x), [c.n, c.d]);

  test('is reproducible for a seed, reports progress each iteration and the KL every 50', () => {
    const seen: TSNEProgress[] = [];
    const run = (seed: number, log = false) => new TSNE({ perplexity: 10, nIter: 300, init: 'random', seed, onIteration: log ? (p) => seen.push({ ...p, embedding: p.embedding.slice() }) : undefined }).fitTransform(x);
    const a = run(1, true), b = run(1), other = run(2);
    assert.deepEqual([...a.data], [...b.data]);
    assert.notDeepEqual([...a.data], [...other.data]);
    assert.equal(seen.length, 300);
    assert.deepEqual(seen.map((p) => p.iteration), Array.from({ length: 300 }, (_, i) => i + 1));
    assert.deepEqual(seen.filter((p) => p.kl !== null).map((p) => p.iteration), [50, 100, 150, 200, 250, 300]);
    assert.ok(seen[0].exaggerated && !seen[299].exaggerated);
    assert.deepEqual(seen[299].embedding, Float64Array.from(a.data));
  });

  test("'pca' init and 'auto' learning rate: the map separates the blobs", () => {
    const tsne = new TSNE({ perplexity: 10 });
    const y = tsne.fitTransform(x);
    assert.equal(tsne.learningRate, 50);
    const labels = Array.from({ length: c.n }, (_, i) => i % 3);
    assert.equal(leaveOneOutAccuracy(y, labels, { nNeighbors: 3 }), 1);
  });

  test('bad options and inputs get clear errors', () => {
    assert.throws(() => new TSNE({ perplexity: 60 }).fitTransform(x), (e: Error) => e instanceof ArgumentError && /perplexity \(60\) must be less than the number of points \(48\)/.test(e.message));
    assert.throws(() => new TSNE({ nComponents: 3 }), (e: Error) => e instanceof NotSupportedError && /barnesHut/.test(e.message));
    assert.throws(() => new TSNE({ kernel: 'gaussian' }), NotSupportedError);
    assert.throws(() => new TSNE({ n_iter: 500 } as never), /did you mean 'nIter'/);
    assert.throws(() => new TSNE({ nIter: 100 }), /at least 250/);
    assert.throws(() => new TSNE({ angle: 2 }), /angle must be a number in \[0, 1\]/);
    assert.throws(() => new TSNE().transform(x), /not fitted yet/);
    assert.throws(() => new TSNE({ init: new Tensor(new Float64Array(6), [3, 2]) }).fitTransform(x), /init must be \[48, 2\], got \[3,2\]/);
  });
});

describe('TSNE.transform: held-out MNIST digits land among their class', () => {
  test('k-NN accuracy of placed digits is close to that of the fitted ones', () => {
    const take = (ds: ReturnType<typeof mnist>, n: number) => {
      const x = ds.inputs, y = ds.targets;
      return { x: new Tensor((x.data as Float32Array).slice(0, n * 784), [n, 784]), y: Int32Array.from((y.data as Int32Array).subarray(0, n)) };
    };
    const train = take(mnist(), 800), test = take(mnist({ train: false }), 200);
    const tsne = new TSNE({ seed: 0, nIter: 500 });
    const fitted = tsne.fitTransform(train.x);
    const placed = tsne.transform(test.x);
    const fittedAcc = leaveOneOutAccuracy(fitted, train.y, { nNeighbors: 5 });
    const placedAcc = new KNeighborsClassifier({ nNeighbors: 5 }).fit(fitted, train.y).score(placed, test.y);
    assert.ok(fittedAcc > 0.8, `fitted k-NN accuracy ${fittedAcc}`);
    assert.ok(placedAcc > fittedAcc - 0.05, `placed ${placedAcc} vs fitted ${fittedAcc}`);
    // The descent matters: one step leaves the points about where they start, worse placed.
    const startAcc = new KNeighborsClassifier({ nNeighbors: 5 }).fit(fitted, train.y).score(tsne.transform(test.x, { nIter: 1 }), test.y);
    assert.ok(placedAcc > startAcc, `placed ${placedAcc} vs one step ${startAcc}`);
    // The placed points stay within the map's range.
    const fx = (fitted.data as Float64Array).filter((_, i) => i % 2 === 0), px = (placed.data as Float64Array).filter((_, i) => i % 2 === 0);
    assert.ok(Math.min(...px) >= Math.min(...fx) - 5 && Math.max(...px) <= Math.max(...fx) + 5);
  });
});

describe('examples/crowding.ts', () => {
  test('the Gaussian map crowds the digit classes together; the Student-t map separates them; one figure of both', () => {
    const { labels, maps } = crowding(300, 500);
    const [sne, tsne] = maps;
    assert.deepEqual(maps.map((m) => m.kernel), ['gaussian', 'studentT']);
    assert.ok(tsne.knnAccuracy > sne.knnAccuracy + 0.1, `5-NN accuracy: Student-t ${tsne.knnAccuracy}, Gaussian ${sne.knnAccuracy}`);
    assert.ok(tsne.separation > sne.separation, `class separation: Student-t ${tsne.separation}, Gaussian ${sne.separation}`);
    const fig = crowdingFigure(labels, maps) as unknown as { hconcat: { data: { name: string } }[]; datasets: Record<string, { x: number; label: string }[]> };
    assert.deepEqual(fig.hconcat.map((p) => p.data.name), ['map0', 'map1']);
    assert.equal(fig.datasets.map1.length, 300);
    assert.equal(fig.datasets.map1[7].x, tsne.embedding.data[14]);
  });
});
