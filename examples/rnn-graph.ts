/**
 * The worked example of backpropagation through time: a scalar RNN with identity activations,
 *   h_t = Wh·h_{t−1} + Wx·x_t,   ŷ_t = Wy·h_t,   L = Σ_t (ŷ_t − y_t)²,
 * with h0 = 1, x = (10, 10), y = (5, 5), Wh = 1, Wx = 0.1, Wy = 2, computed with pixelgrad's
 * tensors and autograd. Prints ŷ1, ŷ2, L and the gradients, the chain rule written out node by node
 * (inspect.explain), and draws the graph.
 *
 *   npx tsx examples/rnn-graph.ts [output folder, default runs/rnn-graph]
 */
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { inspect, tensor, type Tensor } from '../src/index.js';
import { saveGraph, writeFileAtomic } from '../src/node.js';

export interface ScalarRnnResult {
  yHat: Tensor[];
  h: Tensor[];
  loss: Tensor;
  params: { Wh: Tensor; Wx: Tensor; Wy: Tensor };
}

/**
 * Runs the RNN forward and backward; h_t keep their gradients (retainGrad) and the graph keeps its
 * saved tensors (retainGraph) for inspection.
 */
export function scalarRnn(h0 = 1, x = [10, 10], y = [5, 5], init = { Wh: 1, Wx: 0.1, Wy: 2 }): ScalarRnnResult {
  const param = (v: number, name: string) => tensor(v, { requiresGrad: true, name });
  const params = { Wh: param(init.Wh, 'Wh'), Wx: param(init.Wx, 'Wx'), Wy: param(init.Wy, 'Wy') };
  let h = tensor(h0, { name: 'h0' });
  const hs: Tensor[] = [], yHat: Tensor[] = [], terms: Tensor[] = [];
  x.forEach((xt, i) => {
    const t = i + 1;
    h = params.Wh.mul(h).add(params.Wx.mul(tensor(xt, { name: `x${t}` })));
    h.name = `h${t}`;
    h.retainGrad();
    const out = params.Wy.mul(h);
    out.name = `ŷ${t}`;
    const term = out.sub(tensor(y[i], { name: `y${t}` })).pow(2);
    term.name = `L${t}`;
    hs.push(h); yHat.push(out); terms.push(term);
  });
  const loss = terms.reduce((a, b) => a.add(b));
  loss.name = 'L';
  loss.backward({ retainGraph: true });
  return { yHat, h: hs, loss, params };
}

async function main(): Promise<void> {
  const outDir = process.argv[2] ?? join('runs', 'rnn-graph');
  const r = scalarRnn();
  const show = (label: string, t: Tensor | null) => console.log(`${label.padEnd(8)} = ${t ? Number(t.item().toPrecision(6)) : 'none'}`);
  r.yHat.forEach((y, i) => show(`ŷ${i + 1}`, y));
  show('L', r.loss);
  r.h.forEach((h, i) => show(`∂L/∂h${i + 1}`, h.grad));
  show('∂L/∂Wh', r.params.Wh.grad);
  show('∂L/∂Wx', r.params.Wx.grad);
  show('∂L/∂Wy', r.params.Wy.grad);
  const explanation = inspect.explain(r.loss);
  console.log(`\n${explanation.markdown}`);
  for (const ext of ['svg', 'dot', 'mmd']) await saveGraph(r.loss, join(outDir, `graph.${ext}`));
  writeFileAtomic(join(outDir, 'explain.svg'), await explanation.svg());
  writeFileAtomic(join(outDir, 'explain.md'), explanation.markdown);
  console.log(`graph written to ${join(outDir, 'graph.svg')} (also .dot and .mmd), the annotated chain rule to ${join(outDir, 'explain.svg')} and explain.md`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
