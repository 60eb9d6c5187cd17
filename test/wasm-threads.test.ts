/**
 * The wasm backend on several threads: split GEMMs and convolutions give the single-threaded
 * results (bit for bit where each output element is computed by one thread; within float32
 * rounding where the weight gradient adds per-task partial sums), for even and uneven splits; and
 * the default backend chosen at import.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { ConvGeometry, Kernels } from '../src/backend/backend.js';
import { createWasmBackend, relaxedSimdSupported } from '../src/backend/wasm/index.js';
import { MIN_PARALLEL_MACS, splitRange } from '../src/backend/wasm/kernels.js';
import { sharedMemorySupported } from '../src/backend/wasm/threads.js';
import { ArgumentError, NotSupportedError } from '../src/errors.js';
import { Generator } from '../src/random.js';
import { assertClose } from './helpers/assert.js';
import { runSequence } from './helpers/lstm.js';

const single = (await createWasmBackend({ threads: 1 })).kernels;
const pools: [number, Kernels][] = [];
for (const threads of [2, 3]) {
  const backend = await createWasmBackend({ threads });
  assert.equal(backend.threads, threads, 'this engine shares memory, so the pool must start');
  pools.push([threads, backend.kernels]);
}

const randomF32 = (g: Generator, n: number): Float32Array => Float32Array.from({ length: n }, () => g.normal());

// V8 shipped relaxed SIMD in 11.4: Node 22 and later have it by default (Node 24 no longer knows
// the flag); Node 20 (V8 11.3) only behind --experimental-wasm-relaxed-simd. CI runs both engines.
const [v8Major, v8Minor] = process.versions.v8.split('.').map(Number);
const relaxedByDefault = v8Major > 11 || (v8Major === 11 && v8Minor >= 4);
const relaxedSimdFlags = relaxedByDefault ? [] : ['--experimental-wasm-relaxed-simd'];

test('shared memory is available on this engine (the threaded module is the one tested)', () => {
  assert.equal(sharedMemorySupported(), true);
});

test('splitRange cuts a range into near-equal pieces on unit boundaries', () => {
  assert.deepEqual(splitRange(10, 2, 1), [[0, 5], [5, 10]]);
  assert.deepEqual(splitRange(10, 3, 4), [[0, 4], [4, 8], [8, 10]]);
  assert.deepEqual(splitRange(3, 4, 1), [[0, 1], [1, 2], [2, 3]]);
  assert.deepEqual(splitRange(2, 3, 8), [[0, 2]]);
  assert.deepEqual(splitRange(0, 3, 1), [[0, 0]]);
  assert.deepEqual(splitRange(1000, 3, 8), [[0, 336], [336, 664], [664, 1000]]);
});

test('threaded GEMM equals the single-threaded one bit for bit: row splits, column splits, batches', () => {
  const g = new Generator(31);
  // [M, K, N]: tall (rows), wide (columns), narrow N (A read in place), odd edges, and batched products.
  const cases: [number[], number[], number[]][] = [
    [[301, 397], [397, 45], [301, 45]],
    [[13, 800], [800, 517], [13, 517]],
    [[2101, 150], [150, 16], [2101, 16]],
    [[177, 177], [177, 177], [177, 177]],
    [[48, 70, 33], [48, 33, 50], [48, 70, 50]],
    [[4, 1, 100, 50], [3, 50, 100], [4, 3, 100, 100]],
  ];
  for (const [aShape, bShape, outShape] of cases) {
    const a = randomF32(g, aShape.reduce((p, d) => p * d, 1)), b = randomF32(g, bShape.reduce((p, d) => p * d, 1));
    const want = new Float32Array(outShape.reduce((p, d) => p * d, 1));
    assert.ok(want.length * aShape[aShape.length - 1] >= MIN_PARALLEL_MACS, 'the case is large enough to be split');
    single.matmul(a, aShape, b, bShape, want, outShape);
    for (const [threads, k] of pools) {
      const got = new Float32Array(want.length);
      k.matmul(a, aShape, b, bShape, got, outShape);
      assert.deepEqual(got, want, `${threads} threads, ${JSON.stringify(aShape)}·${JSON.stringify(bShape)}`);
    }
  }
});

function geometry(N: number, C: number, H: number, W: number, O: number, k: number, stride: number, pad: number, groups: number): ConvGeometry {
  const out = (n: number) => Math.floor((n + 2 * pad - k) / stride) + 1;
  return { batch: N, inChannels: C, inH: H, inW: W, outChannels: O, kH: k, kW: k, strideH: stride, strideW: stride,
    padH: pad, padW: pad, dilationH: 1, dilationW: 1, groups, outH: out(H), outW: out(W) };
}

test('threaded convolutions split by images: forward and input gradient bit for bit, weight gradient within float32 rounding', () => {
  const g = new Generator(32);
  const cases: [string, ConvGeometry][] = [
    ['LeNet conv1, batch 64', geometry(64, 1, 28, 28, 6, 5, 1, 2, 1)],
    ['LeNet conv2, batch 23 (uneven)', geometry(23, 6, 14, 14, 16, 5, 1, 0, 1)],
    ['3x3 stride 2, groups 2, batch 165', geometry(165, 8, 17, 15, 12, 3, 2, 1, 2)],
    ['1x1 pointwise, batch 26', geometry(26, 32, 16, 16, 24, 1, 1, 0, 1)],
    // Stride past the kernel: input pixels no window reads, written as 0 by every task.
    ['2x2 stride 3, groups 2, batch 96', geometry(96, 16, 23, 23, 32, 2, 3, 0, 2)],
  ];
  for (const [name, c] of cases) {
    const macs = c.batch * c.outChannels * c.outH * c.outW * (c.inChannels / c.groups) * c.kH * c.kW;
    assert.ok(macs >= MIN_PARALLEL_MACS, `${name} is large enough to be split`);
    const x = randomF32(g, c.batch * c.inChannels * c.inH * c.inW);
    const w = randomF32(g, c.outChannels * (c.inChannels / c.groups) * c.kH * c.kW);
    const gy = randomF32(g, c.batch * c.outChannels * c.outH * c.outW), b = randomF32(g, c.outChannels);
    const run = (k: Kernels) => {
      // The gradients' outputs arrive uninitialised (NaN here, so an element left unwritten shows).
      const y = new Float32Array(gy.length), gx = new Float32Array(x.length).fill(NaN), gw = new Float32Array(w.length).fill(NaN);
      k.conv2d(x, w, b, y, c);
      k.conv2dBackwardInput(gy, w, gx, c);
      k.conv2dBackwardWeight(x, gy, gw, c);
      return { y, gx, gw };
    };
    const want = run(single);
    assert.ok(!want.gx.some(Number.isNaN) && !want.gw.some(Number.isNaN), `${name}: every gradient element written`);
    for (const [threads, k] of pools) {
      const got = run(k);
      assert.deepEqual(got.y, want.y, `${name}, ${threads} threads: conv2d`);
      assert.deepEqual(got.gx, want.gx, `${name}, ${threads} threads: conv2dBackwardInput`);
      // Partial sums over images add in another order: a few float32 roundings of the largest terms.
      const scale = Math.max(...want.gw.map(Math.abs));
      assertClose(got.gw, want.gw, { atol: 1e-5 * scale, rtol: 0, what: `${name}, ${threads} threads: conv2dBackwardWeight` });
    }
  }
});

test('threaded LSTM sequences split by batch rows (uneven blocks), and dW_hh\'s product split by rows, equal the single-threaded ones bit for bit', () => {
  const [L, B, H] = [12, 70, 40];
  assert.ok(L * B * 4 * H * H >= MIN_PARALLEL_MACS, 'large enough to be split');
  for (const reverse of [false, true]) {
    for (const mask of [63, 0]) {
      const want = runSequence(single, 80, L, B, H, reverse, mask);
      for (const [threads, k] of pools) assert.deepEqual(runSequence(k, 80, L, B, H, reverse, mask), want, `${threads} threads${reverse ? ', reverse' : ''}, mask ${mask}`);
    }
  }
});

test(`relaxed SIMD is detected as this engine has it (V8 ${process.versions.v8}: ${relaxedByDefault ? 'by default' : 'only behind a flag'})`, () => {
  assert.equal(relaxedSimdSupported(), relaxedByDefault);
});

test('asking for relaxed SIMD gives the fused-multiply-add build where the engine has it (relaxedSimd: false the plain one), a NotSupportedError where it lacks it', async () => {
  const ask = createWasmBackend({ threads: 1, relaxedSimd: true });
  if (!relaxedByDefault) {
    await assert.rejects(ask, (err: unknown) => err instanceof NotSupportedError && /relaxed SIMD/.test((err as Error).message));
    return;
  }
  const relaxed = await ask, plain = await createWasmBackend({ threads: 1, relaxedSimd: false });
  assert.deepEqual([relaxed.relaxedSimd, plain.relaxedSimd], [true, false]);
  const g = new Generator(33);
  const a = randomF32(g, 200 * 300), b = randomF32(g, 300 * 150);
  const [fused, unfused] = [relaxed, plain].map((backend) => {
    const out = new Float32Array(200 * 150);
    backend.kernels.matmul(a, [200, 300], b, [300, 150], out, [200, 150]);
    return out;
  });
  // K = 300 terms of N(0,1)·N(0,1): the two roundings of a multiply-add differ by ~1e-5, a wrong kernel by O(1).
  assertClose(fused, unfused, { atol: 1e-3, rtol: 0, what: 'relaxed against plain build' });
});

test('an invalid thread count is an ArgumentError naming the option', async () => {
  for (const threads of [0, 1.5, -2, 1000]) {
    await assert.rejects(createWasmBackend({ threads }), (err: unknown) => err instanceof ArgumentError && /threads/.test((err as Error).message));
  }
});

/**
 * In a fresh process importing the package entry with PIXELGRAD_BACKEND=wasm, `env` added (empty =
 * unset) and extra node flags: backendInfo(), and the largest difference from the js backend of a
 * 200×300·300×150 matmul. (Without PIXELGRAD_BACKEND the native backend is taken: native.test.ts.)
 */
