/**
 * The native backend's core: the kernels against the JS reference and sgemm against float64 under
 * each instruction set (child processes, test/helpers/native-check.ts, also exp / sigmoid / tanh on
 * special values and the row and index kernels), bits independent of the thread count, batched and
 * broadcast products, argument errors, the default selection and its fallback to wasm when the addon
 * is missing, and the install script that never fails an install.
 * The addon must be built (`npm run build:native`; the install does it): without it these tests fail.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, mkdirSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsBackend, type Kernels } from '../src/backend/backend.js';
import { createNativeBackend } from '../src/backend/native/index.js';
import { Generator } from '../src/random.js';
import { broadcastShapes, sizeOf, type Shape } from '../src/shape.js';

const native = await createNativeBackend();
const js: Kernels = jsBackend.kernels, nk: Kernels = native.kernels;
const defaultThreads = native.threads;
after(() => native.addon.setThreads(defaultThreads));

const helper = fileURLToPath(new URL('./helpers/native-check.ts', import.meta.url));
const entry = fileURLToPath(new URL('../src/index.ts', import.meta.url));

/** Runs `args` under tsx in a fresh process with `env` added (empty = unset); its last stdout line, parsed. */
function child(args: string[], env: Record<string, string>): Record<string, unknown> {
  const out = execFileSync(process.execPath, ['--import', 'tsx', ...args], {
    env: { ...process.env, PIXELGRAD_BACKEND: '', PIXELGRAD_THREADS: '', PIXELGRAD_NATIVE_ISA: '', PIXELGRAD_NATIVE_ADDON: '', ...env }, encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').pop()!);
}

for (const isa of ['portable', 'avx2', '']) {
  test(`conformance and sgemm against float64 with PIXELGRAD_NATIVE_ISA=${isa || '(unset: the best the CPU has)'}`, () => {
    const r = child([helper], { PIXELGRAD_NATIVE_ISA: isa });
    assert.deepEqual(r.failures, []);
    if (isa === 'portable') assert.equal(r.isa, 'portable');
    if (isa === 'avx2') assert.ok(r.isa === 'avx2' || r.isa === 'portable', `asked for avx2, runs ${r.isa}`);
    if (isa === '') assert.equal(r.isa, native.isa);
  });
}

const floats = (g: Generator, n: number) => Float32Array.from({ length: n }, () => g.normal());

test('batched products with broadcast batch dims match the JS reference', () => {
  const g = new Generator(3);
  const cases: [Shape, Shape][] = [
    [[3, 1, 17, 40], [4, 40, 9]], [[2, 5, 33], [33, 70]], [[1, 64, 100], [6, 1, 100, 31]], [[7, 3, 2], [7, 2, 5]], [[40, 1, 300], [300, 200]],
  ];
  for (const [sa, sb] of cases) {
    const out = [...broadcastShapes('test', sa.slice(0, -2), sb.slice(0, -2)), sa[sa.length - 2], sb[sb.length - 1]];
    const a = floats(g, sizeOf(sa)), b = floats(g, sizeOf(sb));
    const want = new Float32Array(sizeOf(out)), got = new Float32Array(sizeOf(out));
    js.matmul(a, sa, b, sb, want, out);
    nk.matmul(a, sa, b, sb, got, out);
    // N(0,1) products: sums of K terms of size ~1, float32 rounding ~K·u each way.
    const K = sa[sa.length - 1], tol = 4 * K * 2 ** -24 * Math.sqrt(K) * 4;
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= tol, `[${sa}]·[${sb}] at ${i}: ${got[i]} vs ${want[i]}`);
  }
});

test('results do not depend on the thread count: 1 and 2 threads give the same bits', () => {
  const g = new Generator(5);
  const products = [[300, 200, 250], [301, 530, 260], [1024, 64, 96], [14, 700, 33], [2, 2000, 3]].map(([M, K, N]) => ({ M, K, N, a: floats(g, M * K), b: floats(g, K * N) }));
  const ba = floats(g, 16 * 32 * 40), bb = floats(g, 16 * 40 * 24);
  const x = floats(g, 300_000), y = floats(g, 300_000);
  const run = (threads: number): Float32Array[] => {
    native.addon.setThreads(threads);
    assert.equal(native.addon.threads(), threads);
    const outs = products.map(({ M, K, N, a, b }) => {
      const out = new Float32Array(M * N);
      nk.matmul(a, [M, K], b, [K, N], out, [M, N]);
      return out;
    });
    const batched = new Float32Array(16 * 32 * 24), sum = new Float32Array(x.length), t = new Float32Array(x.length), r = new Float32Array(300);
    nk.matmul(ba, [16, 32, 40], bb, [16, 40, 24], batched, [16, 32, 24]);
    nk.binary('add', x, [x.length], y, [y.length], sum, [x.length]);
    nk.unary('tanh', x, t, 0, 0);
    nk.reduce('sum', x, [300, 1000], [1], r);
    return [...outs, batched, sum, t, r];
  };
  const one = run(1), two = run(2);
  for (let i = 0; i < one.length; i++) assert.deepEqual(two[i], one[i], `output ${i}`);
});

test('float64 and int32 data run the JS reference kernels', () => {
  const a64 = Float64Array.from({ length: 100 }, (_, i) => i / 7), b64 = Float64Array.from({ length: 100 }, (_, i) => 1 - i / 9);
  const [want, got] = [new Float64Array(100), new Float64Array(100)];
  js.binary('mul', a64, [10, 10], b64, [10, 10], want, [10, 10]);
  nk.binary('mul', a64, [10, 10], b64, [10, 10], got, [10, 10]);
  assert.deepEqual(got, want);
  const i32 = Int32Array.from({ length: 60 }, (_, i) => i * 3 - 50);
  const [wi, gi] = [new Int32Array(60), new Int32Array(60)];
  js.copyStrided(i32, [1, 6], wi, [6, 10]);
  nk.copyStrided(i32, [1, 6], gi, [6, 10]);
  assert.deepEqual(gi, wi);
});

test('bad arguments to the addon are errors naming the export and the argument', () => {
  const { addon } = native;
  assert.throws(() => addon.sgemm(new Float32Array(5), 3, 1, new Float32Array(9), 3, 1, new Float32Array(9), 3, 3, 3, 3, false),
    /^Error: pixelgrad native sgemm: 'a' \(5 elements\) is too short for a 3×3 operand with strides 3, 1$/);
  assert.throws(() => addon.unary(0, new Float64Array(4) as unknown as Float32Array, new Float32Array(4), 0, 0),
    /pixelgrad native unary: argument 'x' must be a Float32Array/);
  assert.throws(() => addon.unary(99, new Float32Array(4), new Float32Array(4), 0, 0), /pixelgrad native unary: unknown op code 99/);
  assert.throws(() => addon.binary(0, new Float32Array(4), new Float32Array(3), new Float32Array(4), Int32Array.of(4, 1, 1), 1),
    /pixelgrad native binary: argument 'b' is too short for its dims and strides/);
  assert.throws(() => addon.binary(0, new Float32Array(4), new Float32Array(4), new Float32Array(4), Int32Array.of(4, 1), 1),
    /pixelgrad native binary: layout holds 2 numbers, fewer than 3/);
  assert.throws(() => addon.matmul(new Float32Array(6), new Float32Array(6), new Float32Array(3), 2, 2, 3, Float64Array.of(0, 0), 1),
    /pixelgrad native matmul: out has 3 elements, not 1×2×2/);
  assert.throws(() => addon.matmul(new Float32Array(6), new Float32Array(5), new Float32Array(4), 2, 2, 3, Float64Array.of(0, 0), 1),
    /pixelgrad native matmul: 'b' \(5 elements\) is too short for a 3×2 operand with strides 2, 1/);
  assert.throws(() => addon.gather(new Float32Array(6), new Float32Array(2), Int32Array.of(1, 3), 1, 3, Int32Array.of(2, 3), 1),
    /^Error: pixelgrad native gather: index holds 3 at flat position 1, out of range for an axis of 3$/);
  assert.throws(() => addon.scatterAdd(new Float32Array(2), new Float32Array(5), Int32Array.of(1, 2), 1, 3, Int32Array.of(2, 3), 1),
    /^Error: pixelgrad native scatterAdd: argument 'out' is too short for its dims and strides$/);
  assert.throws(() => addon.copyRows(new Float32Array(6), new Float32Array(8), 2, 3, 2, 4),
    /^Error: pixelgrad native copyRows: out \(8 elements\) is too short for 2 rows of 3 from 2 every 4$/);
  assert.throws(() => addon.setThreads(0), /pixelgrad native setThreads: threads must be in \[1, 256\], got 0/);
  assert.throws(() => addon.setThreads(1.5), /pixelgrad native setThreads: argument 'threads' must be an integer/);
});

test('importing the package selects native on every hardware thread; PIXELGRAD_THREADS, PIXELGRAD_NATIVE_ISA and PIXELGRAD_BACKEND=native apply', () => {
  const script = `import(${JSON.stringify(entry)}).then((m) => console.log(JSON.stringify(m.backendInfo())), (e) => console.log(JSON.stringify({ error: e.message })))`;
  const info = (env: Record<string, string>) => child(['-e', script], env);
  assert.deepEqual(info({}), { backend: 'native', threads: availableParallelism(), isa: native.isa, relaxedSimd: false });
  assert.deepEqual(info({ PIXELGRAD_THREADS: '1', PIXELGRAD_NATIVE_ISA: 'portable' }), { backend: 'native', threads: 1, isa: 'portable', relaxedSimd: false });
  assert.deepEqual(info({ PIXELGRAD_BACKEND: 'native' }), { backend: 'native', threads: availableParallelism(), isa: native.isa, relaxedSimd: false });
  assert.match(String(info({ PIXELGRAD_NATIVE_ISA: 'sse9' }).error), /^createNativeBackend: PIXELGRAD_NATIVE_ISA must be one of avx512, avx2, portable, got 'sse9'$/);
  assert.match(String(info({ PIXELGRAD_THREADS: '0' }).error), /^createNativeBackend: threads must be an integer in \[1, 256\], got PIXELGRAD_THREADS=0$/);
});

test('a missing addon falls back to wasm and says why; asked for by name it is an error', () => {
  const script = `import(${JSON.stringify(entry)}).then((m) => console.log(JSON.stringify(m.backendInfo())), (e) => console.log(JSON.stringify({ error: e.message })))`;
  const missing = { PIXELGRAD_NATIVE_ADDON: '/nonexistent/pixelgrad.node' };
  const r = child(['-e', script], missing);
  assert.equal(r.backend, 'wasm');
  assert.equal(r.fallbackReason, 'createNativeBackend: native addon not built: /nonexistent/pixelgrad.node does not exist; run `npm run build:native`');
  const named = child(['-e', script], { ...missing, PIXELGRAD_BACKEND: 'native' });
  assert.match(String(named.error), /^pixelgrad: PIXELGRAD_BACKEND=native, but createNativeBackend: native addon not built: /);
});

test('the install script never fails an install: without a compiler it records why in native/build/status.json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pixelgrad-install-'));
  try {
    const nativeDir = fileURLToPath(new URL('../native/', import.meta.url));
    for (const f of ['install.mjs', 'binding.gyp', 'src']) cpSync(join(nativeDir, f), join(dir, 'native', f), { recursive: true });
    // A PATH with node alone: no compiler, no make.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    const run = (args: string[]) => spawnSync(join(bin, 'node'), [join(dir, 'native', 'install.mjs'), ...args], {
      encoding: 'utf8', env: { PATH: bin, HOME: dir },
    });
    const r = run([]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /the native backend was not built \(no C\+\+ compiler found/);
    const status = JSON.parse(readFileSync(join(dir, 'native', 'build', 'status.json'), 'utf8'));
    assert.equal(status.ok, false);
    assert.match(status.reason, /^no C\+\+ compiler found/);
    assert.equal(run(['--strict']).status, 1, 'npm run build:native fails loudly');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('linear: x·wᵀ + bias then ReLU in one call, the weight read in place, within float32 rounding of the reference', () => {
  const g = new Generator(11);
  for (const [M, K, N, withBias, relu] of [[1, 400, 120, true, true], [64, 256, 10, true, false], [300, 33, 70, false, true], [7, 5, 3, false, false]] as const) {
    const x = floats(g, M * K), w = floats(g, N * K), bias = withBias ? floats(g, N) : null;
    const want = new Float32Array(M * N), got = new Float32Array(M * N);
    js.linear(x, w, bias, want, M, K, N, relu);
    nk.linear(x, w, bias, got, M, K, N, relu);
    const tol = 16 * K * 2 ** -24 * Math.sqrt(K);
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= tol, `linear ${M}×${K}·${N} at ${i}: ${got[i]} vs ${want[i]}`);
    if (relu) assert.ok(got.every((v) => v >= 0));
  }
  assert.throws(() => native.addon.linear(new Float32Array(6), new Float32Array(6), new Float32Array(3), new Float32Array(4), 2, 3, 2, false),
    /^Error: pixelgrad native linear: 'bias' has 3 elements, not N = 2$/);
  assert.throws(() => native.addon.linear(new Float32Array(6), new Float32Array(6), null, new Float32Array(5), 2, 3, 2, false),
    /^Error: pixelgrad native linear: 'out' has 5 elements, not 2×2$/);
});

