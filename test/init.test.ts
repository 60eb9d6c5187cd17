/**
 * nn.init: the moments and bounds of every initialiser on large tensors against its formula,
 * orthogonality, torch's gains and fans, determinism with a seeded generator, and the errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArgumentError, DTypeError, Generator, ShapeError, Tensor, manualSeed, randn, zeros } from '../src/index.js';
import {
  calculateFanInAndFanOut, calculateGain, constant, kaimingNormal, kaimingUniform, normal, ones, orthogonal,
  truncNormal, uniform, xavierNormal, xavierUniform, zeros as initZeros,
} from '../src/nn/init.js';
import { assertClose } from './helpers/assert.js';

function stats(t: Tensor): { mean: number; variance: number; min: number; max: number } {
  let s = 0, s2 = 0, min = Infinity, max = -Infinity;
  for (const v of t.data) { s += v; min = Math.min(min, v); max = Math.max(max, v); }
  const mean = s / t.size;
  for (const v of t.data) s2 += (v - mean) ** 2;
  return { mean, variance: s2 / (t.size - 1), min, max };
}

/** Mean within 5 standard errors of `mean`, variance within `relTol` of `variance`. */
function assertMoments(t: Tensor, mean: number, variance: number, relTol: number): void {
  const st = stats(t);
  const se = Math.sqrt(variance / t.size);
  assert.ok(Math.abs(st.mean - mean) < 5 * se, `mean ${st.mean} vs ${mean} (standard error ${se})`);
  assert.ok(Math.abs(st.variance / variance - 1) < relTol, `variance ${st.variance} vs ${variance}`);
}

/** All values in [-bound, bound], and the extremes close to it (a uniform fills its range). */
function assertBounds(t: Tensor, lo: number, hi: number): void {
  const st = stats(t);
  assert.ok(st.min >= lo && st.max <= hi, `range [${st.min}, ${st.max}] outside [${lo}, ${hi}]`);
  const w = hi - lo;
  assert.ok(st.min < lo + 0.001 * w && st.max > hi - 0.001 * w, `range [${st.min}, ${st.max}] does not fill [${lo}, ${hi}]`);
}

const gen = (seed = 1) => ({ generator: new Generator(seed) });
const big = () => zeros([500, 400]);
const conv = () => zeros([64, 32, 3, 3]);

test('calculateGain equals torch.nn.init.calculate_gain (torch 1.13)', () => {
  assert.equal(calculateGain('linear'), 1);
  assert.equal(calculateGain('conv2d'), 1);
  assert.equal(calculateGain('conv_transpose3d'), 1);
  assert.equal(calculateGain('convTranspose1d'), 1);
  assert.equal(calculateGain('sigmoid'), 1);
  assert.equal(calculateGain('tanh'), 1.6666666666666667);
  assert.equal(calculateGain('relu'), 1.4142135623730951);
  assert.equal(calculateGain('leaky_relu'), 1.4141428569978354);
  assert.equal(calculateGain('leaky_relu', 0.2), 1.3867504905630728);
  assert.equal(calculateGain('leakyRelu', 0), 1.4142135623730951);
  assert.equal(calculateGain('selu'), 0.75);
});

test('fans as torch: receptive field for conv weights', () => {
  assert.deepEqual(calculateFanInAndFanOut(zeros([5, 3])), { fanIn: 3, fanOut: 5 });
  assert.deepEqual(calculateFanInAndFanOut(conv()), { fanIn: 288, fanOut: 576 });
  assert.deepEqual(calculateFanInAndFanOut(zeros([4, 3, 2])), { fanIn: 6, fanOut: 8 });
  assert.deepEqual(calculateFanInAndFanOut(zeros([2, 3, 4, 5, 6])), { fanIn: 360, fanOut: 240 });
});

