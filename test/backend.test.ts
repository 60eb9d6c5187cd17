/** The backend boundary: registry, conformance harness, and the blocked GEMM against a naive product. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getBackend, listBackends, registerBackend, setBackend, tensor, type Backend } from '../src/index.js';
import { checkConformance } from '../src/backend/conformance.js';
import { jsBackend } from '../src/backend/backend.js';
import { gemm } from '../src/backend/js/matmul.js';
import { Generator } from '../src/random.js';
import { assertClose } from './helpers/assert.js';

test('every registered backend conforms to the JS reference', () => {
  const previous = getBackend().name;
  try {
    for (const name of listBackends()) {
      const backend = (setBackend(name), getBackend());
      // Products (matmul, the fused convolution and dense layer) at float32-accumulation tolerance: the
      // reference accumulates in float64, a float32 backend (wasm) in float32, and Σ|a·b| reaches
      // ~2000 here (wasm.test.ts checks the exact bound).
      const products = new Set(['matmul', 'conv2dFused', 'linear']);
      const found = [...checkConformance(backend).filter((m) => !products.has(m.kernel)),
        ...checkConformance(backend, { atol: 2e-3 }).filter((m) => products.has(m.kernel))];
      assert.deepEqual(found, [], `backend ${name}`);
    }
  } finally {
    setBackend(previous);
  }
});

test('the conformance harness catches a kernel that is off', () => {
  const broken: Backend = {
    name: 'broken-for-test',
    kernels: {
      ...jsBackend.kernels,
      // Wrong on rows past the first: the kind of indexing bug a SIMD kernel might have.
      matmul: (a, as, b, bs, out, os) => { jsBackend.kernels.matmul(a, as, b, bs, out, os); if (out.length > 8) out[out.length - 1] += 1; },
    },
  };
  const found = checkConformance(broken);
  assert.ok(found.length > 0 && found.every((m) => m.kernel === 'matmul'), JSON.stringify(found.slice(0, 2)));
});

test('the conformance harness wants the optimiser updates bit for bit', () => {
  // Each update run on a float32 copy of the gradient rounded a second time: off by about an ulp, within any tolerance.
  const f32Twice = (g: Float32Array) => g.map((v) => Math.fround(v * (1 + 2 ** -23)));
  const js = jsBackend.kernels;
  const offByUlp: Backend = {
    name: 'ulp-for-test',
    kernels: {
      ...js,
      sgdStep: (x, g, buf, o) => js.sgdStep(x, f32Twice(g as Float32Array), buf, o),
      adamStep: (x, g, m, v, vMax, o) => js.adamStep(x, f32Twice(g as Float32Array), m, v, vMax, o),
    },
  };
  const found = new Set(checkConformance(offByUlp, { rtol: 1e-3, atol: 1e-3 }).map((m) => m.kernel));
  assert.deepEqual([...found].sort(), ['adamStep', 'sgdStep']);
});

test('setBackend switches the backend and rejects unknown names', () => {
  const recorder: Backend = { name: 'recorder', kernels: { ...jsBackend.kernels, unary: (...args) => { calls.push(args[0]); jsBackend.kernels.unary(...args); } } };
  const calls: string[] = [];
  const previous = getBackend().name;
  registerBackend(recorder);
  setBackend('recorder');
  try {
    tensor([1, 2]).exp();
  } finally {
    setBackend(previous);
  }
  assert.deepEqual(calls, ['exp']);
  tensor([1, 2]).exp();
  assert.deepEqual(calls, ['exp'], `back on ${previous}, the recorder is not called`);
  // js first; others (wasm, when it is the default) may sit between js and recorder.
  assert.throws(() => setBackend('nope'), /setBackend: unknown backend 'nope' \(registered: js(, \w+)*, recorder\)/);
});

function naive(a: Float64Array, b: Float64Array, M: number, K: number, N: number): Float64Array {
  const c = new Float64Array(M * N);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += a[i * K + k] * b[k * N + j];
    c[i * N + j] = s;
  }
  return c;
}

test('the blocked GEMM equals the textbook triple loop, edges and block boundaries included', () => {
  const g = new Generator(7);
  // Sizes straddle the 4×4 micro-tile and the 64/256 cache blocks.
  for (const [M, K, N] of [[1, 1, 1], [3, 5, 7], [4, 4, 4], [65, 257, 9], [17, 300, 258], [130, 3, 70]]) {
    const a = Float64Array.from({ length: M * K }, () => g.normal());
    const b = Float64Array.from({ length: K * N }, () => g.normal());
    const c = new Float64Array(M * N + 3).fill(99);
    gemm(a, 0, b, 0, c, 3, M, K, N);
    assertClose(c.subarray(3), naive(a, b, M, K, N), { atol: 1e-9, rtol: 1e-12, what: `gemm ${M}x${K}x${N}` });
    assert.deepEqual([...c.subarray(0, 3)], [99, 99, 99], 'writes stay inside C');
  }
});

test("the reference tanh (from expm1) is within 3 ulp of Math.tanh and exact at its edges", () => {
  const tanh = (x: number): number => {
    const out = new Float64Array(1);
    jsBackend.kernels.unary('tanh', Float64Array.of(x), out, 0, 0);
    return out[0];
  };
  const g = new Generator(3);
  for (let i = 0; i < 20000; i++) {
    const x = g.normal() * 10 ** (g.random() * 6 - 4);
    const want = Math.tanh(x);
    assert.ok(Math.abs(tanh(x) - want) <= 3 * Number.EPSILON * Math.abs(want), `tanh(${x}) = ${tanh(x)}, Math.tanh gives ${want}`);
  }
  assert.ok(Object.is(tanh(-0), -0) && Object.is(tanh(0), 0));
  assert.equal(tanh(Infinity), 1);
  assert.equal(tanh(-Infinity), -1);
  assert.equal(tanh(21), 1);
  assert.equal(tanh(-800), -1);
  assert.ok(Number.isNaN(tanh(NaN)));
});
