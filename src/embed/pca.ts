/**
 * Principal component analysis with scikit-learn's semantics (sklearn.decomposition.PCA, 1.2):
 * the data are centred, components are the right singular vectors, signs follow `svd_flip` (the
 * largest-magnitude entry of each column of U is positive), explained variance is S²/(N−1), and
 * `whiten` scales the projections to unit variance.
 *
 * Solvers: 'full' computes the exact decomposition from the smaller cross-product (XᵀX when
 * N ≥ D, XXᵀ otherwise) with a float64 symmetric eigensolver; 'randomized' is Halko et al.'s
 * range finder with power iterations and oversampling (sklearn's `randomized_svd`, each iteration
 * re-orthonormalised by CholeskyQR where sklearn uses LU: the same subspace);
 * 'auto' picks as sklearn 1.2 does. The cross-products and projections run on the backend's GEMM
 * in the input's dtype (float32 input uses the fast kernels). A cross-product squares the
 * condition number: small singular values are accurate to about eps·s[0]²/s, and those below
 * s[0]·√(eps·D) are reported as 0 (with float64 input the fixtures agree with LAPACK to 1e-10).
 */
import { ArgumentError, NotSupportedError, ShapeError, fmtShape } from '../errors.js';
import { checkBoolean, checkOneOf, checkPositiveInt, fmtValue, resolveOptions } from '../options.js';
import { Generator } from '../random.js';
import { Tensor } from '../tensor.js';
import type { DType, FloatArray } from '../dtype.js';
import { symmetricEigen, type SymmetricEigen } from './linalg.js';
import { asMatrix, computeDType, gemm, orthonormalColumns, transposeMatrix } from './matrix.js';

export interface PCAOptions {
  /**
   * Components to keep: an integer in [1, min(N, D)], a fraction in (0, 1) (keep the fewest
   * components whose explained-variance ratios add up to more than it; 'full' solver only), or
   * undefined for min(N, D).
   */
  nComponents?: number;
  /** Scale projections to unit variance (divide by √explainedVariance). Default false. */
  whiten?: boolean;
  /** Default 'auto': 'full' when max(N, D) ≤ 500 or nComponents is a fraction or ≥ 0.8·min(N, D), else 'randomized'. */
  svdSolver?: 'auto' | 'full' | 'randomized';
  /** Power iterations of the randomized solver. Default 'auto': 7 when nComponents < 0.1·min(N, D), else 4. */
  iteratedPower?: number | 'auto';
  /** Extra random directions of the randomized solver. Default 10. */
  nOversamples?: number;
  /** Seed of the randomized solver's Gaussian test matrix. Default 0. */
  seed?: number;
}

const KNOWN = ['nComponents', 'whiten', 'svdSolver', 'iteratedPower', 'nOversamples', 'seed'];
const UNSUPPORTED_SOLVERS = ['arpack'];

/**
 * PCA fitted on an [N, D] tensor.
 * @example
 * const pca = new PCA({ nComponents: 2 });
 * const y = pca.fitTransform(x);             // [N, 2]
 * pca.explainedVarianceRatio.toArray();      // e.g. [0.42, 0.17]
 */
export class PCA {
  readonly options: Required<Omit<PCAOptions, 'nComponents'>> & { nComponents: number | undefined };
  private fitted: {
    components: Tensor; explainedVariance: Tensor; explainedVarianceRatio: Tensor; singularValues: Tensor; mean: Tensor;
    noiseVariance: number; nSamples: number; nFeatures: number; solver: 'full' | 'randomized';
  } | null = null;

  constructor(options: PCAOptions = {}) {
    const op = 'PCA';
    if (options && typeof options === 'object' && 'svdSolver' in options && UNSUPPORTED_SOLVERS.includes(options.svdSolver as string)) {
      throw new NotSupportedError(op, `svdSolver '${options.svdSolver}' is not supported (use 'full' or 'randomized')`);
    }
    const o = resolveOptions<PCAOptions>(op, options, { whiten: false, svdSolver: 'auto', iteratedPower: 'auto', nOversamples: 10, seed: 0 }, KNOWN);
    const k = o.nComponents;
    if (k !== undefined && !(typeof k === 'number' && ((Number.isInteger(k) && k >= 1) || (k > 0 && k < 1)))) {
      throw new ArgumentError(op, `nComponents must be a positive integer or a fraction in (0, 1), got ${fmtValue(k)}`);
    }
    checkBoolean(op, 'whiten', o.whiten);
    checkOneOf(op, 'svdSolver', o.svdSolver, ['auto', 'full', 'randomized']);
    if (o.iteratedPower !== 'auto') checkPositiveInt(op, 'iteratedPower', o.iteratedPower);
    checkPositiveInt(op, 'nOversamples', o.nOversamples);
    if (!Number.isInteger(o.seed)) throw new ArgumentError(op, `seed must be an integer, got ${fmtValue(o.seed)}`);
    if (o.svdSolver === 'randomized' && k !== undefined && !Number.isInteger(k)) {
      throw new ArgumentError(op, `nComponents ${k} (a fraction) needs svdSolver 'full'`);
    }
    this.options = o as PCA['options'];
  }

