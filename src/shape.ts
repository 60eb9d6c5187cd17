import { ArgumentError, ShapeError, fmtShape } from './errors.js';
import { fmtValue } from './options.js';

export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides in elements. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]; }
  return s;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** A possibly negative dim, checked against `ndim` and made non-negative. */
export function normDim(op: string, dim: number, ndim: number): number {
  if (!Number.isInteger(dim) || dim < -Math.max(ndim, 1) || dim >= Math.max(ndim, 1)) {
    throw new ArgumentError(op, `dim ${dim} is out of range for a tensor with ${ndim} dims`);
  }
  return dim < 0 ? dim + Math.max(ndim, 1) : dim;
}

/** Dims to reduce: `undefined`/`null` means all; duplicates are an error. Sorted ascending. */
export function normDims(op: string, dims: number | readonly number[] | null | undefined, ndim: number): number[] {
  if (dims === undefined || dims === null) return [...Array(ndim).keys()];
  if (typeof dims !== 'number' && !Array.isArray(dims)) throw new ArgumentError(op, `dim must be an integer, an array of them or null, got ${fmtValue(dims)}`);
  const list = typeof dims === 'number' ? [dims] : [...dims];
  const out = list.map((d) => (ndim === 0 && (d === 0 || d === -1) ? 0 : normDim(op, d, ndim)));
  if (new Set(out).size !== out.length) throw new ArgumentError(op, `dim ${JSON.stringify(dims)} repeats a dim`);
  return ndim === 0 ? [] : out.sort((a, b) => a - b);
}

/** NumPy broadcasting of two shapes. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)];
    const db = i < n - b.length ? 1 : b[i - (n - b.length)];
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(op, `shapes ${fmtShape(a)} and ${fmtShape(b)} cannot be broadcast (dim ${i}: ${da} vs ${db})`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Strides of `shape` viewed as broadcast to `outShape` (0 along broadcast dims). */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const st = stridesOf(shape);
  const off = outShape.length - shape.length;
  return outShape.map((d, i) => (i < off || shape[i - off] === 1 ? 0 : st[i - off]));
}

/** Throws unless `shape` is an array of non-negative integers. */
export function checkShape(op: string, shape: Shape): void {
  if (!Array.isArray(shape)) throw new ArgumentError(op, `shape must be an array of non-negative integers, got ${fmtValue(shape)}`);
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ArgumentError(op, `invalid shape ${fmtShape(shape)}: sizes must be non-negative integers`);
  }
}

/**
 * A reduction's layout with neighbouring axes merged when both are kept or both reduced (size-1
 * axes drop out): the merged dims, and per dim the output's stride (0 on reduced dims).
 */
export function reductionLayout(shape: Shape, axes: readonly number[]): { dims: number[]; outStrides: number[] } {
  const dims: number[] = [], reduced: boolean[] = [];
  shape.forEach((d, i) => {
    if (d === 1) return;
    const r = axes.includes(i);
    if (dims.length && reduced[reduced.length - 1] === r) dims[dims.length - 1] *= d;
    else { dims.push(d); reduced.push(r); }
  });
  if (dims.length === 0) { dims.push(1); reduced.push(false); }
  const outStrides = new Array<number>(dims.length);
  for (let i = dims.length - 1, step = 1; i >= 0; i--) {
    outStrides[i] = reduced[i] ? 0 : step;
    if (!reduced[i]) step *= dims[i];
  }
  return { dims, outStrides };
}

/**
 * The output's dims (size-1 dims dropped) with each operand's strides, adjacent dims merged where
 * every operand steps through them as one. At least one dim.
 */
export function collapse(outShape: Shape, strides: readonly (readonly number[])[]): { dims: number[]; strides: number[][] } {
  const dims: number[] = [];
  const st: number[][] = strides.map(() => []);
  for (let d = 0; d < outShape.length; d++) {
    const n = outShape[d];
    if (n === 1) continue;
    const last = dims.length - 1;
    if (last >= 0 && strides.every((s, k) => st[k][last] === s[d] * n)) {
      dims[last] *= n;
      for (let k = 0; k < strides.length; k++) st[k][last] = strides[k][d];
    } else {
      dims.push(n);
      for (let k = 0; k < strides.length; k++) st[k].push(strides[k][d]);
    }
  }
  if (dims.length === 0) {
    dims.push(1);
    for (const s of st) s.push(0);
  }
  return { dims, strides: st };
}
