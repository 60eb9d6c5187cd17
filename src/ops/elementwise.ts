/**
 * Element-wise ops. Binary ops broadcast like NumPy; their VJPs return gradients in the output
 * shape and the engine sums them back to each input's shape.
 */
import type { BinaryOp, UnaryOp } from '../backend/backend.js';
import { record } from '../autograd/engine.js';
import { promote, type DType } from '../dtype.js';
import { ArgumentError } from '../errors.js';
import { broadcastShapes } from '../shape.js';
import type { Tensor, TensorLike } from '../tensor.js';
import { allocUninitialized, asTensor, expectTensor, floatType, kernels, scalarTensor } from './util.js';

function unaryKernel(op: UnaryOp, x: Tensor, outDtype: DType, p0 = 0, p1 = 0): Tensor {
  const out = allocUninitialized(op, outDtype, x.shape);
  kernels().unary(op, x.data, out.data, p0, p1);
  return out;
}

/** A float-valued unary op with its VJP `grad ↦ g · f'(x)` written with ops. */
function floatUnary(op: UnaryOp, x: Tensor, vjp: (g: Tensor, x: Tensor, out: Tensor) => Tensor, p0 = 0, p1 = 0, attrs?: Record<string, unknown>): Tensor {
  expectTensor(op, 'input', x);
  const out = unaryKernel(op, x, floatType(x.dtype), p0, p1);
  return record(out, op, [x], (g) => [vjp(g, x, out)], attrs);
}

/** An op that keeps int32 as int32 (neg, abs, relu, clamp, ...). */
function typedUnary(op: UnaryOp, x: Tensor, vjp: (g: Tensor, x: Tensor, out: Tensor) => Tensor, p0 = 0, p1 = 0, attrs?: Record<string, unknown>): Tensor {
  expectTensor(op, 'input', x);
  const out = unaryKernel(op, x, x.dtype, p0, p1);
  return record(out, op, [x], (g) => [vjp(g, x, out)], attrs);
}

const SQRT_2PI = Math.sqrt(2 * Math.PI);
const SQRT1_2 = Math.SQRT1_2;
const GELU_K = Math.sqrt(2 / Math.PI);

export const neg = (x: Tensor): Tensor => typedUnary('neg', x, (g) => neg(g));
export const exp = (x: Tensor): Tensor => floatUnary('exp', x, (g, _x, out) => mul(g, out));
export const log = (x: Tensor): Tensor => floatUnary('log', x, (g, x) => div(g, x));
export const sqrt = (x: Tensor): Tensor => floatUnary('sqrt', x, (g, _x, out) => div(g, mul(out, 2)));
export const abs = (x: Tensor): Tensor => typedUnary('abs', x, (g, x) => mul(g, sign(x)));
/** -1, 0 or 1; its gradient is zero. */
export const sign = (x: Tensor): Tensor => typedUnary('sign', x, (g) => mul(g, 0));
/** The error function; d/dx erf(x) = 2/√π · exp(−x²). */
export const erf = (x: Tensor): Tensor => floatUnary('erf', x, (g, x) => mul(g, mul(exp(neg(square(x))), 2 / Math.sqrt(Math.PI))));
export const square = (x: Tensor): Tensor => mul(x, x);
/**
 * max(x, 0); the gradient is 0 where x ≤ 0 and passes elsewhere (NaN included), as in PyTorch. The
 * VJP reads the output, whose signs are x's, so that a fused op may compute the ReLU in place.
 */
export const relu = (x: Tensor): Tensor => typedUnary('relu', x, (g, _x, out) => reluGrad(g, out));

/**
 * Records y = relu(x) for a y that the caller computed, x's array overwritten in place by the ReLU
 * (as PyTorch's ReLU(inplace=True)): a fused kernel's output. Returns y.
 */
export const recordRelu = (y: Tensor, x: Tensor): Tensor => record(y, 'relu', [x], (g) => [reluGrad(g, y)]);