  private get state() {
    if (!this.fitted) throw new ArgumentError('PCA', 'not fitted yet: call fit() or fitTransform() first');
    return this.fitted;
  }

  /** Principal axes, [nComponents, D] float64, one per row, by decreasing explained variance. */
  get components(): Tensor { return this.state.components; }
  /** Variance of the data along each component (S²/(N−1)), float64. */
  get explainedVariance(): Tensor { return this.state.explainedVariance; }
  /** Fraction of the total variance along each component, float64. */
  get explainedVarianceRatio(): Tensor { return this.state.explainedVarianceRatio; }
  /** Singular values of the centred data, float64. */
  get singularValues(): Tensor { return this.state.singularValues; }
  /** Per-feature mean of the training data, [D] float64. */
  get mean(): Tensor { return this.state.mean; }
  /** Mean variance of the discarded directions (0 when every component is kept), as sklearn's `noise_variance_`. */
  get noiseVariance(): number { return this.state.noiseVariance; }
  /** The number of components kept. */
  get nComponents(): number { return this.state.components.shape[0]; }
  /** The solver used by the last fit ('auto' resolved). */
  get solver(): 'full' | 'randomized' { return this.state.solver; }

  /** Fits the components to `x` [N, D] (N ≥ 2). */
  fit(x: Tensor): this {
    this.fitProjecting(x, false);
    return this;
  }

