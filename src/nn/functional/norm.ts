/**
 * Normalisation layers' maths, composed from ops (so their gradients come from autograd) — except
 * batch norm in training, the hot one, which is one op on two per-channel kernels (see
 * batchNormTraining).
 */
import { grad, hasGradientRule, record } from '../../autograd/engine.js';
import { isGradEnabled } from '../../autograd/grad-mode.js';
import { alloc, allocUninitialized, kernels } from '../../ops/util.js';
import { ArgumentError, ShapeError, fmtShape } from '../../errors.js';
import { add, mul, relu, sqrt, sub, div } from '../../ops/elementwise.js';
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
  /**
   * A ReLU after it, fused: in training one op ('batchNormRelu') whose kernels apply the ReLU and
   * its gradient on the fly; composed ops when a gradient rule for relu or batchNorm is in force.
   */
  relu?: boolean;
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
  const training = options.training ?? false, eps = options.eps ?? 1e-5, withRelu = options.relu ?? false;
  if (x.ndim < 2) throw new ShapeError(op, `input must have at least 2 dims [N, C, ...], got ${fmtShape(x.shape)}`);
  const c = x.shape[1];
  for (const [name, t] of [['runningMean', runningMean], ['runningVar', runningVar], ['weight', weight], ['bias', bias]] as const) {
    if (t && (t.ndim !== 1 || t.shape[0] !== c)) throw new ShapeError(op, `${name} has shape ${fmtShape(t.shape)} but the input ${fmtShape(x.shape)} has ${c} channels`);
  }
  if (training) {
    const n = x.size / c;
    if (n <= 1) throw new ShapeError(op, `expected more than 1 value per channel when training, got input ${fmtShape(x.shape)}`);
    const fused = withRelu && !hasGradientRule('relu') && !hasGradientRule('batchNorm');
    const { y: normalized, mean: mu, variance: v } = batchNormTraining(x, weight, bias, eps, fused);
    const y = withRelu && !fused ? relu(normalized) : normalized;
    if (runningMean && runningVar) {
      const m = options.momentum === undefined ? 0.1 : options.momentum === null ? 1 / (options.batchesTracked ?? 1) : options.momentum;
      const unbiased = n / (n - 1);
      for (let i = 0; i < c; i++) {
        runningMean.data[i] = (1 - m) * runningMean.data[i] + m * mu[i];
        runningVar.data[i] = (1 - m) * runningVar.data[i] + m * v[i] * unbiased;
      }
    }
    return y;
  }
  if (!runningMean || !runningVar) throw new ArgumentError(op, 'running statistics are required when not training');
  const shape = channelShape(c, x.ndim);
  const y = normalize(x, reshape(runningMean, shape), reshape(runningVar, shape), weight, bias, eps);
  return withRelu ? relu(y) : y;
}

/** (x − μ)/√(σ² + eps)·γ + β with μ and σ² broadcastable to x, composed from ops. */
function normalize(x: Tensor, mu: Tensor, v: Tensor, weight: Tensor | null, bias: Tensor | null, eps: number): Tensor {
  const shape = channelShape(x.shape[1], x.ndim);
  let y = div(sub(x, mu), sqrt(add(v, eps)));
  if (weight) y = mul(y, reshape(weight, shape));
  if (bias) y = add(y, reshape(bias, shape));
  return y;
}

/** The same maths with the batch's statistics as ops of x: the definition batchNormTraining follows. */
function batchNormComposed(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps: number): Tensor {
  const axes = [0, ...Array.from({ length: x.ndim - 2 }, (_, i) => i + 2)];
  return normalize(x, mean(x, axes, true), variance(x, axes, { correction: 0, keepDim: true }), weight, bias, eps);
}

/**
 * Batch norm with the batch's statistics as one op: a pass for the per-channel sums (float64), a
 * pass for y = (x − μ)·γs + β with s = 1/√(σ² + eps); its gradient is again one pass for the sums
 * Σg, Σg·(x − μ) and one for dx = γs·(g − mean(g) − x̂·mean(g·x̂)). The sums are taken of values
 * centred per channel (on one of its values, then on the mean), so a mean large against the spread
 * cancels nothing. With `withRelu`, y is relu(y) and g is masked by it in both gradient passes
 * (op 'batchNormRelu'). When the backward pass is itself recorded (createGraph), the gradient comes
 * from the composed definition instead, so that it can be differentiated again. Returns the
 * batch's mean and biased variance for the running statistics.
 */
