/**
 * The wasm backend's kernel table. float32 work goes to the WebAssembly kernels (assembly/);
 * everything else — float64 and int32 data, the index kernels (take, gather, ...), argmax/argmin,
 * erf and gelu, broadcasts that do not collapse to a simple iteration, and arrays too small to be
 * worth the copies — runs the JS reference kernels.
 */
import { fmtBytes, type TypedArray } from '../../dtype.js';
import { MemoryError, fmtShape } from '../../errors.js';
import { broadcastStrides, collapse, reductionLayout, type Shape } from '../../shape.js';
import type { BinaryOp, ConvGeometry, Kernels, PoolGeometry, ReduceOp, UnaryOp } from '../backend.js';
import { jsKernels as js } from '../js/index.js';
import { lstmSequenceKernels } from '../js/recurrent.js';
import { logSoftmaxKernels } from '../js/softmax.js';
import { ArenaFullError, type Arena } from './runtime.js';
import { MAX_TASKS, type Task, type ThreadPool } from './threads.js';

/** Below this many output elements the JS loop beats the copies in and out. */
const MIN_ELEMENTS = 64;
/**
 * Below this many multiply-adds (a few hundred µs on one thread) a GEMM or convolution runs on the
 * calling thread alone: a worker that went to sleep between calls takes up to that long to wake
 * on a loaded machine (measured: an LSTM's 4M-MAC recurrent products ran slower split in two).
 */
export const MIN_PARALLEL_MACS = 5_000_000;
/** Tasks per thread a parallel call is cut into, so that claiming tasks evens out slow threads. */
const TASKS_PER_THREAD = 4;
/** Fewest rows (columns) of a GEMM task: each task packs the whole other operand once. */
const MIN_GEMM_SPLIT = 32;
/** Fewest batch rows of a sequence task (each runs every step's product on its rows). */
const MIN_SEQUENCE_ROWS = 16;
/** The GEMM's register tile (assembly/gemm.ts): row splits stay multiples of MR, column splits of NR. */
const MR = 4, NR = 8;

const UNARY_CODE: Record<UnaryOp, number> = {
  neg: 0, exp: 1, log: 2, sqrt: 3, abs: 4, sign: 5, erf: -1, relu: 7, sigmoid: 8, tanh: 9,
  leakyRelu: 10, elu: 11, gelu: -1, geluTanh: 13, softplus: 14, clamp: 15,
};
const BINARY_CODE: Record<BinaryOp, number> = {
  add: 0, sub: 1, mul: 2, div: 3, pow: 4, maximum: 5, minimum: 6, eq: 7, ne: 8, lt: 9, le: 10, gt: 11, ge: 12, reluGrad: 13,
};
const COMPARISONS: ReadonlySet<BinaryOp> = new Set(['eq', 'ne', 'lt', 'le', 'gt', 'ge']);
const REDUCE_CODE: Record<ReduceOp, number> = { sum: 0, max: 1, min: 2 };

const isF32 = (x: TypedArray): x is Float32Array => x instanceof Float32Array;
const isI32 = (x: TypedArray): x is Int32Array => x instanceof Int32Array;

const convGeo = (g: ConvGeometry): number[] => [
  g.batch, g.inChannels, g.inH, g.inW, g.outChannels, g.kH, g.kW, g.strideH, g.strideW,
  g.padH, g.padW, g.dilationH, g.dilationW, g.groups, g.outH, g.outW,
];
const poolGeo = (g: PoolGeometry): number[] => [
  g.batch, g.channels, g.inH, g.inW, g.kH, g.kW, g.strideH, g.strideW, g.padH, g.padW, g.dilationH, g.dilationW, g.outH, g.outW,
];

/**
 * [start, end) ranges cutting 0..n into at most `parts` pieces of similar size, each (but the
 * last) a multiple of `unit`; one empty piece when n is 0.
 */
export function splitRange(n: number, parts: number, unit: number): [number, number][] {
  const units = Math.ceil(n / unit), count = Math.max(1, Math.min(parts, units));
  const ranges: [number, number][] = [];
  for (let i = 0, start = 0; i < count; i++) {
    const end = Math.min(n, Math.round((units * (i + 1)) / count) * unit);
    ranges.push([start, end]);
    start = end;
  }
  return ranges;
}

