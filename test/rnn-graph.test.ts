/**
 * The worked example of MISSION section 1 (examples/rnn-graph.ts) against numbers derived by hand,
 * and the drawn graph.
 *
 * h0 = 1, Wh = 1, Wx = 0.1, Wy = 2, x = (10, 10), y = (5, 5):
 *   h1 = Wh·h0 + Wx·x1 = 1 + 1 = 2        ŷ1 = Wy·h1 = 4
 *   h2 = Wh·h1 + Wx·x2 = 2 + 1 = 3        ŷ2 = Wy·h2 = 6
 *   L  = (4 − 5)² + (6 − 5)² = 2
 * Backward: ∂L/∂ŷ1 = 2(ŷ1 − y1) = −2, ∂L/∂ŷ2 = 2(ŷ2 − y2) = 2
 *   ∂L/∂h2 = Wy·∂L/∂ŷ2 = 4
 *   ∂L/∂h1 = Wy·∂L/∂ŷ1 + Wh·∂L/∂h2 = −4 + 4 = 0
 *   ∂L/∂Wy = ∂L/∂ŷ1·h1 + ∂L/∂ŷ2·h2 = −4 + 6 = 2
 *   ∂L/∂Wh = ∂L/∂h1·h0 + ∂L/∂h2·h1 = 0 + 8 = 8
 *   ∂L/∂Wx = ∂L/∂h1·x1 + ∂L/∂h2·x2 = 0 + 40 = 40
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scalarRnn } from '../examples/rnn-graph.js';
import { inspect, tensor } from '../src/index.js';
import { saveGraph } from '../src/node.js';

const close = (t: { item(): number } | null, expected: number) => {
  assert.ok(t, 'value present');
  assert.ok(Math.abs(t.item() - expected) < 1e-5, `got ${t.item()}, expected ${expected}`);
};

test('the scalar RNN gives the hand-derived values and gradients', () => {
  const r = scalarRnn();
  close(r.yHat[0], 4);
  close(r.yHat[1], 6);
  close(r.loss, 2);
  close(r.h[0].grad, 0);
  close(r.h[1].grad, 4);
  close(r.params.Wh.grad, 8);
  close(r.params.Wx.grad, 40);
  close(r.params.Wy.grad, 2);
});

test('the graph lists every tensor with its op, value and gradient', () => {
  const r = scalarRnn();
  const g = inspect.graph(r.loss);
  const byName = (n: string) => g.nodes.find((v) => v.name === n)!;
  assert.deepEqual(byName('Wh').grad, [8]);
  assert.equal(byName('Wh').op, null);
  assert.equal(byName('h1').op, 'add');
  assert.deepEqual(byName('h1').value, [2]);
  assert.deepEqual(byName('h1').grad, [0]);
  assert.equal(byName('L').op, 'add');
  // Wh is used at both steps: one node, two outgoing edges.
  assert.equal(g.nodes.filter((v) => v.name === 'Wh').length, 1);
  assert.equal(g.edges.filter(([from]) => from === byName('Wh').id).length, 2);
  assert.match(g.dot, /^digraph computation \{/);
  assert.match(g.dot, /label="Wh\\nshape \[\]\\nvalue 1\\ngrad 8"/);
  assert.match(g.dot, /label="h1 = add\\nshape \[\]\\nvalue 2\\ngrad 0"/);
  assert.match(g.mermaid, /^flowchart TB/);
  assert.match(g.mermaid, /\["Wx<br\/>shape \[\]<br\/>value 0\.1<br\/>grad 40"\]/);
  for (const [a, b] of g.edges) assert.match(g.mermaid, new RegExp(`${a} --> ${b}`));
});

test('large tensors are drawn without their values', () => {
  const w = tensor(new Array(10).fill(1), { requiresGrad: true, name: 'w' });
  const g = inspect.graph(w.mul(2).sum(), { maxValues: 4 });
  const wNode = g.nodes.find((n) => n.name === 'w')!;
  assert.equal(wNode.value, undefined);
  assert.match(g.dot, /label="w\\nshape \[10\]"/);
});

test('the graph renders to SVG and saves atomically by extension', async () => {
  const r = scalarRnn();
  const dir = mkdtempSync(join(tmpdir(), 'pixelgrad-graph-'));
  await saveGraph(r.loss, join(dir, 'g.svg'));
  await saveGraph(r.loss, join(dir, 'g.mmd'));
  const svg = readFileSync(join(dir, 'g.svg'), 'utf8');
  assert.match(svg, /<svg[\s\S]*<\/svg>/);
  assert.match(svg, />Wh</);
  assert.match(svg, />grad 40</);
  assert.match(readFileSync(join(dir, 'g.mmd'), 'utf8'), /^flowchart TB/);
  await assert.rejects(saveGraph(r.loss, join(dir, 'g.png')), /saveGraph: unknown graph file type '\.png'/);
});
