/**
 * The WebAssembly backend: the conformance harness on several seeds, plus what it does not reach —
 * GEMM edges and block boundaries, convolutions of every kind (stride, padding, dilation, groups,
 * batch 1), pooling, special values — and a few training steps that must match the js backend.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  NotSupportedError, getBackend, listBackends, manualSeed, nn, optim, randn, randint, setBackend, tensor,
} from '../src/index.js';
import { jsBackend, type ConvGeometry, type Kernels, type PoolGeometry, type UnaryOp } from '../src/backend/backend.js';
import { checkConformance } from '../src/backend/conformance.js';
import { lstmSequenceKernels } from '../src/backend/js/recurrent.js';
import { createWasmBackend, registerWasmBackend, wasmSimdSupported } from '../src/backend/wasm/index.js';
import { collapse } from '../src/shape.js';
import { Generator } from '../src/random.js';
import type { TypedArray } from '../src/dtype.js';
import { convGeometry, poolGeometry } from './helpers/geometry.js';
import { runSequence } from './helpers/lstm.js';

const initial = getBackend().name; // 'wasm' where it is the default at import
after(() => setBackend(initial));

const wasm = await createWasmBackend();
const js: Kernels = jsBackend.kernels, wk: Kernels = wasm.kernels;
const U = 2 ** -24; // float32 unit roundoff

/**
 * float32 accumulation error bound: |got − exact| ≤ (n + 2)·2u·Σ|terms| (the textbook γ_n bound
 * with a factor 2 of slack), where `mag` holds Σ|terms| per element.
 */
function assertWithinF32Bound(got: TypedArray, exact: TypedArray, mag: TypedArray, n: number, what: string): void {
  assert.equal(got.length, exact.length, `${what}: length`);
  for (let i = 0; i < exact.length; i++) {
    const bound = (n + 2) * 2 * U * mag[i] + 1e-30;
    const err = Math.abs(got[i] - exact[i]);
    if (!(err <= bound)) assert.fail(`${what}[${i}]: got ${got[i]}, exact ${exact[i]}, error ${err} > bound ${bound}`);
  }
}

/** Same values, NaN where NaN, within the conformance tolerance (relative 1e-5, absolute 1e-6). */
function assertConforms(got: TypedArray, want: TypedArray, what: string, rtol = 1e-5, atol = 1e-6): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const a = got[i], e = want[i];
    if (Object.is(a, e) || Math.abs(a - e) <= atol + rtol * Math.abs(e)) continue;
    assert.fail(`${what}[${i}]: got ${a}, expected ${e}`);
  }
}

/** Equal values (NaN matching any NaN payload, -0 matching 0). */
const assertSame = (got: TypedArray, want: TypedArray, what: string): void => assertConforms(got, want, what, 0, 0);

const randomF32 = (g: Generator, n: number, scale = 1): Float32Array => Float32Array.from({ length: n }, () => scale * g.normal());
const abs64 = (x: ArrayLike<number>): Float64Array => Float64Array.from(x, Math.abs);
/** An output as the ops give it to the kernels that write every element: uninitialised, here NaN, so an element left unwritten shows. */
const unset = (n: number): Float32Array => new Float32Array(n).fill(NaN);

test('without WebAssembly SIMD, registration fails with NotSupportedError and js stays', async () => {
  // The scenario starts on js; wasm may already be registered (when it is the default at import).
  const previous = getBackend().name, registered = listBackends();
  setBackend('js');
  const validate = WebAssembly.validate;
  WebAssembly.validate = () => false;
  try {
    assert.equal(wasmSimdSupported(), false);
    await assert.rejects(registerWasmBackend(), (err: unknown) => err instanceof NotSupportedError && /WebAssembly SIMD/.test((err as Error).message));
    assert.deepEqual(listBackends(), registered, 'nothing registered');
    assert.equal(getBackend().name, 'js');
  } finally {
    WebAssembly.validate = validate;
    setBackend(previous);
  }
  assert.equal(wasmSimdSupported(), true, 'this Node has SIMD');
});

test('registerWasmBackend registers "wasm", and ops run on it', async () => {
  const previous = getBackend().name;
  await registerWasmBackend();
  assert.ok(listBackends().includes('wasm'));
  setBackend('wasm');
  try {
    assert.equal(getBackend().name, 'wasm');
    const x = tensor(Array.from({ length: 100 }, (_, i) => i / 10 - 5));
    assert.deepEqual([...x.relu().data].slice(48, 53).map((v) => Math.round(v * 10) / 10), [0, 0, 0, 0.1, 0.2]);
  } finally {
    setBackend(previous);
  }
});

/** Kernels that sum products: float32 accumulation here, float64 in the reference. */
const PRODUCTS: ReadonlySet<string> = new Set(['matmul', 'conv2dFused', 'linear']);

