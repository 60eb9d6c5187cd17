/** Reductions along dims, with keepDim, and the softmax family built on them. */
import type { ReduceOp } from '../backend/backend.js';
import { record } from '../autograd/engine.js';
import { isGradEnabled, noGrad } from '../autograd/grad-mode.js';
import { isFloat } from '../dtype.js';
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { normDim, normDims, sizeOf, type Shape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { add, div, eq, exp, log, mul, sqrt, sub, where } from './elementwise.js';
import { expand, reshape } from './shape.js';
import { alloc, allocUninitialized, expectTensor, kernels } from './util.js';

/** A dim, a list of dims, or null/undefined for all dims. */
export type Dims = number | readonly number[] | null | undefined;

function reducedShape(shape: Shape, axes: readonly number[], keepDim: boolean): number[] {
  return keepDim ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
}

function reduceKernel(op: ReduceOp, x: Tensor, axes: number[], keepDim: boolean): Tensor {
  const out = alloc(op, x.dtype, reducedShape(x.shape, axes, keepDim));
  kernels().reduce(op, x.data, x.shape, axes, out.data);
  return out;
}

/** g (reduced shape) broadcast back to x's shape. */
function spread(g: Tensor, x: Tensor, axes: readonly number[]): Tensor {
  return expand(reshape(g, reducedShape(x.shape, axes, true)), x.shape);
}

/** Sum over `dim` (all dims by default). */
export function sum(x: Tensor, dim?: Dims, keepDim = false): Tensor {
  expectTensor('sum', 'input', x);
  const axes = normDims('sum', dim, x.ndim);
  const out = reduceKernel('sum', x, axes, keepDim);
  return record(out, 'sum', [x], (g) => [spread(g, x, axes)], { dim: axes, keepDim });
}

export function mean(x: Tensor, dim?: Dims, keepDim = false): Tensor {
  expectTensor('mean', 'input', x);
  const axes = normDims('mean', dim, x.ndim);
  const n = axes.reduce((p, a) => p * x.shape[a], 1);
  return div(sum(isFloat(x.dtype) ? x : x.to('float32'), axes, keepDim), n);
}

/** Largest value over `dim`. Tied maxima share the gradient equally (as torch.amax). */
export function max(x: Tensor, dim?: Dims, keepDim = false): Tensor {
  return extreme('max', x, dim, keepDim);
}

/** Smallest value over `dim`. Tied minima share the gradient equally (as torch.amin). */
export function min(x: Tensor, dim?: Dims, keepDim = false): Tensor {
  return extreme('min', x, dim, keepDim);
}

function extreme(op: 'max' | 'min', x: Tensor, dim: Dims, keepDim: boolean): Tensor {
  expectTensor(op, 'input', x);
  const axes = normDims(op, dim, x.ndim);
  if (axes.some((a) => x.shape[a] === 0)) throw new ShapeError(op, `cannot reduce an empty dim of shape ${fmtShape(x.shape)}`);
  const out = reduceKernel(op, x, axes, keepDim);
  return record(out, op, [x], (g) => {
    const hits = eq(x, spread(out, x, axes));
    const count = sum(hits, axes, true);
    return [mul(spread(g, x, axes), div(hits, count))];
  }, { dim: axes, keepDim });
}

/** Index of the first largest value along `dim`, or of the flattened tensor when dim is null. */
export function argmax(x: Tensor, dim: number | null = null, keepDim = false): Tensor {
  return argExtreme('argmax', x, dim, keepDim);
}

export function argmin(x: Tensor, dim: number | null = null, keepDim = false): Tensor {
  return argExtreme('argmin', x, dim, keepDim);
}

function argExtreme(op: 'argmax' | 'argmin', x: Tensor, dim: number | null, keepDim: boolean): Tensor {
  expectTensor(op, 'input', x);
  if (x.size === 0) throw new ShapeError(op, `cannot take ${op} of an empty tensor of shape ${fmtShape(x.shape)}`);
  const axis = dim === null ? null : normDim(op, dim, x.ndim);
  const shape = axis === null ? (keepDim ? x.shape.map(() => 1) : []) : reducedShape(x.shape, [axis], keepDim);
  const out = alloc(op, 'int32', shape);
  kernels().argReduce(op, x.data, x.shape, x.ndim === 0 ? null : axis, out.data as Int32Array);
  return out;
}

export interface VarOptions {
  /** Subtracted from the count in the denominator: 1 (default) is Bessel's correction. */
  correction?: number;
  keepDim?: boolean;
}

/** Variance over `dim`: Σ(x − mean)² / (n − correction). */
export function variance(x: Tensor, dim?: Dims, options: VarOptions = {}): Tensor {
  expectTensor('var', 'input', x);
  const correction = options.correction ?? 1;
  const axes = normDims('var', dim, x.ndim);
  const n = axes.reduce((p, a) => p * x.shape[a], 1);
  const centered = sub(x, mean(x, axes, true));
  return div(sum(mul(centered, centered), axes, options.keepDim ?? false), Math.max(0, n - correction));
}

/** Standard deviation: the square root of `variance`. */
export function std(x: Tensor, dim?: Dims, options: VarOptions = {}): Tensor {
  return sqrt(variance(x, dim, options));
}

/** log Σ exp(x) over `dim`, computed stably by subtracting the (constant) maximum first. */
export function logsumexp(x: Tensor, dim: Dims, keepDim = false): Tensor {
  expectTensor('logsumexp', 'input', x);
  if (dim === undefined || dim === null) throw new ArgumentError('logsumexp', 'dim is required');
  const axes = normDims('logsumexp', dim, x.ndim);
  const xf = isFloat(x.dtype) ? x : x.to('float32');
  // The shift is a constant for autograd; an infinite max would give inf − inf, so use 0 there.
  const m = noGrad(() => {
    const mx = max(xf, axes, true);
    return where(eq(mx.abs(), Infinity), 0, mx);
  });
  const lse = add(log(sum(exp(sub(xf, m)), axes, true)), m);
  return keepDim ? lse : reshape(lse, reducedShape(x.shape, axes, false));
}

/** exp(x) / Σ exp(x) along `dim`. */
export function softmax(x: Tensor, dim: number): Tensor {
  return exp(logSoftmax(x, dim));
}

/**
 * x − logsumexp(x) along `dim`, as one kernel each way. Its gradient g − exp(out)·Σ g is the
 * backward kernel, or the same formula in ops when the backward pass is itself recorded
 * (createGraph), so that it can be differentiated again.
 */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  expectTensor('logSoftmax', 'input', x);
  const axis = normDim('logSoftmax', dim, x.ndim);
  const xf = isFloat(x.dtype) ? x : x.to('float32');
  // A 0-d tensor is one value along a length-1 axis.
  const axisLength = x.ndim === 0 ? 1 : x.shape[axis];
  const outer = sizeOf(x.shape.slice(0, axis)), inner = sizeOf(x.shape.slice(axis + 1));
  const out = allocUninitialized('logSoftmax', xf.dtype, x.shape);
  kernels().logSoftmax(xf.data, outer, axisLength, inner, out.data);
  return record(out, 'logSoftmax', [xf], (g) => {
    if (isGradEnabled()) return [sub(g, mul(exp(out), sum(g, axis, true)))];
    const gx = allocUninitialized('logSoftmax', g.dtype, x.shape);
    kernels().logSoftmaxBackward(g.data, out.data, outer, axisLength, inner, gx.data);
    return [gx];
  }, { dim: axis });
}

/**
 * Sums `g` down to `shape` over the dims that broadcasting added or stretched. The engine calls
 * this for every gradient whose shape differs from its input's: the one place broadcasting is undone.
 */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  const lead = g.ndim - shape.length;
  if (lead < 0) throw new ShapeError('sumTo', `cannot sum shape ${fmtShape(g.shape)} to the larger shape ${fmtShape(shape)}`);
  const axes: number[] = [];
  for (let i = 0; i < g.ndim; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  const summed = axes.length ? sum(g, axes, true) : g;
  if (sizeOf(summed.shape) !== sizeOf(shape)) throw new ShapeError('sumTo', `shape ${fmtShape(g.shape)} does not broadcast to ${fmtShape(shape)}`);
  return reshape(summed, shape);
}
