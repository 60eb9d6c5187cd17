/**
 * The native backend's convolution, pooling and batch-norm kernels against the JS reference, run
 * in a child process by test/native-conv.test.ts (once per instruction set, which is fixed per
 * process by PIXELGRAD_NATIVE_ISA), with 1 and then 2 threads. Prints one JSON line: the instruction
 * set, the failures (empty when all agree) and, per thread count, a digest of every output's bits.
 */
import { createHash } from 'node:crypto';
import { jsBackend, type ConvGeometry, type Kernels, type PoolGeometry } from '../../src/backend/backend.js';
import type { TypedArray } from '../../src/dtype.js';
import { Generator } from '../../src/random.js';
import { createNativeBackend } from '../../src/backend/native/index.js';
import { convGeometry, poolGeometry } from './geometry.js';

const U32 = 2 ** -24, U64 = 2 ** -53; // unit roundoffs



/** Convolutions of every kind; the batch sizes straddle the thread count and the weight gradient's 16 slices. */
const CONV_CASES: [string, ConvGeometry][] = [
  ['LeNet conv1 (one input channel)', convGeometry(3, 1, 28, 28, 6, 5, 5, [1, 1], [2, 2], [1, 1], 1)],
  ['LeNet conv2, batch 1', convGeometry(1, 6, 14, 14, 16, 5, 5, [1, 1], [0, 0], [1, 1], 1)],
  ['3x3 same, odd sizes, batch 20', convGeometry(20, 3, 9, 13, 5, 3, 3, [1, 1], [1, 1], [1, 1], 1)],
  ['3x3 stride 2 pad 1, groups 2', convGeometry(2, 4, 9, 11, 6, 3, 3, [2, 2], [1, 1], [1, 1], 2)],
  ['stride (2,1), dilation (1,2)', convGeometry(1, 5, 13, 12, 7, 3, 3, [2, 1], [1, 1], [1, 2], 1)],
  ['depthwise, dilation 2, pad (2,1)', convGeometry(2, 4, 10, 7, 4, 3, 2, [1, 1], [2, 1], [2, 1], 4)],
  ['depthwise multiplier 2', convGeometry(5, 3, 8, 9, 6, 3, 3, [1, 1], [1, 1], [1, 1], 3)],
  ['1x1 pointwise', convGeometry(2, 3, 8, 8, 5, 1, 1, [1, 1], [0, 0], [1, 1], 1)],
  ['1x1 pointwise, groups 3, batch 1', convGeometry(1, 6, 5, 7, 9, 1, 1, [1, 1], [0, 0], [1, 1], 3)],
  ['1x1 stride 2', convGeometry(2, 4, 9, 9, 3, 1, 1, [2, 2], [0, 0], [1, 1], 1)],
  ['1x1 pad 1', convGeometry(2, 2, 4, 5, 3, 1, 1, [1, 1], [1, 1], [1, 1], 1)],
  ['padding past the kernel reach', convGeometry(2, 3, 9, 8, 5, 3, 3, [1, 1], [3, 0], [1, 1], 1)],
  ['7x7 pad 3 on 10x10', convGeometry(1, 2, 10, 10, 3, 7, 7, [1, 1], [3, 3], [1, 1], 1)],
  ['1x1 output', convGeometry(2, 2, 3, 3, 4, 3, 3, [1, 1], [0, 0], [1, 1], 1)],
  ['wider channels, 3x3 same', convGeometry(3, 16, 12, 12, 24, 3, 3, [1, 1], [1, 1], [1, 1], 1)],
  // Direct tiles of 6 channels: three blocks forward, one for the input gradient.
  ['6 to 18 channels, 3x3 same, rows of 20', convGeometry(3, 6, 9, 20, 18, 3, 3, [1, 1], [1, 1], [1, 1], 1)],
  // Weight-gradient tiles of 4, then 1 vector of output channels; a 1×5 kernel leaves a tail of 3 taps.
  ['80 output channels', convGeometry(2, 8, 6, 7, 80, 3, 3, [1, 1], [1, 1], [1, 1], 1)],
  ['1x5 kernel, 20 output channels', convGeometry(3, 3, 5, 9, 20, 1, 5, [1, 1], [0, 2], [1, 1], 1)],
  // Weight-gradient tiles in kernel rows of 5: 20, 10 and 5 taps × 2 then 1 vector (75 taps: 3 × 20 + 10 + 5), and 5 taps × 4 vectors.
  ['5x5 pad 2, 33 output channels', convGeometry(2, 3, 9, 11, 33, 5, 5, [1, 1], [2, 2], [1, 1], 1)],
  ['1x5 kernel, 19 to 64 channels, batch 1', convGeometry(1, 19, 4, 12, 64, 1, 5, [1, 1], [0, 2], [1, 1], 1)],
  ['5x5 stride 3 pad 2', convGeometry(2, 3, 17, 16, 8, 5, 5, [3, 3], [2, 2], [1, 1], 1)],
  ['3x3 stride 2, groups 2, dilation 2', convGeometry(1, 4, 15, 15, 4, 3, 3, [2, 2], [2, 2], [2, 2], 2)],
  // The transposed convolution 2×2 stride 2 (U-Net's up-convolution) is conv2dBackwardInput of this.
  ['2x2 stride 2 (transposed conv)', convGeometry(3, 4, 12, 10, 6, 2, 2, [2, 2], [0, 0], [1, 1], 1)],
  ['2x2 stride 2, odd input', convGeometry(2, 3, 7, 9, 5, 2, 2, [2, 2], [0, 0], [1, 1], 1)],
  // A transposed convolution with output padding (allowed below max(stride, dilation)) leaves the
  // output one row and column short of what the window gives.
  ['dilation 3, output cut short by output padding', { ...convGeometry(2, 3, 7, 8, 4, 2, 2, [1, 1], [2, 2], [3, 3], 1), outH: 6, outW: 7 }],
  // Long rows: the column matrix of one row exceeds a block, so each row is its own block.
  ['3x3 same, 64 channels, 240 wide', convGeometry(2, 64, 3, 240, 4, 3, 3, [1, 1], [1, 1], [1, 1], 1)],
  // Strides past the kernel: input pixels that no window reads, whose input gradient must still be written (as 0).
  ['2x2 stride 3, groups 2', convGeometry(3, 4, 11, 10, 6, 2, 2, [3, 3], [0, 0], [1, 1], 2)],
  ['1x1 stride 3 pad 1', convGeometry(2, 3, 7, 8, 4, 1, 1, [3, 3], [1, 1], [1, 1], 1)],
  ['3x3 stride 4, dilation 2, pad 1, batch 1', convGeometry(1, 2, 13, 11, 3, 3, 3, [4, 4], [1, 1], [2, 2], 1)],
  // A 1×1 convolution whose output is cut short (dilation 2, output padding 1) is no plain product.
  ['1x1 dilation 2, output cut short by output padding', { ...convGeometry(2, 3, 5, 6, 4, 1, 1, [1, 1], [0, 0], [2, 2], 1), outH: 4, outW: 5 }],
  ['empty batch', convGeometry(0, 3, 5, 5, 2, 3, 3, [1, 1], [0, 0], [1, 1], 1)],
  ['a kernel wider than the input: no output columns', { ...convGeometry(2, 2, 6, 3, 4, 3, 5, [1, 1], [0, 0], [1, 1], 1), outW: 0 }],
];