test('every kernel but the products conforms at the default tolerance, on several seeds', () => {
  for (const seed of [0, 1, 2, 3, 4, 5]) {
    const found = checkConformance(wasm, { seed, trials: 10 }).filter((m) => !PRODUCTS.has(m.kernel));
    assert.deepEqual(found, [], `seed ${seed}`);
  }
});

test('matmul and the fused convolution and dense layer conform within float32 accumulation error (the reference accumulates in float64)', () => {
  // Inputs are 3·N(0,1) with K up to 340: Σ|a·b| reaches ~2000, so float32 accumulation leaves
  // absolute errors of ~1e-4 on results near zero (the targeted tests below check the exact bound).
  for (const seed of [0, 1, 2, 3, 4, 5]) {
    assert.deepEqual(checkConformance(wasm, { seed, trials: 10, atol: 2e-3 }), [], `seed ${seed}`);
  }
});

/** Exact product and Σ|a||b| of row-major A[M,K]·B[K,N], in float64. */
function reference(a: Float32Array, b: Float32Array, M: number, K: number, N: number): [Float64Array, Float64Array] {
  const c = new Float64Array(M * N), m = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let k = 0; k < K; k++) {
      const av = a[i * K + k], aa = Math.abs(av);
      for (let j = 0; j < N; j++) {
        const bv = b[k * N + j];
        c[i * N + j] += av * bv;
        m[i * N + j] += aa * Math.abs(bv);
      }
    }
  }
  return [c, m];
}

test('GEMM: odd sizes 1, 3, 17, 65, 257 on each of M, K, N', () => {
  const g = new Generator(11);
  const sizes = [1, 3, 17, 65, 257];
  for (const M of sizes) for (const K of sizes) for (const N of sizes) {
    const a = randomF32(g, M * K), b = randomF32(g, K * N);
    const out = new Float32Array(M * N);
    wk.matmul(a, [M, K], b, [K, N], out, [M, N]);
    const [exact, mag] = reference(a, b, M, K, N);
    assertWithinF32Bound(out, exact, mag, K, `gemm ${M}x${K}x${N}`);
  }
});

test('GEMM: large K, wide N, tall M (past every cache block) and batched broadcasting', () => {
  const g = new Generator(12);
  for (const [M, K, N] of [[5, 5000, 9], [7, 257, 2100], [300, 40, 30], [129, 513, 20], [1, 1, 1], [4, 8, 8]]) {
    const a = randomF32(g, M * K), b = randomF32(g, K * N);
    const out = new Float32Array(M * N);
    wk.matmul(a, [M, K], b, [K, N], out, [M, N]);
    const [exact, mag] = reference(a, b, M, K, N);
    assertWithinF32Bound(out, exact, mag, K, `gemm ${M}x${K}x${N}`);
  }
  // [2,1,5,7] · [3,7,4] → [2,3,5,4]: A broadcast over dim 1, B over dim 0.
  const a = randomF32(g, 2 * 5 * 7), b = randomF32(g, 3 * 7 * 4);
  const got = new Float32Array(2 * 3 * 5 * 4), want = new Float32Array(got.length);
  wk.matmul(a, [2, 1, 5, 7], b, [3, 7, 4], got, [2, 3, 5, 4]);
  js.matmul(a, [2, 1, 5, 7], b, [3, 7, 4], want, [2, 3, 5, 4]);
  assertConforms(got, want, 'batched matmul', 1e-5, 1e-5);
});

test('float64 and int32 data run the JS kernels (bit-identical results)', () => {
  const g = new Generator(13);
  const a = Float64Array.from({ length: 6 * 7 }, () => g.normal()), b = Float64Array.from({ length: 7 * 5 }, () => g.normal());
  const got = new Float64Array(30), want = new Float64Array(30);
  wk.matmul(a, [6, 7], b, [7, 5], got, [6, 5]);
  js.matmul(a, [6, 7], b, [7, 5], want, [6, 5]);
  assert.deepEqual(got, want);
  const x = Float64Array.from({ length: 200 }, () => g.normal());
  const u1 = new Float64Array(200), u2 = new Float64Array(200);
  wk.unary('exp', x, u1, 0, 0); js.unary('exp', x, u2, 0, 0);
  assert.deepEqual(u1, u2);
  const i = Int32Array.from({ length: 200 }, (_, t) => t - 100);
  const s1 = new Int32Array(1), s2 = new Int32Array(1);
  wk.reduce('sum', i, [200], [0], s1); js.reduce('sum', i, [200], [0], s2);
  assert.deepEqual(s1, s2);
});


