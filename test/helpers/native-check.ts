/**
 * The native backend's core kernels, run in a child process by test/native.test.ts once per
 * instruction set (fixed per process by PIXELGRAD_NATIVE_ISA): the conformance harness against the
 * JS reference, the addon's sgemm against a float64 reference on odd sizes, block edges,
 * transposed strides, accumulation, empty and size-1 products, the vectorised exp / sigmoid / tanh on
 * special values, and the row, take and index kernels at sizes the pool splits. Prints one JSON line: the instruction
 * set the addon runs on and the failures (empty when all agree).
 */
import { checkConformance } from '../../src/backend/conformance.js';
import { createNativeBackend } from '../../src/backend/native/index.js';
import { jsBackend } from '../../src/backend/backend.js';
import type { TypedArray } from '../../src/dtype.js';
import { Generator } from '../../src/random.js';

const U = 2 ** -24; // float32 unit roundoff

type Sgemm = Awaited<ReturnType<typeof createNativeBackend>>['addon']['sgemm'];

/**
 * C (+)= A·B by sgemm, A M×K stored row-major or transposed (column-major), B likewise, C with a
 * leading dimension past N (its padding must stay untouched); checked against float64 within the
 * float32 accumulation bound (K + 2)·2u·Σ|a·b|. Returns a failure message or null.
 */
function checkSgemm(sgemm: Sgemm, g: Generator, M: number, N: number, K: number, aT: boolean, bT: boolean, accumulate: boolean): string | null {
  const what = `sgemm M=${M} N=${N} K=${K}${aT ? ' Aᵀ' : ''}${bT ? ' Bᵀ' : ''}${accumulate ? ' accumulate' : ''}`;
  const a = Float32Array.from({ length: M * K }, () => g.normal()), b = Float32Array.from({ length: K * N }, () => g.normal());
  const ldc = N + 3;
  const c = Float32Array.from({ length: M * ldc }, () => g.normal());
  const before = c.slice();
  const A = (i: number, k: number) => (aT ? a[k * M + i] : a[i * K + k]);
  const B = (k: number, j: number) => (bT ? b[j * K + k] : b[k * N + j]);
  sgemm(a, aT ? 1 : K, aT ? M : 1, b, bT ? 1 : N, bT ? K : 1, c, ldc, M, N, K, accumulate);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < ldc; j++) {
      const got = c[i * ldc + j];
      if (j >= N) {
        if (!Object.is(got, before[i * ldc + j])) return `${what}: wrote C[${i}, ${j}] past N`;
        continue;
      }
      let exact = accumulate ? before[i * ldc + j] : 0, mag = Math.abs(exact);
      for (let k = 0; k < K; k++) { exact += A(i, k) * B(k, j); mag += Math.abs(A(i, k) * B(k, j)); }
      const bound = (K + 2) * 2 * U * mag + 1e-30;
      if (!(Math.abs(got - exact) <= bound)) return `${what}: C[${i}, ${j}] = ${got}, exact ${exact}, bound ${bound}`;
    }
  }
  return null;
}

/**
 * Sizes around every register tile (portable 4×16; AVX2 6×16 and, for narrow products, 12×8;
 * AVX-512 6×64, 14×32 and 28×16 for narrower ones) and the KC = 512 block, some big enough to run on
 * the pool: 100×300×530 runs on 2 threads as column groups that pack their own panels (the last
 * partial) over two K slices, A read in place or packed per ISA, 600×260×40 as row blocks of 75 rows
 * over one shared packed B; 77×150×520 (3 panels) splits 13 row tiles into 8 row blocks (7 rounded
 * up to a multiple of 2 threads), some of one tile; 100×96×530
 * and 100×48×530 pack A's 14- and 28-row strips (8×8 transposes, the last overlapping, a short last
 * strip, a K tail) for their three panels.
 */
const GEMM_SIZES: [number, number, number][] = [
  [0, 5, 3], [4, 0, 3], [3, 4, 0], [1, 1, 1], [1, 37, 19], [29, 1, 7], [5, 7, 1],
  [13, 15, 17], [14, 32, 33], [15, 33, 31], [6, 16, 512], [7, 17, 513], [45, 70, 600], [150, 97, 130],
  [6, 130, 40], [5, 64, 513], [3, 200, 10], [100, 16, 77], [57, 9, 520], [40, 8, 30], [1000, 16, 120], [6, 3000, 100], [100, 300, 530], [600, 260, 40], [77, 150, 520], [100, 96, 530], [100, 48, 530],
];

