/**
 * The whole op table through float64 central finite differences. Every op exported from
 * src/ops must either have a case here or be listed as non-differentiable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ops from '../src/ops/index.js';
import { Generator, Tensor, grad, gradcheck, nn, randn, rand, tensor, type GradcheckOptions } from '../src/index.js';

const gen = new Generator(1234);
/** A float64 input that requires grad; `away` keeps values at least 0.1 from the kinks listed. */
function x(shape: number[], { positive = false, away = [] as number[] } = {}): Tensor {
  const t = positive ? rand(shape, { dtype: 'float64', generator: gen }).add(0.5) : randn(shape, { dtype: 'float64', generator: gen });
  for (let i = 0; i < t.size; i++) for (const k of away) if (Math.abs(t.data[i] - k) < 0.1) t.data[i] = k + (t.data[i] < k ? -0.2 : 0.2);
  return t.setRequiresGrad(true);
}
const idx = (values: number[], shape = [values.length]) => tensor(Int32Array.from(values), { shape });

type Case = [name: string, fn: (...a: Tensor[]) => Tensor | Tensor[], inputs: () => Tensor[], options?: GradcheckOptions];

/** name → cases; the names must cover every differentiable exported op. */
const CASES: Record<string, Case[]> = {
  add: [['broadcast', ops.add, () => [x([2, 3]), x([3])]], ['scalar', (a) => ops.add(a, 2), () => [x([2])]]],
  sub: [['broadcast', ops.sub, () => [x([3, 1]), x([1, 4])]], ['scalar first', (a) => ops.sub(1, a), () => [x([3])]]],
  mul: [['broadcast', ops.mul, () => [x([2, 3, 1]), x([3, 4])]], ['same input twice', (a) => ops.mul(a, a), () => [x([4])]]],
  div: [['broadcast', ops.div, () => [x([2, 3]), x([3], { positive: true })]]],
  pow: [['tensor exponent', ops.pow, () => [x([2, 3], { positive: true }), x([3])]], ['number exponent', (a) => ops.pow(a, 3), () => [x([4])]]],
  maximum: [['broadcast', ops.maximum, () => [x([2, 3]), x([3])]]],
  minimum: [['broadcast', ops.minimum, () => [x([2, 3]), x([3])]]],
  neg: [['', ops.neg, () => [x([3])]]],
  exp: [['', ops.exp, () => [x([3])]]],
  log: [['', ops.log, () => [x([3], { positive: true })]]],
  sqrt: [['', ops.sqrt, () => [x([3], { positive: true })]]],
  abs: [['', ops.abs, () => [x([5], { away: [0] })]]],
  erf: [['', ops.erf, () => [x([5])]]],
  square: [['', ops.square, () => [x([3])]]],
  relu: [['', ops.relu, () => [x([6], { away: [0] })]]],
  leakyRelu: [['', (a) => ops.leakyRelu(a, 0.1), () => [x([6], { away: [0] })]]],
  elu: [['', (a) => ops.elu(a, 1.5), () => [x([6], { away: [0] })]]],
  gelu: [['exact', (a) => ops.gelu(a), () => [x([6])]], ['tanh', (a) => ops.gelu(a, { approximate: 'tanh' }), () => [x([6])]]],
  sigmoid: [['', ops.sigmoid, () => [x([4])]]],
  tanh: [['', ops.tanh, () => [x([4])]]],
  softplus: [['beta and threshold', (a) => ops.softplus(a, { beta: 2, threshold: 1 }), () => [x([8], { away: [0.5] })]]],
  clamp: [['', (a) => ops.clamp(a, -0.5, 0.5), () => [x([8], { away: [-0.5, 0.5] })]]],
  where: [['broadcast', (a, b) => ops.where(idx([1, 0, 1], [3]), a, b), () => [x([2, 3]), x([2, 1])]]],
  sum: [['dims keepDim', (a) => ops.sum(a, [0, 2], true), () => [x([2, 3, 2])]], ['all', (a) => ops.sum(a), () => [x([2, 3])]]],
  mean: [['dim', (a) => ops.mean(a, -1), () => [x([2, 3])]]],
  max: [['dim', (a) => ops.max(a, 1), () => [x([3, 4])]]],
  min: [['all', (a) => ops.min(a), () => [x([3, 4])]]],
  variance: [['dim', (a) => ops.variance(a, 1), () => [x([3, 4])]]],
  std: [['all', (a) => ops.std(a, null, { correction: 0 }), () => [x([3, 4])]]],
  logsumexp: [['', (a) => ops.logsumexp(a, 1), () => [x([3, 4])]]],
  softmax: [['', (a) => ops.softmax(a, 0), () => [x([3, 4])]], ['middle dim of 4-D', (a) => ops.softmax(a, 2), () => [x([2, 3, 4, 2])]]],
  logSoftmax: [
    ['', (a) => ops.logSoftmax(a, -1), () => [x([3, 4])]],
    ['middle dim of 4-D', (a) => ops.logSoftmax(a, 1), () => [x([2, 3, 2, 3])]],
    ['second derivative', (a) => grad(ops.logSoftmax(a, 1).square().sum(), [a], { createGraph: true })[0]!, () => [x([2, 3, 4])]],
  ],
  matmul: [
    ['batched broadcast', ops.matmul, () => [x([2, 1, 3, 4]), x([3, 4, 2])]],
    ['vector-vector', ops.matmul, () => [x([4]), x([4])]],
    ['matrix-vector', ops.matmul, () => [x([3, 4]), x([4])]],
  ],
  matmulWithTranspose: [['weight and its transpose', (a, w) => ops.matmulWithTranspose(a, ops.transpose(w, 0, 1), w), () => [x([2, 3, 4]), x([5, 4])]]],
  reshape: [['', (a) => ops.reshape(a, [3, -1]), () => [x([2, 3])]]],
  flatten: [['', (a) => ops.flatten(a, 1), () => [x([2, 3, 2])]]],
  squeeze: [['', (a) => ops.squeeze(a), () => [x([1, 3, 1])]]],
  unsqueeze: [['', (a) => ops.unsqueeze(a, 1), () => [x([3])]]],
  permute: [['', (a) => ops.permute(a, [2, 0, 1]), () => [x([2, 3, 4])]]],
  transpose: [['', (a) => ops.transpose(a, 0, -1), () => [x([2, 3, 4])]]],
  t: [['', ops.t, () => [x([2, 3])]]],
  expand: [['', (a) => ops.expand(a, [2, 3, 4]), () => [x([3, 1])]]],
  concat: [['', (a, b) => ops.concat([a, b, a], 1), () => [x([2, 1]), x([2, 3])]]],
  stack: [['', (a, b) => ops.stack([a, b], 1), () => [x([2, 3]), x([2, 3])]]],
  split: [['', (a) => ops.split(a, 2, 1), () => [x([2, 5])]]],
  narrow: [['', (a) => ops.narrow(a, 0, 1, 2), () => [x([4, 2])]]],
  slice: [['step', (a) => ops.slice(a, 1, -5, null, 2), () => [x([2, 6])]]],
  indexSelect: [['repeated index', (a) => ops.indexSelect(a, 1, idx([2, 0, 2])), () => [x([2, 3])]]],
  gather: [['repeated index', (a) => ops.gather(a, 1, idx([0, 2, 1, 1], [2, 2])), () => [x([2, 3])]]],
  scatterAdd: [['both inputs', (a, b) => ops.scatterAdd(a, 1, idx([0, 2, 1, 1], [2, 2]), b), () => [x([2, 3]), x([2, 2])]]],
  pad: [
    ['constant', (a) => ops.pad(a, [1, 2, 0, 1], 'constant', 3), () => [x([2, 3])]],
    ['reflect', (a) => ops.pad(a, [2, 1], 'reflect'), () => [x([2, 4])]],
    ['replicate', (a) => ops.pad(a, [2, 2], 'replicate'), () => [x([2, 3])]],
    ['circular', (a) => ops.pad(a, [1, 2], 'circular'), () => [x([2, 3])]],
  ],
  clone: [['', ops.clone, () => [x([3])]]],
  // float32 rounding (~1e-7) needs a larger step; cast is linear, so the difference stays exact.
  cast: [['float64 → float32 → float64', (a) => ops.cast(ops.cast(a, 'float32'), 'float64'), () => [x([3])], { eps: 1e-2 }]],
  sumTo: [['', (a) => ops.sumTo(a, [3, 1]), () => [x([2, 3, 4])]]],
  conv2d: [
    ['stride, padding, bias', (a, w, b) => ops.conv2d(a, w, b, { stride: 2, padding: 1 }), () => [x([2, 3, 5, 6]), x([4, 3, 3, 2]), x([4])]],
    ['dilation, groups', (a, w) => ops.conv2d(a, w, null, { dilation: [2, 1], groups: 2, padding: [1, 0] }), () => [x([1, 4, 6, 5]), x([6, 2, 2, 3])]],
    ['same, even kernel', (a, w) => ops.conv2d(a, w, null, { padding: 'same' }), () => [x([1, 2, 4, 5]), x([3, 2, 2, 4])]],
    // Second order: the input-gradient and weight-gradient ops differentiated again.
    ['double backward', (a, w) => grad(ops.conv2d(a, w, null, { stride: 2, padding: 1 }).square().sum(), [a, w], { createGraph: true }) as Tensor[], () => [x([1, 2, 5, 5]), x([3, 2, 3, 3])]],
  ],
  convTranspose2d: [
    ['stride, outputPadding, bias', (a, w, b) => ops.convTranspose2d(a, w, b, { stride: 2, padding: 1, outputPadding: 1 }), () => [x([2, 3, 3, 4]), x([3, 2, 3, 3]), x([2])]],
    ['groups, dilation', (a, w) => ops.convTranspose2d(a, w, null, { groups: 2, dilation: 2 }), () => [x([1, 4, 3, 3]), x([4, 3, 2, 2])]],
  ],
  conv1d: [['', (a, w, b) => ops.conv1d(a, w, b, { stride: 2, padding: 1 }), () => [x([2, 3, 7]), x([2, 3, 3]), x([2])]]],
  conv2dFused: [
    ['bias, ReLU in place, 2×2 pooling', (a, w, b) => ops.conv2dFused(a, w, b, { padding: 1, relu: true, maxPool: { kernelSize: 2 } }), () => [x([2, 2, 4, 6]), x([3, 2, 3, 3]), x([3])]],
    ['ReLU in place, double backward', (a, w) => grad(ops.conv2dFused(a, w, null, { padding: 1, relu: true }).square().sum(), [a, w], { createGraph: true }) as Tensor[], () => [x([1, 2, 4, 4]), x([2, 2, 3, 3])]],
  ],
  maxPool2d: [
    ['overlapping, padded', (a) => ops.maxPool2d(a, 3, { stride: 2, padding: 1 }), () => [x([2, 2, 5, 6])]],
    ['ceil mode, dilation', (a) => ops.maxPool2d(a, 2, { ceilMode: true, dilation: [1, 2] }), () => [x([1, 2, 5, 7])]],
    ['double backward', (a) => grad(ops.maxPool2d(a, 2).square().sum(), [a], { createGraph: true }) as Tensor[], () => [x([1, 1, 4, 4])]],
  ],
  maxPool2dWithIndices: [['', (a) => ops.maxPool2dWithIndices(a, 2)[0], () => [x([1, 2, 4, 4])]]],
  avgPool2d: [
    ['padded, count pad', (a) => ops.avgPool2d(a, 3, { stride: 2, padding: 1 }), () => [x([2, 2, 5, 6])]],
    ['ceil mode, exclude pad', (a) => ops.avgPool2d(a, [2, 3], { padding: 1, ceilMode: true, countIncludePad: false }), () => [x([1, 2, 5, 7])]],
    ['divisor, double backward', (a) => grad(ops.avgPool2d(a, 2, { divisorOverride: 3 }).square().sum(), [a], { createGraph: true }) as Tensor[], () => [x([1, 1, 4, 4])]],
  ],
  adaptiveAvgPool2d: [['uneven', (a) => ops.adaptiveAvgPool2d(a, [3, 2]), () => [x([2, 2, 5, 7])]]],
  interpolate: [
    ['bilinear', (a) => ops.interpolate(a, { size: [5, 7], mode: 'bilinear' }), () => [x([1, 2, 3, 4])]],
    ['bilinear aligned', (a) => ops.interpolate(a, { scaleFactor: 2, mode: 'bilinear', alignCorners: true }), () => [x([1, 1, 3, 3])]],
    ['nearest', (a) => ops.interpolate(a, { scaleFactor: [2, 1.5] }), () => [x([1, 2, 3, 4])]],
  ],
};