const CONV_CASES: [string, ConvGeometry][] = [
  ['LeNet conv1', convGeometry(2, 1, 28, 28, 6, 5, 5, [1, 1], [2, 2], [1, 1], 1)],
  ['LeNet conv2', convGeometry(3, 6, 14, 14, 16, 5, 5, [1, 1], [0, 0], [1, 1], 1)],
  // Rows ending one pixel past their tiles of eight: paired rows share a tile, border rows (other taps) and the odd last row do not.
  ['rows of 17, odd row count, pad 1', convGeometry(2, 3, 11, 17, 5, 3, 3, [1, 1], [1, 1], [1, 1], 1)],
  ['3x3 same, batch 1, odd sizes', convGeometry(1, 3, 9, 13, 5, 3, 3, [1, 1], [1, 1], [1, 1], 1)],
  ['3x3 stride 2 pad 1, groups 2', convGeometry(2, 4, 9, 11, 6, 3, 3, [2, 2], [1, 1], [1, 1], 2)],
  ['stride (2,1), dilation (1,2)', convGeometry(1, 5, 13, 12, 7, 3, 3, [2, 1], [1, 1], [1, 2], 1)],
  ['depthwise, dilation 2, pad (2,1)', convGeometry(2, 4, 10, 7, 4, 3, 2, [1, 1], [2, 1], [2, 1], 4)],
  ['depthwise multiplier 2', convGeometry(2, 3, 8, 9, 6, 3, 3, [1, 1], [1, 1], [1, 1], 3)],
  ['1x1 pointwise', convGeometry(2, 3, 8, 8, 5, 1, 1, [1, 1], [0, 0], [1, 1], 1)],
  ['1x1 pointwise, groups 3', convGeometry(1, 6, 5, 7, 9, 1, 1, [1, 1], [0, 0], [1, 1], 3)],
  ['1x1 stride 2', convGeometry(2, 4, 9, 9, 3, 1, 1, [2, 2], [0, 0], [1, 1], 1)],
  ['padding past the kernel reach', convGeometry(2, 3, 9, 8, 5, 3, 3, [1, 1], [3, 0], [1, 1], 1)],
  ['7x7 pad 3 on 10x10', convGeometry(1, 2, 10, 10, 3, 7, 7, [1, 1], [3, 3], [1, 1], 1)],
  ['1x1 output', convGeometry(2, 2, 3, 3, 4, 3, 3, [1, 1], [0, 0], [1, 1], 1)],
  ['wider channels, 3x3 same', convGeometry(2, 16, 12, 12, 24, 3, 3, [1, 1], [1, 1], [1, 1], 1)],
  ['5x5 stride 3 pad 2', convGeometry(2, 3, 17, 16, 8, 5, 5, [3, 3], [2, 2], [1, 1], 1)],
  // 3×3 stride 1 with 32 channels or more: the forward pass runs Winograd F(2×2, 3×3).
  ['Winograd, 3x3 same, odd width', convGeometry(2, 32, 10, 9, 32, 3, 3, [1, 1], [1, 1], [1, 1], 1)],
  ['Winograd, 3x3 valid, odd channels', convGeometry(1, 40, 7, 12, 33, 3, 3, [1, 1], [0, 0], [1, 1], 1)],
  ['3x3 stride 2, groups 2, dilation 2', convGeometry(1, 4, 15, 15, 4, 3, 3, [2, 2], [2, 2], [2, 2], 2)],
  // Strides past the kernel: input pixels that no window reads, whose input gradient must still be written (as 0).
  ['2x2 stride 3, groups 2', convGeometry(3, 4, 11, 10, 6, 2, 2, [3, 3], [0, 0], [1, 1], 2)],
  ['3x3 stride 4, dilation 2, pad 1', convGeometry(1, 2, 13, 11, 3, 3, 3, [4, 4], [1, 1], [2, 2], 1)],
  // Outputs cut short by a transposed convolution's output padding: neither a plain product (1×1) nor a direct input gradient.
  ['1x1 dilation 2, output cut short', { ...convGeometry(2, 3, 5, 6, 4, 1, 1, [1, 1], [0, 0], [2, 2], 1), outH: 4, outW: 5 }],
  ['2x2 dilation 3, output cut short', { ...convGeometry(2, 3, 7, 8, 4, 2, 2, [1, 1], [2, 2], [3, 3], 1), outH: 6, outW: 7 }],
];

