/**
 * t-SNE input affinities with scikit-learn 1.2's semantics (browser-safe): squared Euclidean
 * distances (dense, or to the k nearest neighbours, from the blocked GEMM distances of
 * neighbors.ts), each point's
 * Gaussian precision found by binary search so its conditional distribution has the requested
 * perplexity, and the symmetrised joint distribution P = (P_{j|i} + P_{i|j}) / Σ.
 * Matrices are flat row-major typed arrays.
 */
import { ArgumentError } from '../errors.js';
import { Tensor } from '../tensor.js';
import type { Matrix } from './matrix.js';
import { forEachDistanceBlock, kNeighbors } from './neighbors.js';

/** float64 machine epsilon: scikit-learn's floor for joint and low-dimensional probabilities. */
export const MACHINE_EPSILON = 2.220446049250313e-16;
const PERPLEXITY_TOLERANCE = 1e-5;
const SEARCH_STEPS = 100;

/** Joint probabilities over the k nearest neighbours, symmetrised: a square CSR matrix. */
export interface SparseAffinities {
  n: number;
  /** Row i's entries are indptr[i] .. indptr[i+1]. */
  indptr: Int32Array;
  /** Column of each entry, increasing within a row. */
  indices: Int32Array;
  values: Float64Array;
}

/**
 * Conditional probabilities p_{j|i} of `n` rows of `k` squared distances each (scikit-learn's
 * `_binary_search_perplexity`): for each row, the precision β of exp(−β·d²) is halved/doubled,
 * then bisected, for at most 100 steps until the entropy is within 1e-5 of log(perplexity).
 * With `k === n` the rows are full distance matrices and the diagonal is left at 0; otherwise every
 * entry is a neighbour. The distances are float32, as scikit-learn's, so the search takes the same steps.
 */
export function conditionalProbabilities(d2: Float32Array, n: number, k: number, perplexity: number): Float64Array {
  if (d2.length !== n * k) throw new ArgumentError('conditionalProbabilities', `expected ${n}×${k} distances, got ${d2.length}`);
  const dense = k === n;
  const p = new Float64Array(n * k);
  const target = Math.log(perplexity);
  for (let i = 0; i < n; i++) {
    const o = i * k;
    let beta = 1, lo = -Infinity, hi = Infinity;
    for (let step = 0; step < SEARCH_STEPS; step++) {
      let sum = 0;
      for (let j = 0; j < k; j++) {
        if (dense && j === i) continue;
        const v = Math.exp(-d2[o + j] * beta);
        p[o + j] = v;
        sum += v;
      }
      if (sum === 0) sum = 1e-8;
      let weighted = 0;
      for (let j = 0; j < k; j++) {
        p[o + j] /= sum;
        weighted += d2[o + j] * p[o + j];
      }
      const diff = Math.log(sum) + beta * weighted - target;
      if (Math.abs(diff) <= PERPLEXITY_TOLERANCE) break;
      if (diff > 0) {
        lo = beta;
        beta = hi === Infinity ? beta * 2 : (beta + hi) / 2;
      } else {
        hi = beta;
        beta = lo === -Infinity ? beta / 2 : (beta + lo) / 2;
      }
    }
  }
  return p;
}

/**
 * Dense joint probabilities from an n×n matrix of squared distances (scikit-learn's
 * `_joint_probabilities`): (P + Pᵀ) / ΣP, every off-diagonal entry at least float64 epsilon, the
 * diagonal 0. Returns the full symmetric n×n matrix.
 */
export function jointProbabilities(d2: Float32Array, n: number, perplexity: number): Float64Array {
  checkPerplexity('jointProbabilities', perplexity, n);
  const c = conditionalProbabilities(d2, n, n, perplexity);
  let sum = 0;
  for (let i = 0; i < n * n; i++) sum += c[i];
  sum = Math.max(2 * sum, MACHINE_EPSILON);
  const p = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const v = Math.max((c[i * n + j] + c[j * n + i]) / sum, MACHINE_EPSILON);
      p[i * n + j] = v;
      p[j * n + i] = v;
    }
  }
  return p;
}

/**
 * Sparse joint probabilities from each point's k nearest neighbours (scikit-learn's
 * `_joint_probabilities_nn`): conditional probabilities over the neighbours, then P + Pᵀ divided by
 * its sum. `neighbors` and `d2` are n×k (indices and squared distances, the point itself excluded).
 */
