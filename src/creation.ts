/** Functions that make new tensors: from data, constant-filled, ranges and random. */
import { arrayFor, dtypeOf, isFloat, type DType, type TypedArray } from './dtype.js';
import { ArgumentError, DTypeError, ShapeError, fmtShape } from './errors.js';
import { defaultGenerator, type Generator } from './random.js';
import { checkShape, sizeOf, type Shape } from './shape.js';
import { Tensor, type NestedArray } from './tensor.js';

export interface CreationOptions {
  dtype?: DType;
  requiresGrad?: boolean;
  /** A label for graph drawings. */
  name?: string;
}

export interface RandomOptions extends CreationOptions {
  /** The generator to draw from; the default generator (see `manualSeed`) otherwise. */
  generator?: Generator;
}

function finish(t: Tensor, options: CreationOptions): Tensor {
  if (options.requiresGrad) t.setRequiresGrad(true);
  t.name = options.name;
  return t;
}

function make(op: string, shape: Shape, options: CreationOptions, fill: (data: TypedArray) => void): Tensor {
  checkShape(op, shape);
  const data = arrayFor(options.dtype ?? 'float32', sizeOf(shape));
  fill(data);
  return finish(new Tensor(data, shape), options);
}

/**
 * A tensor from nested arrays, a number or a typed array (1-D unless `shape` is given). Numbers
 * become float32 unless `dtype` says otherwise; a typed array keeps its own type and is copied.
 * @example const x = tensor([[1, 2], [3, 4]], { requiresGrad: true });
 */
export function tensor(data: NestedArray | TypedArray, options: CreationOptions & { shape?: Shape } = {}): Tensor {
  if (ArrayBuffer.isView(data)) {
    const shape = options.shape ?? [data.length];
    if (sizeOf(shape) !== data.length) throw new ShapeError('tensor', `${data.length} values do not fill shape ${fmtShape(shape)}`);
    const out = arrayFor(options.dtype ?? dtypeOf(data), data.length);
    out.set(data);
    return finish(new Tensor(out, shape), options);
  }
  const shape: number[] = [];
  for (let level: NestedArray = data; Array.isArray(level); level = level[0]) {
    shape.push(level.length);
    if (level.length === 0) break;
  }
  const flat: number[] = [];
  const walk = (v: NestedArray, dim: number): void => {
    if (dim === shape.length) {
      if (typeof v !== 'number') throw new ShapeError('tensor', `nested arrays are ragged: expected a number at depth ${dim} for shape ${fmtShape(shape)}`);
      flat.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[dim]) throw new ShapeError('tensor', `nested arrays are ragged: expected ${shape[dim]} entries at depth ${dim} for shape ${fmtShape(shape)}`);
    for (const e of v) walk(e, dim + 1);
  };
  walk(data, 0);
  if (options.shape && sizeOf(options.shape) !== flat.length) throw new ShapeError('tensor', `${flat.length} values do not fill shape ${fmtShape(options.shape)}`);
  return make('tensor', options.shape ?? shape, options, (d) => d.set(flat));
}

export function zeros(shape: Shape, options: CreationOptions = {}): Tensor {
  return make('zeros', shape, options, () => {});
}

export function ones(shape: Shape, options: CreationOptions = {}): Tensor {
  return full(shape, 1, options);
}

export function full(shape: Shape, value: number, options: CreationOptions = {}): Tensor {
  return make('full', shape, options, (d) => d.fill(value));
}

/** Values from `start` to `end` (exclusive) by `step`, like `torch.arange`. int32 when all arguments are integers. */
export function arange(start: number, end?: number, step = 1, options: CreationOptions = {}): Tensor {
  if (end === undefined) { end = start; start = 0; }
  if (step === 0 || !Number.isFinite(step)) throw new ArgumentError('arange', `step must be a non-zero finite number, got ${step}`);
  const n = Math.max(0, Math.ceil((end - start) / step));
  const dtype = options.dtype ?? ([start, end, step].every(Number.isInteger) ? 'int32' : 'float32');
  return make('arange', [n], { ...options, dtype }, (d) => { for (let i = 0; i < n; i++) d[i] = start + i * step; });
}

/** `steps` evenly spaced values from `start` to `end` inclusive. */
export function linspace(start: number, end: number, steps: number, options: CreationOptions = {}): Tensor {
  if (!Number.isInteger(steps) || steps < 0) throw new ArgumentError('linspace', `steps must be a non-negative integer, got ${steps}`);
  const delta = steps > 1 ? (end - start) / (steps - 1) : 0;
  // Fill from both ends, as PyTorch does, so the last value is exactly `end`.
  const half = Math.floor(steps / 2);
  return make('linspace', [steps], options, (d) => {
    for (let i = 0; i < steps; i++) d[i] = i < half || steps === 1 ? start + i * delta : end - (steps - 1 - i) * delta;
  });
}

/** The identity matrix (n × m, m defaults to n). */
export function eye(n: number, m = n, options: CreationOptions = {}): Tensor {
  return make('eye', [n, m], options, (d) => { for (let i = 0; i < Math.min(n, m); i++) d[i * m + i] = 1; });
}

/** Uniform on [0, 1). */
export function rand(shape: Shape, options: RandomOptions = {}): Tensor {
  const g = options.generator ?? defaultGenerator;
  floatOnly('rand', options.dtype);
  return make('rand', shape, options, (d) => { for (let i = 0; i < d.length; i++) d[i] = g.random(); });
}

/** Standard normal. */
export function randn(shape: Shape, options: RandomOptions = {}): Tensor {
  const g = options.generator ?? defaultGenerator;
  floatOnly('randn', options.dtype);
  return make('randn', shape, options, (d) => { for (let i = 0; i < d.length; i++) d[i] = g.normal(); });
}

/** Integers uniform in [low, high); int32 by default. */
export function randint(low: number, high: number, shape: Shape, options: RandomOptions = {}): Tensor {
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) throw new ArgumentError('randint', `need integers low < high, got low=${low}, high=${high}`);
  const g = options.generator ?? defaultGenerator;
  return make('randint', shape, { dtype: 'int32', ...options }, (d) => { for (let i = 0; i < d.length; i++) d[i] = g.integer(low, high); });
}

function floatOnly(op: string, dtype: DType | undefined): void {
  if (dtype && !isFloat(dtype)) throw new DTypeError(op, `dtype must be floating point, got ${dtype}`);
}

const like = (t: Tensor, options: CreationOptions) => ({ dtype: t.dtype, ...options });

export const zerosLike = (t: Tensor, options: CreationOptions = {}) => zeros(t.shape, like(t, options));
export const onesLike = (t: Tensor, options: CreationOptions = {}) => ones(t.shape, like(t, options));
export const fullLike = (t: Tensor, value: number, options: CreationOptions = {}) => full(t.shape, value, like(t, options));
export const randLike = (t: Tensor, options: RandomOptions = {}) => rand(t.shape, like(t, options));
export const randnLike = (t: Tensor, options: RandomOptions = {}) => randn(t.shape, like(t, options));
export const randintLike = (t: Tensor, low: number, high: number, options: RandomOptions = {}) => randint(low, high, t.shape, { dtype: t.dtype, ...options });
