/**
 * Ops that move or select elements: reshape and friends, permute, expand, concat, slicing,
 * index selection, gather and padding. Slices, index selections and pads are all one primitive,
 * `take` (per-axis index maps with a fill value), whose adjoint `takeAdd` scatters gradients back.
 */
import type { AxisMaps } from '../backend/backend.js';
import { record } from '../autograd/engine.js';
import { checkAllocation, promote } from '../dtype.js';
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { normDim, normDims, sizeOf, stridesOf, type Shape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { alloc, allocUninitialized, expectInt, expectTensor, expectTensors, kernels } from './util.js';
import { fmtValue } from '../options.js';
import { cast } from './convert.js';

/** Same data, new shape; one dim may be -1 (inferred). The result shares x's data. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  expectTensor('reshape', 'input', x);
  const infer = shape.indexOf(-1);
  if (shape.some((d, i) => !Number.isInteger(d) || d < -1 || (d === -1 && i !== infer))) {
    throw new ArgumentError('reshape', `invalid shape ${fmtShape(shape)} (sizes must be ≥ 0, at most one -1)`);
  }
  const known = shape.reduce((p, d) => (d === -1 ? p : p * d), 1);
  const target = [...shape];
  if (infer >= 0) {
    if (known === 0 || x.size % known !== 0) throw new ShapeError('reshape', `cannot reshape ${fmtShape(x.shape)} (${x.size} elements) to ${fmtShape(shape)}`);
    target[infer] = x.size / known;
  }
  if (sizeOf(target) !== x.size) throw new ShapeError('reshape', `cannot reshape ${fmtShape(x.shape)} (${x.size} elements) to ${fmtShape(shape)}`);
  const out = new Tensor(x.data, target);
  return record(out, 'reshape', [x], (g) => [reshape(g, x.shape)], { shape: target });
}

/** Merges dims startDim..endDim into one. */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  expectTensor('flatten', 'input', x);
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normDim('flatten', startDim, x.ndim), e = normDim('flatten', endDim, x.ndim);
  if (s > e) throw new ArgumentError('flatten', `startDim ${startDim} comes after endDim ${endDim} for shape ${fmtShape(x.shape)}`);
  const merged = x.shape.slice(s, e + 1).reduce((p, d) => p * d, 1);
  return reshape(x, [...x.shape.slice(0, s), merged, ...x.shape.slice(e + 1)]);
}

/** Removes size-1 dims (all of them, or those in `dim` that have size 1). */
export function squeeze(x: Tensor, dim?: number | readonly number[] | null): Tensor {
  expectTensor('squeeze', 'input', x);
  const axes = dim === undefined || dim === null ? x.shape.flatMap((d, i) => (d === 1 ? [i] : [])) : normDims('squeeze', dim, x.ndim).filter((a) => x.shape[a] === 1);
  return reshape(x, x.shape.filter((_, i) => !axes.includes(i)));
}

/** Inserts a size-1 dim at `dim` (which may be ndim, or negative counted from ndim + 1). */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  expectTensor('unsqueeze', 'input', x);
  const d = normDim('unsqueeze', dim, x.ndim + 1);
  return reshape(x, [...x.shape.slice(0, d), 1, ...x.shape.slice(d)]);
}

/** Reorders dims: output dim i is input dim dims[i]. */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  expectTensor('permute', 'input', x);
  if (dims.length !== x.ndim) throw new ShapeError('permute', `dims ${fmtShape(dims)} must list all ${x.ndim} dims of shape ${fmtShape(x.shape)}`);
  const perm = dims.map((d) => normDim('permute', d, x.ndim));
  if (new Set(perm).size !== perm.length) throw new ArgumentError('permute', `dims ${fmtShape(dims)} repeat a dim`);
  const st = stridesOf(x.shape);
  const shape = perm.map((p) => x.shape[p]);
  const out = allocUninitialized('permute', x.dtype, shape);
  kernels().copyStrided(x.data, perm.map((p) => st[p]), out.data, shape);
  const inverse = perm.map((_, i) => perm.indexOf(i));
  return record(out, 'permute', [x], (g) => [permute(g, inverse)], { dims: perm });
}

