/**
 * inspect.explain against chain-rule numbers derived by hand: the scalar RNN of examples/rnn-graph.ts
 * (derivation in test/rnn-graph.test.ts), a tensor used twice by one op, and a vector graph whose
 * local derivatives are Jacobians.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scalarRnn } from '../examples/rnn-graph.js';
import { inspect, tensor } from '../src/index.js';

const stepOf = (e: inspect.Explanation, label: string) => {
  const s = e.steps.find((v) => v.label === label);
  assert.ok(s, `step ${label}`);
  return s;
};

test('the scalar RNN: every gradient is the sum of upstream × local over the consumers', () => {
  const e = inspect.explain(scalarRnn().loss);
  const label = (id: string) => e.steps.find((s) => s.id === id)!.label;
  const h1 = stepOf(e, 'h1');
  assert.deepEqual(h1.value, [2]);
  assert.deepEqual(h1.grad, [0]);
  // h1 feeds ŷ1 = Wy·h1 (upstream −2, local Wy = 2) and Wh·h1 (upstream ∂L/∂h2 = 4, local Wh = 1).
  const viaY = h1.terms.find((c) => label(c.via) === 'ŷ1')!;
  assert.deepEqual([viaY.upstream, viaY.local, viaY.product], [[-2], [[2]], [-4]]);
  const other = h1.terms.find((c) => c !== viaY)!;
  assert.deepEqual([other.upstream, other.local, other.product], [[4], [[1]], [4]]);
  // ∂L/∂Wx = ∂L/∂h1·x1 + ∂L/∂h2·x2 = 0·10 + 4·10; ∂L/∂Wy = −2·h1 + 2·h2 = −4 + 6.
  const wx = stepOf(e, 'Wx');
  assert.deepEqual(wx.grad, [40]);
  assert.deepEqual(wx.terms.map((c) => c.local[0][0]).sort(), [10, 10]);
  assert.deepEqual(stepOf(e, 'Wy').terms.map((c) => c.product[0]).sort((a, b) => a - b), [-4, 6]);
  assert.deepEqual(stepOf(e, 'Wh').grad, [8]);
  assert.deepEqual(stepOf(e, 'L').grad, [1]);
  assert.equal(stepOf(e, 'x1').grad, undefined);
  assert.match(e.markdown, /\| h1 \| add\(t3, t6\) \| 2 \|/);
  assert.match(e.markdown, /∂L\/∂h1 = ∂L\/∂t13 · ∂t13\/∂h1 \+ ∂L\/∂ŷ1 · ∂ŷ1\/∂h1 = 4 · 1 \+ \(−2\) · 2 = 4 \+ \(−4\) = \*\*0\*\*/);
  assert.match(e.markdown, /∂L\/∂Wx = .* = \*\*40\*\*/);
});

test('a tensor used twice by one op gets one term per use: d(x·x)/dx = x + x', () => {
  const x = tensor(3, { requiresGrad: true, name: 'x' });
  const y = x.mul(x);
  y.name = 'y';
  const e = inspect.explain(y);
  const s = stepOf(e, 'x');
  assert.deepEqual(s.terms.map((c) => [c.slot, c.local[0][0], c.product[0]]), [[0, 3, 3], [1, 3, 3]]);
  assert.deepEqual(s.grad, [6]);
  assert.match(e.markdown, /∂y\/∂x = .* = 1 · 3 \+ 1 · 3 = 3 \+ 3 = \*\*6\*\*/);
});

test('vector graphs: local derivatives are Jacobians, broadcast inputs summed back', () => {
  const w = tensor([1, 2], { requiresGrad: true, name: 'w' });
  const b = tensor(0.5, { requiresGrad: true, name: 'b' });
  const x = tensor([3, 4], { name: 'x' });
  const z = w.mul(x).add(b);
  z.name = 'z';
  const L = z.sum();
  L.name = 'L';
  const e = inspect.explain(L);
  assert.deepEqual(stepOf(e, 'z').terms[0].local, [[1, 1]]);
  const wx = e.steps.find((s) => s.op === 'mul')!;
  assert.deepEqual(stepOf(e, 'w').terms[0].local, [[3, 0], [0, 4]]);
  assert.deepEqual(stepOf(e, 'w').grad, [3, 4]);
  assert.deepEqual(wx.grad, [1, 1]);
  // b is broadcast to two elements: its Jacobian is a column of ones, its gradient their sum.
  assert.deepEqual(stepOf(e, 'b').terms[0].local, [[1], [1]]);
  assert.deepEqual(stepOf(e, 'b').grad, [2]);
  // explain only reads: no .grad is set.
  assert.equal(w.grad, null);
});

test('the annotated SVG shows values above and gradients below each node', async () => {
  const e = inspect.explain(scalarRnn().loss);
  assert.match(e.dot, /^digraph explain \{/);
  assert.match(e.dot, /#1f5fa8">2<\/FONT>.*h1 = add.*∂L\/∂· = 0</);
  const svg = await e.svg();
  assert.match(svg, /<svg[\s\S]*<\/svg>/);
  for (const text of ['Wx', '∂L/∂· = 40', '∂L/∂· = 8', 'local 10', 'ŷ2 = mul']) assert.ok(svg.includes(`>${text}<`), text);
});

test('bad input: freed graphs, non-scalar losses, large tensors, unknown options', () => {
  const w = tensor([1, 2], { requiresGrad: true, name: 'w' });
  assert.throws(() => inspect.explain(w.mul(2)), /inspect\.explain: the loss must have one element, got shape \[2\]/);
  assert.throws(() => inspect.explain(tensor(1)), /inspect\.explain: the loss does not require grad/);
  const big = tensor(new Array(20).fill(1), { requiresGrad: true, name: 'big' });
  assert.throws(() => inspect.explain(big.sum()), /inspect\.explain: tensor big of shape \[20\] has more than maxElements = 16/);
  assert.doesNotThrow(() => inspect.explain(big.sum(), { maxElements: 20 }));
  assert.throws(() => inspect.explain(w.sum(), { precison: 3 } as object), /inspect\.explain.*precison/);
  const L = w.mul(3).sum();
  L.backward();
  assert.throws(() => inspect.explain(L), /inspect\.explain: the graph through '(mul|sum)' was freed by backward\(\).*retainGraph/);
});