test('conv2d and its two gradients match the float64 reference within float32 error', () => {
  const g = new Generator(21);
  for (const [name, c] of CONV_CASES) {
    const cg = c.inChannels / c.groups, og = c.outChannels / c.groups;
    const x = randomF32(g, c.batch * c.inChannels * c.inH * c.inW);
    const w = randomF32(g, c.outChannels * cg * c.kH * c.kW);
    const gy = randomF32(g, c.batch * c.outChannels * c.outH * c.outW);
    const x64 = Float64Array.from(x), w64 = Float64Array.from(w), gy64 = Float64Array.from(gy);
    const ax = abs64(x), aw = abs64(w), agy = abs64(gy);

    // With a bias (one more term per output) and without.
    const b = randomF32(g, c.outChannels), b64 = Float64Array.from(b), ab = abs64(b);
    const y = new Float32Array(gy.length), y64 = new Float64Array(gy.length), ym = new Float64Array(gy.length);
    wk.conv2d(x, w, b, y, c); js.conv2d(x64, w64, b64, y64, c); js.conv2d(ax, aw, ab, ym, c);
    assertWithinF32Bound(y, y64, ym, cg * c.kH * c.kW + 1, `${name}: conv2d with bias`);
    const y0 = new Float32Array(gy.length);
    wk.conv2d(x, w, null, y0, c); js.conv2d(x64, w64, null, y64, c); js.conv2d(ax, aw, null, ym, c);
    assertWithinF32Bound(y0, y64, ym, cg * c.kH * c.kW, `${name}: conv2d`);

    const gx = unset(x.length), gx64 = new Float64Array(x.length), gxm = new Float64Array(x.length);
    wk.conv2dBackwardInput(gy, w, gx, c); js.conv2dBackwardInput(gy64, w64, gx64, c); js.conv2dBackwardInput(agy, aw, gxm, c);
    assertWithinF32Bound(gx, gx64, gxm, og * c.kH * c.kW, `${name}: conv2dBackwardInput`);

    const gw = unset(w.length), gw64 = new Float64Array(w.length), gwm = new Float64Array(w.length);
    wk.conv2dBackwardWeight(x, gy, gw, c); js.conv2dBackwardWeight(x64, gy64, gw64, c); js.conv2dBackwardWeight(ax, agy, gwm, c);
    assertWithinF32Bound(gw, gw64, gwm, c.batch * c.outH * c.outW, `${name}: conv2dBackwardWeight`);
  }
});


const POOL_CASES: [string, PoolGeometry][] = [
  ['2x2/2 LeNet', poolGeometry(2, 6, 28, 28, 2, 2, [2, 2], [0, 0], [1, 1])],
  ['2x2/2 odd sizes', poolGeometry(1, 3, 11, 19, 2, 2, [2, 2], [0, 0], [1, 1])],
  ['2x2/2 ceil mode', poolGeometry(2, 2, 9, 13, 2, 2, [2, 2], [0, 0], [1, 1], true)],
  ['3x3/2 pad 1', poolGeometry(2, 3, 10, 9, 3, 3, [2, 2], [1, 1], [1, 1])],
  ['3x3/1 pad 1 dilation 2', poolGeometry(1, 2, 8, 8, 3, 3, [1, 1], [1, 1], [2, 2])],
  ['2x3 stride (1,2) ceil', poolGeometry(1, 2, 7, 10, 2, 3, [1, 2], [1, 1], [1, 1], true)],
  ['2x2/2 dilation 2', poolGeometry(1, 2, 12, 12, 2, 2, [2, 2], [0, 0], [2, 2])],
  // Strides past the window: inputs in no window, whose gradient must still be written (as 0).
  ['2x2/3', poolGeometry(2, 3, 11, 10, 2, 2, [3, 3], [0, 0], [1, 1])],
  ['2x2/3 pad 1 ceil', poolGeometry(2, 2, 10, 8, 2, 2, [3, 3], [1, 1], [1, 1], true)],
];

test('max and average pooling and their gradients equal the reference, NaN, ties and -Infinity included', () => {
  const g = new Generator(31);
  for (const [name, p] of POOL_CASES) {
    const nIn = p.batch * p.channels * p.inH * p.inW, nOut = p.batch * p.channels * p.outH * p.outW;
    // Coarse values make ties common; a few NaN and -Infinity.
    const x = Float32Array.from({ length: nIn }, () => {
      const r = g.random();
      return r < 0.02 ? NaN : r < 0.04 ? -Infinity : Math.round(g.normal() * 2) / 2;
    });
    const gy = randomF32(g, nOut);
    const [o1, o2] = [new Float32Array(nOut), new Float32Array(nOut)];
    const [a1, a2] = [new Int32Array(nOut), new Int32Array(nOut)];
    wk.maxPool2d(x, o1, a1, p); js.maxPool2d(x, o2, a2, p);
    assertSame(o1, o2, `${name}: maxPool2d values`);
    assert.deepEqual(a1, a2, `${name}: maxPool2d argmax`);
    const [gx1, gx2] = [unset(nIn), new Float32Array(nIn)];
    wk.maxPool2dBackward(gy, a2, gx1, p); js.maxPool2dBackward(gy, a2, gx2, p);
    assertSame(gx1, gx2, `${name}: maxPool2dBackward`);

    const xf = randomF32(g, nIn);
    for (const [includePad, divisor] of [[true, 0], [false, 0], [false, 5]] as [boolean, number][]) {
      if (p.dilationH !== 1 || p.dilationW !== 1) continue; // avg pooling has no dilation
      const [v1, v2] = [new Float32Array(nOut), new Float32Array(nOut)];
      wk.avgPool2d(xf, v1, p, includePad, divisor); js.avgPool2d(xf, v2, p, includePad, divisor);
      assertSame(v1, v2, `${name}: avgPool2d ${includePad} ${divisor}`);
      const [b1, b2] = [unset(nIn), new Float32Array(nIn)];
      wk.avgPool2dBackward(gy, b1, p, includePad, divisor); js.avgPool2dBackward(gy, b2, p, includePad, divisor);
      assertSame(b1, b2, `${name}: avgPool2dBackward ${includePad} ${divisor}`);
    }
  }
});

