/**
 * Pooling and resampling. Max and average pooling are fused primitives with backward kernels;
 * adaptive average pooling and bilinear resizing are separable linear maps (small matrices on
 * each side, `P_h · x · P_wᵀ`); nearest resizing is an index map.
 */
import type { PoolGeometry } from '../backend/backend.js';
import { record } from '../autograd/engine.js';
import { ArgumentError, DTypeError, ShapeError, fmtShape } from '../errors.js';
import { isFloat } from '../dtype.js';
import type { Shape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { matmul } from './matmul.js';
import { gather, indexSelect, reshape, squeeze, transpose, unsqueeze } from './shape.js';
import { alloc, allocUninitialized, expectTensor, kernels, pair, type Pair } from './util.js';
import { checkKeys } from '../options.js';

export interface MaxPool2dOptions {
  /** Window step; defaults to the kernel size. */
  stride?: Pair;
  /** Implicit −∞ padding on each side; at most half the kernel. */
  padding?: Pair;
  dilation?: Pair;
  /** Round the output size up, so a partial window at the end still counts. */
  ceilMode?: boolean;
}

export interface AvgPool2dOptions {
  stride?: Pair;
  /** Implicit zero padding on each side; at most half the kernel. */
  padding?: Pair;
  ceilMode?: boolean;
  /** Count padded zeros in the divisor (default true, as PyTorch). */
  countIncludePad?: boolean;
  /** Divide by this instead of the window size. */
  divisorOverride?: number;
}

function poolInput(op: string, x: Tensor): [Tensor, boolean] {
  expectTensor(op, 'input', x);
  if (!isFloat(x.dtype)) throw new DTypeError(op, `input must be floating point, got ${x.dtype}`);
  if (x.ndim === 4) return [x, false];
  if (x.ndim === 3) return [unsqueeze(x, 0), true];
  throw new ShapeError(op, `input must be 4-D [N,C,H,W] or 3-D [C,H,W], got shape ${fmtShape(x.shape)}`);
}

/** PyTorch's pooling output size, including the ceil-mode rule that the last window starts inside the input or left padding. */
function pooledSize(inSize: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  const span = inSize + 2 * p - d * (k - 1) - 1;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (out - 1) * s >= inSize + p) out--;
  return out;
}

export interface PoolParams {
  kH: number; kW: number; strideH: number; strideW: number; padH: number; padW: number; dilationH: number; dilationW: number;
}

/** Window parameters, checked (layers call this at construction). */
export function poolParams(op: string, kernelSize: Pair, o: { stride?: Pair; padding?: Pair; dilation?: Pair }): PoolParams {
  const [kH, kW] = pair(op, 'kernelSize', kernelSize, 1);
  const [strideH, strideW] = pair(op, 'stride', o.stride ?? [kH, kW], 1);
  const [padH, padW] = pair(op, 'padding', o.padding ?? 0, 0);
  const [dilationH, dilationW] = pair(op, 'dilation', o.dilation ?? 1, 1);
  if (padH > kH / 2 || padW > kW / 2) throw new ArgumentError(op, `padding ${padH},${padW} must be at most half the kernel size ${kH}x${kW}`);
  return { kH, kW, strideH, strideW, padH, padW, dilationH, dilationW };
}

/** The geometry of a pooling window over an [N, C, H, W] input, checked. */
export function poolGeometry(op: string, shape: Shape, kernelSize: Pair, o: { stride?: Pair; padding?: Pair; dilation?: Pair; ceilMode?: boolean }): PoolGeometry {
  const p = poolParams(op, kernelSize, o);
  const [batch, channels, inH, inW] = shape;
  const outH = pooledSize(inH, p.kH, p.strideH, p.padH, p.dilationH, o.ceilMode ?? false);
  const outW = pooledSize(inW, p.kW, p.strideW, p.padW, p.dilationW, o.ceilMode ?? false);
  if (outH <= 0 || outW <= 0) throw new ShapeError(op, `the window ${p.kH}x${p.kW} (dilation ${p.dilationH},${p.dilationW}) does not fit the input ${fmtShape(shape)} with padding ${p.padH},${p.padW}`);
  return { batch, channels, inH, inW, ...p, outH, outW };
}

/**
 * 2-D max pooling, like `torch.nn.functional.max_pool2d`. The gradient goes to the (first) largest
 * element of each window.
 */
export function maxPool2d(input: Tensor, kernelSize: Pair, options: MaxPool2dOptions = {}): Tensor {
  return maxPool2dWithIndices(input, kernelSize, options)[0];
}