/** Swaps two dims. */
export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  expectTensor('transpose', 'input', x);
  const perm = [...x.shape.keys()];
  const a = normDim('transpose', dim0, x.ndim), b = normDim('transpose', dim1, x.ndim);
  [perm[a], perm[b]] = [perm[b], perm[a]];
  return permute(x, perm);
}

/** The transpose of a matrix. */
export function t(x: Tensor): Tensor {
  if (x.ndim !== 2) throw new ShapeError('t', `expects a 2-D tensor, got shape ${fmtShape(x.shape)}`);
  return transpose(x, 0, 1);
}

/**
 * Broadcasts size-1 dims (and new leading dims) to `shape`; -1 keeps a dim. The result is a copy;
 * its gradient is summed back by the engine.
 */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  expectTensor('expand', 'input', x);
  const lead = shape.length - x.ndim;
  const bad = () => new ShapeError('expand', `cannot expand shape ${fmtShape(x.shape)} to ${fmtShape(shape)}`);
  if (lead < 0) throw bad();
  const target = shape.map((d, i) => {
    const src = i < lead ? null : x.shape[i - lead];
    if (d === -1) { if (src === null) throw bad(); return src; }
    if (src !== null && src !== d && src !== 1) throw bad();
    return d;
  });
  const st = stridesOf(x.shape);
  const strides = target.map((_, i) => (i < lead || x.shape[i - lead] === 1 ? 0 : st[i - lead]));
  const out = allocUninitialized('expand', x.dtype, target);
  kernels().copyStrided(x.data, strides, out.data, target);
  return record(out, 'expand', [x], (g) => [g], { shape: target });
}

/** Joins tensors along an existing dim; the other dims must agree. */
export function concat(tensors: readonly Tensor[], dim = 0): Tensor {
  expectTensors('concat', 'tensors', tensors);
  const first = tensors[0];
  if (first.ndim === 0) throw new ShapeError('concat', 'zero-dimensional tensors cannot be concatenated; use stack');
  const axis = normDim('concat', dim, first.ndim);
  tensors.forEach((t, i) => {
    if (t.ndim !== first.ndim || t.shape.some((d, j) => j !== axis && d !== first.shape[j])) {
      throw new ShapeError('concat', `tensors[${i}] has shape ${fmtShape(t.shape)} but tensors[0] has ${fmtShape(first.shape)}; all dims but ${axis} must match`);
    }
  });
  const dtype = tensors.map((t) => t.dtype).reduce(promote);
  const parts = tensors.map((t) => (t.dtype === dtype ? t : cast(t, dtype)));
  const shape = [...first.shape];
  shape[axis] = parts.reduce((s, t) => s + t.shape[axis], 0);
  const out = allocUninitialized('concat', dtype, shape);
  kernels().concat(parts.map((t) => t.data), parts.map((t) => t.shape), axis, out.data, shape);
  return record(out, 'concat', parts, (g, needs) => {
    let start = 0;
    return parts.map((p, i) => {
      const piece = needs[i] ? narrow(g, axis, start, p.shape[axis]) : null;
      start += p.shape[axis];
      return piece;
    });
  }, { dim: axis });
}

/** Joins same-shaped tensors along a new dim. */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  expectTensors('stack', 'tensors', tensors);
  const d = normDim('stack', dim, tensors[0].ndim + 1);
  tensors.forEach((t, i) => {
    if (t.ndim !== tensors[0].ndim || t.shape.some((s, j) => s !== tensors[0].shape[j])) {
      throw new ShapeError('stack', `tensors[${i}] has shape ${fmtShape(t.shape)} but tensors[0] has ${fmtShape(tensors[0].shape)}`);
    }
  });
  return concat(tensors.map((t) => unsqueeze(t, d)), d);
}

