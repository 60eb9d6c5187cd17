/**
 * The native backend, for Node: float32 kernels in C++ (native/src) compiled at install into an N-API
 * addon, native/build/Release/pixelgrad.node (`npm run build:native` rebuilds it). One binary runs
 * AVX-512, AVX2 + FMA or portable code, chosen by the CPU (PIXELGRAD_NATIVE_ISA=avx2|portable lowers
 * the choice, for tests); the kernels run on the addon's thread pool (PIXELGRAD_THREADS threads,
 * default every hardware thread) and their results do not depend on timing. Kernels work directly on
 * the arrays' memory: nothing is copied in or out. Float64 data, int32 arithmetic, take with index
 * lists or fills, takeAdd, argReduce and tiny arrays run the JS reference kernels.
 *
 *   registerBackend(await createNativeBackend());
 *   setBackend('native');
 *
 * Nothing here imports a Node built-in statically (dynamic imports under Node only), so the module
 * stays browser-safe; in a browser createNativeBackend rejects.
 */
import type { TypedArray } from '../../dtype.js';
import { broadcastStrides, collapse, reductionLayout, stridesOf, type Shape } from '../../shape.js';
import { ArgumentError, NotSupportedError } from '../../errors.js';
import type { Backend, BinaryOp, ConvGeometry, Kernels, PoolGeometry, ReduceOp, UnaryOp } from '../backend.js';
import { jsKernels as js } from '../js/index.js';

export type NativeIsa = 'avx512' | 'avx2' | 'portable';