/** A kernel's arguments for an error message: op names, shapes, array sizes, convolution and pooling geometry. */
function describeArgs(args: readonly unknown[]): string {
  const parts: string[] = [];
  for (const a of args) {
    if (typeof a === 'string') parts.push(a);
    else if (ArrayBuffer.isView(a)) parts.push(`${a.constructor.name.replace('Array', '').toLowerCase()}[${(a as TypedArray).length}]`);
    else if (Array.isArray(a)) parts.push(fmtShape(a));
    else if (a && typeof a === 'object' && 'batch' in a) {
      const g = a as ConvGeometry & PoolGeometry;
      const c = g.inChannels ?? g.channels, oc = g.outChannels ?? g.channels;
      parts.push(`input ${fmtShape([g.batch, c, g.inH, g.inW])} → output ${fmtShape([g.batch, oc, g.outH, g.outW])}, window ${g.kH}×${g.kW}`);
    }
  }
  return parts.join(', ');
}

/**
 * The kernel table with each kernel's arena overflow reported as a MemoryError that names the
 * kernel, its shapes and the bytes it needs (not a bare RangeError from deep inside a model).
 */
function namingOverflow(kernels: Kernels): Kernels {
  const out = { ...kernels } as Record<string, unknown>;
  for (const [name, fn] of Object.entries(kernels) as [string, (...a: unknown[]) => void][]) {
    out[name] = (...args: unknown[]) => {
      try {
        return fn(...args);
      } catch (err) {
        if (!(err instanceof ArenaFullError)) throw err;
        throw new MemoryError(`wasm ${name}`, `${describeArgs(args)} needs at least ${fmtBytes(err.bytes)} of WebAssembly memory in one call, `
          + `more than the ${fmtBytes(err.limit)} it can have; use smaller batches (or PIXELGRAD_BACKEND=js)`);
      }
    };
  }
  return out as unknown as Kernels;
}

/**
 * Runs `whole`; when it needs more wasm memory than there is and the call can be cut (`part`
 * given, n ≥ 2), runs `part` on the two halves of 0..n instead (each of which may be cut again).
 */
function halvesOnOverflow(n: number, whole: () => void, part: ((lo: number, hi: number) => void) | null): void {
  if (!part || n < 2) return whole();
  smallerOnOverflow(whole, () => {
    part(0, n >> 1);
    part(n >> 1, n);
  });
}

/** Runs `whole`, or `smaller` (the same result in calls needing less memory) when `whole` does not fit. */
function smallerOnOverflow(whole: () => void, smaller: () => void): void {
  try {
    return whole();
  } catch (err) {
    if (!(err instanceof ArenaFullError)) throw err;
  }
  smaller();
}

