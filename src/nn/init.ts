/**
 * Parameter initialisation, as `torch.nn.init`: in-place initialisers that overwrite a tensor's
 * elements (through `t.data`, so nothing is recorded in the graph) and return the tensor.
 * Random ones take `{ generator }` (the default generator otherwise, see `manualSeed`), so that
 * a seeded generator gives the same weights on every machine.
 *
 * Fans follow torch's `_calculate_fan_in_and_fan_out`: for a weight [out, in, k1, k2, ...],
 * fanIn = in·k1·k2·… and fanOut = out·k1·k2·… (the receptive field of a convolution).
 * @example kaimingNormal(conv.weight, { mode: 'fanOut', nonlinearity: 'relu', generator: new Generator(0) });
 */
import { ArgumentError, DTypeError, ShapeError, fmtShape } from '../errors.js';
import { isFloat } from '../dtype.js';
import { defaultGenerator, type Generator } from '../random.js';
import type { Tensor } from '../tensor.js';
import { erfc } from '../math.js';

export interface InitOptions {
  /** The generator to draw from; the default generator otherwise. */
  generator?: Generator;
}

/** torch's names, plus camelCase spellings of the multi-word ones. */
export type Nonlinearity =
  | 'linear' | 'conv1d' | 'conv2d' | 'conv3d'
  | 'conv_transpose1d' | 'conv_transpose2d' | 'conv_transpose3d'
  | 'convTranspose1d' | 'convTranspose2d' | 'convTranspose3d'
  | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'leakyRelu' | 'selu';

export type FanMode = 'fanIn' | 'fanOut' | 'fan_in' | 'fan_out';

const LINEAR = new Set(['linear', 'conv1d', 'conv2d', 'conv3d', 'conv_transpose1d', 'conv_transpose2d', 'conv_transpose3d',
  'convTranspose1d', 'convTranspose2d', 'convTranspose3d', 'sigmoid']);

/**
 * The recommended gain for a nonlinearity, as `torch.nn.init.calculate_gain`: 1 for linear,
 * convolutions and sigmoid, 5/3 for tanh, √2 for relu, √(2/(1 + slope²)) for leaky_relu (slope
 * `param`, default 0.01) and 3/4 for selu.
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number | null): number {
  if (LINEAR.has(nonlinearity)) return 1;
  switch (nonlinearity) {
    case 'tanh': return 5 / 3;
    case 'relu': return Math.sqrt(2);
    case 'leaky_relu':
    case 'leakyRelu': {
      const slope = param ?? 0.01;
      if (typeof slope !== 'number' || !Number.isFinite(slope)) throw new ArgumentError('calculateGain', `negative slope ${String(slope)} is not a valid number`);
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu': return 3 / 4;
    default: throw new ArgumentError('calculateGain', `unsupported nonlinearity '${String(nonlinearity)}'`);
  }
}

/**
 * fanIn and fanOut of a weight with at least 2 dims: [out, in, ...kernel] gives
 * fanIn = in·Πkernel, fanOut = out·Πkernel (torch's `_calculate_fan_in_and_fan_out`).
 */
export function calculateFanInAndFanOut(t: Tensor, op = 'calculateFanInAndFanOut'): { fanIn: number; fanOut: number } {
  if (t.ndim < 2) throw new ShapeError(op, `fan in and fan out can not be computed for a tensor with fewer than 2 dims, got shape ${fmtShape(t.shape)}`);
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: t.shape[1] * receptive, fanOut: t.shape[0] * receptive };
}

function floatTarget(op: string, t: Tensor): void {
  if (!isFloat(t.dtype)) throw new DTypeError(op, `tensor must be floating point, got ${t.dtype} with shape ${fmtShape(t.shape)}`);
}

function fill(t: Tensor, f: () => number): Tensor {
  const d = t.data;
  for (let i = 0; i < d.length; i++) d[i] = f();
  return t;
}

/** Fills `t` with values uniform on [a, b). */
export function uniform(t: Tensor, a = 0, b = 1, options: InitOptions = {}): Tensor {
  floatTarget('uniform', t);
  if (!(a <= b)) throw new ArgumentError('uniform', `expects a ≤ b, got a=${a}, b=${b}`);
  const g = options.generator ?? defaultGenerator;
  return fill(t, () => a + (b - a) * g.random());
}

/** Fills `t` with values from N(mean, std²). */
export function normal(t: Tensor, mean = 0, std = 1, options: InitOptions = {}): Tensor {
  floatTarget('normal', t);
  if (!(std >= 0)) throw new ArgumentError('normal', `std must be ≥ 0, got ${std}`);
  const g = options.generator ?? defaultGenerator;
  return fill(t, () => mean + std * g.normal());
}

