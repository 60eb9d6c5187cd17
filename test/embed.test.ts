/**
 * src/embed: the eigensolver; PCA, k-NN and trustworthiness against scikit-learn 1.2
 * (test/fixtures/embed.json, made by tools/gen_embed_fixtures.py); blocked distances against a
 * direct loop; features from named layers via forward hooks; gallery layouts and the embedding map.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { tensor, randn, randint, manualSeed, nn, noGrad, NotSupportedError, ShapeError, data as pgData } from '../src/index.js';
import {
  PCA, KNeighborsClassifier, extractFeatures, kNeighbors, lastLinear, layerNames, leaveOneOutAccuracy, symmetricEigen, trustworthiness,
  neighborGallery, reconstructionGallery, embeddingMapSpec, tintImage, CLASS_COLORS,
} from '../src/embed/index.js';
import { imageDataUrl } from '../src/embed/node/images.js';
import { renderSvg } from '../src/viz/render.js';
import sharp from 'sharp';
import { assertClose } from './helpers/assert.js';

type Mat = { shape: number[]; data: number[] };
type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
const fixtures: { sklearn: string; cases: Json[] } = JSON.parse(readFileSync(new URL('./fixtures/embed.json', import.meta.url), 'utf8'));
const f64 = (m: Mat) => tensor(Float64Array.from(m.data), { shape: m.shape });
const cases = (kind: string) => fixtures.cases.filter((c) => c.kind === kind);

test('symmetricEigen: A·v = λ·v with orthonormal vectors, descending values, repeated and zero eigenvalues', () => {
  manualSeed(3);
  for (const n of [1, 2, 7, 40]) {
    const b = randn([n, n], { dtype: 'float64' });
    const a = b.matmul(b.transpose(0, 1)).data as Float64Array;
    const { values, vectors } = symmetricEigen(a, n);
    for (let j = 0; j < n; j++) {
      if (j > 0) assert.ok(values[j] <= values[j - 1]);
      for (let i = 0; i < n; i++) {
        let av = 0;
        for (let k = 0; k < n; k++) av += a[i * n + k] * vectors[j * n + k];
        assert.ok(Math.abs(av - values[j] * vectors[j * n + i]) < 1e-9 * values[0], `n ${n}: residual at (${i}, ${j})`);
      }
      for (let p = 0; p <= j; p++) {
        let dot = 0;
        for (let k = 0; k < n; k++) dot += vectors[j * n + k] * vectors[p * n + k];
        assert.ok(Math.abs(dot - (p === j ? 1 : 0)) < 1e-12, `n ${n}: vectors ${p}, ${j} not orthonormal`);
      }
    }
  }
  // diag(2, 0, 2, 5): a repeated and a zero eigenvalue.
  const { values } = symmetricEigen(Float64Array.from([2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 5]), 4);
  assertClose(values, [5, 2, 2, 0], { atol: 1e-14 });
  assert.throws(() => symmetricEigen(new Float64Array(5), 2), /symmetricEigen: expected an n×n matrix/);
});

for (const c of cases('pca')) {
  test(`PCA matches scikit-learn ${fixtures.sklearn}: ${c.name}`, () => {
    const x = f64(c.x), xt = f64(c.xt);
    const o = c.options;
    const pca = new PCA({ nComponents: o.n_components ?? undefined, whiten: o.whiten ?? false, svdSolver: o.svd_solver ?? 'auto' });
    pca.fit(x);
    assert.equal(pca.solver, c.solver);
    const k = c.components.shape[0];
    assert.equal(pca.nComponents, k);
    // Rows of a zero singular value (N < D) are arbitrary orthonormal completions, in sklearn too: compared only for their count.
    const sv = c.singularValues.data as number[];
    const real = sv.filter((s) => s > 1e-9 * sv[0]).length;
    const d = c.mean.shape[0];
    const randomized = c.solver === 'randomized';
    const tol = randomized ? { atol: 1e-6, rtol: 1e-6 } : { atol: 1e-10, rtol: 1e-9 };
    assertClose(pca.components.data.subarray(0, real * d), c.components.data.slice(0, real * d), { ...tol, what: 'components' });
    assertClose(pca.singularValues.data, sv, { ...tol, atol: 1e-9, what: 'singular values' });
    assertClose(pca.explainedVariance.data, c.explainedVariance.data, { ...tol, atol: 1e-9, what: 'explained variance' });
    assertClose(pca.explainedVarianceRatio.data, c.explainedVarianceRatio.data, { ...tol, atol: 1e-10, what: 'ratio' });
    assertClose(pca.mean.data, c.mean.data, { atol: 1e-12, what: 'mean' });
    assertClose([pca.noiseVariance], [c.noiseVariance], { ...tol, atol: 1e-9, what: 'noise variance' });
    const y = pca.transform(xt);
    assert.deepEqual(y.shape, c.transform.shape);
    const cols = (m: ArrayLike<number>) => Array.from(m).filter((_, i) => i % k < real);
    assertClose(cols(y.data), cols(c.transform.data), { ...tol, atol: randomized ? 1e-5 : 1e-9, what: 'transform' });
    if (real === k) assertClose(pca.inverseTransform(tensor(Float64Array.from(c.transform.data), { shape: c.transform.shape })).data, c.inverse.data, { ...tol, atol: randomized ? 1e-5 : 1e-8, what: 'inverse transform' });
    // fitTransform is fit then transform; float32 input goes through the fast GEMM and agrees to float32 precision.
    assertClose(new PCA({ nComponents: o.n_components ?? undefined, whiten: o.whiten ?? false, svdSolver: o.svd_solver ?? 'auto' }).fitTransform(x).data, pca.transform(x).data, { atol: 1e-9, what: 'fitTransform' });
    if (real === k) {
      const p32 = new PCA({ nComponents: o.n_components ?? undefined, whiten: o.whiten ?? false, svdSolver: o.svd_solver ?? 'auto' }).fit(x.float());
      assertClose(p32.explainedVariance.data, c.explainedVariance.data, { rtol: 1e-3, atol: 1e-4, what: 'float32 explained variance' });
      assertClose(p32.transform(xt.float()).data, c.transform.data, { rtol: 1e-2, atol: 2e-3, what: 'float32 transform' });
    }
  });
}

test('PCA: reconstruct from k components, whiten gives unit variance, options and shapes checked', () => {
  const c = cases('pca').find((q) => q.name === 'pca_tall_full');
  const x = f64(c.x);
  const pca = new PCA().fit(x);
  assertClose(pca.reconstruct(x).data, x.data, { atol: 1e-10, what: 'all components' });
  const mean = Array.from({ length: x.size }, (_, i) => pca.mean.data[i % x.shape[1]]);
  assertClose(pca.reconstruct(x, 0).data, mean, { atol: 1e-12, what: 'no components' });
  // k components: the same as projecting with a k-component PCA and mapping back.
  const p2 = new PCA({ nComponents: 2 }).fit(x);
  assertClose(pca.reconstruct(x, 2).data, p2.inverseTransform(p2.transform(x)).data, { atol: 1e-10, what: 'k = 2' });
  const w = new PCA({ whiten: true }).fitTransform(x);
  const n = x.shape[0];
  for (let j = 0; j < w.shape[1]; j++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += w.data[i * w.shape[1] + j] ** 2;
    assert.ok(Math.abs(s / (n - 1) - 1) < 1e-9, `whitened column ${j} has variance ${s / (n - 1)}`);
  }
  // Rank-deficient data (a constant column; fewer samples than features): zero singular values, orthonormal components all the same.
  manualSeed(6);
  const wide = randn([4, 7], { dtype: 'float64' }), tall = randn([30, 4], { dtype: 'float64' });
  for (let i = 0; i < 30; i++) tall.data[i * 4 + 2] = 5;
  for (const [m, zeros] of [[wide, 1], [tall, 1]] as const) {
    const p = new PCA().fit(m);
    assertClose(p.reconstruct(m).data, m.data, { atol: 1e-10, what: `${m.shape} rebuilt from all components` });
    const comps = p.components.data, d = m.shape[1], k = p.nComponents;
    assert.deepEqual([...p.singularValues.data].filter((v) => v === 0).length, zeros, `zero singular values of ${m.shape}`);
    for (let a = 0; a < k; a++) for (let b = 0; b <= a; b++) {
      let dot = 0;
      for (let i = 0; i < d; i++) dot += comps[a * d + i] * comps[b * d + i];
      assert.ok(Math.abs(dot - (a === b ? 1 : 0)) < 1e-10, `components ${a}, ${b} of ${m.shape}: ${dot}`);
    }
  }
  assert.throws(() => new PCA({ nComponents: 7 }).fit(x), /PCA.fit: nComponents 7 must be at most min\(N, D\) = 6 for x of shape \[40,6\]/);
  assert.throws(() => new PCA({ svdSolver: 'arpack' as 'full' }), NotSupportedError);
  assert.throws(() => new PCA({ n_components: 2 } as object), /PCA: unknown option 'n_components'; did you mean 'nComponents'\?/);
  assert.throws(() => new PCA({ nComponents: 1.5 }), /PCA: nComponents must be a positive integer or a fraction/);
  assert.throws(() => new PCA({ nComponents: 0.5, svdSolver: 'randomized' }), /needs svdSolver 'full'/);
  assert.throws(() => pca.transform(tensor([[1, 2, 3]])), /PCA.transform: x has 3 features but the PCA was fitted on 6/);
  assert.throws(() => new PCA().transform(x), /PCA: not fitted yet/);
  assert.throws(() => new PCA().fit(tensor([1, 2, 3])), /PCA.fit: x must be 2-D \[N, D\], got shape \[3\]/);
  assert.throws(() => new PCA().fit(tensor([[1, NaN], [2, 3]])), /PCA.fit: x has a non-finite value at row 0, column 1/);
});

for (const c of cases('knn')) {
  test(`kNeighbors and KNeighborsClassifier match scikit-learn: ${c.name}`, () => {
    const train = f64(c.train), queries = f64(c.queries);
    const nb = kNeighbors(queries, train, c.k, { metric: c.metric });
    assert.deepEqual([...nb.indices], c.indices);
    assertClose(nb.distances, c.distances.data, { atol: 1e-12, what: 'distances' });
    for (const weights of ['uniform', 'distance'] as const) {
      const v = c.votes[weights];
      const knn = new KNeighborsClassifier({ nNeighbors: c.k, weights, metric: c.metric }).fit(train, c.labels);
      assert.deepEqual([...knn.predict(queries).data], v.predict, `${weights} predict`);
      assertClose(knn.predictProba(queries).data, v.proba.data, { atol: 1e-12, what: `${weights} proba` });
      assert.equal(knn.score(queries, c.labels.slice(0, queries.shape[0])), v.score);
      assert.equal(leaveOneOutAccuracy(train, c.labels, { nNeighbors: c.k, weights, metric: c.metric }), v.leaveOneOut, `${weights} leave-one-out`);
    }
  });
}

test('KNeighborsClassifier: a tie between classes goes to the smaller label (as sklearn); distance 0 takes the whole vote', () => {
  const c = cases('knn_tie')[0];
  const knn = new KNeighborsClassifier({ nNeighbors: c.k }).fit(f64(c.train), c.labels);
  assert.deepEqual([...knn.classes], [2, 5]);
  assert.deepEqual([...knn.predict(f64(c.queries)).data], c.predict);
  assertClose(knn.predictProba(f64(c.queries)).data, c.proba.data, { atol: 0 });
  const exact = new KNeighborsClassifier({ nNeighbors: 3, weights: 'distance' }).fit(tensor([[0], [0.1], [0.2]]), [1, 0, 0]);
  assert.deepEqual([...exact.predictProba(tensor([[0]])).data], [0, 1]);
  assert.throws(() => new KNeighborsClassifier({ nNeighbors: 4 }).fit(tensor([[0], [1]]), [0, 1]), /KNeighborsClassifier.fit: nNeighbors = 4 is more than the 2 training rows/);
  assert.throws(() => new KNeighborsClassifier({ weights: 'gaussian' as 'uniform' }), /KNeighborsClassifier: weights must be one of 'uniform', 'distance', got 'gaussian'/);
  assert.throws(() => new KNeighborsClassifier().fit(tensor([[0], [1]]), [0]), /KNeighborsClassifier.fit: got 1 labels for 2 rows/);
});

test('kNeighbors over several distance blocks (float32 GEMM) agrees with a direct loop; excludeSelf; errors', () => {
  manualSeed(1);
  const refs = randn([3000, 3]), queries = randn([1500, 3]); // 1,398 query rows per block: two blocks
  const nb = kNeighbors(queries, refs, 3);
  for (const i of [0, 700, 1397, 1398, 1499]) {
    const d = Array.from({ length: 3000 }, (_, j) => {
      let s = 0;
      for (let c = 0; c < 3; c++) s += (queries.data[i * 3 + c] - refs.data[j * 3 + c]) ** 2;
      return [Math.sqrt(s), j];
    }).sort((a, b) => a[0] - b[0]);
    assert.deepEqual([...nb.indices.subarray(i * 3, i * 3 + 3)], d.slice(0, 3).map((p) => p[1]), `query ${i}`);
    assertClose(nb.distances.subarray(i * 3, i * 3 + 3), d.slice(0, 3).map((p) => p[0]), { atol: 1e-3, rtol: 1e-3, what: `distances of query ${i}` });
  }
  const x = tensor([[0, 0], [0, 1], [0, 3], [5, 5]]);
  assert.deepEqual([...kNeighbors(x, x, 1).indices], [0, 1, 2, 3]);
  assert.deepEqual([...kNeighbors(x, x, 1, { excludeSelf: true }).indices], [1, 0, 1, 2]);
  assert.deepEqual([...kNeighbors(x, x, 2, { excludeSelf: true }).indices], [1, 2, 0, 2, 1, 0, 2, 1]);
  assert.throws(() => kNeighbors(x, x, 4, { excludeSelf: true }), /kNeighbors: k = 4 is more than the 3 references available \(excluding each query itself\)/);
  assert.throws(() => kNeighbors(x, tensor([[1, 2, 3]]), 1), /kNeighbors: queries and references have different feature sizes \(queries \[4,2\], references \[1,3\]\)/);
  assert.throws(() => kNeighbors(x, x, 1, { metric: 'manhattan' as 'cosine' }), /kNeighbors: metric must be one of 'euclidean', 'cosine'/);
});

test('kNeighbors of a matrix with itself (half the products, each distance offered to both rows) agrees with a direct loop over three blocks, ties by index', () => {
  manualSeed(2);
  // 64 distinct points among 3,000 rows: many exact ties (distance 0 to duplicates), exact in float32.
  const grid = randint(0, 4, [3000, 3], { dtype: 'float32' }), unit = randn([3000, 3]);
  const direct = (x: typeof grid, i: number, metric: 'euclidean' | 'cosine', excludeSelf: boolean) => {
    const a = x.data, na = Math.hypot(a[i * 3], a[i * 3 + 1], a[i * 3 + 2]);
    const d: [number, number][] = [];
    for (let j = 0; j < 3000; j++) {
      if (excludeSelf && j === i) continue;
      let s = 0, dot = 0;
      for (let c = 0; c < 3; c++) { s += (a[i * 3 + c] - a[j * 3 + c]) ** 2; dot += a[i * 3 + c] * a[j * 3 + c]; }
      d.push([metric === 'euclidean' ? Math.sqrt(s) : 1 - dot / (na * Math.hypot(a[j * 3], a[j * 3 + 1], a[j * 3 + 2])), j]);
    }
    return d.sort((p, q) => p[0] - q[0] || p[1] - q[1]).slice(0, 5);
  };
  for (const [x, metric, excludeSelf] of [[grid, 'euclidean', true], [grid, 'euclidean', false], [unit, 'cosine', true]] as const) {
    const nb = kNeighbors(x, x, 5, { metric, excludeSelf });
    for (const i of [0, 1, 700, 1397, 1398, 2795, 2796, 2999]) {
      const want = direct(x, i, metric, excludeSelf), what = `${metric}${excludeSelf ? ', excludeSelf' : ''}, row ${i}`;
      if (metric === 'euclidean') assert.deepEqual([...nb.indices.subarray(i * 5, i * 5 + 5)], want.map((p) => p[1]), what);
      else assert.deepEqual(new Set(nb.indices.subarray(i * 5, i * 5 + 5)), new Set(want.map((p) => p[1])), what);
      assertClose(nb.distances.subarray(i * 5, i * 5 + 5), want.map((p) => p[0]), { atol: 1e-5, what: `distances, ${what}` });
    }
  }
});

for (const c of cases('trustworthiness')) {
  test(`trustworthiness matches scikit-learn: ${c.name}`, () => {
    const x = f64(c.x), y = f64(c.y);
    c.k.forEach((k: number, i: number) => assertClose([trustworthiness(x, y, k, { metric: c.metric })], [c.values[i]], { atol: 1e-12, what: `k = ${k}` }));
  });
}

test('trustworthiness: 1 for an isometry, ties ranked by index, k < n/2', () => {
  manualSeed(2);
  const x = randn([30, 4]);
  assert.equal(trustworthiness(x, x.mul(3), 5), 1);
  // Points on a line with equal gaps: the embedding swaps the two neighbours at distance 1 of point 1 only.
  const line = tensor([[0], [1], [2], [3], [4], [5], [6], [7], [8], [9]]);
  assert.equal(trustworthiness(line, line, 2), 1);
  assert.throws(() => trustworthiness(x, x, 15), /trustworthiness: k = 15 must be less than n\/2 = 15/);
  assert.throws(() => trustworthiness(x, x.narrow(0, 0, 10), 3), /trustworthiness: x and embedded have different numbers of rows/);
});

function smallNet(): nn.Sequential {
  manualSeed(5);
  return new nn.Sequential({ body: new nn.Sequential(new nn.Flatten(), new nn.Linear(12, 8), new nn.ReLU(), new nn.Dropout(0.5)), head: new nn.Linear(8, 3) });
}

test('extractFeatures: named layer outputs or inputs, batched, eval mode restored, labels from a dataset, L2 normalisation', () => {
  const net = smallNet();
  const x = randn([10, 3, 2, 2]);
  assert.deepEqual(layerNames(net), ['body', 'body.0', 'body.1', 'body.2', 'body.3', 'head']);
  assert.equal(lastLinear(net), 'head');
  net.train();
  (net.modules()[2] as nn.Module).training = false; // body.0 in eval: the per-module modes must come back as they were
  const before = net.modules().map((m) => m.training);
  const progress: number[][] = [];
  const { features, labels } = extractFeatures(net, 'body.1', x, { batchSize: 3, onBatch: (done, total) => progress.push([done, total]) });
  assert.deepEqual(progress, [[3, 10], [6, 10], [9, 10], [10, 10]]);
  assert.deepEqual(net.modules().map((m) => m.training), before);
  assert.equal(labels, null);
  const body1 = net.modules().find((m) => m instanceof nn.Linear)! as nn.Linear;
  const expected = noGrad(() => body1.forward(x.flatten(1)));
  assert.deepEqual(features.shape, [10, 8]);
  assertClose(features.data, expected.data, { atol: 1e-6 });
  assert.equal(features.requiresGrad, false);
  // The input of the head is body's output in eval mode (dropout off): relu of body.1.
  const head = extractFeatures(net, 'head', x, { at: 'input' }).features;
  assertClose(head.data, expected.data.map((v) => Math.max(v, 0)), { atol: 1e-6 });
  assert.deepEqual(extractFeatures(net, 'body', x).features.data, head.data);
  // A dataset: labels come with the features; the hook is gone afterwards (a second extraction sees one call per batch).
  const ds = new pgData.TensorDataset(x, tensor(Int32Array.from([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])));
  const fromSet = extractFeatures(net, 'body.1', ds, { batchSize: 4, normalize: true });
  assert.deepEqual([...fromSet.labels!], [0, 1, 2, 0, 1, 2, 0, 1, 2, 0]);
  for (let i = 0; i < 10; i++) {
    let s = 0, e = 0;
    for (let j = 0; j < 8; j++) { s += fromSet.features.data[i * 8 + j] ** 2; e += expected.data[i * 8 + j] ** 2; }
    assert.ok(Math.abs(s - 1) < 1e-6);
    assertClose([fromSet.features.data[i * 8] * Math.sqrt(e)], [expected.data[i * 8]], { atol: 1e-5 });
  }
  assert.throws(() => extractFeatures(net, 'fc9', x), /extractFeatures: unknown layer 'fc9'; the model's layers are: body, body.0, body.1, body.2, body.3, head/);
  assert.throws(() => lastLinear(new nn.Sequential(new nn.Flatten(), new nn.ReLU())), /extractFeatures: the model has no Linear layer; name one of: 0, 1/);
  assert.throws(() => extractFeatures(net, 'head', x, { at: 'middle' as 'input' }), /extractFeatures: at must be one of 'output', 'input'/);
  assert.throws(() => extractFeatures(net, 'head', x, { batchSize: 0 }), /extractFeatures: batchSize must be a positive integer/);
  assert.ok(net.training);
});

test('extractFeatures: a failing forward pass still removes the hook and restores the mode', () => {
  const net = smallNet();
  net.train();
  assert.throws(() => extractFeatures(net, 'head', randn([2, 5])), ShapeError);
  assert.ok(net.modules().every((m) => m.training));
  let calls = 0;
  net.modules()[1].registerForwardHook(() => { calls++; });
  extractFeatures(net, 'head', randn([4, 3, 2, 2]), { batchSize: 2 });
  assert.equal(calls, 2);
  assert.throws(() => extractFeatures(net, 'head', randn([0, 12])), /extractFeatures: data must be a non-empty batch \[N, ...\], got shape \[0,12\]/);
});

test('neighborGallery: query, then per panel a name tile and the neighbours captioned with label and distance; agreement per panel', () => {
  const img = (v: number) => tensor(new Float32Array(4).fill(v), { shape: [1, 2, 2] });
  const refs = [0.1, 0.2, 0.3, 0.4].map(img);
  const panel = (name: string, indices: number[], distances: number[]) => ({ name, neighbors: { indices: Int32Array.from(indices), distances: Float64Array.from(distances), k: 2 } });
  const g = neighborGallery({
    queries: [img(0.9), img(0.8)], reference: (i) => refs[i],
    panels: [panel('pixels', [0, 1, 2, 3], [1.234, 2, 0, 150]), panel('features', [1, 0, 3, 2], [0.01, 0.02, 0.5, 0.6])],
    queryLabels: [1, 0], referenceLabels: [1, 0, 0, 1], classNames: ['zero', 'one'],
  });
  assert.equal(g.nrow, 7);
  assert.deepEqual(g.captions, [
    'query one', 'pixels →', 'one 1.2', 'zero 2.0', 'features →', 'zero 0.010', 'one 0.020',
    'query zero', 'pixels →', 'zero 0', 'one 150', 'features →', 'one 0.50', 'zero 0.60',
  ]);
  assert.equal(g.images[0].data[0], Math.fround(0.9));
  assert.equal(g.images[2], refs[0]);
  assert.equal(g.images[13], refs[2]);
  assert.deepEqual([...g.images[1].data], [0, 0, 0, 0]);
  // pixels: query 0 (one) has neighbours one, zero; query 1 (zero) has zero, one → 2 of 4. features: zero, one; one, zero → 2 of 4.
  assert.deepEqual(g.agreement, { pixels: 0.5, features: 0.5 });
  assert.throws(() => neighborGallery({ queries: [img(0)], reference: (i) => refs[i], panels: [panel('p', [0, 1, 2, 3], [0, 0, 0, 0])] }), /neighborGallery: panel 'p' has neighbours for 2 queries, not 1/);
  assert.throws(() => neighborGallery({ queries: [img(0)], reference: (i) => refs[i], panels: [], queryLabels: [0] }), /neighborGallery: no panels/);
});

test('reconstructionGallery: each image, then its reconstructions from k components (all components give it back)', () => {
  manualSeed(4);
  const images = randn([12, 1, 3, 3], { dtype: 'float64' });
  const pca = new PCA().fit(images.reshape([12, 9]));
  const g = reconstructionGallery(pca, images.narrow(0, 0, 2), [0, 1, 9]);
  assert.equal(g.nrow, 4);
  assert.deepEqual(g.captions, ['original', 'k = 0', 'k = 1', 'k = 9', 'original', 'k = 0', 'k = 1', 'k = 9']);
  assert.deepEqual(g.images[4].shape, [1, 3, 3]);
  assertClose(g.images[3].data, images.data.subarray(0, 9), { atol: 1e-10, what: 'k = 9' });
  assertClose(g.images[5].data, pca.mean.data, { atol: 1e-12, what: 'k = 0 is the mean' });
  assertClose(g.images[6].data, pca.reconstruct(images.narrow(0, 1, 1).reshape([1, 9]), 1).data, { atol: 1e-12, what: 'k = 1' });
  assert.throws(() => reconstructionGallery(pca, images.reshape([12, 9]), [1]), /reconstructionGallery: images must be \[M, C, H, W\], got \[12,9\]/);
});

test('embeddingMapSpec: the scatter with a thumbnail layer, classes in their colours; tintImage; thumbnails render', async () => {
  const points = [{ x: 0, y: 0, label: 'b' }, { x: 1, y: 2, label: 'a' }];
  const thumb = tintImage(tensor([0, 0.5, 2, -1], { shape: [1, 2, 2] }), '#ff8000');
  assert.deepEqual(thumb.shape, [4, 2, 2]);
  assertClose(thumb.data, [1, 1, 1, 1, 128 / 255, 128 / 255, 128 / 255, 128 / 255, 0, 0, 0, 0, 0, 0.5, 1, 0], { atol: 1e-7 });
  const url = await imageDataUrl(thumb);
  const png = await sharp(Buffer.from(url.slice('data:image/png;base64,'.length), 'base64')).raw().toBuffer({ resolveWithObject: true });
  assert.equal(png.info.channels, 4);
  assert.deepEqual([...png.data.subarray(0, 8)], [255, 128, 0, 0, 255, 128, 0, 128]);
  const spec = embeddingMapSpec(points, [{ x: 1, y: 2, url }], { classes: ['a', 'b'], thumbnailSize: 16 }) as Json;
  assert.equal(spec.layer.length, 2);
  assert.deepEqual(spec.layer[0].encoding.color.scale, { domain: ['a', 'b'], range: [CLASS_COLORS[0], CLASS_COLORS[1]] });
  assert.deepEqual(spec.datasets.thumbnails, [{ x: 1, y: 2, url }]);
  assert.equal(spec.layer[1].mark.width, 16);
  const svg = await renderSvg(spec);
  assert.equal((svg.match(/<image /g) ?? []).length, 1);
  assert.throws(() => embeddingMapSpec(points, [], { classes: ['a'] }), /embeddingMapSpec: points\[0\] has label 'b', which is not in classes/);
  assert.throws(() => tintImage(tensor([0], { shape: [1, 1, 1] }), 'orange'), /tintImage: color must be '#rrggbb', got 'orange'/);
  assert.throws(() => tintImage(thumb, '#000000'), /tintImage: image must be \[1,H,W\] or \[3,H,W\], got \[4,2,2\]/);
});