test('lstmCell and its backward match the reference on a step large enough for the pool, gates computed in place of xw', () => {
  const g = new Generator(13);
  const B = 256, H = 260, G = 4 * H; // 66,560 cells: split across the pool
  const xw = floats(g, B * G), hw = floats(g, B * G), bias = floats(g, G), c = floats(g, B * H);
  // The conformance harness's tolerance: float32 activations within a few ulp of the reference's float64 ones.
  const close = (got: Float32Array, want: Float32Array, what: string) => {
    for (let i = 0; i < want.length; i++) {
      assert.ok(Math.abs(got[i] - want[i]) <= 1e-5 * Math.abs(want[i]) + 1e-6, `${what}[${i}]: ${got[i]} vs ${want[i]}`);
    }
  };
  const [gw, hwant, cwant] = [new Float32Array(B * G), new Float32Array(B * H), new Float32Array(B * H)];
  js.lstmCell(xw, hw, bias, c, B, H, gw, hwant, cwant);
  const gates = xw.slice(), [h, cn] = [new Float32Array(B * H), new Float32Array(B * H)];
  nk.lstmCell(gates, hw, bias, c, B, H, gates, h, cn);
  close(gates, gw, 'gates');
  close(h, hwant, "h'");
  close(cn, cwant, "c'");
  const gH = floats(g, B * H), gC = floats(g, B * H);
  const [dw, dcw, d, dc] = [new Float32Array(B * G), new Float32Array(B * H), new Float32Array(B * G), new Float32Array(B * H)];
  js.lstmCellBackward(gw, c, hwant, gH, gC, B, H, dw, dcw);
  nk.lstmCellBackward(gw, c, hwant, gH, gC, B, H, d, dc);
  close(d, dw, 'dPre');
  close(dc, dcw, 'dc');
  assert.throws(() => native.addon.lstmCell(xw, null, null, null, B, H + 1, gates, h, cn),
    new RegExp(`^Error: pixelgrad native lstmCell: 'xw' has ${B * G} elements, not B·4H = ${B * 4 * (H + 1)}$`));
});