/** Fills `t` with `value`. */
export function constant(t: Tensor, value: number): Tensor {
  t.data.fill(value);
  return t;
}

export function zeros(t: Tensor): Tensor { return constant(t, 0); }
export function ones(t: Tensor): Tensor { return constant(t, 1); }

/**
 * Glorot/Xavier uniform: U(−a, a) with a = gain·√(6/(fanIn + fanOut)), so
 * var = gain²·2/(fanIn + fanOut).
 */
export function xavierUniform(t: Tensor, options: InitOptions & { gain?: number } = {}): Tensor {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t, 'xavierUniform');
  const std = (options.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut));
  const a = Math.sqrt(3) * std;
  return uniform(t, -a, a, options);
}

/** Glorot/Xavier normal: N(0, std²) with std = gain·√(2/(fanIn + fanOut)). */
export function xavierNormal(t: Tensor, options: InitOptions & { gain?: number } = {}): Tensor {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t, 'xavierNormal');
  return normal(t, 0, (options.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut)), options);
}

export interface KaimingOptions extends InitOptions {
  /** Negative slope of the leaky_relu that follows (default 0; used when nonlinearity is leaky_relu). */
  a?: number;
  /** 'fanIn' (default) keeps the forward variance, 'fanOut' the backward one. */
  mode?: FanMode;
  /** Default 'leaky_relu'. */
  nonlinearity?: Nonlinearity;
}

function kaimingStd(op: string, t: Tensor, options: KaimingOptions): number | null {
  if (t.size === 0) return null; // torch: initialising a zero-element tensor is a no-op
  const mode = options.mode ?? 'fanIn';
  if (!['fanIn', 'fanOut', 'fan_in', 'fan_out'].includes(mode)) throw new ArgumentError(op, `mode must be 'fanIn' or 'fanOut', got '${String(mode)}'`);
  const { fanIn, fanOut } = calculateFanInAndFanOut(t, op);
  const fan = mode === 'fanIn' || mode === 'fan_in' ? fanIn : fanOut;
  return calculateGain(options.nonlinearity ?? 'leaky_relu', options.a ?? 0) / Math.sqrt(fan);
}

/**
 * He/Kaiming uniform: U(−bound, bound) with bound = gain·√(3/fan), gain = calculateGain(nonlinearity, a),
 * so var = gain²/fan (= 2/((1 + a²)·fan) for leaky_relu).
 */
export function kaimingUniform(t: Tensor, options: KaimingOptions = {}): Tensor {
  const std = kaimingStd('kaimingUniform', t, options);
  if (std === null) return t;
  const bound = Math.sqrt(3) * std;
  return uniform(t, -bound, bound, options);
}

/** He/Kaiming normal: N(0, std²) with std = gain/√fan. */
export function kaimingNormal(t: Tensor, options: KaimingOptions = {}): Tensor {
  const std = kaimingStd('kaimingNormal', t, options);
  if (std === null) return t;
  return normal(t, 0, std, options);
}

/**
 * A (semi-)orthogonal matrix, as `torch.nn.init.orthogonal_`: `t` is viewed as rows = shape[0] by
 * cols = size/rows, filled from N(0, 1), factorised A = QR in float64 (Householder; the transpose
 * when rows < cols), Q's columns multiplied by sign(diag R) so the result is uniformly
 * distributed, and scaled by `gain`. Rows (or columns, whichever are fewer) are orthonormal.
 */
export function orthogonal(t: Tensor, options: InitOptions & { gain?: number } = {}): Tensor {
  if (t.ndim < 2) throw new ShapeError('orthogonal', `only tensors with 2 or more dims are supported, got shape ${fmtShape(t.shape)}`);
  floatTarget('orthogonal', t);
  if (t.size === 0) return t;
  const gain = options.gain ?? 1;
  const g = options.generator ?? defaultGenerator;
  const rows = t.shape[0], cols = t.size / rows;
  const flat = Float64Array.from({ length: rows * cols }, () => g.normal());
  // A is m × n with m ≥ n (the transpose of the flattened tensor when rows < cols), column-major.
  const tall = rows >= cols;
  const m = tall ? rows : cols, n = tall ? cols : rows;
  const A = new Float64Array(m * n);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
    const v = flat[r * cols + c];
    if (tall) A[c * m + r] = v; else A[r * m + c] = v;
  }
  const Q = householderQ(A, m, n); // column-major m × n, columns scaled by sign(diag R)
  const out = t.data;
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
    out[r * cols + c] = gain * (tall ? Q[c * m + r] : Q[r * m + c]);
  }
  return t;
}

