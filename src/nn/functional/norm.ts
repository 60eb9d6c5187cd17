/** Normalisation layers' maths, composed from ops (so their gradients come from autograd). */
import { noGrad } from '../../autograd/grad-mode.js';
import { ArgumentError, ShapeError, fmtShape } from '../../errors.js';
import { add, mul, sqrt, sub, div } from '../../ops/elementwise.js';
import { mean, variance } from '../../ops/reduce.js';
import { reshape } from '../../ops/shape.js';
import type { Tensor } from '../../tensor.js';

export interface BatchNormOptions {
  /** Use the batch's statistics (and update the running ones) rather than the running ones. */
  training?: boolean;
  /** Weight of the new batch in the running averages; null = cumulative average (uses `batchesTracked`). */
  momentum?: number | null;
  eps?: number;
  /** Batches seen so far (for momentum null), counting this one. */
  batchesTracked?: number;
}

/** Shape [1, C, 1, ...] to broadcast per-channel vectors over an input of `ndim` dims. */
const channelShape = (c: number, ndim: number) => [1, c, ...Array(ndim - 2).fill(1)];

/**
 * Batch normalisation over all dims but the channel dim (dim 1): y = (x − μ)/√(σ² + eps)·γ + β.
 * In training, μ and σ² (biased) come from the batch and the running statistics are updated in
 * place with the unbiased variance, as PyTorch; otherwise the running statistics are used.
 */
export function batchNorm(x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, weight: Tensor | null, bias: Tensor | null, options: BatchNormOptions = {}): Tensor {
  const op = 'batchNorm';
  const training = options.training ?? false, eps = options.eps ?? 1e-5;
  if (x.ndim < 2) throw new ShapeError(op, `input must have at least 2 dims [N, C, ...], got ${fmtShape(x.shape)}`);
  const c = x.shape[1];
  for (const [name, t] of [['runningMean', runningMean], ['runningVar', runningVar], ['weight', weight], ['bias', bias]] as const) {
    if (t && (t.ndim !== 1 || t.shape[0] !== c)) throw new ShapeError(op, `${name} has shape ${fmtShape(t.shape)} but the input ${fmtShape(x.shape)} has ${c} channels`);
  }
  const shape = channelShape(c, x.ndim);
  const axes = [0, ...Array.from({ length: x.ndim - 2 }, (_, i) => i + 2)];
  let mu: Tensor, v: Tensor;
  if (training) {
    const n = x.size / c;
    if (n <= 1) throw new ShapeError(op, `expected more than 1 value per channel when training, got input ${fmtShape(x.shape)}`);
    mu = mean(x, axes, true);
    v = variance(x, axes, { correction: 0, keepDim: true });
    if (runningMean && runningVar) {
      const m = options.momentum === undefined ? 0.1 : options.momentum === null ? 1 / (options.batchesTracked ?? 1) : options.momentum;
      noGrad(() => {
        const batchMean = mu.data, unbiased = n / (n - 1);
        for (let i = 0; i < c; i++) {
          runningMean.data[i] = (1 - m) * runningMean.data[i] + m * batchMean[i];
          runningVar.data[i] = (1 - m) * runningVar.data[i] + m * v.data[i] * unbiased;
        }
      });
    }
  } else {
    if (!runningMean || !runningVar) throw new ArgumentError(op, 'running statistics are required when not training');
    mu = reshape(runningMean, shape);
    v = reshape(runningVar, shape);
  }
  let y = div(sub(x, mu), sqrt(add(v, eps)));
  if (weight) y = mul(y, reshape(weight, shape));
  if (bias) y = add(y, reshape(bias, shape));
  return y;
}

/** Normalises over the last dims given by `normalizedShape`, then applies an element-wise affine map. */
export function layerNorm(x: Tensor, normalizedShape: readonly number[], weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  const op = 'layerNorm';
  const k = normalizedShape.length;
  if (k === 0 || k > x.ndim || normalizedShape.some((d, i) => d !== x.shape[x.ndim - k + i])) {
    throw new ShapeError(op, `normalizedShape ${fmtShape(normalizedShape)} must match the last dims of the input ${fmtShape(x.shape)}`);
  }
  for (const [name, t] of [['weight', weight], ['bias', bias]] as const) {
    if (t && fmtShape(t.shape) !== fmtShape(normalizedShape)) throw new ShapeError(op, `${name} has shape ${fmtShape(t.shape)}, expected ${fmtShape(normalizedShape)}`);
  }
  const axes = Array.from({ length: k }, (_, i) => x.ndim - k + i);
  const mu = mean(x, axes, true);
  const v = variance(x, axes, { correction: 0, keepDim: true });
  let y = div(sub(x, mu), sqrt(add(v, eps)));
  if (weight) y = mul(y, weight);
  if (bias) y = add(y, bias);
  return y;
}

/** Normalises each group of channels (and all spatial positions) per sample, then a per-channel affine map. */
export function groupNorm(x: Tensor, numGroups: number, weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  const op = 'groupNorm';
  if (x.ndim < 2) throw new ShapeError(op, `input must have at least 2 dims [N, C, ...], got ${fmtShape(x.shape)}`);
  const [n, c] = x.shape;
  if (!Number.isInteger(numGroups) || numGroups < 1 || c % numGroups !== 0) throw new ArgumentError(op, `numGroups=${numGroups} must divide the ${c} channels`);
  const grouped = reshape(x, [n, numGroups, -1]);
  const mu = mean(grouped, 2, true);
  const v = variance(grouped, 2, { correction: 0, keepDim: true });
  let y = reshape(div(sub(grouped, mu), sqrt(add(v, eps))), x.shape);
  const shape = channelShape(c, x.ndim);
  if (weight) y = mul(y, reshape(weight, shape));
  if (bias) y = add(y, reshape(bias, shape));
  return y;
}