function batchNormTraining(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps: number, withRelu: boolean): { y: Tensor; mean: Float64Array; variance: Float64Array } {
  const [N, C] = x.shape, P = x.size / (N * C), n = N * P;
  // First centre: each channel's first value; second: the mean, in x's dtype (the value the kernels use).
  const first = alloc('batchNorm', x.dtype, [C]).data, center = alloc('batchNorm', x.dtype, [C]).data;
  for (let c = 0; c < C; c++) first[c] = x.data[c * P];
  const mu = new Float64Array(C), v = new Float64Array(C), s = new Float64Array(C);
  kernels().channelSums(x.data, first, null, null, N, C, P, mu, v, null);
  const scale = new Float64Array(C), shift = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const d = mu[c] / n;
    mu[c] = first[c] + d;
    v[c] = Math.max(v[c] / n - d * d, 0);
    s[c] = 1 / Math.sqrt(v[c] + eps);
    center[c] = mu[c];
    scale[c] = (weight ? weight.data[c] : 1) * s[c];
    shift[c] = (bias ? bias.data[c] : 0) - (mu[c] - center[c]) * scale[c];
  }
  const y = allocUninitialized('batchNorm', x.dtype, x.shape);
  kernels().channelMix(x.data, center, scale, null, null, null, shift, N, C, P, y.data, null, withRelu);
  const inputs = [x, weight, bias].filter((t): t is Tensor => t !== null);
  // The ReLU's output masks the gradient (where it is ≤ 0 the gradient is 0, as reluGrad gives it).
  const mask = withRelu ? y.data : null;
  const out = record(y, withRelu ? 'batchNormRelu' : 'batchNorm', inputs, (g, needs) => {
    if (isGradEnabled()) {
      const wanted = inputs.filter((t, i) => needs[i] && t.requiresGrad);
      const composed = batchNormComposed(x, weight, bias, eps);
      const grads = grad(withRelu ? relu(composed) : composed, wanted, { gradOutput: g, createGraph: true, allowUnused: true });
      return inputs.map((t) => (wanted.includes(t) ? grads[wanted.indexOf(t)] : null));
    }
    const sumG = new Float64Array(C), sumGXc = new Float64Array(C);
    kernels().channelSums(g.data, null, x.data, center, N, C, P, sumG, sumGXc, mask);
    // With m the centre: Σ g·x̂ = s·(Σ g·(x − m) − (μ − m)·Σ g), and dx = g·a + (x − m)·b + d per channel.
    const a = new Float64Array(C), b = new Float64Array(C), d = new Float64Array(C), sumGXhat = new Float64Array(C);
    for (let c = 0; c < C; c++) {
      sumGXhat[c] = s[c] * (sumGXc[c] - (mu[c] - center[c]) * sumG[c]);
      const gs = (weight ? weight.data[c] : 1) * s[c];
      a[c] = gs;
      b[c] = -gs * s[c] * sumGXhat[c] / n;
      d[c] = -gs * sumG[c] / n - b[c] * (mu[c] - center[c]);
    }
    const grads: (Tensor | null)[] = [];
    if (needs[0]) {
      const dx = allocUninitialized('batchNorm', g.dtype, x.shape);
      kernels().channelMix(g.data, null, a, x.data, center, b, d, N, C, P, dx.data, mask, false);
      grads.push(dx);
    } else grads.push(null);
    if (weight) grads.push(needs[grads.length] ? vector(sumGXhat, weight) : null);
    if (bias) grads.push(needs[grads.length] ? vector(sumG, bias) : null);
    return grads;
  });
  return { y: out, mean: mu, variance: v };
}

/** A per-channel result as a tensor like `like` (a weight or bias vector). */
function vector(values: Float64Array, like: Tensor): Tensor {
  const t = alloc('batchNorm', like.dtype, like.shape);
  t.data.set(values);
  return t;
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
