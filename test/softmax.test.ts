/**
 * logSoftmax as one op with its own kernels, against its composed definition x − logsumexp(x) on
 * the js backend in float64: special values (columns of −∞, +∞, NaN) on the js and wasm backends and
 * the one chosen at import (native where built), the gradient from the backward kernel and from the
 * recorded formula (createGraph), integer, 0-d and empty inputs. The PyTorch fixtures
 * (ops.reference, loss) cover ordinary values, the gradcheck table the float64 gradients.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ArgumentError, Generator, Tensor, getBackend, grad, logSoftmax, logsumexp, randn, registerBackend, setBackend, softmax, sub, tensor,
} from '../src/index.js';
import { createWasmBackend } from '../src/backend/wasm/index.js';
import { assertClose } from './helpers/assert.js';

const initial = getBackend().name;
after(() => setBackend(initial));
registerBackend({ ...(await createWasmBackend({ threads: 1 })), name: 'softmax-wasm' });
const BACKENDS = [...new Set(['js', 'softmax-wasm', initial])];

/** f() on `backend`, then the backend of the test restored. */
function on<T>(backend: string, f: () => T): T {
  const current = getBackend().name;
  setBackend(backend);
  try { return f(); } finally { setBackend(current); }
}
/** The composed definition, on the js backend in float64. */
const composed = (x: Tensor, dim: number): Tensor => on('js', () => {
  const x64 = x.to('float64');
  return sub(x64, logsumexp(x64, dim, true));
});

/**
 * [4, 40] values, wide enough for the wasm kernels (short arrays run the JS ones), with special
 * values in its rows: all −∞; one +∞; one NaN; one −∞ among finite values.
 */
function specialRows(): Tensor {
  const x = randn([4, 40], { generator: new Generator(5) });
  x.data.fill(-Infinity, 0, 40);
  x.data[40 + 7] = Infinity;
  x.data[80 + 11] = NaN;
  x.data[120 + 3] = -Infinity;
  return x;
}

test('logSoftmax: columns of −∞, +∞ and NaN give what PyTorch gives, along the last dim and a leading one, on every backend', () => {
  // torch.log_softmax (1.13): a row of −∞, a row holding +∞ and a row holding NaN are NaN throughout;
  // a −∞ among finite values is −∞. The other rows are x − logsumexp(x).
  const x = specialRows(), want = composed(x, 1);
  want.data.fill(NaN, 0, 120);
  assert.equal(want.data[123], -Infinity);
  for (const backend of BACKENDS) {
    on(backend, () => {
      assertClose(logSoftmax(x, 1).data, want.data, { atol: 2e-6, rtol: 1e-6, what: `${backend} dim 1` });
      assertClose(logSoftmax(x.to('float64'), 1).data, want.data, { atol: 1e-12, rtol: 1e-12, what: `${backend} float64 dim 1` });
      assertClose(logSoftmax(x.transpose(0, 1), 0).transpose(0, 1).data, want.data, { atol: 2e-6, rtol: 1e-6, what: `${backend} dim 0` });
    });
  }
});

test('logSoftmax: the gradient equals the composed definition\'s on every backend, and is NaN on the NaN rows', () => {
  const g = new Generator(7);
  const x = specialRows(), w = randn([4, 40], { generator: g });
  const x64 = x.to('float64').setRequiresGrad(true);
  const [want] = on('js', () => grad(sub(x64, logsumexp(x64, 1, true)).mul(w.to('float64')).sum(), [x64]));
  const y = randn([3, 5, 4, 2], { generator: g }), v = randn([3, 5, 4, 2], { generator: g });
  const y64 = y.to('float64').setRequiresGrad(true);
  for (const backend of BACKENDS) {
    on(backend, () => {
      const xr = x.clone().setRequiresGrad(true);
      const [gx] = grad(logSoftmax(xr, 1).mul(w).sum(), [xr]);
      // The rows whose output is NaN have a NaN gradient (g − exp(out)·Σ g), as in PyTorch.
      assert.ok(gx!.data.subarray(0, 120).every(Number.isNaN), `${backend} gradient of the NaN rows`);
      assertClose(gx!.data.subarray(120), want!.data.subarray(120), { atol: 2e-6, rtol: 1e-5, what: `${backend} gradient` });
      for (const dim of [0, 1, 2, 3]) {
        const yr = y.clone().setRequiresGrad(true);
        const [a] = grad(logSoftmax(yr, dim).mul(v).sum(), [yr]);
        const [b] = on('js', () => grad(sub(y64, logsumexp(y64, dim, true)).mul(v.to('float64')).sum(), [y64]));
        assertClose(a!.data, b!.data, { atol: 2e-6, rtol: 1e-5, what: `${backend} gradient along dim ${dim}` });
      }
    });
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
  const [c] = grad(sub(x, logsumexp(x, 1, true)).mul(w).sum(), [x], { createGraph: true });
  const [hc] = grad(c!.mul(w).sum(), [x]);
  assertClose(h!.data, hc!.data, { atol: 1e-5, rtol: 1e-4, what: 'second derivative' });
});

test('logSoftmax and softmax: integer input becomes float32; 0-d and empty inputs; a bad dim names the op', () => {
  const i = tensor(Int32Array.from([1, 2, 3]));
  const out = logSoftmax(i, 0);
  assert.equal(out.dtype, 'float32');
  assertClose(out.data, composed(i, 0).data, { atol: 1e-6, rtol: 1e-6 });
  assertClose(softmax(i, -1).data, [0.09003057, 0.24472847, 0.66524096], { atol: 1e-7, rtol: 1e-6 });
  const scalar = logSoftmax(tensor(5), 0);
  assert.deepEqual(scalar.shape, []);
  assert.equal(scalar.data[0], 0);
  assert.deepEqual(logSoftmax(randn([3, 0]), 1).shape, [3, 0]);
  assert.deepEqual(logSoftmax(randn([0, 4]), 1).shape, [0, 4]);
  assert.throws(() => logSoftmax(randn([2, 3]), 2), (e: Error) => e instanceof ArgumentError && /^logSoftmax: dim 2 is out of range/.test(e.message));
});