/** Splits into chunks of `splitSizeOrSections` (the last may be smaller) or into the listed sizes. */
export function split(x: Tensor, splitSizeOrSections: number | readonly number[], dim = 0): Tensor[] {
  expectTensor('split', 'input', x);
  const axis = normDim('split', dim, x.ndim);
  const n = x.shape[axis];
  let sizes: number[];
  if (typeof splitSizeOrSections === 'number') {
    const s = splitSizeOrSections;
    if (!Number.isInteger(s) || s <= 0) throw new ArgumentError('split', `split size must be a positive integer, got ${s}`);
    sizes = Array.from({ length: Math.max(1, Math.ceil(n / s)) }, (_, i) => Math.min(s, n - i * s));
  } else if (!Array.isArray(splitSizeOrSections)) {
    throw new ArgumentError('split', `splitSizeOrSections must be a positive integer or an array of sizes, got ${fmtValue(splitSizeOrSections)}`);
  } else {
    sizes = [...splitSizeOrSections];
    if (sizes.some((s) => !Number.isInteger(s) || s < 0) || sizes.reduce((a, b) => a + b, 0) !== n) {
      throw new ShapeError('split', `sections ${fmtShape(sizes)} must be non-negative and sum to ${n} (dim ${axis} of ${fmtShape(x.shape)})`);
    }
  }
  let start = 0;
  return sizes.map((s) => { const piece = narrow(x, axis, start, s); start += s; return piece; });
}

/**
 * `length` elements of `dim` from `start`. When every dim before `dim` has size 1 (rows of a
 * tensor, steps of a time-major sequence) the result shares x's data instead of copying it.
 */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  expectTensor('narrow', 'input', x);
  const axis = normDim('narrow', dim, x.ndim);
  const n = x.shape[axis];
  const s = start < 0 ? start + n : start;
  if (!Number.isInteger(s) || !Number.isInteger(length) || s < 0 || length < 0 || s + length > n) {
    throw new ArgumentError('narrow', `start ${start} and length ${length} do not fit dim ${axis} of size ${n} (shape ${fmtShape(x.shape)})`);
  }
  if (x.shape.slice(0, axis).some((d) => d !== 1)) return take(x, axisMap(x.ndim, axis, Int32Array.from({ length }, (_, j) => s + j)), 0, 'narrow');
  // A run of whole rows is contiguous: the result shares x's data, as reshape's does.
  const inner = sizeOf(x.shape.slice(axis + 1)), offset = s * inner;
  const out = new Tensor(x.data.subarray(offset, offset + length * inner), x.shape.map((d, i) => (i === axis ? length : d)));
  return record(out, 'narrow', [x], (g) => [placeRows(g, offset, x.shape, axis, s)]);
}

/** narrow's adjoint for a contiguous run: zeros of `shape` with g's elements placed at `offset`. */
function placeRows(g: Tensor, offset: number, shape: Shape, axis: number, start: number): Tensor {
  const out = alloc('narrowBackward', g.dtype, shape);
  out.data.set(g.data, offset);
  return record(out, 'narrowBackward', [g], (gg) => [narrow(gg, axis, start, g.shape[axis])]);
}

/**
 * Python-style slice `start:end:step` of one dim: negative indices count from the end and
 * out-of-range bounds are clamped. `step` must be positive.
 */
export function slice(x: Tensor, dim: number, start?: number | null, end?: number | null, step = 1): Tensor {
  expectTensor('slice', 'input', x);
  const axis = normDim('slice', dim, x.ndim);
  if (!Number.isInteger(step) || step <= 0) throw new ArgumentError('slice', `step must be a positive integer, got ${step}`);
  const n = x.shape[axis];
  const bound = (v: number | null | undefined, dflt: number) => {
    if (v === undefined || v === null) return dflt;
    return Math.min(Math.max(v < 0 ? v + n : v, 0), n);
  };
  const s = bound(start, 0), e = bound(end, n);
  const len = Math.max(0, Math.ceil((e - s) / step));
  return take(x, axisMap(x.ndim, axis, Int32Array.from({ length: len }, (_, j) => s + j * step)), 0, 'slice');
}