const SPECIAL = [0, -0, 1e-30, -1e-30, 1e-8, -1e-8, 1e-3, 0.3, -0.3, 0.5, 0.7, 1, -1, 2, -2, 5, 10, -10, 20, -20, 50, 87, 88.5,
  89, -87, -87.5, -88, -100, 100, 3.4e38, -3.4e38, 1e-40, -1e-40, Infinity, -Infinity, NaN];

test('unary maths on special values (zeros, subnormals, overflow, ±Infinity, NaN) matches the reference', () => {
  const g = new Generator(41);
  const x = Float32Array.from([...SPECIAL, ...Array.from({ length: 300 }, () => 4 * g.normal())]);
  const params: Record<UnaryOp, [number, number]> = {
    neg: [0, 0], exp: [0, 0], log: [0, 0], sqrt: [0, 0], abs: [0, 0], sign: [0, 0], erf: [0, 0], relu: [0, 0], sigmoid: [0, 0],
    tanh: [0, 0], leakyRelu: [0.01, 0], elu: [1, 0], gelu: [0, 0], geluTanh: [0, 0], softplus: [1, 20], clamp: [-1.5, Infinity],
  };
  for (const [op, [p0, p1]] of Object.entries(params) as [UnaryOp, [number, number]][]) {
    const got = new Float32Array(x.length), want = new Float32Array(x.length);
    wk.unary(op, x, got, p0, p1); js.unary(op, x, want, p0, p1);
    assertConforms(got, want, `unary ${op}`);
  }
  // A second parameter set for the parametrised ops.
  for (const [op, p0, p1] of [['softplus', 0.5, 3], ['elu', 0.3, 0], ['leakyRelu', -2, 0], ['clamp', -Infinity, 0.25]] as [UnaryOp, number, number][]) {
    const got = new Float32Array(x.length), want = new Float32Array(x.length);
    wk.unary(op, x, got, p0, p1); js.unary(op, x, want, p0, p1);
    assertConforms(got, want, `unary ${op}(${p0}, ${p1})`);
  }
});

test('lstmCell: the reference within the conformance tolerance (float32 σ and tanh), on special values and on rows with and without hw, bias and c, gates in place of xw', () => {
  const g = new Generator(42);
  // SPECIAL as every gate's input (c, hw and bias absent): NaN, ±Infinity, saturation, polynomial boundaries.
  const H = SPECIAL.length, xs = Float32Array.from({ length: 4 * H }, (_, k) => SPECIAL[(k * 7) % H]), cs = Float32Array.from(SPECIAL);
  for (const c of [cs, null]) {
    const [ge, gr] = [new Float32Array(4 * H), new Float32Array(4 * H)], [he, hr, ce, cr] = Array.from({ length: 4 }, () => new Float32Array(H));
    js.lstmCell(xs, null, null, c, 1, H, ge, he, ce); wk.lstmCell(xs, null, null, c, 1, H, gr, hr, cr);
    for (const [got, want, what] of [[gr, ge, 'gates'], [hr, he, "h'"], [cr, ce, "c'"]] as const) assertConforms(got, want, `special values${c ? '' : ' no c'}: ${what}`);
  }
  // Unit counts with 1, 2 and 3 units past the last whole vector, and a vector-sized one.
  for (const [B, H] of [[3, 5], [2, 6], [4, 7], [64, 128]]) {
    for (const mask of [0, 1, 2, 3, 4, 5, 6, 7]) {
      const G = 4 * H, xw = randomF32(g, B * G, 3);
      const hw = mask & 1 ? randomF32(g, B * G, 3) : null, bias = mask & 2 ? randomF32(g, G) : null, c = mask & 4 ? randomF32(g, B * H, 3) : null;
      const what = `B=${B} H=${H}${hw ? '' : ' no hw'}${bias ? '' : ' no bias'}${c ? '' : ' no c'}`;
      const [ge, he, ce] = [new Float32Array(B * G), new Float32Array(B * H), new Float32Array(B * H)];
      js.lstmCell(xw, hw, bias, c, B, H, ge, he, ce);
      const gates = Float32Array.from(xw), [h, cn] = [new Float32Array(B * H), new Float32Array(B * H)];
      wk.lstmCell(gates, hw, bias, c, B, H, gates, h, cn);
      assertConforms(gates, ge, `${what}: gates`);
      assertConforms(h, he, `${what}: h'`);
      assertConforms(cn, ce, `${what}: c'`);
    }
  }
});