const native = await createNativeBackend();
const failures: string[] = [];
// Sums of products accumulate in float32 here, in float64 in the reference: Σ|a·b| reaches ~2000 in
// the harness's products, so they may be 1e-3 off (as in backend.test.ts).
const PRODUCTS: ReadonlySet<string> = new Set(['matmul', 'conv2dFused', 'linear']);
for (const seed of [0, 1, 2]) {
  for (const m of checkConformance(native, { seed, trials: 6 }).filter((x) => !PRODUCTS.has(x.kernel))) failures.push(JSON.stringify(m));
  for (const m of checkConformance(native, { seed, trials: 6, atol: 2e-3 }).filter((x) => PRODUCTS.has(x.kernel))) failures.push(JSON.stringify(m));
}
const g = new Generator(7);
for (const [M, N, K] of GEMM_SIZES) {
  for (const [aT, bT, accumulate] of [[false, false, false], [true, false, true], [false, true, false], [true, true, true]]) {
    const f = checkSgemm(native.addon.sgemm, g, M, N, K, aT, bT, accumulate);
    if (f) failures.push(f);
  }
}

/** The first element where `got` is off the reference by more than 1e-6 + rtol·|want| (NaN must match NaN, signs of 0 their sign), as a failure. */
function compare(what: string, want: TypedArray, got: TypedArray, rtol = 1e-5): void {
  for (let i = 0; i < want.length; i++) {
    const e = want[i], a = got[i];
    if (Object.is(e, a) || Math.abs(e - a) <= 1e-6 + rtol * Math.abs(e)) continue;
    failures.push(`${what}: [${i}] = ${a}, reference ${e}`);
    return;
  }
}

// Special values for the polynomial exp, log, sigmoid and tanh: NaN, ±∞, ±0, overflow, results in float's
// subnormal range (e^−100), the 0.625 switch of tanh, the clamps at −104 and 89; 67 of them, so that
// the vector loops' tails run too. Relative error at most a few ulp (2e-6), except below the normal
// range where the reference's rounding of a subnormal is all the precision there is.
const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1e-30, -1e-30, 1e-5, -1e-5, 0.3, -0.3, 0.6249, 0.625, -0.6251, 1, -1,
  2, -2, 10, -10, 20, -20, 44, -44, 80, -80, 87.3, -87.3, 88.7, 88.8, -88.8, 89, -89, 95, -95, 100, -100, 103.9, -103.9, 104,
  -104, 150, -150, 1e10, -1e10, 0.5, -0.5, 3.3, -3.3, 7.77, -7.77, 15.5, -15.5, 0.01, -0.01, 60, -60, 0.125, -0.125, 5, -5,
  30, -30, 0.9, -0.9, 1.5, -1.5];
// log: 0, −0, negatives, subnormals, values around 1 and √½, the largest floats.
const LOGS = [0, -0, -1, -1e-30, NaN, Infinity, -Infinity, 1e-45, 1e-40, 1.1754942e-38, 1.17549435e-38, 1e-30, 1e-10, 0.1, 0.5,
  0.7071067, 0.7071068, 0.9, 0.9999, 0.99999994, 1, 1.0000001, 1.0001, 1.5, 2, Math.E, 10, 1234.5, 1e10, 1e30, 3.4e38, 3.4028235e38,
  ...SPECIAL.map(Math.abs)];
for (const [op, values] of [['exp', SPECIAL], ['log', LOGS], ['sigmoid', SPECIAL], ['tanh', SPECIAL]] as const) {
  const sx = Float32Array.from(values);
  const want = new Float32Array(sx.length), got = new Float32Array(sx.length);
  jsBackend.kernels.unary(op, sx, want, 0, 0);
  native.kernels.unary(op, sx, got, 0, 0);
  for (let i = 0; i < sx.length; i++) {
    const e = want[i], a = got[i];
    const ok = Object.is(e, a) || Math.abs(e - a) <= 2e-6 * Math.abs(e) || (Math.abs(e) < 2 ** -126 && Math.abs(e - a) <= 2 ** -140);
    if (!ok) { failures.push(`unary ${op}(${sx[i]}) = ${a}, reference ${e}`); break; }
  }
}