test('lstmSequence and its backward: the reference within float32 rounding at a size split across the pool, the same bits on 1 and 2 threads', () => {
  const g = new Generator(19);
  const L = 3, B = 64, H = 128, G = 4 * H, n = B * H; // 12.6M multiply-adds: row blocks on the pool
  const small = (len: number) => Float32Array.from({ length: len }, () => 0.1 * g.normal());
  const xw = floats(g, L * B * G), wHh = small(G * H), bias = small(G), h0 = small(n), c0 = small(n), gHs = small(L * n), gCs = small(L * n);
  const run = (k: Kernels, reverse: boolean) => {
    const gates = Float32Array.from(xw), hs = new Float32Array(L * n), cs = new Float32Array(L * n);
    k.lstmSequence(gates, wHh, bias, h0, c0, L, B, H, reverse, hs, cs);
    const dPre = new Float32Array(L * B * G), dW = new Float32Array(G * H), dh0 = new Float32Array(n), dc0 = new Float32Array(n);
    k.lstmSequenceBackward(gates, wHh, h0, c0, hs, cs, gHs, gCs, L, B, H, reverse, dPre, dW, dh0, dc0);
    return { gates, hs, cs, dPre, dW, dh0, dc0 };
  };
  for (const reverse of [false, true]) {
    const want = run(js, reverse), got = run(nk, reverse);
    for (const [name, w] of Object.entries(want)) {
      const a = got[name as keyof typeof got];
      for (let i = 0; i < w.length; i++) assert.ok(Math.abs(a[i] - w[i]) <= 1e-5 * Math.abs(w[i]) + 1e-6, `${name}[${i}]${reverse ? ' reverse' : ''}: ${a[i]} vs ${w[i]}`);
    }
    native.addon.setThreads(1);
    const one = run(nk, reverse);
    native.addon.setThreads(2);
    const two = run(nk, reverse);
    native.addon.setThreads(defaultThreads);
    for (const name of Object.keys(one) as (keyof typeof one)[]) assert.deepEqual(two[name], one[name], `${name} on 1 and 2 threads`);
  }
  assert.throws(() => native.addon.lstmSequence(xw, wHh, null, null, null, L, B, H + 1, false, new Float32Array(L * n), new Float32Array(L * n)),
    new RegExp(`^Error: pixelgrad native lstmSequence: 'gates' has ${L * B * G} elements, not L·B·4H = ${L * B * 4 * (H + 1)}$`));
  assert.throws(() => native.addon.lstmSequenceBackward(xw, wHh, null, null, new Float32Array(L * n), new Float32Array(L * n), gHs, gCs, L, B, H, false,
    new Float32Array(L * B * G), new Float32Array(5), null, null), /^Error: pixelgrad native lstmSequenceBackward: 'dWhh' has 5 elements, not 4H·H = 65536$/);
});