  /**
   * Fits, then returns the projections of x as transform(x) would, from the fit's U·S (as
   * sklearn's fit_transform) instead of another product with the data.
   */
  fitTransform(x: Tensor): Tensor {
    const { us, width } = this.fitProjecting(x, true)!;
    const n = x.shape[0], k = this.nComponents;
    const y = x.dtype === 'float64' ? new Float64Array(n * k) : new Float32Array(n * k);
    const scale = this.options.whiten ? this.explainedVariance.data.map((v) => 1 / Math.sqrt(v)) : new Float64Array(k).fill(1);
    for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) y[i * k + j] = us[i * width + j] * scale[j];
    return new Tensor(y, [n, k]);
  }

  /** The fit; with `project`, also U·S of the training data (rows; `width` columns, the first nComponents used). */
  private fitProjecting(x: Tensor, project: boolean): { us: FloatArray; width: number } | null {
    const op = 'PCA.fit';
    const { data, rows: n, cols: d } = asMatrix(op, 'x', x);
    if (n < 2) throw new ShapeError(op, `needs at least 2 samples, got shape ${fmtShape(x.shape)}`);
    const small = Math.min(n, d);
    const requested = this.options.nComponents;
    if (requested !== undefined && requested >= 1 && requested > small) {
      throw new ArgumentError(op, `nComponents ${requested} must be at most min(N, D) = ${small} for x of shape ${fmtShape(x.shape)}`);
    }
    let solver = this.options.svdSolver;
    if (solver === 'auto') {
      const k = requested ?? small;
      solver = Math.max(n, d) <= 500 || k < 1 || k >= 0.8 * small ? 'full' : 'randomized';
    }
    // The mean in float64; the centred data and the products in the input's dtype.
    const mean = new Float64Array(d);
    for (let i = 0, p = 0; i < n; i++) for (let j = 0; j < d; j++, p++) mean[j] += data[p];
    for (let j = 0; j < d; j++) mean[j] /= n;
    const xc = centre(data, n, d, mean);
    let totalSq = 0;
    for (let p = 0; p < xc.length; p++) totalSq += xc[p] * xc[p];
    const totalVar = totalSq / (n - 1);
    // How many components are kept, from all the singular values (a fraction needs their ratios).
    const keep = (sv: Float64Array): number => {
      if (requested === undefined) return sv.length;
      if (requested >= 1) return requested;
      // The fewest components whose cumulative ratio exceeds the fraction (sklearn's searchsorted(..., side='right') + 1).
      let cum = 0, k = 0;
      while (k < sv.length) {
        cum += (sv[k] * sv[k]) / (n - 1) / totalVar;
        k++;
        if (cum > requested) break;
      }
      return k;
    };
    const svd = solver === 'full' ? fullSvd(xc, n, d, keep) : randomizedSvd(xc, n, d, requested as number, this.options);
    const k = svd.vt.length / d;
    const s = svd.s.slice(0, k);
    const ev = s.map((v) => (v * v) / (n - 1));
    const ratio = ev.map((v) => (totalVar > 0 ? v / totalVar : 0));
    const kept = ev.reduce((a, b) => a + b, 0);
    this.fitted = {
      components: new Tensor(svd.vt.slice(0, k * d), [k, d]),
      explainedVariance: new Tensor(ev, [k]),
      explainedVarianceRatio: new Tensor(ratio, [k]),
      singularValues: new Tensor(s, [k]),
      mean: new Tensor(mean, [d]),
      noiseVariance: k < small ? Math.max(0, totalVar - kept) / (small - k) : 0,
      nSamples: n, nFeatures: d, solver,
    };
    return project ? { us: svd.us, width: k } : null;
  }

  /** Projects `x` [M, D] onto the components: (x − mean)·componentsᵀ, divided by √explainedVariance when whitening. [M, k] in x's dtype. */
  transform(x: Tensor): Tensor {
    const st = this.state;
    const { data, rows: m, cols: d } = asMatrix('PCA.transform', 'x', x);
    if (d !== st.nFeatures) throw new ShapeError('PCA.transform', `x has ${d} features but the PCA was fitted on ${st.nFeatures} (x ${fmtShape(x.shape)})`);
    const k = this.nComponents;
    const dtype = computeDType(data);
    const y = gemm(centre(data, m, d, st.mean.data as Float64Array), [m, d], st.components.data, [k, d], dtype, { transposeB: true });
    if (this.options.whiten) {
      const ev = st.explainedVariance.data;
      for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) y[i * k + j] /= Math.sqrt(ev[j]);
    }
    return new Tensor(y, [m, k]);
  }

  /** Maps projections `y` [M, k] back to data space: y·components (whitening undone) + mean. [M, D] in y's dtype. */
  inverseTransform(y: Tensor): Tensor {
    const st = this.state;
    const { data, rows: m, cols: k } = asMatrix('PCA.inverseTransform', 'y', y);
    if (k !== this.nComponents) throw new ShapeError('PCA.inverseTransform', `y has ${k} columns but the PCA keeps ${this.nComponents} components (y ${fmtShape(y.shape)})`);
    const d = st.nFeatures;
    let comps: FloatArray = st.components.data as Float64Array;
    if (this.options.whiten) {
      const ev = st.explainedVariance.data;
      comps = comps.map((v, i) => v * Math.sqrt(ev[Math.floor(i / d)]));
    }
    const out = gemm(data, [m, k], comps, [k, d], computeDType(data));
    const mu = st.mean.data;
    for (let i = 0; i < m; i++) for (let j = 0; j < d; j++) out[i * d + j] += mu[j];
    return new Tensor(out, [m, d]);
  }

  /** `x` [M, D] rebuilt from its first `k` components (no whitening involved): [M, D] in x's dtype. */
  reconstruct(x: Tensor, k = this.nComponents): Tensor {
    const st = this.state;
    const { data, rows: m, cols: d } = asMatrix('PCA.reconstruct', 'x', x);
    if (d !== st.nFeatures) throw new ShapeError('PCA.reconstruct', `x has ${d} features but the PCA was fitted on ${st.nFeatures} (x ${fmtShape(x.shape)})`);
    if (!Number.isInteger(k) || k < 0 || k > this.nComponents) throw new ArgumentError('PCA.reconstruct', `k must be an integer in [0, ${this.nComponents}], got ${fmtValue(k)}`);
    const dtype = computeDType(data);
    const mu = st.mean.data;
    const out = dtype === 'float64' ? new Float64Array(m * d) : new Float32Array(m * d);
    if (k > 0) {
      const comps = st.components.data.subarray(0, k * d);
      const y = gemm(centre(data, m, d, mu as Float64Array), [m, d], comps, [k, d], dtype, { transposeB: true });
      out.set(gemm(y, [m, k], comps, [k, d], dtype));
    }
    for (let i = 0; i < m; i++) for (let j = 0; j < d; j++) out[i * d + j] += mu[j];
    return new Tensor(out, [m, d]);
  }
}

