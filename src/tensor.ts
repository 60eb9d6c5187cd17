/**
 * Tensor: a dtype, a shape and a flat row-major typed array, plus the autograd fields. Memory is
 * ordinary garbage-collected JavaScript memory: nothing to dispose. Most methods are the ops of
 * src/ops as methods, so `x.matmul(w).add(b).relu()` reads left to right.
 */
import { backward as runBackward, type BackwardOptions, type Node } from './autograd/engine.js';
import { allocArray, dtypeOf, isFloat, resolveDType, type DType, type DTypeName, type TypedArray } from './dtype.js';
import { ArgumentError, DTypeError, ShapeError, fmtShape } from './errors.js';
import * as ops from './ops/index.js';
import type { PadMode } from './ops/shape.js';
import { checkShape, sizeOf, type Shape } from './shape.js';

export type Scalar = number;
export type TensorLike = Tensor | number;
/** A number or nested arrays of numbers, e.g. `[[1, 2], [3, 4]]`. */
export type NestedArray = number | NestedArray[];
/** A hook on a tensor's gradient; it may return a replacement gradient. */
export type GradHook = (grad: Tensor) => Tensor | void;

export class Tensor {
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** The elements, flat and row-major. Shared with tensors made by `reshape`-like ops. */
  data: TypedArray;
  /** Whether gradients flow to this tensor. Only floating-point tensors can require grad. */
  requiresGrad = false;
  /** Accumulated gradient (leaf tensors, and others after `retainGrad()`); null until backward. */
  grad: Tensor | null = null;
  /** The node that made this tensor, or null for a leaf. */
  gradFn: Node | null = null;
  /** A label for graph drawings (e.g. 'Wh'). */
  name: string | undefined;
  retainsGrad = false;
  readonly hooks: GradHook[] = [];

  constructor(data: TypedArray, shape: Shape) {
    this.dtype = dtypeOf(data, 'Tensor');
    checkShape('Tensor', shape);
    if (data.length !== sizeOf(shape)) {
      throw new ShapeError('Tensor', `data has ${data.length} elements but shape ${fmtShape(shape)} needs ${sizeOf(shape)}`);
    }
    this.data = data;
    this.shape = Object.freeze([...shape]);
  }