/** Selects entries of `dim` by a 1-D int32 index (entries may repeat). */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  expectTensor('indexSelect', 'input', x);
  const idx = expectInt('indexSelect', 'index', index);
  if (index.ndim > 1) throw new ShapeError('indexSelect', `index must be 1-D, got shape ${fmtShape(index.shape)}`);
  const axis = normDim('indexSelect', dim, x.ndim);
  const n = x.ndim === 0 ? 1 : x.shape[axis];
  const map = Int32Array.from(idx, (v) => {
    if (v < -n || v >= n) throw new ArgumentError('indexSelect', `index ${v} is out of range for dim ${axis} of size ${n}`);
    return v < 0 ? v + n : v;
  });
  return take(x, axisMap(x.ndim, axis, map), 0, 'indexSelect');
}

function axisMap(ndim: number, axis: number, map: Int32Array): (Int32Array | null)[] {
  return Array.from({ length: ndim }, (_, d) => (d === axis ? map : null));
}

/** out[i0, i1, ...] = x[maps[0][i0], maps[1][i1], ...] (or `fill` where a map holds -1). */
function take(x: Tensor, maps: AxisMaps, fill: number, op: string): Tensor {
  const shape = maps.map((m, d) => (m ? m.length : x.shape[d]));
  const out = allocUninitialized(op, x.dtype, shape);
  kernels().take(x.data, x.shape, maps, fill, out.data, shape);
  return record(out, op, [x], (g) => [takeAdd(g, maps, x.shape)]);
}

/** The adjoint of take: a zero tensor of `shape` with g added at the places take read from. */
function takeAdd(g: Tensor, maps: AxisMaps, shape: Shape): Tensor {
  const out = alloc('takeBackward', g.dtype, shape);
  kernels().takeAdd(g.data, g.shape, maps, out.data, shape);
  return record(out, 'takeAdd', [g], (gg) => [take(gg, maps, 0, 'take')]);
}

function checkGatherIndex(op: string, x: Tensor, axis: number, index: Tensor): Int32Array {
  const idx = expectInt(op, 'index', index);
  if (index.ndim !== x.ndim || index.shape.some((d, i) => i !== axis && d > x.shape[i])) {
    throw new ShapeError(op, `index of shape ${fmtShape(index.shape)} does not fit input of shape ${fmtShape(x.shape)} at dim ${axis} (same ndim, other dims no larger)`);
  }
  const n = x.shape[axis];
  for (const v of idx) if (v < 0 || v >= n) throw new ArgumentError(op, `index ${v} is out of range for dim ${axis} of size ${n}`);
  return idx;
}

/** torch.gather: out[i][j] = x[i][index[i][j]] for dim 1, and so on; out has index's shape. */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  expectTensor('gather', 'input', x);
  const axis = normDim('gather', dim, x.ndim);
  const idx = checkGatherIndex('gather', x, axis, index);
  const out = allocUninitialized('gather', x.dtype, index.shape);
  kernels().gather(x.data, x.shape, axis, idx, index.shape, out.data);
  return record(out, 'gather', [x], (g) => [scatterAdd(alloc('gatherBackward', g.dtype, x.shape), axis, index, g)], { dim: axis });
}

