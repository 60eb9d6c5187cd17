/**
 * Exact nearest neighbours on the backend's GEMM: distances for a block of queries at a time as
 * ‖q‖² + ‖r‖² − 2·q·r (clamped at 0, square-rooted for 'euclidean') or 1 − cos(q, r) for 'cosine',
 * then a k-smallest selection per row. Ties are broken by the smaller reference index.
 */
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { checkOneOf, checkPositiveInt, resolveOptions } from '../options.js';
import type { FloatArray } from '../dtype.js';
import type { Tensor } from '../tensor.js';
import { asMatrix, gemm, unitRows, type Matrix } from './matrix.js';

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

/**
 * Calls `fn(start, count, dist)` for consecutive blocks of query rows, `dist` holding the
 * count × references distances (squared Euclidean for 'euclidean', 1 − cosine for 'cosine').
 * Products run in float64 when either input is float64, else in float32 on the fast kernels.
 */
export function forEachDistanceBlock(queries: Matrix, refs: Matrix, metric: Metric, fn: (start: number, count: number, dist: FloatArray) => void): void {
  const dtype = queries.data instanceof Float64Array || refs.data instanceof Float64Array ? 'float64' : 'float32';
  const cos = metric === 'cosine';
  const q = cos ? unitRows(queries) : queries.data, r = cos ? unitRows(refs) : refs.data;
  const d = queries.cols, n = refs.rows;
  const rn = cos ? null : rowSquares(r, n, d), qn = cos ? null : rowSquares(q, queries.rows, d);
  const block = Math.max(1, Math.min(queries.rows, Math.floor(BLOCK_ENTRIES / n)));
  for (let start = 0; start < queries.rows; start += block) {
    const count = Math.min(block, queries.rows - start);
    const dist = gemm(q.subarray(start * d, (start + count) * d), [count, d], r, [n, d], dtype, { transposeB: true });
    for (let i = 0; i < count; i++) {
      const row = i * n;
      if (cos) for (let j = 0; j < n; j++) dist[row + j] = 1 - dist[row + j];
      else for (let j = 0; j < n; j++) dist[row + j] = Math.max(0, qn![start + i] + rn![j] - 2 * dist[row + j]);
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
  const indices = new Int32Array(q.rows * k), distances = new Float64Array(q.rows * k);
  const n = r.rows;
  const bestD = new Float64Array(k), bestI = new Int32Array(k);
  forEachDistanceBlock(q, r, o.metric, (start, count, dist) => {
    for (let i = 0; i < count; i++) {
      const self = o.excludeSelf ? start + i : -1;
      let filled = 0;
      // Insertion into a sorted list of the k best so far: most candidates fail the first comparison.
      for (let j = 0; j < n; j++) {
        if (j === self) continue;
        const v = dist[i * n + j];
        if (filled === k && !(v < bestD[k - 1])) continue;
        let p = filled === k ? k - 1 : filled++;
        while (p > 0 && bestD[p - 1] > v) {
          bestD[p] = bestD[p - 1];
          bestI[p] = bestI[p - 1];
          p--;
        }
        bestD[p] = v;
        bestI[p] = j;
      }
      const at = (start + i) * k;
      indices.set(bestI, at);
      for (let m = 0; m < k; m++) distances[at + m] = o.metric === 'euclidean' ? Math.sqrt(bestD[m]) : bestD[m];
    }
  });
  return { indices, distances, k };
}