/** The addon's exports (native/src/*.cc); `name(args)` comments there give each one's arguments. */
interface Addon {
  isa(): NativeIsa;
  threads(): number;
  setThreads(n: number): void;
  unary(op: number, x: Float32Array, out: Float32Array, p0: number, p1: number): void;
  /** `layout`: nd dims, then each operand's nd strides along them (elementwise.cc). */
  binary(op: number, a: Float32Array, b: Float32Array, out: Float32Array | Int32Array, layout: Int32Array, nd: number): void;
  copyStrided(x: Float32Array, out: Float32Array, layout: Int32Array, nd: number): void;
  copyRows(x: Float32Array, out: Float32Array, rows: number, rowLength: number, outOffset: number, outStride: number): void;
  /** `layout`: index's dims (collapsed), then x's (out's) strides along them, 0 along the gathered axis. */
  gather(x: Float32Array, out: Float32Array, index: Int32Array, axisStride: number, axisLength: number, layout: Int32Array, nd: number): void;
  scatterAdd(src: Float32Array, out: Float32Array, index: Int32Array, axisStride: number, axisLength: number, layout: Int32Array, nd: number): void;
  where(cond: Float32Array | Int32Array, intCond: boolean, a: Float32Array, b: Float32Array, out: Float32Array, layout: Int32Array, nd: number): void;
  reduce(op: number, x: Float32Array, out: Float32Array, layout: Int32Array, nd: number): void;
  /** `offsets`: each batch's first element in a, then in b. */
  matmul(a: Float32Array, b: Float32Array, out: Float32Array, M: number, N: number, K: number, offsets: Float64Array, batches: number): void;
  linear(x: Float32Array, w: Float32Array, bias: Float32Array | null, out: Float32Array, M: number, K: number, N: number, relu: boolean): void;
  lstmCell(xw: Float32Array, hw: Float32Array | null, bias: Float32Array | null, c: Float32Array | null,
    B: number, H: number, gates: Float32Array, hOut: Float32Array, cOut: Float32Array): void;
  lstmCellBackward(gates: Float32Array, c: Float32Array | null, hOut: Float32Array, gH: Float32Array, gC: Float32Array,
    B: number, H: number, dPre: Float32Array, dc: Float32Array | null): void;
  lstmSequence(gates: Float32Array, wHh: Float32Array, bias: Float32Array | null, h0: Float32Array | null, c0: Float32Array | null,
    L: number, B: number, H: number, reverse: boolean, hs: Float32Array, cs: Float32Array): void;
  lstmSequenceBackward(gates: Float32Array, wHh: Float32Array, h0: Float32Array | null, c0: Float32Array | null, hs: Float32Array, cs: Float32Array,
    gHs: Float32Array, gCs: Float32Array, L: number, B: number, H: number, reverse: boolean,
    dPre: Float32Array, dWhh: Float32Array | null, dh0: Float32Array | null, dc0: Float32Array | null): void;
  sgdStep(x: Float32Array, g: Float32Array, buf: Float32Array | null, lr: number, momentum: number, dampening: number, weightDecay: number,
    nesterov: boolean, maximize: boolean, first: boolean): void;
  adamStep(x: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, vMax: Float32Array | null, lr: number, beta1: number, beta2: number,
    eps: number, weightDecay: number, maximize: boolean, decoupled: boolean, stepSize: number, bc2Sqrt: number): void;
  sgemm(a: Float32Array, ars: number, acs: number, b: Float32Array, brs: number, bcs: number, c: Float32Array, ldc: number,
    M: number, N: number, K: number, accumulate: boolean): void;
  conv2d(x: Float32Array, w: Float32Array, bias: Float32Array | null, out: Float32Array, g: ConvGeometry): void;
  conv2dBackwardInput(gOut: Float32Array, w: Float32Array, gx: Float32Array, g: ConvGeometry): void;
  conv2dBackwardWeight(x: Float32Array, gOut: Float32Array, gw: Float32Array, g: ConvGeometry): void;
  maxPool2d(x: Float32Array, out: Float32Array, argmax: Int32Array, g: PoolGeometry): void;
  maxPool2dBackward(gOut: Float32Array, argmax: Int32Array, gx: Float32Array, g: PoolGeometry): void;
  avgPool2d(x: Float32Array, out: Float32Array, g: PoolGeometry, countIncludePad: boolean, divisor: number): void;
  avgPool2dBackward(gOut: Float32Array, gx: Float32Array, g: PoolGeometry, countIncludePad: boolean, divisor: number): void;
  conv2dFused(x: Float32Array, w: Float32Array, bias: Float32Array | null, out: Float32Array, g: ConvGeometry, relu: boolean, pool: PoolGeometry | null): void;
  channelSums(a: Float32Array, aCenter: Float32Array | null, b: Float32Array | null, bCenter: Float32Array | null,
    N: number, C: number, P: number, sumA: Float64Array, sumAB: Float64Array, aMask: Float32Array | null): void;
  channelMix(a: Float32Array, aCenter: Float32Array | null, aScale: Float64Array, b: Float32Array | null, bCenter: Float32Array | null,
    bScale: Float64Array | null, shift: Float64Array, N: number, C: number, P: number, out: Float32Array, aMask: Float32Array | null, relu: boolean): void;
  logSoftmax(x: Float32Array, outer: number, axisLength: number, inner: number, out: Float32Array): void;
  logSoftmaxBackward(g: Float32Array, out: Float32Array, outer: number, axisLength: number, inner: number, gx: Float32Array): void;
}

const ADDON_EXPORTS: readonly (keyof Addon)[] = [
  'isa', 'threads', 'setThreads', 'unary', 'binary', 'copyStrided', 'copyRows', 'gather', 'scatterAdd', 'where', 'reduce', 'matmul', 'linear', 'sgemm',
  'conv2d', 'conv2dBackwardInput', 'conv2dBackwardWeight', 'conv2dFused', 'maxPool2d', 'maxPool2dBackward',
  'avgPool2d', 'avgPool2dBackward', 'channelSums', 'channelMix', 'lstmCell', 'lstmCellBackward',
  'lstmSequence', 'lstmSequenceBackward', 'sgdStep', 'adamStep', 'logSoftmax', 'logSoftmaxBackward',
];