test('uniform and normal: bounds and moments', () => {
  const u = uniform(big(), -3, 5, gen());
  assertBounds(u, -3, 5);
  assertMoments(u, 1, 64 / 12, 0.02);
  const n = normal(big(), 2, 0.5, gen());
  assertMoments(n, 2, 0.25, 0.02);
  assertBounds(uniform(big(), 0, 1, gen()), 0, 1); // the defaults are a = 0, b = 1
  assertMoments(normal(big(), undefined, undefined, gen()), 0, 1, 0.02);
});

test('constant, zeros, ones', () => {
  const t = randn([3, 4]);
  assert.equal(constant(t, 0.25), t);
  assert.ok(Array.from(t.data).every((v) => v === 0.25));
  assert.ok(Array.from(initZeros(t).data).every((v) => v === 0));
  assert.ok(Array.from(ones(t).data).every((v) => v === 1));
});

test('xavierUniform: var = gain²·2/(fanIn + fanOut), bound = √3·std', () => {
  const gain = 2;
  const variance = (gain * gain * 2) / (400 + 500);
  const t = xavierUniform(big(), { gain, ...gen() });
  assertBounds(t, -Math.sqrt(3 * variance), Math.sqrt(3 * variance));
  assertMoments(t, 0, variance, 0.02);
  const c = xavierUniform(conv(), gen(2));
  const v = 2 / (288 + 576);
  assertBounds(c, -Math.sqrt(3 * v), Math.sqrt(3 * v));
  assertMoments(c, 0, v, 0.04);
});

test('xavierNormal: var = gain²·2/(fanIn + fanOut)', () => {
  assertMoments(xavierNormal(big(), { gain: calculateGain('tanh'), ...gen() }), 0, (25 / 9) * 2 / 900, 0.02);
  assertMoments(xavierNormal(conv(), gen(3)), 0, 2 / (288 + 576), 0.05);
});

test('kaimingUniform: var = 2/((1 + a²)·fan), bound = √(3·var)', () => {
  const a = 0.1;
  const v = 2 / ((1 + a * a) * 288);
  const t = kaimingUniform(conv(), { a, ...gen() }); // mode fanIn, leaky_relu by default
  assertBounds(t, -Math.sqrt(3 * v), Math.sqrt(3 * v));
  assertMoments(t, 0, v, 0.04);
  const vOut = 2 / 500; // relu, fanOut of a 500×400 weight
  const l = kaimingUniform(big(), { mode: 'fanOut', nonlinearity: 'relu', ...gen() });
  assertBounds(l, -Math.sqrt(3 * vOut), Math.sqrt(3 * vOut));
  assertMoments(l, 0, vOut, 0.02);
  // torch's default (a = 0, leaky_relu) is He's √2 gain
  assertMoments(kaimingUniform(big(), gen(4)), 0, 2 / 400, 0.02);
});

test('kaimingNormal: var = gain²/fan', () => {
  assertMoments(kaimingNormal(conv(), { mode: 'fanOut', nonlinearity: 'relu', ...gen() }), 0, 2 / 576, 0.05);
  assertMoments(kaimingNormal(big(), { a: 0.5, ...gen() }), 0, 2 / (1.25 * 400), 0.02);
  assertMoments(kaimingNormal(big(), { nonlinearity: 'tanh', mode: 'fan_in', ...gen() }), 0, (25 / 9) / 400, 0.02);
});

test('truncNormal: support and the moments of the truncated normal', () => {
  const t = truncNormal(big(), 0, 1, -2, 2, gen());
  assertBounds(t, -2, 2);
  assertMoments(t, 0, 0.7737413035499232, 0.02);
  // [1, 2] of N(0.5, 0.5²) is (−1, 3) standardised: mean 0.5 + 0.5·0.28279, var 0.25·0.61614
  const s = truncNormal(zeros([200, 200]), 0.5, 0.5, 0, 2, gen(2));
  assertBounds(s, 0, 2);
  assertMoments(s, 0.5 + 0.5 * 0.28278611072715404, 0.25 * 0.6161417353578292, 0.03);
  // a far tail (inverse-CDF path), and its mirror image
  const tail = truncNormal(zeros([200, 200]), 0, 1, 3, 4, gen(3));
  assert.ok(stats(tail).min >= 3 && stats(tail).max <= 4);
  assertMoments(tail, 3.2604542855899994, 0.04927779377747221, 0.03);
  assertMoments(truncNormal(zeros([200, 200]), 0, 1, -4, -3, gen(4)), -3.2604542855899994, 0.04927779377747221, 0.03);
});