/** 0 where x ≤ 0, else g: relu's VJP as one kernel (a mask and a product would be two passes). */
function reluGrad(g: Tensor, x: Tensor): Tensor {
  const out = binaryKernel('reluGrad', g, x, g.dtype);
  return record(out, 'reluGrad', [g, x], (gg, needs) => [needs[0] ? reluGrad(gg, x) : null, null]);
}
export const sigmoid = (x: Tensor): Tensor => floatUnary('sigmoid', x, (g, _x, out) => mul(g, mul(out, sub(1, out))));
export const tanh = (x: Tensor): Tensor => floatUnary('tanh', x, (g, _x, out) => mul(g, sub(1, mul(out, out))));

/** x for x ≥ 0, negativeSlope·x below. */
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  return floatUnary('leakyRelu', x, (g, x) => mul(g, where(gt(x, 0), 1, negativeSlope)), negativeSlope, 0, { negativeSlope });
}

/** x for x > 0, alpha·(eˣ − 1) below. */
export function elu(x: Tensor, alpha = 1): Tensor {
  return floatUnary('elu', x, (g, x, out) => mul(g, where(gt(x, 0), 1, add(out, alpha))), alpha, 0, { alpha });
}

/** x·Φ(x) (exact, with erf) or its tanh approximation, as `torch.nn.functional.gelu`. */
export function gelu(x: Tensor, options: { approximate?: 'none' | 'tanh' } = {}): Tensor {
  const approximate = options.approximate ?? 'none';
  if (approximate === 'none') {
    // Φ(x) + x·φ(x)
    return floatUnary('gelu', x, (g, x) => {
      const cdf = mul(add(erf(mul(x, SQRT1_2)), 1), 0.5);
      const pdf = div(exp(mul(square(x), -0.5)), SQRT_2PI);
      return mul(g, add(cdf, mul(x, pdf)));
    });
  }
  if (approximate !== 'tanh') throw new ArgumentError('gelu', `approximate must be 'none' or 'tanh', got '${approximate}'`);
  return floatUnary('geluTanh', x, (g, x) => {
    const x2 = square(x);
    const th = tanh(mul(mul(x, add(mul(x2, 0.044715), 1)), GELU_K));
    const dInner = mul(add(mul(x2, 3 * 0.044715), 1), GELU_K);
    return mul(g, add(mul(add(th, 1), 0.5), mul(mul(mul(x, 0.5), sub(1, square(th))), dInner)));
  }, 0, 0, { approximate });
}

/** log(1 + e^(βx))/β, and x itself where βx > threshold (as PyTorch, for stability). */
export function softplus(x: Tensor, options: { beta?: number; threshold?: number } = {}): Tensor {
  const beta = options.beta ?? 1, threshold = options.threshold ?? 20;
  return floatUnary('softplus', x, (g, x) => {
    const bx = mul(x, beta);
    return mul(g, where(gt(bx, threshold), 1, sigmoid(bx)));
  }, beta, threshold, { beta, threshold });
}

/** Limits values to [min, max] (either may be omitted); the gradient passes where min ≤ x ≤ max. */
export function clamp(x: Tensor, min?: number | null, max?: number | null): Tensor {
  if ((min === undefined || min === null) && (max === undefined || max === null)) {
    throw new ArgumentError('clamp', 'at least one of min and max must be given');
  }
  const lo = min ?? -Infinity, hi = max ?? Infinity;
  return typedUnary('clamp', x, (g, x) => mul(g, mul(ge(x, lo), le(x, hi))), lo, hi, { min: lo, max: hi });
}

// ---- binary ----

function binaryKernel(op: BinaryOp, a: Tensor, b: Tensor, outDtype: DType): Tensor {
  const shape = broadcastShapes(op, a.shape, b.shape);
  const out = allocUninitialized(op, outDtype, shape);
  kernels().binary(op, a.data, a.shape, b.data, b.shape, out.data, shape);
  return out;
}

function binaryOp(op: BinaryOp, aLike: TensorLike, bLike: TensorLike, vjp: (g: Tensor, a: Tensor, b: Tensor, out: Tensor, needs: readonly boolean[]) => (Tensor | null)[], trueDivide = false): Tensor {
  const [a, b] = operands(op, aLike, bLike);
  const dtype = promote(a.dtype, b.dtype);
  const out = binaryKernel(op, a, b, trueDivide ? floatType(dtype) : dtype);
  return record(out, op, [a, b], (g, needs) => vjp(g, a, b, out, needs));
}

