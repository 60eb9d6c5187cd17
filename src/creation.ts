/** Functions that make new tensors: from data, constant-filled, ranges and random. */
import { allocArray, checkInt32Range, isFloat, resolveDType, type DType, type DTypeName, type TypedArray } from './dtype.js';
import { ArgumentError, DTypeError, ShapeError, fmtShape } from './errors.js';
import { checkKeys, fmtValue } from './options.js';
import { Generator, defaultGenerator } from './random.js';
import { checkShape, sizeOf, type Shape } from './shape.js';
import { Tensor, type NestedArray } from './tensor.js';
import { expectTensor } from './ops/util.js';

export interface CreationOptions {
  /** The element type (default float32); 'int64' is stored as int32 (see src/dtype.ts). */
  dtype?: DTypeName;
  requiresGrad?: boolean;
  /** A label for graph drawings. */
  name?: string;
}

export interface RandomOptions extends CreationOptions {
  /** The generator to draw from; the default generator (see `manualSeed`) otherwise. */
  generator?: Generator;
}

const CREATION_KEYS = ['dtype', 'requiresGrad', 'name'];

/** Checks the options object (known keys, dtype, requiresGrad only for floats); returns the stored dtype. */
function checkOptions(op: string, options: CreationOptions, dflt: DTypeName, extraKeys: readonly string[] = []): DType {
  checkKeys(op, options, [...CREATION_KEYS, ...extraKeys]);
  const dtype = resolveDType(op, options.dtype ?? dflt);
  if (options.requiresGrad !== undefined && typeof options.requiresGrad !== 'boolean') throw new ArgumentError(op, `requiresGrad must be a boolean, got ${fmtValue(options.requiresGrad)}`);
  if (options.requiresGrad && !isFloat(dtype)) throw new DTypeError(op, `only floating-point tensors can require grad, got dtype ${options.dtype}`);
  if (options.name !== undefined && typeof options.name !== 'string') throw new ArgumentError(op, `name must be a string, got ${fmtValue(options.name)}`);
  return dtype;
}

function finish(t: Tensor, options: CreationOptions): Tensor {
  if (options.requiresGrad) t.setRequiresGrad(true);
  t.name = options.name;
  return t;
}

function make(op: string, shape: Shape, options: CreationOptions, fill: (data: TypedArray) => void, dflt: DTypeName = 'float32', extraKeys?: readonly string[]): Tensor {
  const dtype = checkOptions(op, options, dflt, extraKeys);
  const data = allocArray(op, dtype, shape);
  fill(data);
  return finish(new Tensor(data, shape), options);
}

/** Throws unless `v` is a finite number (for an integer dtype: one that fits in int32). */
function checkValue(op: string, name: string, v: unknown, dtype: DTypeName | undefined): number {
  if (typeof v !== 'number') throw new ArgumentError(op, `${name} must be a number, got ${fmtValue(v)}`);
  if (dtype === 'int32' || dtype === 'int64') checkInt32Range(op, dtype, [v]);
  return v;
}

/** The dtype a typed array's values take by default: its own for float32/float64/int32, int32 (range-checked) for other integers. */
function typedArrayDType(op: string, data: ArrayBufferView): DTypeName {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return 'int64';
  if (data instanceof Int32Array || data instanceof Int16Array || data instanceof Int8Array || data instanceof Uint8Array
    || data instanceof Uint8ClampedArray || data instanceof Uint16Array || data instanceof Uint32Array) return 'int32';
  throw new DTypeError(op, `data must be numbers, nested arrays of numbers or a typed array of numbers, got ${data.constructor.name}`);
}

/**
 * A tensor from nested arrays, a number or a typed array (1-D unless `shape` is given). Numbers
 * become float32 unless `dtype` says otherwise; a typed array keeps its own type and is copied
 * (other integer arrays, e.g. Uint8Array or PyTorch's int64 as BigInt64Array, become int32 when
 * every value fits). Values given an integer dtype are truncated toward zero and must fit in int32.
 * @example const x = tensor([[1, 2], [3, 4]], { requiresGrad: true });
 * @example const labels = tensor([3, 1, 4], { dtype: 'int64' }); // stored as int32
 */
export function tensor(data: NestedArray | TypedArray | BigInt64Array | ArrayBufferView, options: CreationOptions & { shape?: Shape } = {}): Tensor {
  const op = 'tensor';
  checkKeys(op, options, [...CREATION_KEYS, 'shape']);
  if (options.shape !== undefined) checkShape(op, options.shape);
  if (ArrayBuffer.isView(data)) {
    const values = data as unknown as ArrayLike<number | bigint>;
    const own = typedArrayDType(op, data);
    const shape = options.shape ?? [values.length];
    if (sizeOf(shape) !== values.length) throw new ShapeError(op, `${values.length} values do not fill shape ${fmtShape(shape)}`);
    const name = options.dtype ?? own;
    if ((name === 'int32' || name === 'int64') && !(data instanceof Int32Array)) checkInt32Range(op, name, values);
    return make(op, shape, { ...options, dtype: name }, (d) => {
      if (data instanceof BigInt64Array || data instanceof BigUint64Array) for (let i = 0; i < d.length; i++) d[i] = Number(values[i]);
      else d.set(values as ArrayLike<number>);
    }, own, ['shape']);
  }
  const shape: number[] = [];
  for (let level: NestedArray = data; Array.isArray(level); level = level[0]) {
    shape.push(level.length);
    if (level.length === 0) break;
  }
  const flat: number[] = [];
  const walk = (v: NestedArray, dim: number): void => {
    if (dim === shape.length) {
      if (Array.isArray(v)) throw new ShapeError(op, `nested arrays are ragged: expected a number at depth ${dim} for shape ${fmtShape(shape)}`);
      if (typeof v !== 'number') throw new DTypeError(op, `data must be numbers, nested arrays of numbers or a typed array, got ${fmtValue(v)} at depth ${dim}`);
      flat.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[dim]) throw new ShapeError(op, `nested arrays are ragged: expected ${shape[dim]} entries at depth ${dim} for shape ${fmtShape(shape)}`);
    for (const e of v) walk(e, dim + 1);
  };
  walk(data, 0);
  if (options.shape && sizeOf(options.shape) !== flat.length) throw new ShapeError(op, `${flat.length} values do not fill shape ${fmtShape(options.shape)}`);
  if (options.dtype === 'int32' || options.dtype === 'int64') checkInt32Range(op, options.dtype, flat);
  return make(op, options.shape ?? shape, options, (d) => d.set(flat), 'float32', ['shape']);
}

