/**
 * The backend boundary. A backend is a name plus a kernel table; the ops layer (src/ops) checks
 * shapes, allocates outputs and records gradients, then calls a kernel. Kernels work on flat
 * row-major typed arrays and never see Tensor objects. `Kernels` is an interface, so a backend
 * that lacks a kernel does not compile.
 */
import type { TypedArray } from '../dtype.js';
import type { Shape } from '../shape.js';
import { ArgumentError } from '../errors.js';
import { jsKernels } from './js/index.js';

/** Element-wise functions of one input with up to two scalar parameters. */
export type UnaryOp =
  | 'neg' | 'exp' | 'log' | 'sqrt' | 'abs' | 'sign' | 'erf'
  | 'relu' | 'sigmoid' | 'tanh'
  | 'leakyRelu'  // p0 = negative slope
  | 'elu'        // p0 = alpha
  | 'gelu' | 'geluTanh'
  | 'softplus'   // p0 = beta, p1 = threshold
  | 'clamp';     // p0 = min, p1 = max (±Infinity when absent)

/** Element-wise functions of two inputs, NumPy-broadcast. Comparisons write 0/1. */
export type BinaryOp =
  | 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum'
  | 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';

export type ReduceOp = 'sum' | 'max' | 'min';

/**
 * Per-axis index maps for `take`: `maps[d][j]` is the source index along axis d of output index j,
 * or -1 for "use the fill value"; `null` means the identity along that axis.
 */
export type AxisMaps = readonly (Int32Array | null)[];

export interface Kernels {
  unary(op: UnaryOp, x: TypedArray, out: TypedArray, p0: number, p1: number): void;
  binary(op: BinaryOp, a: TypedArray, aShape: Shape, b: TypedArray, bShape: Shape, out: TypedArray, outShape: Shape): void;
  /** out = cond != 0 ? a : b, all three broadcast to outShape. */
  where(cond: TypedArray, cShape: Shape, a: TypedArray, aShape: Shape, b: TypedArray, bShape: Shape, out: TypedArray, outShape: Shape): void;
  /** Reduces the sorted `axes` of x; `out` has the size of the kept dims. */
  reduce(op: ReduceOp, x: TypedArray, shape: Shape, axes: readonly number[], out: TypedArray): void;
  /** Index of the first largest (smallest) value along `axis`, or over all elements when null. */
  argReduce(op: 'argmax' | 'argmin', x: TypedArray, shape: Shape, axis: number | null, out: Int32Array): void;
  /** Batched matrix product of tensors with ≥ 2 dims; batch dims broadcast to outShape. */
  matmul(a: TypedArray, aShape: Shape, b: TypedArray, bShape: Shape, out: TypedArray, outShape: Shape): void;
  /** out[i] = x[Σ_d i_d · strides[d]]: permutations and broadcasts (stride 0) in one kernel. */
  copyStrided(x: TypedArray, strides: readonly number[], out: TypedArray, outShape: Shape): void;
  /** out[i_0, i_1, ...] = x[maps[0][i_0], maps[1][i_1], ...], or `fill` where a map says -1. */
  take(x: TypedArray, shape: Shape, maps: AxisMaps, fill: number, out: TypedArray, outShape: Shape): void;
  /** The adjoint of take: out (zeroed by the caller, shape `shape`) += g scattered through maps. */
  takeAdd(g: TypedArray, gShape: Shape, maps: AxisMaps, out: TypedArray, shape: Shape): void;
  concat(xs: readonly TypedArray[], shapes: readonly Shape[], axis: number, out: TypedArray, outShape: Shape): void;
  /** torch.gather: out[..i..] = x[..index[..i..] at axis..]; out has index's shape. */
  gather(x: TypedArray, shape: Shape, axis: number, index: Int32Array, indexShape: Shape, out: TypedArray): void;
  /** The adjoint of gather: out (shape `shape`) += src scattered through index. */
  scatterAdd(src: TypedArray, index: Int32Array, indexShape: Shape, axis: number, out: TypedArray, shape: Shape): void;
}

export interface Backend {
  readonly name: string;
  readonly kernels: Kernels;
}

/** The JavaScript reference backend, registered and selected by default. */
export const jsBackend: Backend = { name: 'js', kernels: jsKernels };

const backends = new Map<string, Backend>([['js', jsBackend]]);
let current: Backend = jsBackend;

/** Makes a backend selectable by name with `setBackend`. */
export function registerBackend(backend: Backend): void {
  backends.set(backend.name, backend);
}

/** Selects the backend that runs every following op. */
export function setBackend(name: string): void {
  const b = backends.get(name);
  if (!b) throw new ArgumentError('setBackend', `unknown backend '${name}' (registered: ${[...backends.keys()].join(', ')})`);
  current = b;
}

export function getBackend(): Backend {
  return current;
}

export function listBackends(): string[] {
  return [...backends.keys()];
}