  get size(): number { return this.data.length; }
  get ndim(): number { return this.shape.length; }
  get isLeaf(): boolean { return this.gradFn === null; }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new ShapeError('item', `only one-element tensors can be converted to a number, got shape ${fmtShape(this.shape)}`);
    return this.data[0];
  }

  /** The elements as nested arrays (a number for a 0-d tensor). */
  toArray(): NestedArray {
    const build = (dim: number, offset: number, stride: number): NestedArray => {
      if (dim === this.ndim) return this.data[offset];
      const inner = stride / this.shape[dim];
      return Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, offset + i * inner, inner));
    };
    return build(0, 0, this.size);
  }

  toString(): string {
    return `Tensor(${JSON.stringify(this.toArray())}, shape=${fmtShape(this.shape)}, dtype=${this.dtype}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }

  // ---- autograd ----

  /**
   * Backpropagates from this tensor; gradients accumulate into `.grad` of the leaves. A non-scalar
   * tensor needs the gradient of the output: `y.backward(g)`, `y.backward(g, { retainGraph: true })`,
   * or for a scalar just `y.backward({ retainGraph: true })`.
   */
  backward(gradOrOptions?: Tensor | BackwardOptions, options?: BackwardOptions): void {
    if (gradOrOptions instanceof Tensor || gradOrOptions === undefined) runBackward(this, gradOrOptions, options);
    else runBackward(this, undefined, gradOrOptions);
  }

  /** Sets `requiresGrad` on a leaf (like `requires_grad_`); returns this. */
  setRequiresGrad(flag = true): this {
    if (flag && !isFloat(this.dtype)) throw new DTypeError('setRequiresGrad', `only floating-point tensors can require grad, got ${this.dtype}`);
    if (!flag && !this.isLeaf) throw new ArgumentError('setRequiresGrad', 'cannot turn off requiresGrad of a non-leaf tensor; use detach()');
    this.requiresGrad = flag;
    return this;
  }

  /** Keeps `.grad` on this non-leaf tensor during backward. */
  retainGrad(): this {
    this.retainsGrad = true;
    return this;
  }

  /** Calls `hook(grad)` when this tensor's gradient is computed; returns a function that removes it. */
  registerHook(hook: GradHook): () => void {
    this.hooks.push(hook);
    return () => { const i = this.hooks.indexOf(hook); if (i >= 0) this.hooks.splice(i, 1); };
  }

  /** The same data, cut from the graph. */
  detach(): Tensor {
    const t = new Tensor(this.data, this.shape);
    t.name = this.name;
    return t;
  }

  /** A copy with its own data (differentiable). */
  clone(): Tensor { return ops.clone(this); }
  /** A copy converted to `dtype` (differentiable between float types; 'int64' is stored as int32). */
  to(dtype: DTypeName): Tensor {
    resolveDType('Tensor.to', dtype);
    return ops.cast(this, dtype);
  }
  float(): Tensor { return this.to('float32'); }
  double(): Tensor { return this.to('float64'); }
  int(): Tensor { return this.to('int32'); }
  /** PyTorch's `.long()`: int64, which pixelgrad stores as int32 (values must fit). */
  long(): Tensor { return this.to('int64'); }

  // ---- element-wise ----
  add(other: TensorLike): Tensor { return ops.add(this, other); }
  sub(other: TensorLike): Tensor { return ops.sub(this, other); }
  mul(other: TensorLike): Tensor { return ops.mul(this, other); }
  div(other: TensorLike): Tensor { return ops.div(this, other); }
  pow(exponent: TensorLike): Tensor { return ops.pow(this, exponent); }
  maximum(other: TensorLike): Tensor { return ops.maximum(this, other); }
  minimum(other: TensorLike): Tensor { return ops.minimum(this, other); }
  neg(): Tensor { return ops.neg(this); }
  exp(): Tensor { return ops.exp(this); }
  log(): Tensor { return ops.log(this); }
  sqrt(): Tensor { return ops.sqrt(this); }
  abs(): Tensor { return ops.abs(this); }
  sign(): Tensor { return ops.sign(this); }
  erf(): Tensor { return ops.erf(this); }
  square(): Tensor { return ops.square(this); }
  clamp(min?: number | null, max?: number | null): Tensor { return ops.clamp(this, min, max); }
  relu(): Tensor { return ops.relu(this); }
  leakyRelu(negativeSlope?: number): Tensor { return ops.leakyRelu(this, negativeSlope); }
  elu(alpha?: number): Tensor { return ops.elu(this, alpha); }
  gelu(options?: { approximate?: 'none' | 'tanh' }): Tensor { return ops.gelu(this, options); }
  sigmoid(): Tensor { return ops.sigmoid(this); }
  tanh(): Tensor { return ops.tanh(this); }
  softplus(options?: { beta?: number; threshold?: number }): Tensor { return ops.softplus(this, options); }
  eq(other: TensorLike): Tensor { return ops.eq(this, other); }
  ne(other: TensorLike): Tensor { return ops.ne(this, other); }
  lt(other: TensorLike): Tensor { return ops.lt(this, other); }
  le(other: TensorLike): Tensor { return ops.le(this, other); }
  gt(other: TensorLike): Tensor { return ops.gt(this, other); }
  ge(other: TensorLike): Tensor { return ops.ge(this, other); }

  // ---- reductions ----
  sum(dim?: ops.Dims, keepDim?: boolean): Tensor { return ops.sum(this, dim, keepDim); }
  mean(dim?: ops.Dims, keepDim?: boolean): Tensor { return ops.mean(this, dim, keepDim); }
  max(dim?: ops.Dims, keepDim?: boolean): Tensor { return ops.max(this, dim, keepDim); }
  min(dim?: ops.Dims, keepDim?: boolean): Tensor { return ops.min(this, dim, keepDim); }
  argmax(dim?: number | null, keepDim?: boolean): Tensor { return ops.argmax(this, dim, keepDim); }
  argmin(dim?: number | null, keepDim?: boolean): Tensor { return ops.argmin(this, dim, keepDim); }
  var(dim?: ops.Dims, options?: ops.VarOptions): Tensor { return ops.variance(this, dim, options); }
  std(dim?: ops.Dims, options?: ops.VarOptions): Tensor { return ops.std(this, dim, options); }
  logsumexp(dim: ops.Dims, keepDim?: boolean): Tensor { return ops.logsumexp(this, dim, keepDim); }
  softmax(dim: number): Tensor { return ops.softmax(this, dim); }
  logSoftmax(dim: number): Tensor { return ops.logSoftmax(this, dim); }

  // ---- linear algebra ----
  matmul(other: Tensor): Tensor { return ops.matmul(this, other); }

  // ---- shape ----
  reshape(...shape: number[] | [readonly number[]]): Tensor { return ops.reshape(this, flatArgs(shape)); }
  view(...shape: number[] | [readonly number[]]): Tensor { return ops.reshape(this, flatArgs(shape)); }
  flatten(startDim?: number, endDim?: number): Tensor { return ops.flatten(this, startDim, endDim); }
  squeeze(dim?: ops.Dims): Tensor { return ops.squeeze(this, dim); }
  unsqueeze(dim: number): Tensor { return ops.unsqueeze(this, dim); }
  permute(...dims: number[] | [readonly number[]]): Tensor { return ops.permute(this, flatArgs(dims)); }
  transpose(dim0: number, dim1: number): Tensor { return ops.transpose(this, dim0, dim1); }
  /** The transpose of a matrix (2-D only), like `Tensor.T` for matrices. */
  get T(): Tensor { return ops.t(this); }
  expand(...shape: number[] | [readonly number[]]): Tensor { return ops.expand(this, flatArgs(shape)); }
  split(splitSizeOrSections: number | readonly number[], dim?: number): Tensor[] { return ops.split(this, splitSizeOrSections, dim); }
  narrow(dim: number, start: number, length: number): Tensor { return ops.narrow(this, dim, start, length); }
  slice(dim: number, start?: number | null, end?: number | null, step?: number): Tensor { return ops.slice(this, dim, start, end, step); }
  indexSelect(dim: number, index: Tensor): Tensor { return ops.indexSelect(this, dim, index); }
  gather(dim: number, index: Tensor): Tensor { return ops.gather(this, dim, index); }
  pad(pads: readonly number[], mode?: PadMode, value?: number): Tensor { return ops.pad(this, pads, mode, value); }
}

function flatArgs(args: number[] | [readonly number[]]): readonly number[] {
  return args.length === 1 && Array.isArray(args[0]) ? args[0] : (args as number[]);
}

/** An empty tensor of the given dtype and shape (zero-filled). */
export function empty(shape: Shape, dtype: DTypeName = 'float32'): Tensor {
  return new Tensor(allocArray('empty', resolveDType('empty', dtype), shape), shape);
}