/** Ops whose results have no gradient (comparisons, arg-reductions, sign). */
const NON_DIFFERENTIABLE = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'argmax', 'argmin', 'sign'];

test('every exported op has a gradient check or is listed as non-differentiable', () => {
  const exported = Object.keys(ops).filter((k) => typeof (ops as Record<string, unknown>)[k] === 'function');
  const missing = exported.filter((k) => !(k in CASES) && !NON_DIFFERENTIABLE.includes(k));
  assert.deepEqual(missing, [], `ops without a gradient check: ${missing.join(', ')}`);
});

for (const [op, cases] of Object.entries(CASES)) {
  for (const [name, fn, inputs, options] of cases) {
    test(`gradcheck ${op}${name ? ` (${name})` : ''}`, () => {
      const r = gradcheck(fn, inputs(), options);
      assert.ok(r.ok, `${op}: analytic ${r.failure?.analytic} vs numeric ${r.failure?.numeric} at input ${r.failure?.input}[${r.failure?.index}]`);
    });
  }
}

test('gradcheck nn.functional.linear, the recorded kernel (dx = g·W, dW = gᵀ·x, db = Σ g), and through a second derivative', () => {
  const { linear, linearFused } = nn.functional;
  const cases: [string, (...a: Tensor[]) => Tensor, () => Tensor[]][] = [
    ['batched, bias', (a, w, b) => linear(a, w, b), () => [x([2, 3, 4]), x([5, 4]), x([5])]],
    ['no bias', (a, w) => linear(a, w), () => [x([3, 4]), x([2, 4])]],
    ['one sample', (a, w, b) => linear(a, w, b), () => [x([4]), x([3, 4]), x([3])]],
    ['with relu', (a, w, b) => linearFused(a, w, b, { relu: true }), () => [x([3, 4]), x([5, 4]), x([5], { away: [0] })]],
    ['second derivative', (a, w) => grad(linear(a, w).square().sum(), [a], { createGraph: true })[0]!, () => [x([2, 3]), x([4, 3])]],
  ];
  for (const [name, fn, inputs] of cases) {
    const r = gradcheck(fn, inputs());
    assert.ok(r.ok, `linear (${name}): analytic ${r.failure?.analytic} vs numeric ${r.failure?.numeric} at input ${r.failure?.input}[${r.failure?.index}]`);
  }
});

test('gradcheck notices a wrong gradient rule', () => {
  // y = x² with a VJP that forgets the factor 2: stop gradient through one factor.
  const wrong = (a: Tensor) => a.mul(a.detach());
  assert.equal(gradcheck(wrong, [x([3])]).ok, false);
});

test('gradcheck refuses float32 inputs', () => {
  assert.throws(() => gradcheck((a) => a.exp(), [randn([2], { requiresGrad: true })]), /float64/);
});