// Sums over long runs (partial sums in lanes) and the row / index kernels on arrays the pool splits.
{
  const h = new Generator(11);
  const floats = (n: number) => Float32Array.from({ length: n }, () => h.normal() * 10);
  const x = floats(8 * 16 * 4099);
  const [ws, gs] = [new Float32Array(16), new Float32Array(16)];
  jsBackend.kernels.reduce('sum', x, [8, 16, 4099], [0, 2], ws);
  native.kernels.reduce('sum', x, [8, 16, 4099], [0, 2], gs);
  compare('reduce sum [8,16,4099] axes 0,2', ws, gs, 1e-6);

  const shapes = [[3, 16, 70, 65], [3, 32, 70, 65], [3, 1, 70, 65]];
  const parts = shapes.map((s) => floats(s.reduce((p, d) => p * d, 1)));
  const outShape = [3, 49, 70, 65], n = 3 * 49 * 70 * 65;
  const [wc, gc] = [new Float32Array(n), new Float32Array(n)];
  jsBackend.kernels.concat(parts, shapes, 1, wc, outShape);
  native.kernels.concat(parts, shapes, 1, gc, outShape);
  compare('concat [3,16|32|1,70,65] axis 1', wc, gc, 0);
  const ints = shapes.map((s) => Int32Array.from({ length: s.reduce((p, d) => p * d, 1) }, (_, i) => i - 5000));
  const [wi, gi] = [new Int32Array(n), new Int32Array(n)];
  jsBackend.kernels.concat(ints, shapes, 1, wi, outShape);
  native.kernels.concat(ints, shapes, 1, gi, outShape);
  compare('concat int32 axis 1', wi, gi, 0);

  // take as narrow (concat's gradient), as a strided slice on two axes, reversed, with a fill: views copied or the reference.
  const run = (from: number, n: number, step = 1) => Int32Array.from({ length: n }, (_, j) => from + j * step);
  const tx = floats(8 * 48 * 20 * 20), ts = [8, 48, 20, 20];
  const takes: [string, (Int32Array | null)[]][] = [
    ['narrow 16..47 on axis 1', [null, run(16, 32), null, null]],
    ['every other row and column from 1', [null, null, run(1, 10, 2), run(1, 9, 2)]],
    ['axis 1 reversed', [null, run(47, 48, -1), null, null]],
    ['a fill on axis 3', [null, null, null, Int32Array.from({ length: 20 }, (_, j) => (j === 3 ? -1 : j))]],
  ];
  for (const [what, maps] of takes) {
    const os = ts.map((d, i) => maps[i]?.length ?? d), m = os.reduce((p, d) => p * d, 1);
    const [wt, gt] = [new Float32Array(m), new Float32Array(m)];
    jsBackend.kernels.take(tx, ts, maps, 0.5, wt, os);
    native.kernels.take(tx, ts, maps, 0.5, gt, os);
    compare(`take ${what}`, wt, gt, 0);
  }
  const ti = Int32Array.from({ length: 6 * 40 }, (_, i) => i * 7 - 900), [wt, gt] = [new Int32Array(6 * 30), new Int32Array(6 * 30)];
  jsBackend.kernels.take(ti, [6, 40], [null, run(5, 30)], 0, wt, [6, 30]);
  native.kernels.take(ti, [6, 40], [null, run(5, 30)], 0, gt, [6, 30]);
  compare('take int32 narrow', wt, gt, 0);

  // A cross-entropy's pick (index [8,1,64,64] over 3 classes on axis 1) and an index narrower than x off the axis.
  for (const [s, is, axis] of [[[8, 3, 64, 64], [8, 1, 64, 64], 1], [[6, 9, 40], [5, 30, 40], 1], [[300, 7], [300, 4], 1], [[50, 700], [90, 700], 0]] as const) {
    const xs = floats(s.reduce((p, d) => p * d, 1)), m = is.reduce((p: number, d: number) => p * d, 1);
    const index = Int32Array.from({ length: m }, () => h.integer(0, s[axis]));
    const [wg, gg] = [new Float32Array(m), new Float32Array(m)];
    jsBackend.kernels.gather(xs, s, axis, index, is, wg);
    native.kernels.gather(xs, s, axis, index, is, gg);
    compare(`gather [${s}] index [${is}] axis ${axis}`, wg, gg, 0);
    const src = floats(m);
    const [wa, ga] = [new Float32Array(xs.length), new Float32Array(xs.length)];
    jsBackend.kernels.scatterAdd(src, index, is, axis, wa, s);
    native.kernels.scatterAdd(src, index, is, axis, ga, s);
    compare(`scatterAdd [${is}] → [${s}] axis ${axis}`, wa, ga, 0);
  }
}
console.log(JSON.stringify({ isa: native.isa, failures }));