/** torch.scatter_add (out of place): a copy of x with src added at the places index names. */
export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  expectTensor('scatterAdd', 'input', x);
  expectTensor('scatterAdd', 'src', src);
  const axis = normDim('scatterAdd', dim, x.ndim);
  const idx = checkGatherIndex('scatterAdd', x, axis, index);
  if (src.ndim !== index.ndim || index.shape.some((d, i) => d > src.shape[i])) {
    throw new ShapeError('scatterAdd', `src of shape ${fmtShape(src.shape)} is smaller than index of shape ${fmtShape(index.shape)}`);
  }
  const srcIn = sizeOf(src.shape) === sizeOf(index.shape) ? src : take(src, index.shape.map((d) => Int32Array.from({ length: d }, (_, j) => j)), 0, 'narrow');
  const out = alloc('scatterAdd', promote(x.dtype, src.dtype), x.shape);
  out.data.set(x.data);
  kernels().scatterAdd(srcIn.data, idx, index.shape, axis, out.data, x.shape);
  return record(out, 'scatterAdd', [x, srcIn], (g, needs) => [g, needs[1] ? gather(g, axis, index) : null], { dim: axis });
}

export type PadMode = 'constant' | 'reflect' | 'replicate' | 'circular';

/**
 * Pads like `torch.nn.functional.pad`: `pads` lists (before, after) pairs starting from the last
 * dim. Negative pads crop (constant mode).
 */
export function pad(x: Tensor, pads: readonly number[], mode: PadMode = 'constant', value = 0): Tensor {
  expectTensor('pad', 'input', x);
  if (!Array.isArray(pads) || pads.length % 2 !== 0 || pads.length / 2 > x.ndim || pads.some((p) => !Number.isInteger(p))) {
    throw new ArgumentError('pad', `pads ${Array.isArray(pads) ? fmtShape(pads) : fmtValue(pads)} must be integer (before, after) pairs for at most ${x.ndim} dims (shape ${fmtShape(x.shape)})`);
  }
  if (!['constant', 'reflect', 'replicate', 'circular'].includes(mode)) {
    throw new ArgumentError('pad', `mode must be 'constant', 'reflect', 'replicate' or 'circular', got '${mode}'`);
  }
  const outShape = x.shape.map((n, d) => {
    const k = x.ndim - 1 - d;
    return k < pads.length / 2 ? n + pads[2 * k] + pads[2 * k + 1] : n;
  });
  const negative = outShape.findIndex((len) => len < 0);
  if (negative >= 0) throw new ShapeError('pad', `pads ${fmtShape(pads)} leave a negative size at dim ${negative} of shape ${fmtShape(x.shape)}`);
  // Before the index maps: huge pads must be refused, not spend minutes building maps.
  checkAllocation('pad', x.dtype, outShape);
  const maps: (Int32Array | null)[] = x.shape.map(() => null);
  for (let k = 0; k < pads.length / 2; k++) {
    const d = x.ndim - 1 - k;
    const before = pads[2 * k], after = pads[2 * k + 1];
    if (before === 0 && after === 0) continue;
    const n = x.shape[d];
    const len = outShape[d];
    if (mode !== 'constant' && (before < 0 || after < 0)) throw new ArgumentError('pad', `negative pads are only supported in constant mode`);
    if (mode === 'reflect' && (before >= n || after >= n)) throw new ArgumentError('pad', `reflect padding ${before},${after} must be smaller than dim ${d} of size ${n}`);
    if (mode === 'circular' && (before > n || after > n)) throw new ArgumentError('pad', `circular padding ${before},${after} must be at most dim ${d} of size ${n}`);
    if (mode !== 'constant' && n === 0) throw new ArgumentError('pad', `${mode} padding needs a non-empty dim ${d}`);
    maps[d] = Int32Array.from({ length: len }, (_, j) => {
      const i = j - before;
      if (i >= 0 && i < n) return i;
      switch (mode) {
        case 'constant': return -1;
        case 'replicate': return i < 0 ? 0 : n - 1;
        case 'reflect': return i < 0 ? -i : 2 * (n - 1) - i;
        case 'circular': return ((i % n) + n) % n;
      }
    });
  }
  return take(x, maps, value, 'pad');
}