export interface NativeBackendOptions {
  /** Threads the kernels may use (this one included), 1 … 256. Default: PIXELGRAD_THREADS, else every hardware thread. */
  threads?: number;
}

/** A native backend: the kernels, the instruction set they run and their thread count. */
export interface NativeBackend extends Backend {
  readonly isa: NativeIsa;
  readonly threads: number;
  /** The addon itself, for tests of kernels below the kernel table (e.g. sgemm with strides). */
  readonly addon: Addon;
}

const isNode = (): boolean => typeof process === 'object' && typeof process.versions?.node === 'string';
const ISAS: readonly string[] = ['avx512', 'avx2', 'portable'];

/** Below this many elements the JS loop costs less than crossing into the addon. */
const MIN_ELEMENTS = 32;
/** The most dims the addon's strided loops take (after collapsing); more run the JS kernels. */
const MAX_DIMS = 16;

const UNARY_CODE: Record<UnaryOp, number> = {
  neg: 0, exp: 1, log: 2, sqrt: 3, abs: 4, sign: 5, erf: 6, relu: 7, sigmoid: 8, tanh: 9,
  leakyRelu: 10, elu: 11, gelu: 12, geluTanh: 13, softplus: 14, clamp: 15,
};
const BINARY_CODE: Record<BinaryOp, number> = {
  add: 0, sub: 1, mul: 2, div: 3, pow: 4, maximum: 5, minimum: 6, eq: 7, ne: 8, lt: 9, le: 10, gt: 11, ge: 12, reluGrad: 13,
};
const COMPARISONS: ReadonlySet<BinaryOp> = new Set(['eq', 'ne', 'lt', 'le', 'gt', 'ge']);
const REDUCE_CODE: Record<ReduceOp, number> = { sum: 0, max: 1, min: 2 };

const isF32 = (x: TypedArray | null): x is Float32Array => x instanceof Float32Array;
const isI32 = (x: TypedArray | null): x is Int32Array => x instanceof Int32Array;
const allF32OrNull = (...xs: (TypedArray | null)[]): boolean => xs.every((x) => x === null || isF32(x));
/** The same bytes as float32, for kernels that only move bits (copies). */
const bits = (x: Float32Array | Int32Array): Float32Array => (isF32(x) ? x : new Float32Array(x.buffer, x.byteOffset, x.length));

/** The parts of Node's built-ins the loader uses (declared here: the core names no Node module, not even for types). */
interface NodeFs { existsSync(path: string): boolean; readFileSync(path: string, encoding: 'utf8'): string }
interface NodePath { dirname(path: string): string; join(...parts: string[]): string }
interface NodeUrl { fileURLToPath(url: string | URL): string }
interface NodeModule { createRequire(from: string | URL): (id: string) => unknown }

/** A Node built-in, through a computed specifier: bundlers leave it alone and browsers never get here. */
const builtin = <T>(name: string): Promise<T> => {
  const specifier = 'node:' + name;
  return import(specifier) as Promise<T>;
};