export function jointProbabilitiesNN(neighbors: Int32Array, d2: Float32Array, n: number, k: number, perplexity: number): SparseAffinities {
  checkPerplexity('jointProbabilitiesNN', perplexity, k + 1);
  if (neighbors.length !== n * k) throw new ArgumentError('jointProbabilitiesNN', `expected ${n}×${k} neighbour indices, got ${neighbors.length}`);
  const c = conditionalProbabilities(d2, n, k, perplexity);
  // Reverse adjacency: for each point, the positions (r·k + m) where it is a neighbour of r.
  const revPtr = new Int32Array(n + 1);
  for (let e = 0; e < n * k; e++) revPtr[neighbors[e] + 1]++;
  for (let i = 0; i < n; i++) revPtr[i + 1] += revPtr[i];
  const rev = new Int32Array(n * k), fill = revPtr.slice(0, n);
  for (let e = 0; e < n * k; e++) rev[fill[neighbors[e]]++] = e;

  const indptr = new Int32Array(n + 1);
  let indices = new Int32Array(2 * n * k), values = new Float64Array(2 * n * k);
  const acc = new Float64Array(n), seen = new Uint8Array(n);
  let nnz = 0, total = 0;
  for (let i = 0; i < n; i++) {
    const start = nnz;
    // Row i of P + Pᵀ: its own neighbours, then the points that have i as a neighbour.
    for (let e = i * k; e < (i + 1) * k + revPtr[i + 1] - revPtr[i]; e++) {
      const pos = e < (i + 1) * k ? e : rev[revPtr[i] + e - (i + 1) * k];
      const j = e < (i + 1) * k ? neighbors[pos] : Math.floor(pos / k);
      if (!seen[j]) { seen[j] = 1; indices[nnz++] = j; }
      acc[j] += c[pos];
    }
    indices.subarray(start, nnz).sort();
    for (let e = start; e < nnz; e++) {
      const j = indices[e];
      values[e] = acc[j];
      total += acc[j];
      acc[j] = 0;
      seen[j] = 0;
    }
    indptr[i + 1] = nnz;
  }
  indices = indices.slice(0, nnz);
  values = values.slice(0, nnz);
  const sum = Math.max(total, MACHINE_EPSILON);
  for (let e = 0; e < nnz; e++) values[e] /= sum;
  return { n, indptr, indices, values };
}

function checkPerplexity(fn: string, perplexity: number, n: number): void {
  if (!(perplexity > 0) || !(perplexity < n)) throw new ArgumentError(fn, `perplexity must be in (0, ${n}) (less than the number of points), got ${perplexity}`);
}

/** The n×n squared Euclidean distances of the rows of x, as float32 (what the perplexity search reads); the diagonal exactly 0. */
export function squaredDistances(x: Matrix): Float32Array {
  const n = x.rows, out = new Float32Array(n * n);
  forEachDistanceBlock(x, x, 'euclidean', (start, count, dist) => {
    out.set(dist.subarray(0, count * n), start * n);
    for (let i = start; i < start + count; i++) out[i * n + i] = 0;
  });
  return out;
}

/**
 * The k nearest rows of `references` to each row of x (exact), or without references each row's k
 * nearest among the other rows of x: indices and squared distances (float32), rows × k each.
 * The neighbours are ranked on float32 products (the fast kernels); their distances are then
 * computed directly from the rows, in float64, so only near-ties can rank differently.
 */
export function nearestNeighbors(x: Tensor, k: number, references?: Tensor): { indices: Int32Array; d2: Float32Array } {
  const ref = references ?? x;
  // Without references, one float32 copy stands for both, so kNeighbors takes its symmetric path.
  const x32 = asFloat32(x), ref32 = references ? asFloat32(references) : x32;
  const { indices } = kNeighbors(x32, ref32, k, { excludeSelf: !references });
  const a = x.data, b = ref.data, d = x.shape[1], rows = x.shape[0];
  const d2 = new Float32Array(rows * k);
  for (let i = 0; i < rows; i++) {
    for (let m = 0; m < k; m++) {
      const j = indices[i * k + m];
      let s = 0;
      for (let f = 0; f < d; f++) { const t = a[i * d + f] - b[j * d + f]; s += t * t; }
      d2[i * k + m] = s;
    }
  }
  return { indices, d2 };
}

function asFloat32(t: Tensor): Tensor {
  return t.dtype === 'float32' ? t : new Tensor(Float32Array.from(t.data), [...t.shape]);
}