/** a (r × k) times bᵀ (k × c rows of b), in float64. */
function gram(t: Tensor, rows: number, cols: number, byRows: boolean): number[] {
  const n = byRows ? rows : cols;
  const out: number[] = [];
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    if (byRows) for (let k = 0; k < cols; k++) s += t.data[i * cols + k] * t.data[j * cols + k];
    else for (let k = 0; k < rows; k++) s += t.data[k * cols + i] * t.data[k * cols + j];
    out.push(s);
  }
  return out;
}
const identity = (n: number, scale = 1) => Array.from({ length: n * n }, (_, k) => (Math.floor(k / n) === k % n ? scale : 0));

test('orthogonal: QᵀQ = I for tall, QQᵀ = I for wide and conv weights, scaled by gain²', () => {
  assertClose(gram(orthogonal(zeros([64, 32]), gen()), 64, 32, false), identity(32), { atol: 1e-5 });
  assertClose(gram(orthogonal(zeros([32, 64]), gen()), 32, 64, true), identity(32), { atol: 1e-5 });
  assertClose(gram(orthogonal(zeros([40, 40]), gen()), 40, 40, false), identity(40), { atol: 1e-5 });
  assertClose(gram(orthogonal(zeros([8, 2, 3, 3]), gen()), 8, 18, true), identity(8), { atol: 1e-5 });
  assertClose(gram(orthogonal(zeros([20, 10], { dtype: 'float64' }), { gain: 2, ...gen() }), 20, 10, false), identity(10, 4), { atol: 1e-12 });
});

test('orthogonal is the QR factor with a positive diagonal of R, as torch (sign-corrected)', () => {
  // Re-draw the same standard normals: Qᵀ·A (tall) or Q·Aᵀ (wide) must be R, upper triangular with R_ii > 0.
  for (const [rows, cols] of [[7, 4], [4, 7]]) {
    const q = orthogonal(zeros([rows, cols], { dtype: 'float64' }), gen(5));
    const g = new Generator(5);
    const A = Float64Array.from({ length: rows * cols }, () => g.normal());
    const tall = rows >= cols, n = Math.min(rows, cols), k = Math.max(rows, cols);
    // Q as k × n columns q_j, A as k × n columns a_j (transposed for wide tensors)
    const Q = (i: number, j: number) => (tall ? q.data[i * cols + j] : q.data[j * cols + i]);
    const Acol = (i: number, j: number) => (tall ? A[i * cols + j] : A[j * cols + i]);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      let r = 0;
      for (let m = 0; m < k; m++) r += Q(m, i) * Acol(m, j);
      if (i > j) assert.ok(Math.abs(r) < 1e-12, `R[${i}][${j}] = ${r} below the diagonal`);
      if (i === j) assert.ok(r > 0, `R[${i}][${i}] = ${r} must be positive`);
    }
  }
});

test('a seeded generator gives the same values; the default generator follows manualSeed', () => {
  const inits: ((t: Tensor, g: Generator) => Tensor)[] = [
    (t, g) => uniform(t, -1, 1, { generator: g }),
    (t, g) => normal(t, 0, 1, { generator: g }),
    (t, g) => xavierUniform(t, { generator: g }),
    (t, g) => xavierNormal(t, { generator: g }),
    (t, g) => kaimingUniform(t, { generator: g }),
    (t, g) => kaimingNormal(t, { generator: g }),
    (t, g) => orthogonal(t, { generator: g }),
    (t, g) => truncNormal(t, 0, 1, -2, 2, { generator: g }),
  ];
  for (const init of inits) {
    const a = init(zeros([6, 5]), new Generator(42)), b = init(zeros([6, 5]), new Generator(42));
    const c = init(zeros([6, 5]), new Generator(43));
    assert.deepEqual(a.data, b.data);
    assert.notDeepEqual(a.data, c.data);
  }
  manualSeed(7);
  const a = kaimingUniform(zeros([4, 3]));
  manualSeed(7);
  assert.deepEqual(kaimingUniform(zeros([4, 3])).data, a.data);
});