export function zeros(shape: Shape, options: CreationOptions = {}): Tensor {
  return make('zeros', shape, options, () => {});
}

export function ones(shape: Shape, options: CreationOptions = {}): Tensor {
  return make('ones', shape, options, (d) => d.fill(1));
}

export function full(shape: Shape, value: number, options: CreationOptions = {}): Tensor {
  checkValue('full', 'value', value, options?.dtype);
  return make('full', shape, options, (d) => d.fill(value));
}

/** Values from `start` to `end` (exclusive) by `step`, like `torch.arange`. int32 when all arguments are integers. */
export function arange(start: number, end?: number, step = 1, options: CreationOptions = {}): Tensor {
  if (end === undefined) { end = start; start = 0; }
  for (const [name, v] of [['start', start], ['end', end]] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ArgumentError('arange', `${name} must be a finite number, got ${fmtValue(v)}`);
  }
  if (typeof step !== 'number' || step === 0 || !Number.isFinite(step)) throw new ArgumentError('arange', `step must be a non-zero finite number, got ${fmtValue(step)}`);
  const n = Math.max(0, Math.ceil((end - start) / step));
  const dtype = options?.dtype ?? ([start, end, step].every(Number.isInteger) ? 'int32' : 'float32');
  if (n > 0 && (dtype === 'int32' || dtype === 'int64')) checkInt32Range('arange', dtype, [start, start + (n - 1) * step]);
  return make('arange', [n], { ...options, dtype }, (d) => { for (let i = 0; i < n; i++) d[i] = start + i * step; });
}

/** `steps` evenly spaced values from `start` to `end` inclusive. */
export function linspace(start: number, end: number, steps: number, options: CreationOptions = {}): Tensor {
  if (!Number.isInteger(steps) || steps < 0) throw new ArgumentError('linspace', `steps must be a non-negative integer, got ${fmtValue(steps)}`);
  checkValue('linspace', 'start', start, undefined);
  checkValue('linspace', 'end', end, undefined);
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
  const g = generatorOf('rand', options);
  floatOnly('rand', options?.dtype);
  return make('rand', shape, options, (d) => { for (let i = 0; i < d.length; i++) d[i] = g.random(); }, 'float32', ['generator']);
}

/** Standard normal. */
export function randn(shape: Shape, options: RandomOptions = {}): Tensor {
  const g = generatorOf('randn', options);
  floatOnly('randn', options?.dtype);
  return make('randn', shape, options, (d) => { for (let i = 0; i < d.length; i++) d[i] = g.normal(); }, 'float32', ['generator']);
}

/** Integers uniform in [low, high); int32 by default ('int64', PyTorch's default, is the same). */
export function randint(low: number, high: number, shape: Shape, options: RandomOptions = {}): Tensor {
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) throw new ArgumentError('randint', `need integers low < high, got low=${fmtValue(low)}, high=${fmtValue(high)}`);
  const g = generatorOf('randint', options);
  const dtype = options?.dtype ?? 'int32';
  if (dtype === 'int32' || dtype === 'int64') checkInt32Range('randint', dtype, [low, high - 1]);
  return make('randint', shape, { ...options, dtype }, (d) => { for (let i = 0; i < d.length; i++) d[i] = g.integer(low, high); }, 'int32', ['generator']);
}

function generatorOf(op: string, options: RandomOptions): Generator {
  const g = options?.generator ?? defaultGenerator;
  if (!(g instanceof Generator)) throw new ArgumentError(op, `generator must be a Generator, got ${fmtValue(g)}`);
  return g;
}

function floatOnly(op: string, dtype: unknown): void {
  if (dtype !== undefined && !isFloat(resolveDType(op, dtype))) throw new DTypeError(op, `dtype must be floating point, got ${fmtValue(dtype)}`);
}

/** The shape of `t` (which must be a Tensor) and the options with its dtype as the default (a bad dtype named as `op`'s). */
function like<O extends CreationOptions>(op: string, t: Tensor, options: O): [Shape, O] {
  expectTensor(op, 'input', t);
  if (options?.dtype !== undefined) resolveDType(op, options.dtype);
  return [t.shape, { dtype: t.dtype, ...options }];
}

export const zerosLike = (t: Tensor, options: CreationOptions = {}) => zeros(...like('zerosLike', t, options));
export const onesLike = (t: Tensor, options: CreationOptions = {}) => ones(...like('onesLike', t, options));
export const fullLike = (t: Tensor, value: number, options: CreationOptions = {}) => {
  const [shape, o] = like('fullLike', t, options);
  return full(shape, value, o);
};
export const randLike = (t: Tensor, options: RandomOptions = {}) => rand(...like('randLike', t, options));
export const randnLike = (t: Tensor, options: RandomOptions = {}) => randn(...like('randnLike', t, options));
export const randintLike = (t: Tensor, low: number, high: number, options: RandomOptions = {}) => {
  const [shape, o] = like('randintLike', t, options);
  return randint(low, high, shape, o);
};
