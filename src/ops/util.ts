/** Helpers shared by the op definitions. */
import { getBackend, type Kernels } from '../backend/backend.js';
import { isGradEnabled } from '../autograd/grad-mode.js';
import { allocArray, isFloat, type DType } from '../dtype.js';
import { ArgumentError, DTypeError, fmtShape } from '../errors.js';
import { fmtValue } from '../options.js';
import type { Shape } from '../shape.js';
import { Tensor, type TensorLike } from '../tensor.js';

export const kernels = (): Kernels => getBackend().kernels;

/**
 * Whether an op on these inputs records a graph node (as `record` decides): fused inference
 * kernels, which keep nothing for a backward pass, run only when it does not.
 */
export const recordsGrad = (...inputs: (Tensor | null | undefined)[]): boolean => isGradEnabled() && inputs.some((t) => t?.requiresGrad);

/** A zero-filled output tensor for `op`; the size is checked first (see `allocArray`). */
export function alloc(op: string, dtype: DType, shape: Shape): Tensor {
  return new Tensor(allocArray(op, dtype, shape), shape);
}

/**
 * An output tensor for `op` whose contents are unspecified (`torch.empty`), for ops whose kernels
 * write every element on every backend (the Kernels interface lists them): clearing megabytes that
 * the kernel overwrites at once costs a training step more than some of its kernels.
 */
export function allocUninitialized(op: string, dtype: DType, shape: Shape): Tensor {
  return new Tensor(allocArray(op, dtype, shape, false), shape);
}

/**
 * A number as a 0-d tensor that does not change the other operand's type: a float tensor keeps
 * its dtype; an int32 tensor stays int32 for integers and becomes float32 otherwise (as in PyTorch).
 */
export function asTensor(x: TensorLike, like: Tensor): Tensor {
  if (x instanceof Tensor) return x;
  return scalarTensor(x, isFloat(like.dtype) ? like.dtype : Number.isInteger(x) ? 'int32' : 'float32');
}

/** A 0-d tensor holding `value`. */
export function scalarTensor(value: number, dtype: DType): Tensor {
  const t = alloc('scalarTensor', dtype, []);
  t.data[0] = value;
  return t;
}

/** Tensor check for arguments that must be tensors. */
export function expectTensor(op: string, arg: string, x: unknown): Tensor {
  if (!(x instanceof Tensor)) throw new DTypeError(op, `${arg} must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  return x;
}

/** Check for arguments that must be a non-empty array of tensors (concat, stack). */
export function expectTensors(op: string, arg: string, xs: unknown): Tensor[] {
  if (!Array.isArray(xs)) throw new ArgumentError(op, `expects a non-empty array of tensors, got ${fmtValue(xs)}`);
  if (xs.length === 0) throw new ArgumentError(op, 'expects a non-empty array of tensors');
  xs.forEach((t, i) => expectTensor(op, `${arg}[${i}]`, t));
  return xs;
}

export function expectInt(op: string, arg: string, x: Tensor): Int32Array {
  expectTensor(op, arg, x);
  if (x.dtype !== 'int32') throw new DTypeError(op, `${arg} must be an int32 tensor, got ${x.dtype} with shape ${fmtShape(x.shape)}`);
  return x.data as Int32Array;
}

/** The float type an op like exp produces for `dtype` (ints become float32). */
export const floatType = (dtype: DType): DType => (isFloat(dtype) ? dtype : 'float32');

/** One size for both spatial dims, or [h, w]. */
export type Pair = number | readonly [number, number];

/** A number or a pair, checked, as [h, w]. */
export function pair(op: string, name: string, v: Pair, min: number): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (p.length !== 2 || p.some((x) => !Number.isInteger(x) || x < min)) {
    throw new ArgumentError(op, `${name} must be an integer ≥ ${min} or a pair of them, got ${JSON.stringify(v)}`);
  }
  return p;
}