test('initialisers write in place without recording the graph', () => {
  const w = randn([5, 4], { requiresGrad: true });
  const data = w.data;
  for (const r of [xavierUniform(w), kaimingNormal(w), orthogonal(w), uniform(w, -1, 1), constant(w, 3)]) {
    assert.equal(r, w);
    assert.equal(w.data, data);
    assert.ok(w.isLeaf && w.requiresGrad && w.grad === null);
  }
  const d = zeros([3, 4], { dtype: 'float64' });
  xavierNormal(d, gen());
  assert.equal(d.dtype, 'float64');
  assert.ok(stats(d).variance > 0);
});

test('zero-element tensors are left alone (kaiming, orthogonal), as torch', () => {
  const e = zeros([0, 3]);
  assert.equal(kaimingUniform(e), e);
  assert.equal(kaimingNormal(zeros([0])).size, 0);
  assert.equal(orthogonal(e).size, 0);
});

test('errors: fewer than 2 dims, int tensors, bad arguments', () => {
  const throwsLike = (fn: () => unknown, type: Function, message: RegExp) => assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof type, `expected ${type.name}, got ${String(e)}`);
    assert.match((e as Error).message, message);
    return true;
  });
  const v = zeros([5]);
  const fan = /fan in and fan out can not be computed for a tensor with fewer than 2 dims, got shape \[5\]$/;
  throwsLike(() => xavierUniform(v), ShapeError, new RegExp('^xavierUniform: ' + fan.source));
  throwsLike(() => xavierNormal(v), ShapeError, new RegExp('^xavierNormal: ' + fan.source));
  throwsLike(() => kaimingUniform(v), ShapeError, new RegExp('^kaimingUniform: ' + fan.source));
  throwsLike(() => kaimingNormal(v), ShapeError, new RegExp('^kaimingNormal: ' + fan.source));
  throwsLike(() => calculateFanInAndFanOut(zeros([])), ShapeError, /^calculateFanInAndFanOut: fan in and fan out/);
  throwsLike(() => orthogonal(v), ShapeError, /^orthogonal: only tensors with 2 or more dims are supported, got shape \[5\]$/);
  throwsLike(() => calculateGain('softmax' as never), ArgumentError, /^calculateGain: unsupported nonlinearity 'softmax'$/);
  throwsLike(() => calculateGain('leaky_relu', Number.NaN), ArgumentError, /^calculateGain: negative slope NaN is not a valid number$/);
  throwsLike(() => uniform(zeros([2, 2], { dtype: 'int32' })), DTypeError, /^uniform: tensor must be floating point, got int32 with shape \[2,2\]$/);
  throwsLike(() => kaimingNormal(zeros([2, 2], { dtype: 'int32' })), DTypeError, /^normal: tensor must be floating point/);
  throwsLike(() => uniform(zeros([2]), 1, 0), ArgumentError, /^uniform: expects a ≤ b, got a=1, b=0$/);
  throwsLike(() => normal(zeros([2]), 0, -1), ArgumentError, /^normal: std must be ≥ 0, got -1$/);
  throwsLike(() => kaimingUniform(zeros([2, 2]), { mode: 'fanMid' as never }), ArgumentError, /^kaimingUniform: mode must be 'fanIn' or 'fanOut', got 'fanMid'$/);
  throwsLike(() => truncNormal(zeros([2]), 0, 1, 2, -2), ArgumentError, /^truncNormal: expects std > 0 and a < b/);
  throwsLike(() => truncNormal(zeros([2]), 0, 1, 50, 60), ArgumentError, /^truncNormal: \[50, 60\] holds no measurable mass/);
});
