/**
 * How much of the neighbourhood structure an embedding keeps: trustworthiness exactly as
 * scikit-learn's `sklearn.manifold.trustworthiness` (1.2), without its N×N rank matrix.
 */
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { checkOneOf, checkPositiveInt, resolveOptions } from '../options.js';
import type { Tensor } from '../tensor.js';
import { asMatrix } from './matrix.js';
import { forEachDistanceBlock, kNeighbors, METRICS, type Metric } from './neighbors.js';

/**
 * T(k) = 1 − 2/(n·k·(2n − 3k − 1)) · Σᵢ Σ_{j ∈ Nᵏ(i) in the embedding} max(0, r(i, j) − k), where
 * r(i, j) is j's rank among i's neighbours in the original space (1 = nearest). 1 means every
 * embedded neighbourhood holds only true neighbours. `k` < n/2 as in sklearn. Ranks of equal
 * distances follow the point index.
 * @example trustworthiness(features, tsneXY, 10) // e.g. 0.98
 */
export function trustworthiness(x: Tensor, embedded: Tensor, k = 5, options: { metric?: Metric } = {}): number {
  const op = 'trustworthiness';
  const { metric } = resolveOptions<{ metric: Metric }>(op, options, { metric: 'euclidean' }, ['metric']);
  checkOneOf(op, 'metric', metric, METRICS);
  const xm = asMatrix(op, 'x', x);
  asMatrix(op, 'embedded', embedded);
  const n = xm.rows;
  if (embedded.shape[0] !== n) throw new ShapeError(op, `x and embedded have different numbers of rows (x ${fmtShape(x.shape)}, embedded ${fmtShape(embedded.shape)})`);
  checkPositiveInt(op, 'k', k);
  if (k >= n / 2) throw new ArgumentError(op, `k = ${k} must be less than n/2 = ${n / 2}`);
  const nb = kNeighbors(embedded, embedded, k, { excludeSelf: true });
  let penalty = 0;
  const thresholds = new Float64Array(k), owners = new Int32Array(k), below = new Int32Array(k + 1);
  const order = new Int32Array(k);
  forEachDistanceBlock(xm, xm, metric, (start, count, dist) => {
    for (let r = 0; r < count; r++) {
      const i = start + r, row = dist.subarray(r * n, (r + 1) * n);
      // The embedded neighbours' original-space distances, sorted; one pass counts the points closer than each.
      for (let m = 0; m < k; m++) order[m] = m;
      order.sort((a, b) => row[nb.indices[i * k + a]] - row[nb.indices[i * k + b]]);
      for (let m = 0; m < k; m++) {
        owners[m] = nb.indices[i * k + order[m]];
        thresholds[m] = row[owners[m]];
      }
      below.fill(0);
      for (let l = 0; l < n; l++) {
        if (l === i) continue;
        const v = row[l];
        // First threshold > v: every threshold from there on has l strictly closer.
        let lo = 0, hi = k;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (thresholds[mid] > v) hi = mid; else lo = mid + 1;
        }
        below[lo]++;
        // Equal distances: l ranks before the owner when its index is smaller.
        for (let m = lo - 1; m >= 0 && thresholds[m] === v; m--) if (l < owners[m]) { below[m]++; below[m + 1]--; }
      }
      let closer = 0;
      for (let m = 0; m < k; m++) {
        closer += below[m];
        const rank = closer + 1;
        if (rank > k) penalty += rank - k;
      }
    }
  });
  return 1 - penalty * (2 / (n * k * (2 * n - 3 * k - 1)));
}