/**
 * Pooling geometries, with the share of NaN in the input (default 3%). The 2×2 stride-2 cases cover
 * the vector loops: rows of 16 windows and more (a masked last step), rows of at most 8 (taken two at
 * a time, an odd row left over), ceil mode's partial last row and column, no whole window at all.
 */
const POOL_CASES: [string, PoolGeometry, number?][] = [
  ['2x2/2 LeNet', poolGeometry(2, 6, 28, 28, 2, 2, [2, 2], [0, 0], [1, 1])],
  ['2x2/2 LeNet pool2, rows of 5', poolGeometry(3, 16, 10, 10, 2, 2, [2, 2], [0, 0], [1, 1])],
  ['2x2/2 odd sizes', poolGeometry(1, 3, 11, 19, 2, 2, [2, 2], [0, 0], [1, 1])],
  ['2x2/2 ceil mode', poolGeometry(2, 2, 9, 13, 2, 2, [2, 2], [0, 0], [1, 1], true)],
  ['2x2/2 ceil mode, rows of 17', poolGeometry(2, 2, 7, 35, 2, 2, [2, 2], [0, 0], [1, 1], true)],
  ['2x2/2 rows of 8, three rows', poolGeometry(2, 3, 6, 16, 2, 2, [2, 2], [0, 0], [1, 1])],
  ['2x2/2 rows of 16, odd width', poolGeometry(1, 2, 4, 33, 2, 2, [2, 2], [0, 0], [1, 1])],
  ['2x2/2 one window', poolGeometry(1, 1, 2, 2, 2, 2, [2, 2], [0, 0], [1, 1])],
  ['2x2/2 ceil mode, one input row', poolGeometry(1, 2, 1, 7, 2, 2, [2, 2], [0, 0], [1, 1], true)],
  ['2x2/2 ceil mode, one input column', poolGeometry(1, 2, 5, 1, 2, 2, [2, 2], [0, 0], [1, 1], true)],
  ['2x2/2 a third NaN', poolGeometry(4, 3, 12, 22, 2, 2, [2, 2], [0, 0], [1, 1]), 0.3],
  ['2x2/2 many planes', poolGeometry(8, 32, 16, 16, 2, 2, [2, 2], [0, 0], [1, 1])],
  ['3x3/2 pad 1', poolGeometry(2, 3, 10, 9, 3, 3, [2, 2], [1, 1], [1, 1])],
  ['3x3/1 pad 1 dilation 2', poolGeometry(1, 2, 8, 8, 3, 3, [1, 1], [1, 1], [2, 2])],
  ['2x3 stride (1,2) ceil', poolGeometry(1, 2, 7, 10, 2, 3, [1, 2], [1, 1], [1, 1], true)],
  ['2x2/2 dilation 2', poolGeometry(1, 2, 12, 12, 2, 2, [2, 2], [0, 0], [2, 2])],
  ['global 8x8', poolGeometry(3, 5, 8, 8, 8, 8, [8, 8], [0, 0], [1, 1])],
  // Strides past the window: inputs in no window, whose gradient must still be written (as 0).
  ['2x2/3', poolGeometry(2, 3, 11, 10, 2, 2, [3, 3], [0, 0], [1, 1])],
  ['2x2/3 pad 1 ceil', poolGeometry(2, 2, 10, 8, 2, 2, [3, 3], [1, 1], [1, 1], true)],
  ['1x1/2', poolGeometry(1, 2, 7, 9, 1, 1, [2, 2], [0, 0], [1, 1])],
];