test('lstmCell on special values (NaN, ±Infinity, saturation, values near 0 and the polynomial boundaries) agrees with the reference', () => {
  const vals = [NaN, Infinity, -Infinity, 100, -100, 1e-5, -1e-5, 0, -0, 0.6, 0.65, -0.7, 20, -20, 87.5, -87.5,
    89, -89, 3, -3, 1e-30, 50, -50, 10, -10, 0.3, -0.3, 44, -44, 0.001, 2, -2];
  const H = 8, xw = Float32Array.from(vals), c = Float32Array.from(vals.slice(0, H));
  const run = (k: Kernels) => {
    const outs = [new Float32Array(4 * H), new Float32Array(H), new Float32Array(H)];
    k.lstmCell(xw, null, null, c, 1, H, outs[0], outs[1], outs[2]);
    return outs;
  };
  const want = run(js), got = run(nk);
  for (let t = 0; t < 3; t++) {
    for (let i = 0; i < want[t].length; i++) {
      const e = want[t][i], a = got[t][i];
      assert.ok(Object.is(e, a) || Math.abs(e - a) <= 1e-6 + 1e-5 * Math.abs(e), `output ${t}[${i}] for ${vals[i]}: ${a} vs ${e}`);
    }
  }
});

test('lstmCellBackward where the output gate is 0 or 1 and on NaN and infinite values, with and without c and dc, agrees with the reference', () => {
  // Gates in [0, 1] (g in [−1, 1]) with the ends included, h' = o·tanh(c') including 0 and −0 where o = 0, gradients with NaN and ±Infinity.
  const H = 16, G = 4 * H;
  const pick = (xs: number[]) => Float32Array.from({ length: H }, (_, j) => xs[j % xs.length]);
  const i = pick([0, 1, 0.5, 0.25, NaN]), f = pick([1, 0, 0.75, 0.5]), gg = pick([-1, 1, 0, 0.5, -0.3]), o = pick([0, 0, 1, 0.5, 0, 0.9, NaN]);
  const gates = new Float32Array(G);
  gates.set(i, 0); gates.set(f, H); gates.set(gg, 2 * H); gates.set(o, 3 * H);
  const hOut = pick([0, -0, 0.3, 0.2, NaN, -0.5, 0.1]), c = pick([0.5, -2, NaN, 3, 0]);
  const gH = pick([1, -1, 0.5, Infinity, 2, 0]), gC = pick([0.3, NaN, -1, 0, 1]);
  for (const [cc, withDc] of [[c, true], [c, false], [null, true], [null, false]] as const) {
    const run = (k: Kernels) => {
      const d = new Float32Array(G), dc = withDc ? new Float32Array(H) : null;
      k.lstmCellBackward(gates, cc, hOut, gH, gC, 1, H, d, dc);
      return [d, dc ?? new Float32Array(0)];
    };
    const want = run(js), got = run(nk);
    for (let t = 0; t < 2; t++) {
      for (let q = 0; q < want[t].length; q++) {
        const e = want[t][q], a = got[t][q];
        assert.ok(Object.is(e, a) || Math.abs(e - a) <= 1e-6 + 1e-5 * Math.abs(e), `${t ? 'dc' : 'dPre'}[${q}]${cc ? '' : ' no c'}${withDc ? '' : ' no dc'}: ${a} vs ${e}`);
      }
    }
  }
});

test('where: float32 conditions (0 and −0 false, NaN true) and int32 data, broadcast, as the reference', () => {
  const g = new Generator(17);
  const cond = Float32Array.from({ length: 40 }, (_, i) => [0, -0, NaN, 1, -2][i % 5]);
  const a = floats(g, 8 * 40), b = floats(g, 40);
  const [want, got] = [new Float32Array(8 * 40), new Float32Array(8 * 40)];
  js.where(cond, [40], a, [8, 40], b, [40], want, [8, 40]);
  nk.where(cond, [40], a, [8, 40], b, [40], got, [8, 40]);
  assert.deepEqual(got, want);
  const ai = Int32Array.from({ length: 8 * 40 }, (_, i) => i - 100), bi = Int32Array.from({ length: 8 }, (_, i) => -i);
  const ci = Int32Array.from({ length: 8 * 40 }, (_, i) => i % 3);
  const [wi, gi] = [new Int32Array(8 * 40), new Int32Array(8 * 40)];
  js.where(ci, [8, 40], ai, [8, 40], bi, [8, 1], wi, [8, 40]);
  nk.where(ci, [8, 40], ai, [8, 40], bi, [8, 1], gi, [8, 40]);
  assert.deepEqual(gi, wi);
});