/** Max pooling that also returns, per output, the index of its maximum within the H×W plane (int32). */
export function maxPool2dWithIndices(input: Tensor, kernelSize: Pair, options: MaxPool2dOptions = {}): [Tensor, Tensor] {
  const op = 'maxPool2d';
  checkKeys(op, options, ['stride', 'padding', 'dilation', 'ceilMode']);
  const [x, unbatched] = poolInput(op, input);
  const g = poolGeometry(op, x.shape, kernelSize, options);
  const shape = [g.batch, g.channels, g.outH, g.outW];
  const out = allocUninitialized(op, x.dtype, shape), indices = allocUninitialized(op, 'int32', shape);
  kernels().maxPool2d(x.data, out.data, indices.data as Int32Array, g);
  record(out, op, [x], (gy) => [maxPoolBackward(gy, indices, g)], { kernelSize: [g.kH, g.kW], stride: [g.strideH, g.strideW] });
  return unbatched ? [squeeze(out, 0), squeeze(indices, 0)] : [out, indices];
}

/** Routes each output gradient to its window's maximum. Its own VJP gathers from the same places. */
function maxPoolBackward(gy: Tensor, indices: Tensor, g: PoolGeometry): Tensor {
  const gx = allocUninitialized('maxPool2dBackward', gy.dtype, [g.batch, g.channels, g.inH, g.inW]);
  kernels().maxPool2dBackward(gy.data, indices.data as Int32Array, gx.data, g);
  const planes = g.batch * g.channels;
  return record(gx, 'maxPool2dBackward', [gy], (ggx) => [
    reshape(gather(reshape(ggx, [planes, g.inH * g.inW]), 1, reshape(indices, [planes, g.outH * g.outW])), gy.shape),
  ]);
}

/** 2-D average pooling, like `torch.nn.functional.avg_pool2d`. */
export function avgPool2d(input: Tensor, kernelSize: Pair, options: AvgPool2dOptions = {}): Tensor {
  const op = 'avgPool2d';
  checkKeys(op, options, ['stride', 'padding', 'ceilMode', 'countIncludePad', 'divisorOverride']);
  const [x, unbatched] = poolInput(op, input);
  const g = poolGeometry(op, x.shape, kernelSize, options);
  const countIncludePad = options.countIncludePad ?? true;
  const divisor = options.divisorOverride ?? 0;
  if (options.divisorOverride !== undefined && !(divisor > 0)) throw new ArgumentError(op, `divisorOverride must be positive, got ${divisor}`);
  const out = avgPoolForward(x, g, countIncludePad, divisor);
  return unbatched ? squeeze(out, 0) : out;
}

/** Average pooling is linear: its VJP is the adjoint kernel, and the adjoint's VJP is the pooling again. */
function avgPoolForward(x: Tensor, g: PoolGeometry, countIncludePad: boolean, divisor: number): Tensor {
  const out = allocUninitialized('avgPool2d', x.dtype, [g.batch, g.channels, g.outH, g.outW]);
  kernels().avgPool2d(x.data, out.data, g, countIncludePad, divisor);
  return record(out, 'avgPool2d', [x], (gy) => [avgPoolAdjoint(gy, g, countIncludePad, divisor)], { kernelSize: [g.kH, g.kW], stride: [g.strideH, g.strideW] });
}

function avgPoolAdjoint(gy: Tensor, g: PoolGeometry, countIncludePad: boolean, divisor: number): Tensor {
  const gx = allocUninitialized('avgPool2dBackward', gy.dtype, [g.batch, g.channels, g.inH, g.inW]);
  kernels().avgPool2dBackward(gy.data, gx.data, g, countIncludePad, divisor);
  return record(gx, 'avgPool2dBackward', [gy], (ggx) => [avgPoolForward(ggx, g, countIncludePad, divisor)]);
}

/** Applies row matrix `rows` [OH,H] and column matrix `cols` [OW,W] to every H×W plane: rows · x · colsᵀ. */
function separable(x: Tensor, rows: Tensor, cols: Tensor): Tensor {
  return matmul(rows, matmul(x, transpose(cols, 0, 1)));
}

function matrix(outSize: number, inSize: number, dtype: Tensor['dtype'], fill: (m: Float64Array) => void): Tensor {
  const m = new Float64Array(outSize * inSize);
  fill(m);
  const t = alloc('interpolate', dtype, [outSize, inSize]);
  t.data.set(m);
  return t;
}

/** Averaging matrix of adaptive pooling: output i averages input [⌊i·in/out⌋, ⌈(i+1)·in/out⌉). */
function adaptiveMatrix(outSize: number, inSize: number, dtype: Tensor['dtype']): Tensor {
  return matrix(outSize, inSize, dtype, (m) => {
    for (let i = 0; i < outSize; i++) {
      const start = Math.floor((i * inSize) / outSize), end = Math.ceil(((i + 1) * inSize) / outSize);
      for (let j = start; j < end; j++) m[i * inSize + j] = 1 / (end - start);
    }
  });
}

/**
 * Average pooling to a fixed output size (`torch.nn.functional.adaptive_avg_pool2d`); outputSize 1
 * is global average pooling. A size may be null to keep the input's.
 */