test('lstmCell and lstmCellBackward too large for the memory run on halves of the rows, with the same bits', async () => {
  const g = new Generator(44);
  const small = (await createWasmBackend({ threads: 1, maxMemory: 2 ** 20 })).kernels; // a step of 64 × 512 units takes 1.6 MiB
  const B = 64, H = 512, G = 4 * H;
  const xw = randomF32(g, B * G, 3), hw = randomF32(g, B * G), bias = randomF32(g, G), c = randomF32(g, B * H), gH = randomF32(g, B * H), gC = randomF32(g, B * H);
  const run = (k: Kernels) => {
    const gates = new Float32Array(B * G), h = new Float32Array(B * H), cn = new Float32Array(B * H), d = new Float32Array(B * G), dc = new Float32Array(B * H);
    k.lstmCell(xw, hw, bias, c, B, H, gates, h, cn);
    k.lstmCellBackward(gates, c, h, gH, gC, B, H, d, dc);
    return { gates, h, cn, d, dc };
  };
  assert.deepEqual(run(small), run(wk));
});

test("lstmCellBackward: the reference's bits (float64 as the reference), with the output gate 0 or 1, NaN and infinite values, rows with and without c and dc", () => {
  const g = new Generator(43);
  const H = 19, G = 4 * H; // 4 whole vectors and 3 units
  const pick = (xs: number[]) => Float32Array.from({ length: H }, (_, j) => xs[j % xs.length]);
  const special = new Float32Array(G);
  [pick([0, 1, 0.5, 0.25, NaN]), pick([1, 0, 0.75, 0.5]), pick([-1, 1, 0, 0.5, -0.3]), pick([0, 0, 1, 0.5, 0, 0.9, NaN])].forEach((v, k) => special.set(v, k * H));
  const cases: [number, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array][] = [
    [1, special, pick([0.5, -2, NaN, 3, 0]), pick([0, -0, 0.3, 0.2, NaN, -0.5, 0.1]), pick([1, -1, 0.5, Infinity, 2, 0]), pick([0.3, NaN, -1, 0, 1])],
  ];
  for (const [B, h] of [[5, 19], [64, 128]]) {
    // Gates as the forward step leaves them: σ in (0, 1), tanh in (−1, 1).
    const gates = Float32Array.from({ length: B * 4 * h }, (_, k) => (Math.floor(k / h) % 4 === 2 ? Math.tanh(2 * g.normal()) : 1 / (1 + Math.exp(-2 * g.normal()))));
    cases.push([B, gates, randomF32(g, B * h), randomF32(g, B * h, 0.7), randomF32(g, B * h, 3), randomF32(g, B * h, 3)]);
  }
  for (const [B, gates, c, hOut, gH, gC] of cases) {
    const Hc = hOut.length / B;
    for (const [cc, withDc] of [[c, true], [c, false], [null, true], [null, false]] as const) {
      const run = (k: Kernels) => {
        const d = new Float32Array(B * 4 * Hc), dc = withDc ? new Float32Array(B * Hc) : null;
        k.lstmCellBackward(gates, cc, hOut, gH, gC, B, Hc, d, dc);
        return [d, dc];
      };
      const [want, got] = [run(js), run(wk)];
      assert.deepEqual(got, want, `B=${B} H=${Hc}${cc ? '' : ' no c'}${withDc ? '' : ' no dc'}`);
    }
  }
});

test('lstmSequence and its backward: the bits of the per-step kernels over this backend\'s own, the reference within tolerance; per step when the memory cannot hold the whole sequence', async () => {
  const perStep = lstmSequenceKernels(wk);
  const cases: [number, number, number][] = [[1, 1, 1], [3, 5, 7], [4, 6, 17], [5, 64, 128], [2, 3, 300]];
  let seed = 50;
  for (const [L, B, H] of cases) {
    for (const reverse of [false, true]) {
      for (const mask of [0, 63, 7, 56, 21, 42]) {
        const what = `L=${L} B=${B} H=${H}${reverse ? ' reverse' : ''} mask ${mask}`;
        const want = runSequence(perStep, ++seed, L, B, H, reverse, mask);
        assert.deepEqual(runSequence(wk, seed, L, B, H, reverse, mask), want, what);
        const ref = runSequence(js, seed, L, B, H, reverse, mask);
        for (const [name, w] of Object.entries(ref)) {
          if (w) assertConforms(want[name as keyof typeof want]!, w, `${what}: ${name}`, 1e-4, 2e-5);
        }
      }
    }
  }
  // L = 48, B = 64, H = 128: the sequence kernels need 12.2 MiB forward, 21 backward; the largest
  // call per step (dW_hh's product, 6.3 MiB of dPre) 10.4 MiB.
  const small = (await createWasmBackend({ threads: 1, maxMemory: 11.5 * 2 ** 20 })).kernels;
  for (const reverse of [false, true]) {
    assert.deepEqual(runSequence(small, 70, 48, 64, 128, reverse, 63), runSequence(perStep, 70, 48, 64, 128, reverse, 63), `11.5 MiB of memory${reverse ? ', reverse' : ''}`);
  }
});

