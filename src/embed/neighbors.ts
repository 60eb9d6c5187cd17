/**
 * Exact nearest neighbours on the backend's GEMM: distances for a block of queries at a time as
 * ‖q‖² + ‖r‖² − 2·q·r (clamped at 0, square-rooted for 'euclidean') or 1 − cos(q, r) for 'cosine',
 * then a k-smallest selection per row. Ties are broken by the smaller reference index.
 */
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { checkOneOf, checkPositiveInt, resolveOptions } from '../options.js';
import type { FloatArray } from '../dtype.js';
import type { Tensor } from '../tensor.js';
import { asMatrix, gemm, transposeMatrix, unitRows, type Matrix } from './matrix.js';

export type Metric = 'euclidean' | 'cosine';
export const METRICS: readonly Metric[] = ['euclidean', 'cosine'];

/** Entries of one block of the distance matrix (queries × references) computed at once. */
const BLOCK_ENTRIES = 1 << 22;

function rowSquares(data: FloatArray, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += data[i * cols + j] ** 2;
    out[i] = s;
  }
  return out;
}

/** The rows the products read (unit rows for 'cosine'), their squared norms (null for 'cosine'), and the GEMM's dtype. */
function prepare(m: Matrix, metric: Metric): { data: FloatArray; norms: Float64Array | null } {
  if (metric === 'cosine') return { data: unitRows(m), norms: null };
  return { data: m.data, norms: rowSquares(m.data, m.rows, m.cols) };
}

/** Products run in float64 when either input is float64, else in float32 on the fast kernels. */
const productDType = (a: Matrix, b: Matrix) => (a.data instanceof Float64Array || b.data instanceof Float64Array ? 'float64' : 'float32');

/**
 * Calls `fn(start, count, dist)` for consecutive blocks of query rows, `dist` holding the
 * count × references distances (squared Euclidean for 'euclidean', 1 − cosine for 'cosine').
 */
export function forEachDistanceBlock(queries: Matrix, refs: Matrix, metric: Metric, fn: (start: number, count: number, dist: FloatArray) => void): void {
  const dtype = productDType(queries, refs);
  const q = prepare(queries, metric), r = prepare(refs, metric);
  const d = queries.cols, n = refs.rows;
  // Transposed once here rather than by every block's product.
  const rt = transposeMatrix(r.data, n, d);
  const block = Math.max(1, Math.min(queries.rows, Math.floor(BLOCK_ENTRIES / n)));
  for (let start = 0; start < queries.rows; start += block) {
    const count = Math.min(block, queries.rows - start);
    const dist = gemm(q.data.subarray(start * d, (start + count) * d), [count, d], rt, [d, n], dtype);
    for (let i = 0; i < count; i++) {
      const row = i * n;
      if (!q.norms) for (let j = 0; j < n; j++) dist[row + j] = 1 - dist[row + j];
      else for (let j = 0; j < n; j++) dist[row + j] = Math.max(0, q.norms[start + i] + r.norms![j] - 2 * dist[row + j]);
    }
    fn(start, count, dist);
  }
}

export interface NeighborsOptions {
  /** Default 'euclidean'. */
  metric?: Metric;
  /**
   * Leave each query out of its own neighbours (by index: query i is reference i), as sklearn's
   * `kneighbors()` without X. Queries and references must then be the same rows. Default false.
   */
  excludeSelf?: boolean;
}

export interface Neighbors {
  /** [queries × k] reference indices, nearest first. */
  indices: Int32Array;
  /** [queries × k] distances (Euclidean, or 1 − cosine similarity). */
  distances: Float64Array;
  /** Neighbours per query. */
  k: number;
}

/**
 * The k nearest references of each query (retrieval: for query images, the k nearest training
 * images), nearest first; equal distances keep the smaller index first.
 * @example const { indices, distances } = kNeighbors(testFeatures, trainFeatures, 5, { metric: 'cosine' });
 */