export function adaptiveAvgPool2d(input: Tensor, outputSize: number | readonly [number | null, number | null]): Tensor {
  const op = 'adaptiveAvgPool2d';
  const [x, unbatched] = poolInput(op, input);
  const [inH, inW] = x.shape.slice(2);
  const [oh, ow] = typeof outputSize === 'number' ? [outputSize, outputSize] : [outputSize[0] ?? inH, outputSize[1] ?? inW];
  if (![oh, ow].every((v) => Number.isInteger(v) && v > 0)) throw new ArgumentError(op, `outputSize must be positive integers, got ${JSON.stringify(outputSize)}`);
  // Where the output size divides the input's, the windows are equal and disjoint: average pooling,
  // one pass over the input instead of two matrix products.
  const y = inH % oh === 0 && inW % ow === 0
    ? avgPool2d(x, [inH / oh, inW / ow])
    : separable(x, adaptiveMatrix(oh, inH, x.dtype), adaptiveMatrix(ow, inW, x.dtype));
  return unbatched ? squeeze(y, 0) : y;
}

export interface InterpolateOptions {
  /** Output [H, W] (or one number for both)... */
  size?: number | readonly [number, number];
  /** ...or a factor on each side. */
  scaleFactor?: number | readonly [number, number];
  mode?: 'nearest' | 'bilinear';
  /** bilinear only: align the corner pixels' centres of input and output. Default false. */
  alignCorners?: boolean;
}

/** Checks the options of `interpolate` (layers call this at construction); returns the mode. */
export function checkInterpolateOptions(op: string, options: InterpolateOptions): 'nearest' | 'bilinear' {
  checkKeys(op, options, ['size', 'scaleFactor', 'mode', 'alignCorners']);
  const mode = options.mode ?? 'nearest';
  if (mode !== 'nearest' && mode !== 'bilinear') throw new ArgumentError(op, `mode must be 'nearest' or 'bilinear', got '${mode}'`);
  if (mode === 'nearest' && options.alignCorners !== undefined) throw new ArgumentError(op, `alignCorners only applies to mode 'bilinear'`);
  if ((options.size === undefined) === (options.scaleFactor === undefined)) throw new ArgumentError(op, 'give exactly one of size and scaleFactor');
  return mode;
}

/**
 * Resizes NCHW images, like `torch.nn.functional.interpolate` for modes 'nearest' and 'bilinear'
 * (with `scaleFactor`, source positions use 1/scaleFactor, as PyTorch does by default).
 */
export function interpolate(input: Tensor, options: InterpolateOptions): Tensor {
  const op = 'interpolate';
  const [x, unbatched] = poolInput(op, input);
  const mode = checkInterpolateOptions(op, options);
  const inSize = [x.shape[2], x.shape[3]];
  const both = <T>(v: T | readonly [T, T]): [T, T] => (Array.isArray(v) ? [v[0], v[1]] : [v as T, v as T]);
  const scales = options.scaleFactor === undefined ? null : both(options.scaleFactor);
  const outSize = options.size !== undefined ? both(options.size) : inSize.map((n, d) => Math.floor(n * scales![d]));
  if (scales && scales.some((s) => !(s > 0))) throw new ArgumentError(op, `scaleFactor must be positive, got ${JSON.stringify(options.scaleFactor)}`);
  if (outSize.some((s) => !Number.isInteger(s) || s <= 0)) throw new ArgumentError(op, `output size must be positive integers, got ${JSON.stringify(outSize)}`);
  const ratio = (d: number) => (scales ? 1 / scales[d] : inSize[d] / outSize[d]);
  let y: Tensor;
  if (mode === 'nearest') {
    const source = (d: number) => Int32Array.from({ length: outSize[d] }, (_, i) => Math.min(Math.floor(i * ratio(d)), inSize[d] - 1));
    y = indexSelect(indexSelect(x, 2, new Tensor(source(0), [outSize[0]])), 3, new Tensor(source(1), [outSize[1]]));
  } else {
    const align = options.alignCorners ?? false;
    const weights = (d: number) => matrix(outSize[d], inSize[d], x.dtype, (m) => {
      const n = inSize[d];
      for (let i = 0; i < outSize[d]; i++) {
        const src = align ? (outSize[d] > 1 ? (i * (n - 1)) / (outSize[d] - 1) : 0) : Math.max((i + 0.5) * ratio(d) - 0.5, 0);
        const i0 = Math.min(Math.floor(src), n - 1), i1 = Math.min(i0 + 1, n - 1);
        const frac = src - i0;
        m[i * n + i0] += 1 - frac;
        m[i * n + i1] += frac;
      }
    });
    y = separable(x, weights(0), weights(1));
  }
  return unbatched ? squeeze(y, 0) : y;
}