/** The folder of the package (the one with package.json) above this module, under src/ (tsx) or dist/src/. */
async function packageRoot(): Promise<string> {
  const [{ existsSync }, { dirname, join }, { fileURLToPath }] = await Promise.all([
    builtin<NodeFs>('fs'), builtin<NodePath>('path'), builtin<NodeUrl>('url'),
  ]);
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new NotSupportedError('createNativeBackend', `no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  return dir;
}

/**
 * Loads the addon: PIXELGRAD_NATIVE_ADDON names another file (for tests of the fallback), else the
 * package's native/build/Release/pixelgrad.node. A missing addon is a NotSupportedError that says
 * why the install did not build it (native/build/status.json).
 */
async function loadAddon(): Promise<Addon> {
  if (!isNode()) throw new NotSupportedError('createNativeBackend', 'not Node: the native backend runs under Node only');
  const [{ createRequire }, { existsSync, readFileSync }, { join }] = await Promise.all([
    builtin<NodeModule>('module'), builtin<NodeFs>('fs'), builtin<NodePath>('path'),
  ]);
  const root = await packageRoot();
  const file = process.env.PIXELGRAD_NATIVE_ADDON || join(root, 'native', 'build', 'Release', 'pixelgrad.node');
  if (!existsSync(file)) {
    let why = `${file} does not exist; run \`npm run build:native\``;
    try {
      const status = JSON.parse(readFileSync(join(root, 'native', 'build', 'status.json'), 'utf8')) as { ok?: boolean; reason?: string };
      if (status.ok === false && status.reason) why = `${status.reason}; \`npm run build:native\` retries`;
    } catch { /* no status: the install script did not run */ }
    throw new NotSupportedError('createNativeBackend', `native addon not built: ${why}`);
  }
  let addon: Addon;
  try {
    addon = createRequire(import.meta.url)(file) as Addon;
  } catch (err) {
    throw new NotSupportedError('createNativeBackend', `native addon ${file} does not load: ${(err as Error).message}`);
  }
  const missing = ADDON_EXPORTS.filter((name) => typeof addon[name] !== 'function');
  if (missing.length) throw new NotSupportedError('createNativeBackend', `native addon ${file} is out of date (no ${missing.join(', ')}); run \`npm run build:native\``);
  return addon;
}