export function kNeighbors(queries: Tensor, references: Tensor, k: number, options: NeighborsOptions = {}): Neighbors {
  const op = 'kNeighbors';
  const o = resolveOptions<Required<NeighborsOptions>>(op, options, { metric: 'euclidean', excludeSelf: false }, ['metric', 'excludeSelf']);
  checkOneOf(op, 'metric', o.metric, METRICS);
  const q = asMatrix(op, 'queries', queries), r = asMatrix(op, 'references', references);
  if (q.cols !== r.cols) throw new ShapeError(op, `queries and references have different feature sizes (queries ${fmtShape(queries.shape)}, references ${fmtShape(references.shape)})`);
  if (o.excludeSelf && q.rows !== r.rows) throw new ShapeError(op, `excludeSelf needs the queries to be the references (queries ${fmtShape(queries.shape)}, references ${fmtShape(references.shape)})`);
  checkPositiveInt(op, 'k', k);
  const available = r.rows - (o.excludeSelf ? 1 : 0);
  if (k > available) throw new ArgumentError(op, `k = ${k} is more than the ${available} references available${o.excludeSelf ? ' (excluding each query itself)' : ''}`);
  return selectNearest(q, r, k, o.metric, o.excludeSelf);
}

/**
 * The k-smallest selection of kNeighbors, fused with the distances: every query keeps its k best
 * so far as a sorted list (most candidates fail the comparison with its k-th), fed in increasing
 * reference order so equal distances keep the smaller index. Each block is the product of all the
 * references with a block of queries (references × queries: the large operand is read as it is
 * stored, only the small block is transposed). When the queries are the references, only the
 * references from the block's first query on are multiplied, and each distance is offered to both
 * of its rows: half the GEMM of the full matrix.
 */
function selectNearest(queries: Matrix, refs: Matrix, k: number, metric: Metric, excludeSelf: boolean): Neighbors {
  const dtype = productDType(queries, refs);
  const symmetric = queries.data === refs.data;
  const r = prepare(refs, metric), q = symmetric ? r : prepare(queries, metric);
  const d = queries.cols, n = refs.rows, rows = queries.rows;
  const bestD = new Float64Array(rows * k), bestI = new Int32Array(rows * k);
  const filled = new Int32Array(rows), worst = new Float64Array(rows).fill(Infinity);
  const offer = (row: number, j: number, v: number): void => {
    const o = row * k;
    let p = filled[row] === k ? k - 1 : filled[row]++;
    while (p > 0 && bestD[o + p - 1] > v) {
      bestD[o + p] = bestD[o + p - 1];
      bestI[o + p] = bestI[o + p - 1];
      p--;
    }
    bestD[o + p] = v;
    bestI[o + p] = j;
    if (filled[row] === k) worst[row] = bestD[o + k - 1];
  };
  const block = Math.max(1, Math.min(rows, Math.floor(BLOCK_ENTRIES / n)));
  for (let start = 0; start < rows; start += block) {
    const count = Math.min(block, rows - start), first = symmetric ? start : 0;
    const qt = transposeMatrix(q.data.subarray(start * d, (start + count) * d), count, d);
    const dot = gemm(r.data.subarray(first * d), [n - first, d], qt, [d, count], dtype);
    for (let j = first; j < n; j++) {
      const at = (j - first) * count, rn = r.norms ? r.norms[j] : 0;
      // In the symmetric case, the pairs (i, j) with i > j are offered when j's block comes.
      const end = symmetric ? Math.min(count, j - start + 1) : count;
      for (let b = 0; b < end; b++) {
        const i = start + b;
        if (excludeSelf && i === j) continue;
        const v = q.norms ? Math.max(0, q.norms[i] + rn - 2 * dot[at + b]) : 1 - dot[at + b];
        if (v < worst[i]) offer(i, j, v);
        if (symmetric && i !== j && v < worst[j]) offer(j, i, v);
      }
    }
  }
  const distances = metric === 'euclidean' ? bestD.map(Math.sqrt) : bestD;
  return { indices: bestI, distances, k };
}