/** [N, C, P] shapes for the batch-norm kernels: BatchNorm1d (P = 1), odd runs, runs past the 8-lane blocks. */
const CHANNEL_CASES: [number, number, number][] = [[7, 5, 1], [3, 4, 13], [2, 3, 64], [32, 16, 33], [5, 64, 256], [1, 1, 7]];

const randomF32 = (g: Generator, n: number, scale = 1, offset = 0): Float32Array =>
  Float32Array.from({ length: n }, () => offset + scale * g.normal());
const abs64 = (x: ArrayLike<number>): Float64Array => Float64Array.from(x, Math.abs);
/** An output as the ops give it to the kernels that write every element: uninitialised, here NaN, so an element left unwritten shows. */
const unset = (n: number): Float32Array => new Float32Array(n).fill(NaN);

/** Runs every case; returns the failures and a digest of all outputs. */
function runChecks(native: Kernels): { failures: string[]; digest: string } {
  const js = jsBackend.kernels;
  const failures: string[] = [];
  const hash = createHash('sha256');
  const record = (x: TypedArray) => hash.update(new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
  const fail = (what: string, i: number, got: number, want: number, extra = '') => {
    failures.push(`${what}[${i}]: got ${got}, expected ${want}${extra}`);
  };
  /** |got − exact| ≤ (n + 2)·2u·Σ|terms|: accumulation of n terms in any order with unit roundoff u. */
  const withinBound = (got: TypedArray, exact: TypedArray, mag: TypedArray, n: number, what: string, u = U32) => {
    for (let i = 0; i < exact.length; i++) {
      const bound = (n + 2) * 2 * u * mag[i] + 1e-300;
      if (!(Math.abs(got[i] - exact[i]) <= bound)) return fail(what, i, got[i], exact[i], ` (bound ${bound})`);
    }
  };
  /** Equal values, NaN matching NaN. */
  const same = (got: TypedArray, want: TypedArray, what: string) => {
    for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i]) && got[i] !== want[i]) return fail(what, i, got[i], want[i]);
  };
  const close = (got: TypedArray, want: TypedArray, rtol: number, what: string) => {
    for (let i = 0; i < want.length; i++) {
      if (!(Math.abs(got[i] - want[i]) <= rtol * Math.abs(want[i]) + 1e-30) && !Object.is(got[i], want[i])) return fail(what, i, got[i], want[i]);
    }
  };

  const g = new Generator(21);
  for (const [name, c] of CONV_CASES) {
    const cg = c.inChannels / c.groups, og = c.outChannels / c.groups, taps = c.kH * c.kW;
    const x = randomF32(g, c.batch * c.inChannels * c.inH * c.inW);
    const w = randomF32(g, c.outChannels * cg * taps);
    const gy = randomF32(g, c.batch * c.outChannels * c.outH * c.outW);
    const b = randomF32(g, c.outChannels);
    const [x64, w64, gy64, b64] = [x, w, gy, b].map((v) => Float64Array.from(v));
    const [ax, aw, agy, ab] = [x, w, gy, b].map(abs64);

    const y = new Float32Array(gy.length), y64 = new Float64Array(gy.length), ym = new Float64Array(gy.length);
    native.conv2d(x, w, b, y, c); js.conv2d(x64, w64, b64, y64, c); js.conv2d(ax, aw, ab, ym, c);
    withinBound(y, y64, ym, cg * taps + 1, `${name}: conv2d with bias`);
    const y0 = new Float32Array(gy.length);
    native.conv2d(x, w, null, y0, c); js.conv2d(x64, w64, null, y64, c); js.conv2d(ax, aw, null, ym, c);
    withinBound(y0, y64, ym, cg * taps, `${name}: conv2d`);

    const gx = unset(x.length), gx64 = new Float64Array(x.length), gxm = new Float64Array(x.length);
    native.conv2dBackwardInput(gy, w, gx, c); js.conv2dBackwardInput(gy64, w64, gx64, c); js.conv2dBackwardInput(agy, aw, gxm, c);
    withinBound(gx, gx64, gxm, og * taps, `${name}: conv2dBackwardInput`);

    const gw = unset(w.length), gw64 = new Float64Array(w.length), gwm = new Float64Array(w.length);
    native.conv2dBackwardWeight(x, gy, gw, c); js.conv2dBackwardWeight(x64, gy64, gw64, c); js.conv2dBackwardWeight(ax, agy, gwm, c);
    withinBound(gw, gw64, gwm, c.batch * c.outH * c.outW, `${name}: conv2dBackwardWeight`);
    [y, y0, gx, gw].forEach(record);

    // The fused inference chain is exactly the composed kernels: convolution with bias, ReLU, max pooling.
    const relu = (v: Float32Array) => v.map((t) => (t < 0 ? 0 : t));
    const pools = c.outH >= 2 && c.outW >= 2
      ? [null, poolGeometry(c.batch, c.outChannels, c.outH, c.outW, 2, 2, [2, 2], [0, 0], [1, 1]),
        poolGeometry(c.batch, c.outChannels, c.outH, c.outW, 3, 3, [2, 2], [1, 1], [1, 1], true)]
      : [null];
    for (const pool of pools) {
      for (const withRelu of [false, true]) {
        const z = withRelu ? relu(y) : y;
        const want = pool ? new Float32Array(c.batch * c.outChannels * pool.outH * pool.outW) : z;
        if (pool) native.maxPool2d(z, want, new Int32Array(want.length), pool);
        const got = new Float32Array(want.length);
        native.conv2dFused(x, w, b, got, c, withRelu, pool);
        same(got, want, `${name}: conv2dFused relu ${withRelu} pool ${pool ? `${pool.kH}x${pool.kW}` : 'none'}`);
      }
    }
  }

  // An input whose last column is infinite: only the weight gradients whose taps read that column
  // may be non-finite (the few-channel tiles' vector lanes past a row read it, against a zero gradient).
  for (const [name, c] of CONV_CASES.filter(([, k]) => k.outChannels / k.groups <= 8 && k.batch > 0)) {
    const x = randomF32(g, c.batch * c.inChannels * c.inH * c.inW).map((v, i) => (i % c.inW === c.inW - 1 ? Infinity : v));
    const gy = randomF32(g, c.batch * c.outChannels * c.outH * c.outW);
    const gw = unset(c.outChannels * (c.inChannels / c.groups) * c.kH * c.kW), want = new Float64Array(gw.length);
    native.conv2dBackwardWeight(x, gy, gw, c); js.conv2dBackwardWeight(Float64Array.from(x), Float64Array.from(gy), want, c);
    const i = want.findIndex((v, j) => Number.isFinite(v) !== Number.isFinite(gw[j]));
    if (i >= 0) fail(`${name}: conv2dBackwardWeight, last input column infinite`, i, gw[i], want[i]);
  }

  for (const [name, p, nan = 0.03] of POOL_CASES) {
    const nIn = p.batch * p.channels * p.inH * p.inW, nOut = p.batch * p.channels * p.outH * p.outW;
    // Coarse values make ties common; NaN (sometimes two in a window) and a few -Infinity.
    const x = Float32Array.from({ length: nIn }, () => {
      const r = g.random();
      return r < nan ? NaN : r < nan + 0.02 ? -Infinity : Math.round(g.normal() * 2) / 2;
    });
    const gy = randomF32(g, nOut);
    const [o1, o2] = [new Float32Array(nOut), new Float32Array(nOut)];
    const [a1, a2] = [new Int32Array(nOut), new Int32Array(nOut)];
    native.maxPool2d(x, o1, a1, p); js.maxPool2d(x, o2, a2, p);
    same(o1, o2, `${name}: maxPool2d values`);
    same(a1, a2, `${name}: maxPool2d argmax`);
    const [gx1, gx2] = [unset(nIn), new Float32Array(nIn)];
    native.maxPool2dBackward(gy, a2, gx1, p); js.maxPool2dBackward(gy, a2, gx2, p);
    same(gx1, gx2, `${name}: maxPool2dBackward`);
    // Any indices inside the plane (repeats and other windows' inputs), added in the reference's order.
    const inPlane = p.inH * p.inW, anywhere = Int32Array.from({ length: nOut }, () => g.integer(0, inPlane));
    const [gx3, gx4] = [unset(nIn), unset(nIn)];
    native.maxPool2dBackward(gy, anywhere, gx3, p); js.maxPool2dBackward(gy, anywhere, gx4, p);
    same(gx3, gx4, `${name}: maxPool2dBackward, any indices`);
    [o1, a1, gx1, gx3].forEach(record);
    if (p.dilationH !== 1 || p.dilationW !== 1) continue; // average pooling has no dilation
    const xf = randomF32(g, nIn);
    for (const [includePad, divisor] of [[true, 0], [false, 0], [false, 5]] as [boolean, number][]) {
      const [v1, v2] = [new Float32Array(nOut), new Float32Array(nOut)];
      native.avgPool2d(xf, v1, p, includePad, divisor); js.avgPool2d(xf, v2, p, includePad, divisor);
      same(v1, v2, `${name}: avgPool2d ${includePad} ${divisor}`);
      const [b1, b2] = [unset(nIn), new Float32Array(nIn)];
      native.avgPool2dBackward(gy, b1, p, includePad, divisor); js.avgPool2dBackward(gy, b2, p, includePad, divisor);
      same(b1, b2, `${name}: avgPool2dBackward ${includePad} ${divisor}`);
      [v1, b1].forEach(record);
    }
  }

  for (const [N, C, P] of CHANNEL_CASES) {
    const name = `[${N},${C},${P}]`, n = N * C * P;
    // A large mean against the spread: the centres keep the sums free of cancellation.
    const a = randomF32(g, n, 1, 100), b = randomF32(g, n), ca = randomF32(g, C, 1, 100), cb = randomF32(g, C, 0.1);
    const variants: [string, Float32Array | null, Float32Array | null, Float32Array | null][] =
      [['a, b, centres', ca, b, cb], ['a alone, centred', ca, null, null], ['no centres', null, b, null]];
    // A ReLU's output as the mask: negative, zero (both signs), positive and NaN values.
    const mask = Float32Array.from({ length: n }, (_, i) => [-1, 0, -0, 2, NaN, 0.5][i % 6]);
    for (const [what, aC, bb, bC] of variants) {
      for (const m of [null, mask]) {
        const s1 = new Float64Array(C), s2 = new Float64Array(C), r1 = new Float64Array(C), r2 = new Float64Array(C);
        native.channelSums(a, aC, bb, bC, N, C, P, s1, s2, m); js.channelSums(a, aC, bb, bC, N, C, P, r1, r2, m);
        // float64 sums of N·P terms of size ~|a − centre|·|b − centre|, in another order.
        const m1 = new Float64Array(C), m2 = new Float64Array(C);
        js.channelSums(abs64(a.map((v, i) => v - (aC ? aC[Math.floor(i / P) % C] : 0))), null,
          abs64((bb ?? a).map((v, i) => v - ((bb ? bC : aC)?.[Math.floor(i / P) % C] ?? 0))), null, N, C, P, m1, m2, null);
        const masked = m ? ' masked' : '';
        withinBound(s1, r1, m1, N * P, `${name} ${what}${masked}: channelSums sumA`, U64);
        withinBound(s2, r2, m2, N * P, `${name} ${what}${masked}: channelSums sumAB`, U64);
        [s1, s2].forEach(record);
      }
    }
    const sa = Float64Array.from(randomF32(g, C)), sb = Float64Array.from(randomF32(g, C)), t = Float64Array.from(randomF32(g, C));
    for (const [what, bb] of [['two inputs', b], ['one input', null]] as const) {
      for (const [m, relu] of [[null, false], [mask, false], [null, true], [mask, true]] as const) {
        const o1 = new Float32Array(n), o2 = new Float32Array(n);
        native.channelMix(a, ca, sa, bb, cb, bb ? sb : null, t, N, C, P, o1, m, relu); js.channelMix(a, ca, sa, bb, cb, bb ? sb : null, t, N, C, P, o2, m, relu);
        // Both compute in float64 and round once; a fused multiply-add may move the float64 value by an ulp.
        close(o1, o2, 2 ** -23, `${name} ${what}${m ? ' masked' : ''}${relu ? ' relu' : ''}: channelMix`);
        if (relu && o1.some((v) => v < 0)) failures.push(`${name} ${what}: channelMix relu left a negative value`);
        record(o1);
      }
    }
  }
  return { failures, digest: hash.digest('hex') };
}

const native = await createNativeBackend();
const digests: Record<number, string> = {};
const failures: string[] = [];
for (const threads of [1, 2]) {
  native.addon.setThreads(threads);
  const r = runChecks(native.kernels);
  failures.push(...r.failures.map((f) => `${threads} thread(s): ${f}`));
  digests[threads] = r.digest;
}
console.log(JSON.stringify({ isa: native.isa, failures, digests }));