export function wasmKernels(rt: Arena, pool: ThreadPool | null): Kernels {
  const ex = rt.exports;
  const gemmWork = ex.gemmWorkBytes();
  const threads = pool?.size ?? 1;

  /** Runs the tasks on the pool (each thread with `workBytes` of scratch), or in turn on this thread. */
  const runTasks = (tasks: readonly Task[], workBytes: number, parallel: boolean): void => {
    const stride = Math.ceil(workBytes / 64) * 64;
    if (pool && parallel && tasks.length > 1) {
      for (let t = 0; t < tasks.length; t += MAX_TASKS) pool.run(tasks.slice(t, t + MAX_TASKS), { base: rt.alloc(stride * threads), stride });
      return;
    }
    const work = rt.alloc(stride);
    for (const [name, ...args] of tasks) (ex[name] as (...a: number[]) => void)(...args, work);
  };
  /** How many tasks a parallel call over n items (rows, images) is cut into. */
  const taskCount = (n: number, minItems: number): number => Math.max(1, Math.min(threads * TASKS_PER_THREAD, Math.floor(n / minItems)));

  const unary: Kernels['unary'] = (op, x, out, p0, p1) => {
    const code = UNARY_CODE[op];
    if (code < 0 || !isF32(x) || !isF32(out) || x.length < MIN_ELEMENTS) return js.unary(op, x, out, p0, p1);
    const n = x.length;
    halvesOnOverflow(n, () => {
      rt.reset();
      const px = rt.putF32(x), po = rt.alloc(n * 4);
      ex.unary(code, px, po, n, p0, p1);
      out.set(rt.f32(po, n));
    }, (lo, hi) => unary(op, x.subarray(lo, hi), out.subarray(lo, hi), p0, p1));
  };

  /** Operands that are not broadcast are laid out as the output: halves of a call are halves of each array. */
  const flat = (out: TypedArray, ...operands: TypedArray[]): boolean => operands.every((x) => x.length === out.length);

  const binary: Kernels['binary'] = (op, a, aShape, b, bShape, out, outShape) => {
    const compare = COMPARISONS.has(op);
    const ok = compare
      ? isI32(out) && isF32(a) && isF32(b)
      : isF32(out) && !(a instanceof Float64Array) && !(b instanceof Float64Array);
    if (!ok || out.length < MIN_ELEMENTS) return js.binary(op, a, aShape, b, bShape, out, outShape);
    const { dims, strides } = collapse(outShape, [broadcastStrides(aShape, outShape), broadcastStrides(bShape, outShape)]);
    const nd = dims.length;
    if (strides.some((s) => s[nd - 1] > 1)) return js.binary(op, a, aShape, b, bShape, out, outShape);
    halvesOnOverflow(out.length, () => {
      rt.reset();
      const meta = rt.putInts([...dims, ...strides[0], ...strides[1], ...dims]);
      const pa = rt.putF32(a), pb = rt.putF32(b), po = rt.alloc(out.length * 4);
      ex.binary(BINARY_CODE[op], pa, pb, po, nd, meta);
      if (compare) out.set(rt.i32(po, out.length));
      else out.set(rt.f32(po, out.length));
    }, flat(out, a, b) ? (lo, hi) => binary(op, a.subarray(lo, hi), [hi - lo], b.subarray(lo, hi), [hi - lo], out.subarray(lo, hi), [hi - lo]) : null);
  };

  const where: Kernels['where'] = (cond, cShape, a, aShape, b, bShape, out, outShape) => {
    const sameType = (isF32(out) && isF32(a) && isF32(b)) || (isI32(out) && isI32(a) && isI32(b));
    if (!sameType || cond instanceof Float64Array || out.length < MIN_ELEMENTS) {
      return js.where(cond, cShape, a, aShape, b, bShape, out, outShape);
    }
    const { dims, strides } = collapse(outShape, [cShape, aShape, bShape].map((s) => broadcastStrides(s, outShape)));
    const nd = dims.length;
    if (strides.some((s) => s[nd - 1] > 1)) return js.where(cond, cShape, a, aShape, b, bShape, out, outShape);
    halvesOnOverflow(out.length, () => {
      rt.reset();
      const meta = rt.putInts([...dims, ...strides[0], ...strides[1], ...strides[2], ...dims]);
      const pc = rt.putBits(cond as Float32Array | Int32Array);
      const pa = rt.putBits(a as Float32Array | Int32Array), pb = rt.putBits(b as Float32Array | Int32Array);
      const po = rt.alloc(out.length * 4);
      ex.where(pc, isF32(cond) ? 1 : 0, pa, pb, po, nd, meta);
      if (isF32(out)) out.set(rt.f32(po, out.length));
      else out.set(rt.i32(po, out.length));
    }, flat(out, cond, a, b)
      ? (lo, hi) => where(cond.subarray(lo, hi), [hi - lo], a.subarray(lo, hi), [hi - lo], b.subarray(lo, hi), [hi - lo], out.subarray(lo, hi), [hi - lo])
      : null);
  };

  const reduce: Kernels['reduce'] = (op, x, shape, axes, out) => {
    if (!isF32(x) || !isF32(out) || shape.length === 0 || x.length < MIN_ELEMENTS) return js.reduce(op, x, shape, axes, out);
    const { dims, outStrides: so } = reductionLayout(shape, axes);
    rt.reset();
    const meta = rt.putInts([...dims, ...so, ...dims]);
    const px = rt.putF32(x), po = rt.alloc(out.length * 4), acc = rt.alloc(out.length * 8);
    ex.reduce(REDUCE_CODE[op], px, dims.length, meta, po, out.length, acc);
    out.set(rt.f32(po, out.length));
  };

  const copyStrided: Kernels['copyStrided'] = (x, strides, out, outShape) => {
    const sameType = (isF32(x) && isF32(out)) || (isI32(x) && isI32(out));
    if (!sameType || out.length < MIN_ELEMENTS || outShape.length === 0) return js.copyStrided(x, strides, out, outShape);
    const { dims, strides: [st] } = collapse(outShape, [strides]);
    rt.reset();
    const meta = rt.putInts([...dims, ...st, ...dims]);
    const px = rt.putBits(x as Float32Array | Int32Array), po = rt.alloc(out.length * 4);
    ex.copyStrided(px, po, dims.length, meta);
    if (isF32(out)) out.set(rt.f32(po, out.length));
    else out.set(rt.i32(po, out.length));
  };

  type GemmArgs = [M: number, N: number, K: number, a: number, ars: number, acs: number, b: number, brs: number, bcs: number, c: number, ldc: number];

  /** One GEMM cut into tasks: by rows when A is the taller side, else by columns. */
  const splitGemm = ([M, N, K, a, ars, acs, b, brs, bcs, c, ldc]: GemmArgs): Task[] => {
    const byRows = M >= N, n = byRows ? M : N;
    return splitRange(n, taskCount(n, MIN_GEMM_SPLIT), byRows ? MR : NR).map(([lo, hi]): Task => byRows
      ? ['gemm', hi - lo, N, K, a + lo * ars * 4, ars, acs, b, brs, bcs, c + lo * ldc * 4, ldc, 0]
      : ['gemm', M, hi - lo, K, a, ars, acs, b + lo * bcs * 4, brs, bcs, c + lo * 4, ldc, 0]);
  };

  const matmul: Kernels['matmul'] = (a, aShape, b, bShape, out, outShape) => {
    if (!isF32(a) || !isF32(b) || !isF32(out) || out.length === 0) return js.matmul(a, aShape, b, bShape, out, outShape);
    const M = aShape[aShape.length - 2], K = aShape[aShape.length - 1], N = bShape[bShape.length - 1];
    const batchShape = outShape.slice(0, -2);
    const sa = broadcastStrides(aShape.slice(0, -2), batchShape);
    const sb = broadcastStrides(bShape.slice(0, -2), batchShape);
    // With one right-hand matrix, the rows of every left-hand matrix are rows of one product: a
    // call that does not fit runs on halves of them.
    const rows = bShape.length === 2 && K > 0 && a.length * N === out.length * K ? a.length / K : 0;
    halvesOnOverflow(rows, () => {
      rt.reset();
      const pa = rt.putF32(a), pb = rt.putF32(b), pc = rt.alloc(out.length * 4);
      const batches = out.length / (M * N);
      const products: GemmArgs[] = [];
      const idx = new Array<number>(batchShape.length).fill(0);
      for (let t = 0; t < batches; t++) {
        let oa = 0, ob = 0;
        for (let d = 0; d < idx.length; d++) { oa += idx[d] * sa[d]; ob += idx[d] * sb[d]; }
        products.push([M, N, K, pa + oa * M * K * 4, K, 1, pb + ob * K * N * 4, N, 1, pc + t * M * N * 4, N]);
        for (let d = idx.length - 1; d >= 0 && ++idx[d] === batchShape[d]; d--) idx[d] = 0;
      }
      // Large products are cut up; many small ones are tasks as they are.
      const parallel = threads > 1 && batches * M * N * K >= MIN_PARALLEL_MACS;
      const tasks = parallel && (batches === 1 || M * N * K >= MIN_PARALLEL_MACS)
        ? products.flatMap(splitGemm)
        : products.map((p): Task => ['gemm', ...p, 0]);
      runTasks(tasks, gemmWork, parallel);
      out.set(rt.f32(pc, out.length));
    }, rows ? (lo, hi) => matmul(a.subarray(lo * K, hi * K), [hi - lo, K], b, bShape, out.subarray(lo * N, hi * N), [hi - lo, N]) : null);
  };

  /** What the forward convolution does to its output in the same call (conv2dFused). */
  interface Epilogue { bias: TypedArray | null; relu: boolean; pool: PoolGeometry | null }
  const linear: Kernels['linear'] = (x, w, bias, out, M, K, N, relu) => {
    if (!allF32(x, w, bias, out) || out.length === 0) return js.linear(x, w, bias, out, M, K, N, relu);
    // The rows of x are independent: a call that does not fit runs on halves of them.
    halvesOnOverflow(M, () => {
      rt.reset();
      const px = rt.putF32(x), pw = rt.putF32(w), pc = rt.alloc(out.length * 4);
      // B = wᵀ: element (k, j) is w[j·K + k].
      const product: GemmArgs = [M, N, K, px, K, 1, pw, 1, K, pc, N];
      const parallel = threads > 1 && M * N * K >= MIN_PARALLEL_MACS;
      runTasks(parallel ? splitGemm(product) : [['gemm', ...product, 0]], gemmWork, parallel);
      if (bias || relu) ex.rowBiasRelu(pc, bias ? rt.putF32(bias) : 0, M, N, relu ? 1 : 0);
      out.set(rt.f32(pc, out.length));
    }, (lo, hi) => linear(x.subarray(lo * K, hi * K), w, bias, out.subarray(lo * N, hi * N), hi - lo, K, N, relu));
  };

  /**
   * The three convolution kernels share one shape — two float32 inputs, one output, a geometry —
   * and split the same way: by images, each task running the kernel on its own range of the batch
   * (its own geometry). `perImage` gives the float32 elements of one image in each of the three
   * arrays; `partialSums` says the output is a sum over images (the weight gradient), so each task
   * writes its own copy and the copies are added in task order. A call too large for the memory
   * runs as two halves of the batch (again and again, down to one image). The forward kernel also
   * takes its epilogue (bias, ReLU, pooling), run by each task on its own images.
   */
  type ConvKernel = (a: TypedArray, b: TypedArray, out: TypedArray, g: ConvGeometry, epi?: Epilogue) => void;
  const convKernel = (fallback: ConvKernel, name: 'conv2dFused' | 'conv2dBackwardInput' | 'conv2dBackwardWeight',
    perImage: (g: ConvGeometry, epi?: Epilogue) => [a: number, b: number, out: number], partialSums: boolean): ConvKernel => {
    const halves: ConvKernel = (a, b, out, g, epi) => halvesOnOverflow(g.batch, () => whole(a, b, out, g, epi), (lo, hi) => {
      // The arrays of a part are views of its images; an array with no per-image part (the weights, a weight gradient) is whole.
      const [ia, ib, io] = perImage(g, epi);
      const images = (x: TypedArray, per: number): TypedArray => (per ? x.subarray(lo * per, hi * per) : x);
      const sum = partialSums && lo > 0; // the second part of a weight gradient is added to the first
      const dst = sum ? new Float32Array(out.length) : images(out, io);
      const part = epi?.pool ? { ...epi, pool: { ...epi.pool, batch: hi - lo } } : epi;
      halves(images(a, ia), images(b, ib), dst, { ...g, batch: hi - lo }, part);
      if (sum) for (let i = 0; i < out.length; i++) out[i] += dst[i];
    });
    const whole: ConvKernel = (a, b, out, g, epi) => {
      if (!isF32(a) || !isF32(b) || !isF32(out) || (epi?.bias && !isF32(epi.bias)) || out.length === 0) return fallback(a, b, out, g, epi);
      rt.reset();
      const pa = rt.putF32(a), pb = rt.putF32(b), po = rt.alloc(out.length * 4), pbias = epi?.bias ? rt.putF32(epi.bias) : 0;
      const macs = g.batch * g.outChannels * g.outH * g.outW * (g.inChannels / g.groups) * g.kH * g.kW;
      const parallel = threads > 1 && macs >= MIN_PARALLEL_MACS;
      const [ia, ib, io] = perImage(g, epi);
      let workBytes = 0;
      const tasks = splitRange(g.batch, parallel ? taskCount(g.batch, 1) : 1, 1).map(([lo, hi], t): Task => {
        const geo = rt.putInts(convGeo({ ...g, batch: hi - lo }));
        const dst = partialSums ? (t === 0 ? po : rt.alloc(out.length * 4)) : po + lo * io * 4;
        if (!epi) {
          workBytes = Math.max(workBytes, ex.convWorkBytes(geo) >>> 0);
          return [name, pa + lo * ia * 4, pb + lo * ib * 4, dst, geo];
        }
        const pgeo = epi.pool ? rt.putInts(poolGeo({ ...epi.pool, batch: hi - lo })) : 0;
        workBytes = Math.max(workBytes, ex.convFusedWorkBytes(geo, pgeo) >>> 0);
        return [name, pa + lo * ia * 4, pb, pbias, dst, geo, epi.relu ? 1 : 0, pgeo];
      });
      runTasks(tasks, workBytes, parallel);
      out.set(rt.f32(po, out.length));
      for (let t = 1; partialSums && t < tasks.length; t++) {
        const partial = rt.f32(tasks[t][3] as number, out.length);
        for (let i = 0; i < out.length; i++) out[i] += partial[i];
      }
    };
    return halves;
  };
  const inSize = (g: ConvGeometry): number => g.inChannels * g.inH * g.inW;
  const outSize = (g: ConvGeometry): number => g.outChannels * g.outH * g.outW;
  const forward = convKernel((x, w, out, g, epi) => js.conv2dFused(x, w, epi?.bias ?? null, out, g, epi?.relu ?? false, epi?.pool ?? null),
    'conv2dFused', (g, epi) => [inSize(g), 0, epi?.pool ? epi.pool.channels * epi.pool.outH * epi.pool.outW : outSize(g)], false);
  const conv2d: Kernels['conv2d'] = (x, w, bias, out, g) => forward(x, w, out, g, { bias, relu: false, pool: null });
  const conv2dFused: Kernels['conv2dFused'] = (x, w, bias, out, g, relu, pool) => forward(x, w, out, g, { bias, relu, pool });
  const conv2dBackwardInput = convKernel(js.conv2dBackwardInput, 'conv2dBackwardInput', (g) => [outSize(g), 0, inSize(g)], false);
  const conv2dBackwardWeight = convKernel(js.conv2dBackwardWeight, 'conv2dBackwardWeight', (g) => [inSize(g), outSize(g), 0], true);

  const maxPool2d: Kernels['maxPool2d'] = (x, out, argmax, g) => {
    if (!isF32(x) || !isF32(out) || out.length === 0) return js.maxPool2d(x, out, argmax, g);
    rt.reset();
    const geo = rt.putInts(poolGeo(g));
    const px = rt.putF32(x), po = rt.alloc(out.length * 4), pa = rt.alloc(out.length * 4);
    ex.maxPool2d(px, po, pa, geo);
    out.set(rt.f32(po, out.length));
    argmax.set(rt.i32(pa, out.length));
  };

  const maxPool2dBackward: Kernels['maxPool2dBackward'] = (gOut, argmax, gx, g) => {
    if (!isF32(gOut) || !isF32(gx) || gx.length === 0) return js.maxPool2dBackward(gOut, argmax, gx, g);
    rt.reset();
    const geo = rt.putInts(poolGeo(g));
    const pg = rt.putF32(gOut), pa = rt.putBits(argmax), px = rt.alloc(gx.length * 4);
    ex.maxPool2dBackward(pg, pa, px, geo);
    gx.set(rt.f32(px, gx.length));
  };

  const avgPool2d: Kernels['avgPool2d'] = (x, out, g, countIncludePad, divisor) => {
    if (!isF32(x) || !isF32(out) || out.length === 0) return js.avgPool2d(x, out, g, countIncludePad, divisor);
    rt.reset();
    const geo = rt.putInts(poolGeo(g));
    const px = rt.putF32(x), po = rt.alloc(out.length * 4);
    ex.avgPool2d(px, po, geo, countIncludePad ? 1 : 0, divisor);
    out.set(rt.f32(po, out.length));
  };

  const avgPool2dBackward: Kernels['avgPool2dBackward'] = (gOut, gx, g, countIncludePad, divisor) => {
    if (!isF32(gOut) || !isF32(gx) || gx.length === 0) return js.avgPool2dBackward(gOut, gx, g, countIncludePad, divisor);
    rt.reset();
    const geo = rt.putInts(poolGeo(g));
    const pg = rt.putF32(gOut), px = rt.alloc(gx.length * 4);
    ex.avgPool2dBackward(pg, px, geo, countIncludePad ? 1 : 0, divisor);
    gx.set(rt.f32(px, gx.length));
  };

  /** Copies an optional float32 array in; 0 (the kernels' "none") when absent. */
  const putOptional = (x: TypedArray | null): number => (x ? rt.putF32(x) : 0);
  const allF32 = (...xs: (TypedArray | null)[]): boolean => xs.every((x) => !x || isF32(x));

  const channelSums: Kernels['channelSums'] = (a, aCenter, b, bCenter, N, C, P, sumA, sumAB, aMask) => {
    if (!allF32(a, aCenter, b, bCenter, aMask) || a.length < MIN_ELEMENTS) return js.channelSums(a, aCenter, b, bCenter, N, C, P, sumA, sumAB, aMask);
    rt.reset();
    const args = [a, aCenter, b, bCenter, aMask].map(putOptional), ps = rt.alloc(C * 8), ps2 = rt.alloc(C * 8);
    ex.channelSums(args[0], args[1], args[2], args[3], N, C, P, ps, ps2, args[4]);
    sumA.set(new Float64Array(rt.memory.buffer, ps, C));
    sumAB.set(new Float64Array(rt.memory.buffer, ps2, C));
  };

  const channelMix: Kernels['channelMix'] = (a, aCenter, aScale, b, bCenter, bScale, shift, N, C, P, out, aMask, relu) => {
    if (!allF32(a, aCenter, b, bCenter, out, aMask) || a.length < MIN_ELEMENTS) return js.channelMix(a, aCenter, aScale, b, bCenter, bScale, shift, N, C, P, out, aMask, relu);
    rt.reset();
    const [pa, pca, psa, pb, pcb, psb, pt, pm] = [a, aCenter, aScale, b, bCenter, bScale, shift, aMask].map(putOptional);
    const po = rt.alloc(out.length * 4);
    ex.channelMix(pa, pca, psa, pb, pcb, psb, pt, N, C, P, po, pm);
    if (relu) ex.channelBiasRelu(po, 0, N, C, P, 1);
    out.set(rt.f32(po, out.length));
  };

  /** Rows [lo, hi) of an optional [rows, width] array. */
  const rowsOf = <T extends TypedArray | null>(x: T, lo: number, hi: number, width: number): T => (x && x.subarray(lo * width, hi * width)) as T;

  const lstmCell: Kernels['lstmCell'] = (xw, hw, bias, c, B, H, gates, hOut, cOut) => {
    if (!allF32(xw, hw, bias, c, gates, hOut, cOut)) return js.lstmCell(xw, hw, bias, c, B, H, gates, hOut, cOut);
    const G = 4 * H;
    // Rows are independent: a call that does not fit runs on halves of them (so does the backward step).
    halvesOnOverflow(B, () => {
      rt.reset();
      const [px, ph, pb, pc] = [xw, hw, bias, c].map(putOptional);
      const pg = rt.alloc(B * G * 4), pho = rt.alloc(B * H * 4), pco = rt.alloc(B * H * 4);
      ex.lstmCell(px, ph, pb, pc, B, H, pg, pho, pco);
      gates.set(rt.f32(pg, B * G));
      hOut.set(rt.f32(pho, B * H));
      cOut.set(rt.f32(pco, B * H));
    }, (lo, hi) => lstmCell(rowsOf(xw, lo, hi, G), rowsOf(hw, lo, hi, G), bias, rowsOf(c, lo, hi, H), hi - lo, H,
      rowsOf(gates, lo, hi, G), rowsOf(hOut, lo, hi, H), rowsOf(cOut, lo, hi, H)));
  };

  const lstmCellBackward: Kernels['lstmCellBackward'] = (gates, c, hOut, gH, gC, B, H, dPre, dc) => {
    if (!allF32(gates, c, hOut, gH, gC, dPre, dc)) return js.lstmCellBackward(gates, c, hOut, gH, gC, B, H, dPre, dc);
    const G = 4 * H;
    halvesOnOverflow(B, () => {
      rt.reset();
      const [pg, pc, ph, pgh, pgc] = [gates, c, hOut, gH, gC].map(putOptional);
      const pd = rt.alloc(B * G * 4), pdc = dc ? rt.alloc(B * H * 4) : 0;
      ex.lstmCellBackward(pg, pc, ph, pgh, pgc, B, H, pd, pdc);
      dPre.set(rt.f32(pd, B * G));
      if (dc) dc.set(rt.f32(pdc, B * H));
    }, (lo, hi) => lstmCellBackward(rowsOf(gates, lo, hi, G), rowsOf(c, lo, hi, H), rowsOf(hOut, lo, hi, H), rowsOf(gH, lo, hi, H),
      rowsOf(gC, lo, hi, H), hi - lo, H, rowsOf(dPre, lo, hi, G), rowsOf(dc, lo, hi, H)));
  };

  /**
   * The sequences by their definition, per step, over the kernels above: for other dtypes, and for a
   * sequence whose arrays do not fit in the memory at once (a step's do). The same bits as the whole
   * sequence kernels below.
   */
  const perStep = lstmSequenceKernels({ matmul, lstmCell, lstmCellBackward });
  /**
   * One sequence kernel (assembly/recurrent.ts) over blocks of batch rows, one task each (rows never
   * exchange anything; W_hh packed once is shared), on the pool when the sequence is large.
   */
  const runSequence = (name: 'lstmSequence' | 'lstmSequenceBackward', args: number, L: number, B: number, H: number): void => {
    const parallel = threads > 1 && L * B * 4 * H * H >= MIN_PARALLEL_MACS;
    const tasks = splitRange(B, parallel ? taskCount(B, MIN_SEQUENCE_ROWS) : 1, MR).map(([lo, hi]): Task => [name, args, lo, hi]);
    // Each task's scratch: the product's, then B·4H floats (hw forward; dh, dc, gH, gC backward).
    runTasks(tasks, gemmWork + 16 * B * H, parallel);
  };

  const lstmSequence: Kernels['lstmSequence'] = (gates, wHh, bias, h0, c0, L, B, H, reverse, hs, cs) => {
    const args = [gates, wHh, bias, h0, c0, L, B, H, reverse, hs, cs] as const;
    if (!allF32(gates, wHh, bias, h0, c0, hs, cs) || hs.length === 0) return perStep.lstmSequence(...args);
    smallerOnOverflow(() => {
      rt.reset();
      const G = 4 * H, n = B * H;
      const pg = rt.putF32(gates), pw = rt.putF32(wHh), wT = rt.alloc(ex.packedBFloats(H, G) * 4);
      ex.packBWhole(pw, 1, H, H, G, wT); // W_hhᵀ [H, 4H]: element (k, j) is wHh[j·H + k]
      const phs = rt.alloc(L * n * 4), pcs = rt.alloc(L * n * 4);
      const meta = rt.putInts([pg, wT, putOptional(bias), putOptional(h0), putOptional(c0), L, B, H, reverse ? 1 : 0, phs, pcs]);
      runSequence('lstmSequence', meta, L, B, H);
      gates.set(rt.f32(pg, gates.length));
      hs.set(rt.f32(phs, L * n));
      cs.set(rt.f32(pcs, L * n));
    }, () => perStep.lstmSequence(...args));
  };

  const lstmSequenceBackward: Kernels['lstmSequenceBackward'] = (gates, wHh, h0, c0, hs, cs, gHs, gCs, L, B, H, reverse, dPre, dWhh, dh0, dc0) => {
    const args = [gates, wHh, h0, c0, hs, cs, gHs, gCs, L, B, H, reverse, dPre, dWhh, dh0, dc0] as const;
    if (!allF32(gates, wHh, h0, c0, hs, cs, gHs, gCs, dPre, dWhh, dh0, dc0) || hs.length === 0) return perStep.lstmSequenceBackward(...args);
    smallerOnOverflow(() => {
      rt.reset();
      const G = 4 * H, n = B * H;
      const pw = rt.putF32(wHh), packed = rt.alloc(ex.packedBFloats(G, H) * 4);
      ex.packBWhole(pw, H, 1, G, H, packed);
      // hs with a slot for h0 beside it (before hs; after it in reverse): the h each step read is then
      // one [L·B, H] matrix in time order, for dW_hh.
      const states = rt.alloc((L + 1) * n * 4);
      const phs = reverse ? states : states + n * 4, slot = reverse ? states + L * n * 4 : states;
      rt.f32(phs, L * n).set(hs);
      if (h0) rt.f32(slot, n).set(h0);
      else rt.f32(slot, n).fill(0);
      const pd = rt.alloc(L * B * G * 4), pdh0 = dh0 ? rt.alloc(n * 4) : 0, pdc0 = dc0 ? rt.alloc(n * 4) : 0;
      const meta = rt.putInts([rt.putF32(gates), packed, putOptional(c0), phs, rt.putF32(cs), rt.putF32(gHs), rt.putF32(gCs),
        L, B, H, reverse ? 1 : 0, pd, pdh0, pdc0]);
      runSequence('lstmSequenceBackward', meta, L, B, H);
      dPre.set(rt.f32(pd, L * B * G));
      if (dh0) dh0.set(rt.f32(pdh0, n));
      if (dc0) dc0.set(rt.f32(pdc0, n));
      if (!dWhh) return;
      // dW_hh = dPreᵀ·P, each element summing the steps in time order as the reference's Pᵀ·dPre does.
      const pdw = rt.alloc(G * H * 4);
      const product: GemmArgs = [G, H, L * B, pd, 1, G, reverse ? phs + n * 4 : slot, H, 1, pdw, H];
      const parallel = threads > 1 && G * H * L * B >= MIN_PARALLEL_MACS;
      runTasks(parallel ? splitGemm(product) : [['gemm', ...product, 0]], gemmWork, parallel);
      dWhh.set(rt.f32(pdw, G * H));
    }, () => perStep.lstmSequenceBackward(...args));
  };

  return namingOverflow({
    unary, binary, where, channelSums, channelMix, reduce, copyStrided, matmul,
    conv2d, conv2dFused, linear, conv2dBackwardInput, conv2dBackwardWeight,
    maxPool2d, maxPool2dBackward, avgPool2d, avgPool2dBackward,
    // Delegated to the JS reference.
    argReduce: js.argReduce, take: js.take, takeAdd: js.takeAdd, concat: js.concat, gather: js.gather, scatterAdd: js.scatterAdd,
    sgdStep: js.sgdStep, adamStep: js.adamStep,
    lstmCell, lstmCellBackward, lstmSequence, lstmSequenceBackward,
    // Log-softmax by its definition, over this backend's reductions and element-wise kernels.
    ...logSoftmaxKernels({ unary, binary, reduce }),
  });
}