function nativeKernels(addon: Addon): Kernels {
  // Scratch arrays for the sizes and offsets the kernels take, reused from call to call: a fresh
  // small typed array lives on V8's heap, and handing it to the addon moves it out (about 1 µs).
  const meta = new Int32Array(4 * MAX_DIMS);
  let offsets = new Float64Array(256);
  /** Writes the dims and each operand's strides into `meta`, as the addon takes them; returns nd. */
  const layout = (dims: readonly number[], ...strides: readonly (readonly number[])[]): number => {
    meta.set(dims);
    strides.forEach((s, k) => meta.set(s, (k + 1) * dims.length));
    return dims.length;
  };
  /** A flat layout: n elements, each operand stepping by its stride (1, or 0 for a single value). */
  const flat = (n: number, ...strides: number[]): number => {
    meta[0] = n;
    strides.forEach((s, k) => { meta[k + 1] = s; });
    return 1;
  };

  const unary: Kernels['unary'] = (op, x, out, p0, p1) => {
    if (!isF32(x) || !isF32(out) || x.length < MIN_ELEMENTS) return js.unary(op, x, out, p0, p1);
    addon.unary(UNARY_CODE[op], x, out, p0, p1);
  };

  const binary: Kernels['binary'] = (op, a, aShape, b, bShape, out, outShape) => {
    const ok = isF32(a) && isF32(b) && (COMPARISONS.has(op) ? isI32(out) : isF32(out));
    if (!ok || out.length < MIN_ELEMENTS) return js.binary(op, a, aShape, b, bShape, out, outShape);
    const n = out.length;
    // The common cases without the general collapse: same shapes, and one side a single value.
    let nd: number;
    if (a.length === n && b.length === n) nd = flat(n, 1, 1);
    else if (a.length === n && b.length === 1) nd = flat(n, 1, 0);
    else if (a.length === 1 && b.length === n) nd = flat(n, 0, 1);
    else {
      const { dims, strides } = collapse(outShape, [broadcastStrides(aShape, outShape), broadcastStrides(bShape, outShape)]);
      if (dims.length > MAX_DIMS) return js.binary(op, a, aShape, b, bShape, out, outShape);
      nd = layout(dims, strides[0], strides[1]);
    }
    addon.binary(BINARY_CODE[op], a, b, out as Float32Array | Int32Array, meta, nd);
  };

  const copyStrided: Kernels['copyStrided'] = (x, strides, out, outShape) => {
    const sameType = (isF32(x) && isF32(out)) || (isI32(x) && isI32(out));
    if (!sameType || out.length < MIN_ELEMENTS || outShape.length === 0) return js.copyStrided(x, strides, out, outShape);
    const { dims, strides: [st] } = collapse(outShape, [strides]);
    if (dims.length > MAX_DIMS) return js.copyStrided(x, strides, out, outShape);
    addon.copyStrided(bits(x as Float32Array | Int32Array), bits(out as Float32Array | Int32Array), meta, layout(dims, st));
  };

  const where: Kernels['where'] = (cond, cShape, a, aShape, b, bShape, out, outShape) => {
    const sameType = (isF32(out) && isF32(a) && isF32(b)) || (isI32(out) && isI32(a) && isI32(b));
    if (!sameType || !(isF32(cond) || isI32(cond)) || out.length < MIN_ELEMENTS) return js.where(cond, cShape, a, aShape, b, bShape, out, outShape);
    const { dims, strides } = collapse(outShape, [cShape, aShape, bShape].map((s) => broadcastStrides(s, outShape)));
    if (dims.length > MAX_DIMS) return js.where(cond, cShape, a, aShape, b, bShape, out, outShape);
    const nd = layout(dims, ...strides);
    addon.where(cond as Float32Array | Int32Array, isI32(cond), bits(a as Float32Array | Int32Array), bits(b as Float32Array | Int32Array),
      bits(out as Float32Array | Int32Array), meta, nd);
  };

  const reduce: Kernels['reduce'] = (op, x, shape, axes, out) => {
    if (!isF32(x) || !isF32(out) || shape.length === 0 || x.length < MIN_ELEMENTS) return js.reduce(op, x, shape, axes, out);
    const { dims, outStrides } = reductionLayout(shape, axes);
    if (dims.length > MAX_DIMS) return js.reduce(op, x, shape, axes, out);
    addon.reduce(REDUCE_CODE[op], x, out, meta, layout(dims, outStrides));
  };

  const matmul: Kernels['matmul'] = (a, aShape, b, bShape, out, outShape) => {
    if (!isF32(a) || !isF32(b) || !isF32(out) || out.length === 0) return js.matmul(a, aShape, b, bShape, out, outShape);
    const M = aShape[aShape.length - 2], K = aShape[aShape.length - 1], N = bShape[bShape.length - 1];
    const batchShape = outShape.slice(0, -2);
    const sa = broadcastStrides(aShape.slice(0, -2), batchShape), sb = broadcastStrides(bShape.slice(0, -2), batchShape);
    const batches = out.length / (M * N);
    if (offsets.length < 2 * batches) offsets = new Float64Array(2 * batches);
    const idx = new Array<number>(batchShape.length).fill(0);
    for (let t = 0; t < batches; t++) {
      let oa = 0, ob = 0;
      for (let d = 0; d < idx.length; d++) { oa += idx[d] * sa[d]; ob += idx[d] * sb[d]; }
      offsets[t] = oa * M * K;
      offsets[batches + t] = ob * K * N;
      for (let d = idx.length - 1; d >= 0 && ++idx[d] === batchShape[d]; d--) idx[d] = 0;
    }
    addon.matmul(a, b, out, M, N, K, offsets, batches);
  };

  /**
   * take where every map is null or an arithmetic run of in-range indices (narrow, strided slices,
   * concat's gradient) is a strided copy from one offset: it runs as copyStrided on a view of x.
   * Other maps (index lists, fills) run the JS reference.
   */
  const take: Kernels['take'] = (x, shape, maps, fill, out, outShape) => {
    const sameType = (isF32(x) && isF32(out)) || (isI32(x) && isI32(out));
    if (!sameType || out.length < MIN_ELEMENTS) return js.take(x, shape, maps, fill, out, outShape);
    const xs = stridesOf(shape), strides = new Array<number>(shape.length);
    let base = 0;
    for (let d = 0; d < shape.length; d++) {
      const m = maps[d];
      if (!m) { strides[d] = xs[d]; continue; }
      const step = m.length > 1 ? m[1] - m[0] : 0;
      for (let j = 0; j < m.length; j++) {
        if (m[j] !== m[0] + j * step || m[j] < 0 || m[j] >= shape[d]) return js.take(x, shape, maps, fill, out, outShape);
      }
      base += m[0] * xs[d];
      strides[d] = step * xs[d];
    }
    const { dims, strides: [st] } = collapse(outShape, [strides]);
    if (dims.length > MAX_DIMS || st.some((v) => v < 0)) return js.take(x, shape, maps, fill, out, outShape);
    addon.copyStrided(bits((x as Float32Array | Int32Array).subarray(base)), bits(out as Float32Array | Int32Array), meta, layout(dims, st));
  };

  const concat: Kernels['concat'] = (xs, shapes, axis, out, outShape) => {
    const sameType = isF32(out) ? xs.every(isF32) : isI32(out) && xs.every(isI32);
    if (!sameType || out.length < MIN_ELEMENTS) return js.concat(xs, shapes, axis, out, outShape);
    // Each input is `outer` rows of its part of the axis times the inner size, written at its column of out's rows.
    let inner = 1, outer = 1;
    outShape.forEach((d, i) => { if (i > axis) inner *= d; else if (i < axis) outer *= d; });
    const rowOut = outShape[axis] * inner;
    let start = 0;
    xs.forEach((x, t) => {
      const chunk = shapes[t][axis] * inner;
      addon.copyRows(bits(x as Float32Array | Int32Array), bits(out as Float32Array | Int32Array), outer, chunk, start, rowOut);
      start += chunk;
    });
  };

  /** The walk of gather and scatterAdd over index: its dims (collapsed) and x's strides along them, 0 at `axis`; null past MAX_DIMS. */
  const gathered = (shape: Shape, axis: number, indexShape: Shape): number | null => {
    const xs = stridesOf(shape);
    const { dims, strides: [st] } = collapse(indexShape, [indexShape.map((_, d) => (d === axis ? 0 : xs[d]))]);
    return dims.length > MAX_DIMS ? null : layout(dims, st);
  };
  const gather: Kernels['gather'] = (x, shape, axis, index, indexShape, out) => {
    const sameType = (isF32(x) && isF32(out)) || (isI32(x) && isI32(out));
    const nd = sameType && out.length >= MIN_ELEMENTS ? gathered(shape, axis, indexShape) : null;
    if (nd === null) return js.gather(x, shape, axis, index, indexShape, out);
    addon.gather(bits(x as Float32Array | Int32Array), bits(out as Float32Array | Int32Array), index, stridesOf(shape)[axis], shape[axis], meta, nd);
  };
  const scatterAdd: Kernels['scatterAdd'] = (src, index, indexShape, axis, out, shape) => {
    const nd = isF32(src) && isF32(out) && src.length >= MIN_ELEMENTS ? gathered(shape, axis, indexShape) : null;
    if (nd === null) return js.scatterAdd(src, index, indexShape, axis, out, shape);
    addon.scatterAdd(src as Float32Array, out as Float32Array, index, stridesOf(shape)[axis], shape[axis], meta, nd);
  };

  const { conv2d, conv2dBackwardInput, conv2dBackwardWeight, conv2dFused, maxPool2d, maxPool2dBackward, avgPool2d, avgPool2dBackward, channelSums, channelMix } = addon;
  return {
    ...js, unary, binary, copyStrided, where, reduce, matmul, take, concat, gather, scatterAdd,
    lstmCell: (xw, hw, bias, c, B, H, gates, hOut, cOut) => (isF32(xw) && allF32OrNull(hw, bias, c) && isF32(gates) && isF32(hOut) && isF32(cOut)
      ? addon.lstmCell(xw, hw as Float32Array | null, bias as Float32Array | null, c as Float32Array | null, B, H, gates, hOut, cOut)
      : js.lstmCell(xw, hw, bias, c, B, H, gates, hOut, cOut)),
    lstmCellBackward: (gates, c, hOut, gH, gC, B, H, dPre, dc) => (isF32(gates) && allF32OrNull(c, dc) && isF32(hOut) && isF32(gH) && isF32(gC) && isF32(dPre)
      ? addon.lstmCellBackward(gates, c as Float32Array | null, hOut, gH, gC, B, H, dPre, dc as Float32Array | null)
      : js.lstmCellBackward(gates, c, hOut, gH, gC, B, H, dPre, dc)),
    lstmSequence: (gates, wHh, bias, h0, c0, L, B, H, reverse, hs, cs) => (isF32(gates) && isF32(wHh) && allF32OrNull(bias, h0, c0) && isF32(hs) && isF32(cs)
      ? addon.lstmSequence(gates, wHh, bias as Float32Array | null, h0 as Float32Array | null, c0 as Float32Array | null, L, B, H, reverse, hs, cs)
      : js.lstmSequence(gates, wHh, bias, h0, c0, L, B, H, reverse, hs, cs)),
    lstmSequenceBackward: (gates, wHh, h0, c0, hs, cs, gHs, gCs, L, B, H, reverse, dPre, dWhh, dh0, dc0) => (
      isF32(gates) && isF32(wHh) && isF32(hs) && isF32(cs) && isF32(gHs) && isF32(gCs) && isF32(dPre) && allF32OrNull(h0, c0, dWhh, dh0, dc0)
        ? addon.lstmSequenceBackward(gates, wHh, h0 as Float32Array | null, c0 as Float32Array | null, hs, cs, gHs, gCs, L, B, H, reverse,
          dPre, dWhh as Float32Array | null, dh0 as Float32Array | null, dc0 as Float32Array | null)
        : js.lstmSequenceBackward(gates, wHh, h0, c0, hs, cs, gHs, gCs, L, B, H, reverse, dPre, dWhh, dh0, dc0)),
    sgdStep: (x, g, buf, o) => (isF32(x) && isF32(g) && allF32OrNull(buf)
      ? addon.sgdStep(x, g, buf as Float32Array | null, o.lr, o.momentum, o.dampening, o.weightDecay, o.nesterov, o.maximize, o.first)
      : js.sgdStep(x, g, buf, o)),
    adamStep: (x, g, m, v, vMax, o) => (isF32(x) && isF32(g) && isF32(m) && isF32(v) && allF32OrNull(vMax)
      ? addon.adamStep(x, g, m, v, vMax as Float32Array | null, o.lr, o.beta1, o.beta2, o.eps, o.weightDecay, o.maximize, o.decoupled, o.stepSize, o.bc2Sqrt)
      : js.adamStep(x, g, m, v, vMax, o)),
    linear: (x, w, bias, out, M, K, N, relu) => (isF32(x) && isF32(w) && allF32OrNull(bias) && isF32(out) && out.length > 0
      ? addon.linear(x, w, bias as Float32Array | null, out, M, K, N, relu) : js.linear(x, w, bias, out, M, K, N, relu)),
    conv2d: (x, w, bias, out, g) => (isF32(x) && isF32(w) && allF32OrNull(bias) && isF32(out)
      ? conv2d(x, w, bias as Float32Array | null, out, g) : js.conv2d(x, w, bias, out, g)),
    conv2dBackwardInput: (gOut, w, gx, g) => (isF32(gOut) && isF32(w) && isF32(gx)
      ? conv2dBackwardInput(gOut, w, gx, g) : js.conv2dBackwardInput(gOut, w, gx, g)),
    conv2dBackwardWeight: (x, gOut, gw, g) => (isF32(x) && isF32(gOut) && isF32(gw)
      ? conv2dBackwardWeight(x, gOut, gw, g) : js.conv2dBackwardWeight(x, gOut, gw, g)),
    conv2dFused: (x, w, bias, out, g, relu, pool) => (isF32(x) && isF32(w) && allF32OrNull(bias) && isF32(out)
      ? conv2dFused(x, w, bias as Float32Array | null, out, g, relu, pool) : js.conv2dFused(x, w, bias, out, g, relu, pool)),
    maxPool2d: (x, out, argmax, g) => (isF32(x) && isF32(out) ? maxPool2d(x, out, argmax, g) : js.maxPool2d(x, out, argmax, g)),
    maxPool2dBackward: (gOut, argmax, gx, g) => (isF32(gOut) && isF32(gx)
      ? maxPool2dBackward(gOut, argmax, gx, g) : js.maxPool2dBackward(gOut, argmax, gx, g)),
    avgPool2d: (x, out, g, inc, div) => (isF32(x) && isF32(out) ? avgPool2d(x, out, g, inc, div) : js.avgPool2d(x, out, g, inc, div)),
    avgPool2dBackward: (gOut, gx, g, inc, div) => (isF32(gOut) && isF32(gx)
      ? avgPool2dBackward(gOut, gx, g, inc, div) : js.avgPool2dBackward(gOut, gx, g, inc, div)),
    channelSums: (a, aC, b, bC, N, C, P, sumA, sumAB, mask) => (isF32(a) && allF32OrNull(aC, b, bC, mask)
      ? channelSums(a, aC as Float32Array | null, b as Float32Array | null, bC as Float32Array | null, N, C, P, sumA, sumAB, mask as Float32Array | null)
      : js.channelSums(a, aC, b, bC, N, C, P, sumA, sumAB, mask)),
    channelMix: (a, aC, aS, b, bC, bS, shift, N, C, P, out, mask, relu) => (isF32(a) && allF32OrNull(aC, b, bC, mask) && isF32(out)
      ? channelMix(a, aC as Float32Array | null, aS, b as Float32Array | null, bC as Float32Array | null, bS, shift, N, C, P, out, mask as Float32Array | null, relu)
      : js.channelMix(a, aC, aS, b, bC, bS, shift, N, C, P, out, mask, relu)),
    logSoftmax: (x, outer, L, inner, out) => (isF32(x) && isF32(out)
      ? addon.logSoftmax(x, outer, L, inner, out) : js.logSoftmax(x, outer, L, inner, out)),
    logSoftmaxBackward: (g, out, outer, L, inner, gx) => (isF32(g) && isF32(out) && isF32(gx)
      ? addon.logSoftmaxBackward(g, out, outer, L, inner, gx) : js.logSoftmaxBackward(g, out, outer, L, inner, gx)),
  };
}