test('binary ops and where on special values, and the broadcast patterns of training', () => {
  const n = SPECIAL.length;
  const a = Float32Array.from({ length: n * n }, (_, i) => SPECIAL[Math.floor(i / n)]);
  const b = Float32Array.from({ length: n * n }, (_, i) => SPECIAL[i % n]);
  for (const op of ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'reluGrad'] as const) {
    const got = new Float32Array(n * n), want = new Float32Array(n * n);
    wk.binary(op, a, [n, n], b, [n, n], got, [n, n]); js.binary(op, a, [n, n], b, [n, n], want, [n, n]);
    assertConforms(got, want, `binary ${op}`);
  }
  for (const op of ['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const) {
    const got = new Int32Array(n * n), want = new Int32Array(n * n);
    wk.binary(op, a, [n, n], b, [n, n], got, [n, n]); js.binary(op, a, [n, n], b, [n, n], want, [n, n]);
    assert.deepEqual(got, want, `binary ${op}`);
  }
  const g = new Generator(42);
  // Channel bias [1,C,1,1], row bias [C], column [N,1], outer [N,1]×[1,C], scalar, float × int32 mask.
  const cases: [number[], number[]][] = [[[4, 6, 5, 5], [1, 6, 1, 1]], [[9, 7], [7]], [[9, 7], [9, 1]], [[9, 1], [1, 7]], [[3, 40], []], [[2, 3, 4, 5], [3, 1, 5]]];
  for (const [sa, sb] of cases) {
    const out = sa.map((d, i) => Math.max(d, sb[i - (sa.length - sb.length)] ?? 1));
    const x = randomF32(g, sa.reduce((p, d) => p * d, 1)), y = randomF32(g, sb.reduce((p, d) => p * d, 1));
    const size = out.reduce((p, d) => p * d, 1);
    for (const [p, q, sp, sq] of [[x, y, sa, sb], [y, x, sb, sa]] as [Float32Array, Float32Array, number[], number[]][]) {
      const got = new Float32Array(size), want = new Float32Array(size);
      wk.binary('sub', p, sp, q, sq, got, out); js.binary('sub', p, sp, q, sq, want, out);
      assertConforms(got, want, `sub ${JSON.stringify(sp)} ${JSON.stringify(sq)}`);
    }
  }
  const grad = randomF32(g, 500), mask = Int32Array.from({ length: 500 }, () => g.integer(0, 2));
  const got = new Float32Array(500), want = new Float32Array(500);
  wk.binary('mul', grad, [500], mask, [500], got, [500]); js.binary('mul', grad, [500], mask, [500], want, [500]);
  assertSame(got, want, 'float32 × int32 mask');

  // where with a float condition: -0 is false, NaN is true.
  const cond = Float32Array.from({ length: 300 }, (_, i) => [0, -0, NaN, 1, -2][i % 5]);
  const wa = randomF32(g, 300), wb = Float32Array.of(7);
  const w1 = new Float32Array(300), w2 = new Float32Array(300);
  wk.where(cond, [300], wa, [300], wb, [], w1, [300]); js.where(cond, [300], wa, [300], wb, [], w2, [300]);
  assertSame(w1, w2, 'where, float condition');
  const ia = Int32Array.from({ length: 120 }, (_, i) => i), ib = Int32Array.from({ length: 12 }, (_, i) => -i);
  const ic = Int32Array.from({ length: 10 }, (_, i) => i % 3);
  const i1 = new Int32Array(120), i2 = new Int32Array(120);
  wk.where(ic, [10, 1], ia, [10, 12], ib, [12], i1, [10, 12]); js.where(ic, [10, 1], ia, [10, 12], ib, [12], i2, [10, 12]);
  assert.deepEqual(i1, i2, 'where on int32 values');
});