function operands(op: string, a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  if (typeof a === 'number' && typeof b === 'number') throw new ArgumentError(op, 'at least one operand must be a Tensor');
  const ta = typeof a === 'number' ? asTensor(a, b as Tensor) : expectTensor(op, 'input', a);
  const tb = typeof b === 'number' ? asTensor(b, ta) : expectTensor(op, 'other', b);
  return [ta, tb];
}

export const add = (a: TensorLike, b: TensorLike): Tensor => binaryOp('add', a, b, (g) => [g, g]);
export const sub = (a: TensorLike, b: TensorLike): Tensor => binaryOp('sub', a, b, (g, _a, _b, _o, needs) => [g, needs[1] ? neg(g) : null]);
export const mul = (a: TensorLike, b: TensorLike): Tensor => binaryOp('mul', a, b, (g, a, b, _o, needs) => [needs[0] ? mul(g, b) : null, needs[1] ? mul(g, a) : null]);
/** True division: int32 / int32 gives float32. */
export const div = (a: TensorLike, b: TensorLike): Tensor =>
  binaryOp('div', a, b, (g, _a, b, out, needs) => [needs[0] ? div(g, b) : null, needs[1] ? neg(div(mul(g, out), b)) : null], true);

/** aᵇ. d/da = b·aᵇ⁻¹; d/db = aᵇ·log a (taken as 0 where a = 0, as PyTorch does). */
export function pow(a: TensorLike, b: TensorLike): Tensor {
  return binaryOp('pow', a, b, (g, a, b, out, needs) => [
    needs[0] ? mul(g, mul(b, pow(a, sub(b, 1)))) : null,
    needs[1] ? mul(g, where(eq(a, 0), 0, mul(out, log(a)))) : null,
  ]);
}

/** Element-wise maximum; where a = b the gradient is split equally (as PyTorch). */
export function maximum(a: TensorLike, b: TensorLike): Tensor {
  return binaryOp('maximum', a, b, (g, a, b) => {
    const share = add(gt(a, b), mul(eq(a, b), 0.5));
    return [mul(g, share), mul(g, sub(1, share))];
  });
}

export function minimum(a: TensorLike, b: TensorLike): Tensor {
  return binaryOp('minimum', a, b, (g, a, b) => {
    const share = add(lt(a, b), mul(eq(a, b), 0.5));
    return [mul(g, share), mul(g, sub(1, share))];
  });
}

/** Comparisons give int32 0/1 tensors and have no gradient. */
function compare(op: BinaryOp, a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = operands(op, a, b);
  return binaryKernel(op, ta, tb, 'int32');
}

export const eq = (a: TensorLike, b: TensorLike): Tensor => compare('eq', a, b);
export const ne = (a: TensorLike, b: TensorLike): Tensor => compare('ne', a, b);
export const lt = (a: TensorLike, b: TensorLike): Tensor => compare('lt', a, b);
export const le = (a: TensorLike, b: TensorLike): Tensor => compare('le', a, b);
export const gt = (a: TensorLike, b: TensorLike): Tensor => compare('gt', a, b);
export const ge = (a: TensorLike, b: TensorLike): Tensor => compare('ge', a, b);

/** a where cond ≠ 0, else b; all three broadcast together. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  expectTensor('where', 'condition', cond);
  // Two numbers give a float32 result, like torch.where(cond, 1.0, 0.0).
  const [ta, tb] = typeof a === 'number' && typeof b === 'number' ? [scalarTensor(a, 'float32'), scalarTensor(b, 'float32')] : operands('where', a, b);
  const shape = broadcastShapes('where', broadcastShapes('where', cond.shape, ta.shape), tb.shape);
  const out = allocUninitialized('where', promote(ta.dtype, tb.dtype), shape);
  kernels().where(cond.data, cond.shape, ta.data, ta.shape, tb.data, tb.shape, out.data, shape);
  return record(out, 'where', [cond, ta, tb], (g, needs) => [
    null,
    needs[1] ? where(cond, g, 0) : null,
    needs[2] ? where(cond, 0, g) : null,
  ]);
}