/**
 * Loads the addon and builds the native backend. Rejects with NotSupportedError when not under Node
 * or when the addon was not built or does not load (the message says why), and with ArgumentError
 * for a bad thread count or PIXELGRAD_NATIVE_ISA.
 */
export async function createNativeBackend(options: NativeBackendOptions = {}): Promise<NativeBackend> {
  const wantedIsa = isNode() ? process.env.PIXELGRAD_NATIVE_ISA : undefined;
  if (wantedIsa && !ISAS.includes(wantedIsa)) {
    throw new ArgumentError('createNativeBackend', `PIXELGRAD_NATIVE_ISA must be one of ${ISAS.join(', ')}, got '${wantedIsa}'`);
  }
  const env = isNode() ? process.env.PIXELGRAD_THREADS : undefined;
  const threads = options.threads ?? (env ? Number(env) : undefined);
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1 || threads > 256)) {
    throw new ArgumentError('createNativeBackend', `threads must be an integer in [1, 256], got ${options.threads ?? `PIXELGRAD_THREADS=${env}`}`);
  }
  const addon = await loadAddon();
  if (threads !== undefined) addon.setThreads(threads);
  return { name: 'native', isa: addon.isa(), threads: addon.threads(), addon, kernels: nativeKernels(addon) };
}