test('reductions (float64 accumulation, as the reference) and strided copies', () => {
  const g = new Generator(51);
  const big = randomF32(g, 64 * 6 * 28 * 28, 3);
  for (const [shape, axes] of [[[64, 6, 28, 28], [0, 2, 3]], [[64, 6, 28, 28], [0, 1, 2, 3]], [[64, 6, 28, 28], [1]], [[64, 4704], [0]], [[4704, 64], [1]]] as [number[], number[]][]) {
    const outSize = shape.filter((_, i) => !axes.includes(i)).reduce((p, d) => p * d, 1);
    for (const op of ['sum', 'max', 'min'] as const) {
      const got = new Float32Array(outSize), want = new Float32Array(outSize);
      wk.reduce(op, big, shape, axes, got); js.reduce(op, big, shape, axes, want);
      assertConforms(got, want, `reduce ${op} ${JSON.stringify(shape)} axes ${axes}`);
    }
  }
  const withNaN = Float32Array.from(big.subarray(0, 1000)); withNaN[517] = NaN;
  for (const op of ['max', 'min'] as const) {
    const got = new Float32Array(10), want = new Float32Array(10);
    wk.reduce(op, withNaN, [10, 100], [1], got); js.reduce(op, withNaN, [10, 100], [1], want);
    assertSame(got, want, `reduce ${op} with NaN`);
  }
  // Transposes (the 4×4 register path and its edges), permutations, broadcasts; float32 and int32.
  const permCases: [number[], number[], number[]][] = [
    [[120, 400], [400, 120], [1, 400]], [[37, 53], [53, 37], [1, 53]], [[3, 17, 9], [9, 17, 3], [1, 9, 153]],
    [[2, 3, 4, 5], [2, 5, 3, 4], [60, 1, 20, 5]], [[6, 7], [5, 6, 7], [0, 7, 1]], [[50], [50, 4], [1, 0]],
  ];
  for (const [inShape, outShape, strides] of permCases) {
    const n = inShape.reduce((p, d) => p * d, 1), m = outShape.reduce((p, d) => p * d, 1);
    const xf = randomF32(g, n), xi = Int32Array.from({ length: n }, (_, i) => i * 7 - 3);
    const f1 = new Float32Array(m), f2 = new Float32Array(m), i1 = new Int32Array(m), i2 = new Int32Array(m);
    wk.copyStrided(xf, strides, f1, outShape); js.copyStrided(xf, strides, f2, outShape);
    wk.copyStrided(xi, strides, i1, outShape); js.copyStrided(xi, strides, i2, outShape);
    assertSame(f1, f2, `copyStrided ${JSON.stringify(outShape)} ${strides}`);
    assert.deepEqual(i1, i2, `copyStrided int32 ${JSON.stringify(outShape)} ${strides}`);
  }
});

test('collapse merges dims every operand steps through as one', () => {
  assert.deepEqual(collapse([4, 6, 5, 5], [[150, 25, 5, 1], [0, 1, 0, 0]]), { dims: [4, 6, 25], strides: [[150, 25, 1], [0, 1, 0]] });
  assert.deepEqual(collapse([2, 1, 3], [[3, 0, 1], [3, 0, 1]]), { dims: [6], strides: [[1], [1]] });
  assert.deepEqual(collapse([1, 1], [[0, 0]]), { dims: [1], strides: [[0]] });
});

test('the arena grows for a large call and is reused by smaller ones', () => {
  const g = new Generator(61);
  const M = 600, K = 700, N = 650;
  const a = randomF32(g, M * K), b = randomF32(g, K * N);
  const got = new Float32Array(M * N), want = new Float32Array(M * N);
  wk.matmul(a, [M, K], b, [K, N], got, [M, N]); js.matmul(a, [M, K], b, [K, N], want, [M, N]);
  assertConforms(got, want, 'large matmul', 1e-4, 2e-3);
  const x = randomF32(g, 100), s1 = new Float32Array(100), s2 = new Float32Array(100);
  wk.unary('tanh', x, s1, 0, 0); js.unary('tanh', x, s2, 0, 0);
  assertConforms(s1, s2, 'small call after a large one');
});

/** A few SGD steps of a small CNN (every conv path, both poolings, BatchNorm, dropout-free) from one seed. */
function trainSteps(steps: number): { losses: number[]; params: Float32Array[] } {
  manualSeed(3);
  const model = new nn.Sequential(
    new nn.Conv2d(3, 8, 3, { padding: 1 }), new nn.BatchNorm2d(8), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Conv2d(8, 12, 3, { stride: 2, padding: 1, groups: 4 }), new nn.Tanh(),
    new nn.Conv2d(12, 16, 1), new nn.Sigmoid(), new nn.AvgPool2d(2),
    new nn.Flatten(), new nn.Linear(16 * 2 * 2, 10));
  const opt = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  const x = randn([6, 3, 16, 16]), y = randint(0, 10, [6]);
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const loss = nn.functional.crossEntropy(model.forward(x), y);
    opt.zeroGrad();
    loss.backward();
    opt.step();
    losses.push(loss.item());
  }
  return { losses, params: model.parameters().map((p) => Float32Array.from(p.data)) };
}

test('training a small CNN gives the same losses and weights under wasm as under js', async () => {
  if (!listBackends().includes('wasm')) await registerWasmBackend();
  const previous = getBackend().name;
  let ref, got;
  try {
    setBackend('js');
    ref = trainSteps(6);
    setBackend('wasm');
    got = trainSteps(6);
  } finally {
    setBackend(previous);
  }
  assert.ok(ref.losses[5] < ref.losses[0], `the loss goes down: ${ref.losses}`);
  for (let i = 0; i < ref.losses.length; i++) {
    assert.ok(Math.abs(got.losses[i] - ref.losses[i]) <= 1e-4 * Math.abs(ref.losses[i]), `step ${i}: wasm ${got.losses[i]} vs js ${ref.losses[i]}`);
  }
  ref.params.forEach((p, i) => assertConforms(got.params[i], p, `parameter ${i}`, 1e-3, 1e-4));
});
