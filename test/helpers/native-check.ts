/**
 * The native backend's core kernels, run in a child process by test/native.test.ts once per
 * instruction set (fixed per process by PIXELGRAD_NATIVE_ISA): the conformance harness against the
 * JS reference, and the addon's sgemm against a float64 reference on odd sizes, block edges,
 * transposed strides, accumulation, empty and size-1 products. Prints one JSON line: the instruction
 * set the addon runs on and the failures (empty when all agree).
 */
import { checkConformance } from '../../src/backend/conformance.js';
import { createNativeBackend } from '../../src/backend/native/index.js';
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
 * AVX-512 14×32, 6×64 for short ones, 28×16 for narrow ones) and the KC = 512 block, some big enough
 * to run on the pool.
 */
const GEMM_SIZES: [number, number, number][] = [
  [0, 5, 3], [4, 0, 3], [3, 4, 0], [1, 1, 1], [1, 37, 19], [29, 1, 7], [5, 7, 1],
  [13, 15, 17], [14, 32, 33], [15, 33, 31], [6, 16, 512], [7, 17, 513], [45, 70, 600], [150, 97, 130],
  [6, 130, 40], [5, 64, 513], [3, 200, 10], [100, 16, 77], [57, 9, 520], [40, 8, 30], [1000, 16, 120], [6, 3000, 100],
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
console.log(JSON.stringify({ isa: native.isa, failures }));