function infoAtImport(env: Record<string, string>, flags: string[] = []): { backend?: string; threads?: number; relaxedSimd?: boolean; error?: string; maxError?: number } {
  const entry = fileURLToPath(new URL('../src/index.ts', import.meta.url));
  const script = `import(${JSON.stringify(entry)}).then((m) => {
    const a = m.randn([200, 300]), b = m.randn([300, 150]), got = m.matmul(a, b).data;
    const info = m.backendInfo(); m.setBackend('js'); const want = m.matmul(a, b).data;
    console.log(JSON.stringify({ ...info, maxError: Math.max(...got.map((v, i) => Math.abs(v - want[i]))) }));
  }, (e) => console.log(JSON.stringify({ error: e.message })))`;
  const out = execFileSync(process.execPath, [...flags, '--import', 'tsx', '-e', script], { env: { ...process.env, PIXELGRAD_BACKEND: 'wasm', PIXELGRAD_THREADS: '', ...env }, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!);
}

test('PIXELGRAD_BACKEND=wasm selects wasm on every hardware thread; PIXELGRAD_BACKEND=js and PIXELGRAD_THREADS override it; bad values are errors', () => {
  const info = (env: Record<string, string>) => { const { maxError: _, ...rest } = infoAtImport(env); return rest; };
  const isa = relaxedByDefault ? 'wasm-relaxed-simd' : 'wasm-simd128';
  assert.deepEqual(info({}), { backend: 'wasm', threads: availableParallelism(), isa, relaxedSimd: relaxedByDefault });
  assert.deepEqual(info({ PIXELGRAD_THREADS: '1' }), { backend: 'wasm', threads: 1, isa, relaxedSimd: relaxedByDefault });
  assert.deepEqual(info({ PIXELGRAD_BACKEND: 'js' }), { backend: 'js', threads: 1, isa: 'none', relaxedSimd: false });
  assert.match(infoAtImport({ PIXELGRAD_BACKEND: 'cuda' }).error ?? '', /PIXELGRAD_BACKEND must be 'native', 'wasm' or 'js', got 'cuda'/);
  assert.match(infoAtImport({ PIXELGRAD_THREADS: 'many' }).error ?? '', /threads must be an integer/);
});

test('an engine with relaxed SIMD gets the fused-multiply-add builds, on one thread and on several, with float32-accurate results', () => {
  for (const threads of ['1', '2']) {
    const r = infoAtImport({ PIXELGRAD_THREADS: threads }, relaxedSimdFlags);
    assert.equal(r.relaxedSimd, true, `${threads} thread(s)`);
    assert.equal(r.threads, Number(threads));
    // K = 300 terms of N(0,1)·N(0,1): float32 rounding leaves errors of ~1e-5; a wrong kernel, O(1).
    assert.ok(r.maxError! < 1e-3, `${threads} thread(s): max error ${r.maxError}`);
  }
});
