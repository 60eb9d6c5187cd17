/** Autograd semantics: accumulation, noGrad, detach, retainGraph, hooks, deep graphs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, enableGrad, getBackend, grad, isGradEnabled, empty, listBackends, manualSeed, nn, noGrad, ones, rand, relu, setBackend, tensor, withGradientRules, zeros } from '../src/index.js';
import { releaseSpareBuffers, spareBufferBytes } from '../src/dtype.js';
import { assertTensor } from './helpers/assert.js';

test('a tensor used twice gets both contributions', () => {
  const x = tensor([3], { requiresGrad: true });
  x.mul(x).add(x).sum().backward(); // d/dx (x² + x) = 2x + 1
  assertTensor(x.grad!, [1], [7]);
});

test('a tensor used many times gets every contribution, and sums passed on by a VJP stay apart', () => {
  // u's gradient is summed from four uses (the engine adds the later ones into its own sum); add's
  // VJP then hands that one sum to both p and q, whose gradients must not change each other.
  const p = tensor([1, 2], { requiresGrad: true }), q = tensor([3, 4], { requiresGrad: true });
  const u = p.add(q);
  u.retainGrad();
  const seen: number[][] = [];
  u.registerHook((g) => { seen.push(Array.from(g.data)); });
  const loss = u.add(u).add(u.mul(tensor([2, 3]))).add(u).mul(p).sum();
  loss.backward();
  // loss = Σ (3 + w)·u·p with w = [2, 3], u = [4, 6]: dloss/du = dloss/dq = (3 + w)·p, dloss/dp = (3 + w)·(p + u)
  assertTensor(u.grad!, [2], [5, 12]);
  assert.deepEqual(seen, [[5, 12]]);
  assertTensor(p.grad!, [2], [25, 48]);
  assertTensor(q.grad!, [2], [5, 12]);
});

test('gradients accumulate across backward calls until cleared', () => {
  const w = tensor([1, 2], { requiresGrad: true });
  w.mul(3).sum().backward();
  w.mul(3).sum().backward();
  assertTensor(w.grad!, [2], [6, 6]);
  w.grad = null;
  w.mul(2).sum().backward();
  assertTensor(w.grad!, [2], [2, 2]);
});

test('an explicit output gradient is used as the seed', () => {
  const x = tensor([1, 2, 3], { requiresGrad: true });
  x.mul(x).backward(tensor([1, 0.5, -1]));
  assertTensor(x.grad!, [3], [2, 2, -6]);
});

test('backward on a non-scalar without an output gradient is an error', () => {
  const x = tensor([1, 2], { requiresGrad: true });
  assert.throws(() => x.mul(2).backward(), /backward: a gradient can be created implicitly only for a one-element output, got shape \[2\]/);
  assert.throws(() => x.mul(2).backward(tensor([1, 2, 3])), /backward: the output gradient has shape \[3\] but the output has shape \[2\]/);
  assert.throws(() => tensor([1]).backward(), /does not require grad/);
});

test('requiresGrad propagates only from inputs that require it', () => {
  const a = tensor([1], { requiresGrad: true }), b = tensor([2]);
  assert.equal(b.mul(2).requiresGrad, false);
  const c = a.mul(b);
  assert.equal(c.requiresGrad, true);
  assert.equal(c.isLeaf, false);
  assert.equal(c.gradFn?.op, 'mul');
  c.sum().backward();
  assert.equal(b.grad, null, 'constants get no gradient');
});

test('noGrad records nothing, restores the mode, and enableGrad re-enables inside it', () => {
  const w = tensor([1], { requiresGrad: true });
  const y = noGrad(() => {
    assert.equal(isGradEnabled(), false);
    assert.equal(enableGrad(() => w.mul(2)).requiresGrad, true);
    return w.mul(2);
  });
  assert.equal(y.requiresGrad, false);
  assert.equal(y.gradFn, null);
  assert.equal(isGradEnabled(), true);
  assert.throws(() => noGrad(() => { throw new Error('boom'); }), /boom/);
  assert.equal(isGradEnabled(), true, 'mode restored after an exception');
});

test('detach cuts the graph but shares the data', () => {
  const x = tensor([2], { requiresGrad: true });
  const d = x.detach();
  assert.equal(d.requiresGrad, false);
  assert.equal(d.data, x.data);
  x.mul(d).sum().backward(); // d counts as a constant
  assertTensor(x.grad!, [1], [2]);
});

test('the graph is freed after backward unless retainGraph is set', () => {
  const x = tensor([1, 2], { requiresGrad: true });
  const y = x.exp().sum();
  y.backward({ retainGraph: true });
  y.backward();
  assertTensor(x.grad!, [2], [2 * Math.E, 2 * Math.exp(2)], { rtol: 1e-6 });
  assert.throws(() => y.backward(), /already freed by an earlier backward\(\); pass \{ retainGraph: true \}/);
});

test('non-leaf gradients are kept only with retainGrad', () => {
  const x = tensor([1, 2], { requiresGrad: true });
  const h = x.mul(3).retainGrad();
  const k = h.mul(2);
  k.sum().backward();
  assertTensor(h.grad!, [2], [2, 2]);
  assert.equal(k.grad, null);
});

test('gradient hooks see and may replace a gradient', () => {
  const x = tensor([1, 2], { requiresGrad: true });
  const seen: number[][] = [];
  const h = x.mul(2);
  const remove = h.registerHook((g) => { seen.push([...g.data]); return g.mul(10); });
  h.sum().backward();
  assert.deepEqual(seen, [[1, 1]]);
  assertTensor(x.grad!, [2], [20, 20]);
  remove();
  x.grad = null;
  const h2 = x.mul(2);
  h2.sum().backward();
  assertTensor(x.grad!, [2], [2, 2]);
});

test('a chain of 100,000 ops backpropagates without overflowing the stack', () => {
  const x = tensor([1], { requiresGrad: true });
  let y = x;
  for (let i = 0; i < 100_000; i++) y = y.add(1e-5);
  y.sum().backward();
  assertTensor(x.grad!, [1], [1]);
});

test('createGraph gives differentiable gradients (second derivative)', () => {
  const x = tensor([2], { requiresGrad: true });
  x.pow(3).sum().backward({ createGraph: true });
  const dx = x.grad!; // 3x² = 12
  assertTensor(dx, [1], [12]);
  assert.equal(dx.requiresGrad, true);
  x.grad = null;
  dx.sum().backward(); // d/dx 3x² = 6x = 12
  assertTensor(x.grad!, [1], [12]);
});

test('broadcast gradients are summed back to each input shape', () => {
  const a = zeros([2, 1, 3], { requiresGrad: true });
  const b = ones([4, 1], { requiresGrad: true });
  a.add(b).sum().backward();
  assertTensor(a.grad!, [2, 1, 3], new Array(6).fill(4));
  assertTensor(b.grad!, [4, 1], new Array(4).fill(6));
});

test('a leaf gradient is its own copy, not shared with another leaf', () => {
  const a = tensor([1], { requiresGrad: true }), b = tensor([1], { requiresGrad: true });
  a.add(b).sum().backward();
  assert.notEqual(a.grad!.data, b.grad!.data);
});

test('int32 tensors cannot require grad', () => {
  assert.throws(() => tensor([1], { dtype: 'int32', requiresGrad: true }), /tensor: only floating-point tensors can require grad, got dtype int32$/);
});

test('relu passes the gradient where x > 0 or x is NaN, as PyTorch (values from torch 1.13), on every backend', () => {
  const previous = getBackend().name;
  try {
    for (const name of listBackends()) {
      setBackend(name);
      // 160 elements: past the size below which the wasm backend hands element-wise work to js.
      const x = tensor(Array.from({ length: 160 }, (_, i) => [-1, 0, 2, NaN][i % 4]), { requiresGrad: true });
      x.relu().sum().backward();
      assert.deepEqual([...x.grad!.data.subarray(0, 8)], [0, 0, 1, 1, 0, 0, 1, 1], name);
    }
  } finally {
    setBackend(previous);
  }
});

test('gradients made in a backward pass are reused once dead; those a hook, a gradient rule or grad() can still reach are not', () => {
  // Gradients of 2·4·16·16 float32 = 8 KiB, over the size that is recycled.
  manualSeed(3);
  const conv1 = new nn.Conv2d(4, 4, 3, { padding: 1 }), conv2 = new nn.Conv2d(4, 4, 3, { padding: 1 });
  const x = rand([2, 4, 16, 16]);
  const forward = () => conv2.forward(relu(conv1.forward(x))).square().sum();
  // Plain passes: dead gradients go to the spare buffers, and the next forward pass takes them.
  releaseSpareBuffers();
  forward().backward();
  const spare = spareBufferBytes();
  assert.ok(spare >= 8192, `spare bytes after a backward pass: ${spare}`);
  forward();
  assert.ok(spareBufferBytes() < spare, 'the forward pass reuses them');
  // Gradients seen by a tensor hook, a module's full backward hook, a gradient rule's result and
  // grad()'s result keep the values they had when handed out (kept beside each) through later
  // passes and after every spare buffer has been written over.
  const kept: [Tensor, number[]][] = [];
  const keep = (t: Tensor) => { kept.push([t, Array.from(t.data)]); };
  const h = relu(conv1.forward(x));
  h.registerHook((gh) => { keep(gh); });
  conv2.forward(h).square().sum().backward();
  const removeHook = conv2.registerFullBackwardHook((_m, gi, go) => { keep(gi[0]!); keep(go[0]!); });
  forward().backward();
  removeHook();
  withGradientRules({ relu: (gr, c) => { const r = c.vjp(gr, c.needsGrad); keep(r[0]!); return r; } }, () => forward().backward());
  const hc = conv1.forward(x);
  keep(grad(conv2.forward(relu(hc)).square().sum(), [hc])[0]!);
  for (let i = 0; i < 3; i++) forward().backward();
  // Take every spare buffer of that size and write over it.
  const taken = Array.from({ length: spareBufferBytes() / 8192 }, () => empty([2, 4, 16, 16]));
  taken.forEach((t) => t.data.fill(7));
  assert.equal(spareBufferBytes(), 0);
  kept.forEach(([t, values], i) => assert.deepEqual(Array.from(t.data), values, `kept gradient ${i}`));
  assert.ok(kept.every(([, v]) => v.length === 2048 && v.some((e) => e !== 0)), 'the kept gradients are the large, non-zero ones');
});