/** data − mean, row by row, in data's float type. */
function centre(data: FloatArray, rows: number, cols: number, mean: Float64Array): FloatArray {
  const out = data instanceof Float64Array ? new Float64Array(rows * cols) : new Float32Array(rows * cols);
  for (let i = 0, p = 0; i < rows; i++) for (let j = 0; j < cols; j++, p++) out[p] = data[p] - mean[j];
  return out;
}

interface Svd {
  /** Singular values, largest first (all of them for 'full'). */
  s: Float64Array;
  /** Right singular vectors of the kept components as rows, k × d. */
  vt: Float64Array;
  /** U·S of the kept components, n × k: the projections of the (centred) data on them. */
  us: FloatArray;
}

/**
 * Exact SVD of the centred n×d matrix from the eigen-decomposition of its smaller cross-product;
 * `keep(s)` says how many components are kept, and only those are projected and sign-flipped.
 */
function fullSvd(xc: FloatArray, n: number, d: number, keep: (s: Float64Array) => number): Svd {
  const dtype = computeDType(xc);
  const small = Math.min(n, d);
  if (n >= d) {
    const { values, vectors } = eigenSkippingConstant(Float64Array.from(gemm(transposeMatrix(xc, n, d), [d, n], xc, [n, d], dtype)), d);
    const s = singularValues(values, small, dtype, d), k = keep(s);
    const vt = vectors.slice(0, k * d);
    // svd_flip decides on U (here U·S = X·V): the sign of each column's largest-magnitude entry.
    const us = gemm(xc, [n, d], vt, [k, d], dtype, { transposeB: true });
    flip(vt, d, us, k);
    return { s, vt, us };
  }
  const { values, vectors } = symmetricEigen(Float64Array.from(gemm(xc, [n, d], xc, [n, d], dtype, { transposeB: true })), n);
  const s = singularValues(values, small, dtype, d), k = keep(s);
  // Rows of `vectors` are the columns of U; V's rows are Uᵀ·X / S.
  const vt = Float64Array.from(gemm(vectors.subarray(0, k * n), [k, n], xc, [n, d], dtype));
  completeRows(vt, s.subarray(0, k), d);
  const us = new Float64Array(n * k);
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) us[i * k + j] = vectors[j * n + i] * s[j];
  flip(vt, d, us, k);
  return { s, vt, us };
}

/**
 * symmetricEigen of the covariance-like matrix c (d×d), with the rows and columns of constant
 * features split off first: they are exactly zero, so each is an eigenvector (a unit vector) of
 * eigenvalue 0, and the O(d³) solver runs on the rest only (111 of the 784 pixels of the 10,000
 * bundled MNIST digits are always 0: the solver does about 37 % less work).
 */
function eigenSkippingConstant(c: Float64Array, d: number): SymmetricEigen {
  const active: number[] = [];
  for (let j = 0; j < d; j++) if (c[j * d + j] > 0) active.push(j);
  const m = active.length;
  if (m === d) return symmetricEigen(c, d);
  const sub = new Float64Array(m * m);
  active.forEach((r, a) => active.forEach((q, b) => { sub[a * m + b] = c[r * d + q]; }));
  const inner = m > 0 ? symmetricEigen(sub, m) : { values: new Float64Array(0), vectors: new Float64Array(0) };
  const values = new Float64Array(d), vectors = new Float64Array(d * d);
  for (let j = 0; j < m; j++) {
    values[j] = inner.values[j];
    active.forEach((r, a) => { vectors[j * d + r] = inner.vectors[j * m + a]; });
  }
  // The inner eigenvalues are ≥ 0 up to rounding; the constant features' zeros follow them.
  let row = m;
  for (let j = 0; j < d; j++) if (!(c[j * d + j] > 0)) vectors[row++ * d + j] = 1;
  return { values, vectors };
}

