/**
 * logSoftmax as one op with its own kernels, against its composed definition x − logsumexp(x):
 * special values (rows of −∞, +∞, NaN), the gradient from the backward kernel and from the recorded
 * formula (createGraph), integer, 0-d and empty inputs. The PyTorch fixtures (ops.reference, loss)
 * cover ordinary values, the gradcheck table the float64 gradients.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArgumentError, Generator, Tensor, grad, logSoftmax, logsumexp, randn, softmax, sub, tensor } from '../src/index.js';
import { assertClose } from './helpers/assert.js';

const composed = (x: Tensor, dim: number): Tensor => sub(x, logsumexp(x, dim, true));
const L1E = Math.log(1 + Math.E);

test('logSoftmax: rows of −∞, +∞ and NaN give what x − logsumexp(x) gives, along the last dim and a leading one', () => {
  const rows = [
    [-Infinity, -Infinity, -Infinity], // 0/0: NaN
    [1, Infinity, 2], // the shift is 0: finite values −∞, the +∞ NaN
    [1, NaN, 2], // NaN spreads over the row
    [-Infinity, 0, 1], // −∞ among finite values stays −∞
  ];
  const want = [NaN, NaN, NaN, -Infinity, NaN, -Infinity, NaN, NaN, NaN, -Infinity, -L1E, 1 - L1E];
  for (const dtype of ['float32', 'float64'] as const) {
    const x = tensor(rows, { dtype });
    assertClose(logSoftmax(x, 1).data, want, { atol: 1e-6, rtol: 1e-6, what: `${dtype} dim 1` });
    assertClose(logSoftmax(x, 1).data, composed(x, 1).data, { atol: 1e-6, rtol: 1e-6, what: `${dtype} dim 1 vs composed` });
    const xt = x.transpose(0, 1);
    assertClose(logSoftmax(xt, 0).transpose(0, 1).data, want, { atol: 1e-6, rtol: 1e-6, what: `${dtype} dim 0` });
  }
});

test('logSoftmax: the gradient equals the composed definition\'s, special rows included', () => {
  const g = new Generator(7);
  const w = randn([4, 3], { generator: g });
  const x = tensor([[-Infinity, -Infinity, -Infinity], [1, Infinity, 2], [1, NaN, 2], [-Infinity, 0, 1]]);
  const [got] = grad(logSoftmax(x.setRequiresGrad(true), 1).mul(w).sum(), [x]);
  const [want] = grad(composed(x, 1).mul(w).sum(), [x]);
  assertClose(got!.data, want!.data, { atol: 1e-6, rtol: 1e-5, what: 'gradient' });
  const y = randn([3, 5, 4, 2], { generator: g, requiresGrad: true }), v = randn([3, 5, 4, 2], { generator: g });
  for (const dim of [0, 1, 2, 3]) {
    const [a] = grad(logSoftmax(y, dim).mul(v).sum(), [y]);
    const [b] = grad(composed(y, dim).mul(v).sum(), [y]);
    assertClose(a!.data, b!.data, { atol: 1e-6, rtol: 1e-5, what: `gradient along dim ${dim}` });
  }
});

test('logSoftmax: a recorded backward pass (createGraph) gives the kernel\'s gradient and a differentiable one', () => {
  const g = new Generator(3);
  const x = randn([2, 6, 3], { generator: g, requiresGrad: true }), w = randn([2, 6, 3], { generator: g });
  const [plain] = grad(logSoftmax(x, 1).mul(w).sum(), [x]);
  const [recorded] = grad(logSoftmax(x, 1).mul(w).sum(), [x], { createGraph: true });
  assert.equal(recorded!.requiresGrad, true);
  assertClose(recorded!.data, plain!.data, { atol: 1e-6, rtol: 1e-5, what: 'first derivative' });
  // Second derivative along a direction, against the composed definition's.
  const [h] = grad(recorded!.mul(w).sum(), [x]);
  const [c] = grad(composed(x, 1).mul(w).sum(), [x], { createGraph: true });
  const [hc] = grad(c!.mul(w).sum(), [x]);
  assertClose(h!.data, hc!.data, { atol: 1e-5, rtol: 1e-4, what: 'second derivative' });
});

test('logSoftmax and softmax: integer input becomes float32; 0-d and empty inputs; a bad dim names the op', () => {
  const i = tensor(Int32Array.from([1, 2, 3]));
  const out = logSoftmax(i, 0);
  assert.equal(out.dtype, 'float32');
  assertClose(out.data, composed(i.to('float32'), 0).data, { atol: 1e-6, rtol: 1e-6 });
  assertClose(softmax(i, -1).data, [0.09003057, 0.24472847, 0.66524096], { atol: 1e-7, rtol: 1e-6 });
  const scalar = logSoftmax(tensor(5), 0);
  assert.deepEqual(scalar.shape, []);
  assert.equal(scalar.data[0], 0);
  const empty = logSoftmax(randn([3, 0]), 1);
  assert.deepEqual(empty.shape, [3, 0]);
  assert.deepEqual(logSoftmax(randn([0, 4]), 1).shape, [0, 4]);
  assert.throws(() => logSoftmax(randn([2, 3]), 2), (e: Error) => e instanceof ArgumentError && /^logSoftmax: dim 2 is out of range/.test(e.message));
});