/**
 * The reduced Q (m × n, column-major) of A = QR for m ≥ n, with the sign of each column chosen so
 * that R's diagonal is non-negative (the unique such factorisation for full-rank A).
 */
function householderQ(A: Float64Array, m: number, n: number): Float64Array {
  const vs: Float64Array[] = [];
  const rDiag = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const col = k * m;
    let norm = 0;
    for (let i = k; i < m; i++) norm += A[col + i] * A[col + i];
    norm = Math.sqrt(norm);
    const alpha = A[col + k] >= 0 ? -norm : norm; // R[k][k]
    const v = new Float64Array(m - k);
    for (let i = k; i < m; i++) v[i - k] = A[col + i];
    v[0] -= alpha;
    let vn = 0;
    for (let i = 0; i < v.length; i++) vn += v[i] * v[i];
    vn = Math.sqrt(vn);
    if (vn > 0) for (let i = 0; i < v.length; i++) v[i] /= vn;
    vs.push(v);
    rDiag[k] = vn > 0 ? alpha : A[col + k];
    // Apply H = I − 2vvᵀ to the remaining columns.
    for (let j = k; j < n; j++) {
      const cj = j * m;
      let dot = 0;
      for (let i = k; i < m; i++) dot += v[i - k] * A[cj + i];
      for (let i = k; i < m; i++) A[cj + i] -= 2 * dot * v[i - k];
    }
  }
  // Q = H0 H1 … H(n−1) applied to the first n columns of the identity.
  const Q = new Float64Array(m * n);
  for (let j = 0; j < n; j++) Q[j * m + j] = 1;
  for (let k = n - 1; k >= 0; k--) {
    const v = vs[k];
    for (let j = 0; j < n; j++) {
      const cj = j * m;
      let dot = 0;
      for (let i = k; i < m; i++) dot += v[i - k] * Q[cj + i];
      for (let i = k; i < m; i++) Q[cj + i] -= 2 * dot * v[i - k];
    }
  }
  for (let j = 0; j < n; j++) {
    if (rDiag[j] < 0) for (let i = 0; i < m; i++) Q[j * m + i] = -Q[j * m + i];
  }
  return Q;
}

/**
 * Fills `t` from N(mean, std²) truncated to [a, b] (defaults: 0, 1, −2, 2), as
 * `torch.nn.init.trunc_normal_`. Exact sampling: rejection from the normal when [a, b] holds most
 * of its mass, else inversion of the normal CDF (computed in the lower tail for accuracy).
 */
export function truncNormal(t: Tensor, mean = 0, std = 1, a = -2, b = 2, options: InitOptions = {}): Tensor {
  floatTarget('truncNormal', t);
  if (!(std > 0) || !(a < b)) throw new ArgumentError('truncNormal', `expects std > 0 and a < b, got std=${std}, a=${a}, b=${b}`);
  const g = options.generator ?? defaultGenerator;
  let lo = (a - mean) / std, hi = (b - mean) / std;
  // Work in the lower tail (where the CDF is accurate): mirror when the interval lies above 0.
  const flip = lo > 0;
  if (flip) [lo, hi] = [-hi, -lo];
  const cLo = normCdf(lo), cHi = normCdf(hi);
  const mass = cHi - cLo;
  if (!(mass > 0)) throw new ArgumentError('truncNormal', `[${a}, ${b}] holds no measurable mass of N(${mean}, ${std}²)`);
  const draw = mass > 0.3
    ? () => { for (;;) { const z = g.normal(); if (z >= lo && z <= hi) return z; } }
    : () => normIcdf(cLo + mass * g.random(), lo, hi);
  return fill(t, () => {
    const z = draw();
    const v = mean + std * (flip ? -z : z);
    return Math.min(Math.max(v, a), b);
  });
}

const normCdf = (z: number): number => 0.5 * erfc(-z / Math.SQRT2);

/** z in [lo, hi] with Φ(z) = p: Newton steps on Φ, safeguarded by bisection. */
function normIcdf(p: number, lo: number, hi: number): number {
  let a = Math.max(lo, -40), b = Math.min(hi, 40);
  let z = Math.min(Math.max(0.5 * (a + b), a), b);
  for (let it = 0; it < 200; it++) {
    const c = normCdf(z);
    if (c < p) a = z; else b = z;
    const pdf = Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
    let next = c > 0 && pdf > 0 ? z - (c - p) / pdf : NaN;
    if (!(next > a && next < b)) next = 0.5 * (a + b);
    if (Math.abs(next - z) < 1e-12 * Math.max(1, Math.abs(z)) || b - a < 1e-14) return next;
    z = next;
  }
  return z;
}