/** Halko–Martinsson–Tropp randomized SVD of the centred n×d matrix, first k components. */
function randomizedSvd(xc: FloatArray, n: number, d: number, k: number, o: PCA['options']): Svd {
  const dtype = computeDType(xc);
  const l = Math.min(k + o.nOversamples, Math.min(n, d));
  const iters = o.iteratedPower === 'auto' ? (k < 0.1 * Math.min(n, d) ? 7 : 4) : o.iteratedPower;
  const gen = new Generator(o.seed);
  const omega = new Float64Array(d * l).map(() => gen.normal());
  const xt = transposeMatrix(xc, n, d);
  // Power iterations keep the basis well conditioned with one CholeskyQR pass in the data's dtype; the last is exact.
  const basis = (a: FloatArray, rows: number, last: boolean) => orthonormalColumns(Float64Array.from(a), rows, l, last ? 'float64' : dtype, last ? 2 : 1);
  let q = basis(gemm(xc, [n, d], omega, [d, l], dtype), n, iters === 0);
  for (let it = 0; it < iters; it++) {
    const z = basis(gemm(xt, [d, n], q, [n, l], dtype), d, false);
    q = basis(gemm(xc, [n, d], z, [d, l], dtype), n, it === iters - 1);
  }
  // B = Qᵀ·X (l×d), held as Bᵀ = Xᵀ·Q; its SVD from the eigen-decomposition of B·Bᵀ (l×l).
  const bt = Float64Array.from(gemm(xt, [d, n], q, [n, l], dtype));
  const { values, vectors } = symmetricEigen(Float64Array.from(gemm(bt, [d, l], bt, [d, l], 'float64', { transposeA: true })), l);
  const s = singularValues(values, k, dtype, d);
  const vt = Float64Array.from(gemm(vectors.subarray(0, k * l), [k, l], bt, [d, l], 'float64', { transposeB: true }));
  completeRows(vt, s, d);
  // U·S = Q·Û·S, for the sign decision and fitTransform.
  const us = gemm(q, [n, l], vectors.subarray(0, k * l), [k, l], 'float64', { transposeB: true });
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) us[i * k + j] *= s[j];
  flip(vt, d, us, k);
  return { s, vt, us };
}

/**
 * The first k singular values from the eigenvalues of a cross-product (largest first). Those are
 * accurate to about eps·s[0]² (eps of the product's dtype), so singular values below
 * s[0]·√(eps·size) are zero to working precision, and are returned as 0.
 */
function singularValues(values: Float64Array, k: number, dtype: DType, size: number): Float64Array {
  const eps = dtype === 'float64' ? 2 ** -52 : 2 ** -23;
  const s = new Float64Array(k);
  for (let j = 0; j < k; j++) s[j] = Math.sqrt(Math.max(values[j], 0));
  const tol = s[0] * Math.sqrt(eps * size) * 4;
  for (let j = 0; j < k; j++) if (s[j] <= tol) s[j] = 0;
  return s;
}

/**
 * Divides row j of vt (the unnormalised Uᵀ·X) by s[j]. Rows of a zero singular value carry no
 * direction of the data: they are replaced by unit vectors orthogonal to the rows before them
 * (LAPACK's choice there is as arbitrary).
 */
function completeRows(vt: Float64Array, s: Float64Array, d: number): void {
  let basis = 0;
  for (let j = 0; j < s.length; j++) {
    const row = vt.subarray(j * d, (j + 1) * d);
    if (s[j] > 0) {
      for (let i = 0; i < d; i++) row[i] /= s[j];
      continue;
    }
    for (; ; basis++) {
      if (basis >= d) throw new ArgumentError('PCA', 'could not complete an orthonormal basis');
      row.fill(0);
      row[basis] = 1;
      for (let p = 0; p < j; p++) {
        const prev = vt.subarray(p * d, (p + 1) * d);
        let dot = 0;
        for (let i = 0; i < d; i++) dot += prev[i] * row[i];
        for (let i = 0; i < d; i++) row[i] -= dot * prev[i];
      }
      let norm = 0;
      for (let i = 0; i < d; i++) norm += row[i] * row[i];
      if (norm > 0.5) {
        for (let i = 0; i < d; i++) row[i] /= Math.sqrt(norm);
        basis++;
        break;
      }
    }
  }
}

/**
 * scikit-learn's svd_flip: each component's sign makes the largest-magnitude entry of its column
 * of U (here of U·S, n × k) positive; rows of vt and columns of us are flipped together.
 */
function flip(vt: Float64Array, d: number, us: FloatArray, k: number): void {
  const n = us.length / k;
  for (let j = 0; j < k; j++) {
    let best = 0, sign = 1;
    for (let i = 0; i < n; i++) {
      const v = us[i * k + j];
      if (Math.abs(v) > best) { best = Math.abs(v); sign = Math.sign(v); }
    }
    if (sign > 0) continue;
    for (let i = 0; i < d; i++) vt[j * d + i] = -vt[j * d + i];
    for (let i = 0; i < n; i++) us[i * k + j] = -us[i * k + j];
  }
}
