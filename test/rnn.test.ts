/**
 * Recurrent layers: RNN/LSTM/GRU and their cells against PyTorch (test/fixtures/rnn.json, made by
 * tools/gen_rnn_fixtures.py) — outputs, final states and the gradients of inputs, h0/c0 and every
 * parameter, with batchFirst both ways, 2 layers, bidirectional, lengths, dropout; float64 gradient
 * checks of the cells and of the sequence loop; padded steps have no influence; bad input gives
 * errors naming the layer and the shapes; the row-RNN model; the demonstrations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Generator, getBackend, grad, gradcheck, listBackends, manualSeed, nn, noGrad, rand, randn, setBackend, tensor, zeros, type Tensor } from '../src/index.js';
import { GRU, GRUCell, LSTM, LSTMCell, RNN, RNNCell } from '../src/nn/layers/recurrent.js';
import { gruCell, isFusedRecurrent, lstmCell, recurrent, rnnCell, setFusedRecurrent, type RecurrentMode } from '../src/nn/functional/recurrent.js';
import { registerWasmBackend, wasmSimdSupported } from '../src/backend/wasm/index.js';
import { RowRnn, rowRnn } from '../src/models/row-rnn.js';
import { scalarRnn } from '../examples/rnn-graph.js';
import { trainRowRnn } from '../examples/row-rnn.js';
import { gradientNorms } from '../examples/vanishing-gradients.js';
import { w7Step } from '../bench/w7.js';
import { assertTensor } from './helpers/assert.js';

interface Arr { shape: number[]; data: number[] }
interface Case {
  name: string; layer: string; config: Record<string, any>; train: boolean;
  state: Record<string, Arr>; input: Arr; h0?: Arr; c0?: Arr; lengths?: number[];
  output: Arr; h?: Arr; c?: Arr;
  upstream: { output: Arr; h?: Arr; c?: Arr };
  grads: { input: Arr; h0?: Arr; c0?: Arr; params: Record<string, Arr> };
}
const fixtures: { torch: string; cases: Case[]; paramCounts: Record<string, number>; paramNames: Record<string, string[]> } =
  JSON.parse(readFileSync(new URL('./fixtures/rnn.json', import.meta.url), 'utf8'));

const toTensor = (a: Arr): Tensor => tensor(Float32Array.from(a.data), { shape: a.shape });
const TOL = { atol: 1e-5, rtol: 1e-4 };

type AnyLayer = RNN | LSTM | GRU | RNNCell | LSTMCell | GRUCell;
const BUILD: Record<string, (c: Record<string, any>) => AnyLayer> = {
  RNN: ({ inputSize, hiddenSize, ...o }) => new RNN(inputSize, hiddenSize, o),
  LSTM: ({ inputSize, hiddenSize, ...o }) => new LSTM(inputSize, hiddenSize, o),
  GRU: ({ inputSize, hiddenSize, ...o }) => new GRU(inputSize, hiddenSize, o),
  RNNCell: ({ inputSize, hiddenSize, ...o }) => new RNNCell(inputSize, hiddenSize, o),
  LSTMCell: ({ inputSize, hiddenSize, ...o }) => new LSTMCell(inputSize, hiddenSize, o),
  GRUCell: ({ inputSize, hiddenSize, ...o }) => new GRUCell(inputSize, hiddenSize, o),
};

/** Runs a fixture case's layer: [output, h?, c?] (cells: [h', c'?]). */
function runCase(m: AnyLayer, c: Case, x: Tensor, h0: Tensor | null, c0: Tensor | null): { output: Tensor; h?: Tensor; c?: Tensor } {
  const lengths = c.lengths ? { lengths: c.lengths } : undefined;
  if (m instanceof LSTM) {
    const [out, [h, cc]] = m.forward(x, h0 && c0 ? [h0, c0] : null, lengths);
    return { output: out, h, c: cc };
  }
  if (m instanceof RNN || m instanceof GRU) {
    const [out, h] = m.forward(x, h0, lengths);
    return { output: out, h };
  }
  if (m instanceof LSTMCell) {
    const [h, cc] = m.forward(x, h0 && c0 ? [h0, c0] : null);
    return { output: h, c: cc };
  }
  return { output: (m as RNNCell | GRUCell).forward(x, h0) };
}

test('every layer kind in the fixtures has a builder', () => {
  assert.deepEqual(new Set(fixtures.cases.map((c) => c.layer)), new Set(Object.keys(BUILD)));
});

function checkCase(c: Case): void {
  const m = BUILD[c.layer](c.config);
  m.loadStateDict(Object.fromEntries(Object.entries(c.state).map(([k, v]) => [k, toTensor(v)])));
  m.train(c.train);
  const x = toTensor(c.input).setRequiresGrad(true);
  const h0 = c.h0 ? toTensor(c.h0).setRequiresGrad(true) : null;
  const c0 = c.c0 ? toTensor(c.c0).setRequiresGrad(true) : null;
  const r = runCase(m, c, x, h0, c0);
  assertTensor(r.output, c.output.shape, c.output.data, { what: 'output', ...TOL });
  if (c.h) assertTensor(r.h!, c.h.shape, c.h.data, { what: 'final h', ...TOL });
  if (c.c) assertTensor(r.c!, c.c.shape, c.c.data, { what: 'final c', ...TOL });
  let total = r.output.mul(toTensor(c.upstream.output)).sum();
  if (c.upstream.h) total = total.add(r.h!.mul(toTensor(c.upstream.h)).sum());
  if (c.upstream.c) total = total.add(r.c!.mul(toTensor(c.upstream.c)).sum());
  total.backward();
  assertTensor(x.grad!, c.grads.input.shape, c.grads.input.data, { what: 'input grad', ...TOL });
  if (c.grads.h0) assertTensor(h0!.grad!, c.grads.h0.shape, c.grads.h0.data, { what: 'h0 grad', ...TOL });
  if (c.grads.c0) assertTensor(c0!.grad!, c.grads.c0.shape, c.grads.c0.data, { what: 'c0 grad', ...TOL });
  const params = Object.fromEntries(m.namedParameters());
  assert.deepEqual(Object.keys(params).sort(), Object.keys(c.grads.params).sort(), 'parameter names');
  assert.deepEqual(Object.keys(m.stateDict()), Object.keys(c.state), 'state dict order');
  for (const [name, g] of Object.entries(c.grads.params)) assertTensor(params[name].grad!, g.shape, g.data, { what: `grad of ${name}`, ...TOL });
}

for (const c of fixtures.cases) {
  test(`${c.layer}: ${c.name} matches PyTorch ${fixtures.torch}`, () => checkCase(c));
}

test('every fixture case matches on the WebAssembly backend too (LSTM fused, RNN and GRU composed) and with fused and composed steps on js', { skip: !wasmSimdSupported() && 'no WebAssembly SIMD' }, async () => {
  // The tests above run on the default backend (js or wasm); this one covers all three paths either way.
  const previous = getBackend().name;
  if (!listBackends().includes('wasm')) await registerWasmBackend();
  try {
    setBackend('wasm');
    assert.equal(isFusedRecurrent('lstm'), true, "'auto' fuses the LSTM step, a kernel of every backend");
    assert.equal(isFusedRecurrent('gru'), false, "'auto' composes the GRU step on a backend with its own element-wise kernels");
    assert.equal(isFusedRecurrent('rnnTanh'), false, "'auto' composes the RNN step on a backend with its own element-wise kernels");
    for (const c of fixtures.cases) {
      try { checkCase(c); } catch (err) { throw new Error(`wasm, ${c.name}: ${(err as Error).message}`); }
    }
    withFused(false, () => {
      for (const c of fixtures.cases) {
        try { checkCase(c); } catch (err) { throw new Error(`wasm composed, ${c.name}: ${(err as Error).message}`); }
      }
    });
    setBackend('js');
    assert.equal(isFusedRecurrent('gru'), true, "'auto' fuses on the js backend");
    for (const c of fixtures.cases) {
      try { checkCase(c); } catch (err) { throw new Error(`js fused, ${c.name}: ${(err as Error).message}`); }
    }
    withFused(false, () => {
      for (const c of fixtures.cases) {
        try { checkCase(c); } catch (err) { throw new Error(`composed, ${c.name}: ${(err as Error).message}`); }
      }
    });
  } finally {
    setBackend(previous);
  }
});

// ---------------------------------------------------------------------------------------------
// Fused per-step kernels against the composed ops, and both against finite differences.

const MODES: RecurrentMode[] = ['rnnTanh', 'rnnRelu', 'rnnIdentity', 'lstm', 'gru'];
const gates = (m: RecurrentMode) => (m === 'lstm' ? 4 : m === 'gru' ? 3 : 1);
const f64 = (shape: number[], g: Generator, scale = 0.5) => randn(shape, { dtype: 'float64', generator: g }).mul(scale).setRequiresGrad(true);

/** Random float64 weights for `recurrent`: [layer·D + dir] = [wIh, wHh, bIh, bHh]. */
function weightsFor(mode: RecurrentMode, I: number, H: number, layers: number, D: number, g: Generator, bias = true): Tensor[][] {
  const G = gates(mode);
  return Array.from({ length: layers * D }, (_, k) => {
    const inF = k < D ? I : D * H;
    const w = [f64([G * H, inF], g), f64([G * H, H], g)];
    if (bias) w.push(f64([G * H], g), f64([G * H], g));
    return w;
  });
}

function withFused<T>(on: boolean, fn: () => T): T {
  const was = setFusedRecurrent(on);
  try { return fn(); } finally { setFusedRecurrent(was); }
}

for (const mode of MODES) {
  test(`recurrent ${mode}: the fused kernels give the composed ops' outputs and gradients`, () => {
    const g = new Generator(7);
    const [L, B, I, H, layers, D] = [5, 3, 2, 3, 2, 2];
    const x = f64([B, L, I], g), h0 = f64([layers * D, B, H], g), c0 = f64([layers * D, B, H], g);
    const ws = weightsFor(mode, I, H, layers, D, g);
    const leaves = [x, h0, ...(mode === 'lstm' ? [c0] : []), ...ws.flat()];
    const run = (fused: boolean) => withFused(fused, () => {
      const r = recurrent(x, ws, { mode, numLayers: layers, bidirectional: true, batchFirst: true, h0, c0: mode === 'lstm' ? c0 : null, lengths: [5, 2, 4] });
      const up = new Generator(3);
      let total = r.output.mul(randn(r.output.shape, { dtype: 'float64', generator: up })).sum().add(r.h.mul(randn(r.h.shape, { dtype: 'float64', generator: up })).sum());
      if (r.c) total = total.add(r.c.mul(randn(r.c.shape, { dtype: 'float64', generator: up })).sum());
      for (const t of leaves) t.grad = null;
      total.backward();
      return { out: [r.output, r.h, ...(r.c ? [r.c] : [])].map((t) => Array.from(t.data)), grads: leaves.map((t) => Array.from(t.grad!.data)) };
    });
    const a = run(true), b = run(false);
    a.out.forEach((v, i) => assertTensorData(v, b.out[i], `output ${i}`));
    a.grads.forEach((v, i) => assertTensorData(v, b.grads[i], `grad of leaf ${i}`));
  });
}

function assertTensorData(a: number[], b: number[], what: string): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-12 + 1e-10 * Math.abs(b[i]), `${what}[${i}]: fused ${a[i]} vs composed ${b[i]}`);
}

for (const fused of [true, false]) {
  const label = fused ? 'fused' : 'composed';
  test(`gradcheck (float64, ${label}): rnnCell tanh/relu/identity, lstmCell, gruCell with and without bias and state`, () => withFused(fused, () => {
    const g = new Generator(11);
    const [B, I, H] = [2, 3, 2];
    for (const bias of [true, false]) {
      for (const nl of ['tanh', 'relu', 'identity'] as const) {
        const args = [f64([B, I], g), f64([B, H], g), f64([H, I], g), f64([H, H], g), ...(bias ? [f64([H], g), f64([H], g)] : [])];
        const r = gradcheck((x, h, wi, wh, bi, bh) => rnnCell(x, h, wi, wh, bi ?? null, bh ?? null, { nonlinearity: nl }), args);
        assert.ok(r.ok, `rnnCell ${nl} bias=${bias}: ${JSON.stringify(r.failure)}`);
      }
      const lstmArgs = [f64([B, I], g), f64([B, H], g), f64([B, H], g), f64([4 * H, I], g), f64([4 * H, H], g), ...(bias ? [f64([4 * H], g), f64([4 * H], g)] : [])];
      const rl = gradcheck((x, h, c, wi, wh, bi, bh) => lstmCell(x, [h, c], wi, wh, bi ?? null, bh ?? null), lstmArgs);
      assert.ok(rl.ok, `lstmCell bias=${bias}: ${JSON.stringify(rl.failure)}`);
      const rl0 = gradcheck((x, wi, wh, bi, bh) => lstmCell(x, null, wi, wh, bi ?? null, bh ?? null), [lstmArgs[0], ...lstmArgs.slice(3)]);
      assert.ok(rl0.ok, `lstmCell without state bias=${bias}: ${JSON.stringify(rl0.failure)}`);
      const gruArgs = [f64([B, I], g), f64([B, H], g), f64([3 * H, I], g), f64([3 * H, H], g), ...(bias ? [f64([3 * H], g), f64([3 * H], g)] : [])];
      const rg = gradcheck((x, h, wi, wh, bi, bh) => gruCell(x, h, wi, wh, bi ?? null, bh ?? null), gruArgs);
      assert.ok(rg.ok, `gruCell bias=${bias}: ${JSON.stringify(rg.failure)}`);
      const rg0 = gradcheck((x, wi, wh, bi, bh) => gruCell(x, null, wi, wh, bi ?? null, bh ?? null), [gruArgs[0], ...gruArgs.slice(2)]);
      assert.ok(rg0.ok, `gruCell without state bias=${bias}: ${JSON.stringify(rg0.failure)}`);
    }
  }));

  test(`gradcheck (float64, ${label}): 2-layer bidirectional sequences with lengths and initial states, every mode`, () => withFused(fused, () => {
    const g = new Generator(5);
    const [L, B, I, H] = [4, 2, 2, 2];
    for (const mode of MODES) {
      const x = f64([L, B, I], g), h0 = f64([4, B, H], g), c0 = f64([4, B, H], g);
      const ws = weightsFor(mode, I, H, 2, 2, g);
      const flat = ws.flat();
      const lstm = mode === 'lstm';
      const r = gradcheck((xx, hh, cc, ...w) => {
        const per = w.length / 4;
        const rebuilt = Array.from({ length: 4 }, (_, k) => w.slice(k * per, (k + 1) * per));
        const res = recurrent(xx, rebuilt, { mode, numLayers: 2, bidirectional: true, h0: hh, c0: lstm ? cc : null, lengths: [4, 2] });
        return [res.output, res.h, ...(res.c ? [res.c] : [])];
      }, [x, h0, lstm ? c0 : c0.detach(), ...flat]);
      assert.ok(r.ok, `${mode}: ${JSON.stringify(r.failure)}`);
    }
  }));
}

test('second-order gradients through the fused kernels (createGraph: their VJPs are recorded ops)', () => {
  const g = new Generator(13);
  const [B, I, H] = [2, 2, 2];
  const x = f64([B, I], g), h = f64([B, H], g), c = f64([B, H], g);
  const cases: [string, (xx: Tensor, ...w: Tensor[]) => Tensor, Tensor[]][] = [
    ['rnnCell tanh', (xx, wi, wh, bi, bh) => rnnCell(xx, h, wi, wh, bi, bh), [f64([H, I], g), f64([H, H], g), f64([H], g), f64([H], g)]],
    ['lstmCell', (xx, wi, wh, bi, bh) => { const [h2, c2] = lstmCell(xx, [h, c], wi, wh, bi, bh); return h2.add(c2.mul(0.5)); }, [f64([4 * H, I], g), f64([4 * H, H], g), f64([4 * H], g), f64([4 * H], g)]],
    ['gruCell', (xx, wi, wh, bi, bh) => gruCell(xx, h, wi, wh, bi, bh), [f64([3 * H, I], g), f64([3 * H, H], g), f64([3 * H], g), f64([3 * H], g)]],
  ];
  for (const [name, cell, ws] of cases) {
    // d/dx of Σ cell(x)², differentiated again by gradcheck with respect to x and every weight.
    const firstGrad = (xx: Tensor, ...w: Tensor[]) => {
      const [gx] = grad(cell(xx, ...w).square().sum(), [xx], { createGraph: true });
      return gx!;
    };
    const r = gradcheck(firstGrad, [x, ...ws]);
    assert.ok(r.ok, `${name}: ${JSON.stringify(r.failure)}`);
  }
});

// ---------------------------------------------------------------------------------------------
// The LSTM without lengths runs each layer and direction as one op over the whole sequence.

/** An LSTM over x, its outputs and the gradients of every leaf for a fixed random upstream gradient. */
function lstmRun(x: Tensor, ws: Tensor[][], layers: number, h0: Tensor | null, c0: Tensor | null, lengths: number[] | null) {
  const leaves = [x, ...(h0 ? [h0, c0!] : []), ...ws.flat()];
  const r = recurrent(x, ws, { mode: 'lstm', numLayers: layers, bidirectional: true, h0, c0, lengths });
  const up = new Generator(3);
  const total = [r.output, r.h, r.c!].map((t) => t.mul(randn(t.shape, { dtype: 'float64', generator: up })).sum()).reduce((a, b) => a.add(b));
  for (const t of leaves) t.grad = null;
  total.backward();
  return { out: [r.output, r.h, r.c!].map((t) => Array.from(t.data)), grads: leaves.map((t) => Array.from(t.grad!.data)) };
}

test('LSTM without lengths: the whole-sequence op gives the step-by-step outputs and gradients (fused and composed steps)', () => {
  const g = new Generator(17);
  const [L, B, I, H, layers] = [5, 3, 2, 3, 2];
  for (const withState of [true, false]) {
    for (const steps of [L, 1]) {
      const x = f64([steps, B, I], g), ws = weightsFor('lstm', I, H, layers, 2, g);
      const h0 = withState ? f64([2 * layers, B, H], g) : null, c0 = withState ? f64([2 * layers, B, H], g) : null;
      const whole = lstmRun(x, ws, layers, h0, c0, null);
      // Lengths that end no sequence early still take the step-by-step path.
      const fullLengths = Array.from({ length: B }, () => steps);
      for (const fused of [true, false]) {
        const stepwise = withFused(fused, () => lstmRun(x, ws, layers, h0, c0, fullLengths));
        const what = `${fused ? 'fused' : 'composed'} steps, ${steps} steps${withState ? ', h0 and c0' : ''}`;
        whole.out.forEach((v, i) => assertTensorData(v, stepwise.out[i], `${what}: output ${i}`));
        whole.grads.forEach((v, i) => assertTensorData(v, stepwise.grads[i], `${what}: grad of leaf ${i}`));
      }
    }
  }
});

test('LSTM without lengths, dropout between layers: the same masks as step by step (one draw per element, in the same order)', () => {
  const g = new Generator(23);
  const [L, B, I, H] = [4, 3, 2, 3];
  const x = f64([L, B, I], g), ws = weightsFor('lstm', I, H, 3, 2, g);
  const run = (lengths: number[] | null) => {
    const r = recurrent(x, ws, { mode: 'lstm', numLayers: 3, bidirectional: true, dropout: 0.5, generator: new Generator(1), lengths });
    return [r.output, r.h, r.c!].map((t) => Array.from(t.data));
  };
  const whole = run(null), stepwise = run([L, L, L]);
  whole.forEach((v, i) => assertTensorData(v, stepwise[i], `output ${i}`));
});

test('gradcheck (float64): the whole-sequence LSTM, 2 layers bidirectional, with and without initial states; second order too', () => {
  const g = new Generator(19);
  const [L, B, I, H] = [3, 2, 2, 2];
  const x = f64([L, B, I], g), h0 = f64([4, B, H], g), c0 = f64([4, B, H], g);
  const flat = weightsFor('lstm', I, H, 2, 2, g).flat();
  const rebuild = (w: Tensor[]) => Array.from({ length: 4 }, (_, k) => w.slice(k * 4, (k + 1) * 4));
  const withStates = gradcheck((xx, hh, cc, ...w) => {
    const r = recurrent(xx, rebuild(w), { mode: 'lstm', numLayers: 2, bidirectional: true, h0: hh, c0: cc });
    return [r.output, r.h, r.c!];
  }, [x, h0, c0, ...flat]);
  assert.ok(withStates.ok, `with h0, c0: ${JSON.stringify(withStates.failure)}`);
  const zeroStates = gradcheck((xx, ...w) => {
    const r = recurrent(xx, rebuild(w), { mode: 'lstm', numLayers: 2, bidirectional: true });
    return [r.output, r.h, r.c!];
  }, [x, ...flat]);
  assert.ok(zeroStates.ok, `zero states: ${JSON.stringify(zeroStates.failure)}`);
  // d/dx of Σ output², differentiated again (the op's recorded backward is the step-by-step definition's).
  const second = gradcheck((xx, ...w) => {
    const r = recurrent(xx, rebuild(w), { mode: 'lstm', numLayers: 2, bidirectional: true, h0, c0 });
    return grad(r.output.square().sum(), [xx], { createGraph: true })[0]!;
  }, [x, ...flat]);
  assert.ok(second.ok, `second order: ${JSON.stringify(second.failure)}`);
});

// ---------------------------------------------------------------------------------------------
// Variable-length batches.

test('lengths: each sequence gives what it gives alone, unpadded; padded steps give zeros and no gradient', () => {
  manualSeed(1);
  const lstm = new LSTM(3, 4, { numLayers: 2, bidirectional: true, batchFirst: true });
  const lengths = [2, 6, 4];
  const x = randn([3, 6, 3]).setRequiresGrad(true);
  const [out, [h, c]] = lstm.forward(x, null, { lengths });
  assert.deepEqual(out.shape, [3, 6, 8]);
  for (let b = 0; b < 3; b++) {
    const n = lengths[b];
    const xb = x.detach().narrow(0, b, 1).narrow(1, 0, n);
    const [ob, [hb, cb]] = lstm.forward(xb);
    const got = out.narrow(0, b, 1);
    assertTensor(got.narrow(1, 0, n), ob.shape, ob.data, { what: `output of sequence ${b}`, atol: 1e-6, rtol: 1e-5 });
    if (n < 6) assert.ok(got.narrow(1, n, 6 - n).data.every((v) => v === 0), `padded outputs of sequence ${b} are zero`);
    assertTensor(h.narrow(1, b, 1), hb.shape, hb.data, { what: `final h of sequence ${b}`, atol: 1e-6, rtol: 1e-5 });
    assertTensor(c.narrow(1, b, 1), cb.shape, cb.data, { what: `final c of sequence ${b}`, atol: 1e-6, rtol: 1e-5 });
  }
  // Gradients: nothing reaches the padded inputs; changing them changes nothing.
  out.sum().add(h.sum()).add(c.sum()).backward();
  const gx = x.grad!;
  const grads1 = lstm.parameters().map((p) => Float32Array.from(p.grad!.data));
  for (let b = 0; b < 3; b++) {
    for (let t = lengths[b]; t < 6; t++) assert.ok(gx.narrow(0, b, 1).narrow(1, t, 1).data.every((v) => v === 0), `no gradient at padded step ${t} of sequence ${b}`);
  }
  const x2 = tensor(Float32Array.from(x.data, (v, i) => (Math.floor(i / 3) % 6 >= lengths[Math.floor(i / 18)] ? v * 100 + 7 : v)), { shape: [3, 6, 3] });
  lstm.zeroGrad();
  const [out2, [h2, c2]] = lstm.forward(x2, null, { lengths: tensor(Int32Array.from(lengths), { shape: [3] }) });
  assertTensor(out2, out.shape, out.data, { what: 'output with other padding values', atol: 0, rtol: 0 });
  assertTensor(h2, h.shape, h.data, { what: 'h with other padding values', atol: 0, rtol: 0 });
  assertTensor(c2, c.shape, c.data, { what: 'c with other padding values', atol: 0, rtol: 0 });
  out2.sum().add(h2.sum()).add(c2.sum()).backward();
  lstm.parameters().forEach((p, i) => assertTensor(p.grad!, p.shape, grads1[i], { what: `param grad ${i} with other padding values`, atol: 1e-6, rtol: 1e-5 }));
});

test('lengths: all full length is the same as no lengths; GRU and RNN hold their state after the end', () => {
  manualSeed(2);
  for (const m of [new GRU(2, 3), new RNN(2, 3, { nonlinearity: 'relu' })]) {
    const x = randn([4, 2, 2]);
    const [o1, h1] = m.forward(x);
    const [o2, h2] = m.forward(x, null, { lengths: [4, 4] });
    assertTensor(o2, o1.shape, o1.data, { what: 'output', atol: 0, rtol: 0 });
    assertTensor(h2, h1.shape, h1.data, { what: 'h', atol: 0, rtol: 0 });
    const [o3, h3] = m.forward(x, null, { lengths: [2, 4] });
    const [o4, h4] = m.forward(x.narrow(0, 0, 2));
    assertTensor(h3.narrow(1, 0, 1), [1, 1, 3], h4.narrow(1, 0, 1).data, { what: 'final state of the short sequence', atol: 1e-6, rtol: 1e-5 });
    assertTensor(o3.narrow(0, 0, 2), o4.shape, o4.data, { what: 'outputs before the end', atol: 1e-6, rtol: 1e-5 });
  }
});

// ---------------------------------------------------------------------------------------------
// Dropout between layers.

test('dropout acts between layers in training only, and is reproducible with a seeded generator', () => {
  manualSeed(3);
  const x = randn([5, 2, 3]);
  const make = (p: number, seed: number) => { manualSeed(9); return new LSTM(3, 4, { numLayers: 2, dropout: p, generator: new Generator(seed) }); };
  const [ref] = make(0, 0).forward(x);
  const drop = make(0.5, 1);
  const [a] = drop.forward(x);
  assert.ok(a.data.some((v, i) => Math.abs(v - ref.data[i]) > 1e-4), 'training output differs from no dropout');
  const [b] = make(0.5, 1).forward(x);
  assertTensor(b, a.shape, a.data, { what: 'same generator seed, same masks', atol: 0, rtol: 0 });
  drop.eval();
  const [e] = drop.forward(x);
  assertTensor(e, ref.shape, ref.data, { what: 'eval mode: no dropout', atol: 0, rtol: 0 });
  manualSeed(9);
  const single = new LSTM(3, 4, { dropout: 0.9 });
  manualSeed(9);
  const plain = new LSTM(3, 4);
  assertTensor(single.forward(x)[0], ref.shape.slice(0, 2).concat(4), plain.forward(x)[0].data, { what: 'one layer: nothing to drop', atol: 0, rtol: 0 });
});

// ---------------------------------------------------------------------------------------------
// Modules: names, shapes, initialisation, display.

test('parameter names, shapes and order follow PyTorch; initialisation is uniform in ±1/√hiddenSize', () => {
  manualSeed(4);
  const lstm = new LSTM(5, 8, { numLayers: 2, bidirectional: true });
  const shapes = Object.fromEntries(lstm.namedParameters().map(([n, p]) => [n, p.shape.join('x')]));
  assert.deepEqual(shapes, {
    weight_ih_l0: '32x5', weight_hh_l0: '32x8', bias_ih_l0: '32', bias_hh_l0: '32',
    weight_ih_l0_reverse: '32x5', weight_hh_l0_reverse: '32x8', bias_ih_l0_reverse: '32', bias_hh_l0_reverse: '32',
    weight_ih_l1: '32x16', weight_hh_l1: '32x8', bias_ih_l1: '32', bias_hh_l1: '32',
    weight_ih_l1_reverse: '32x16', weight_hh_l1_reverse: '32x8', bias_ih_l1_reverse: '32', bias_hh_l1_reverse: '32',
  });
  assert.deepEqual(new GRU(2, 3, { bias: false }).namedParameters().map(([n, p]) => `${n}:${p.shape.join('x')}`), ['weight_ih_l0:9x2', 'weight_hh_l0:9x3']);
  assert.deepEqual(new GRUCell(2, 3).namedParameters().map(([n, p]) => `${n}:${p.shape.join('x')}`), ['weight_ih:9x2', 'weight_hh:9x3', 'bias_ih:9', 'bias_hh:9']);
  const bound = 1 / Math.sqrt(8);
  const all = lstm.parameters().flatMap((p) => Array.from(p.data));
  assert.ok(all.every((v) => Math.abs(v) <= bound), 'within the bound');
  const mean = all.reduce((s, v) => s + v, 0) / all.length, meanSq = all.reduce((s, v) => s + v * v, 0) / all.length;
  assert.ok(Math.abs(mean) < 0.01 && Math.abs(meanSq - bound * bound / 3) < 0.003, `uniform moments: mean ${mean}, E[x²] ${meanSq}`);
  assert.equal(lstm.allWeights.length, 4);
  assert.equal(lstm.toString(), 'LSTM(5, 8, numLayers=2, bidirectional=true)');
  assert.equal(new RNN(3, 4, { nonlinearity: 'relu', batchFirst: true }).toString(), 'RNN(3, 4, batchFirst=true, nonlinearity=relu)');
  assert.equal(new RNNCell(3, 4, { bias: false, nonlinearity: 'identity' }).toString(), 'RNNCell(3, 4, bias=false, nonlinearity=identity)');
});

test('state dicts round-trip between layers; unbatched inputs give unbatched outputs', () => {
  manualSeed(5);
  const a = new GRU(3, 4, { numLayers: 2 }), b = new GRU(3, 4, { numLayers: 2 });
  b.loadStateDict(a.stateDict());
  const x = randn([6, 3]);
  const [oa, ha] = a.forward(x), [ob, hb] = b.forward(x);
  assert.deepEqual(oa.shape, [6, 4]);
  assert.deepEqual(ha.shape, [2, 4]);
  assertTensor(ob, oa.shape, oa.data, { atol: 0, rtol: 0 });
  assertTensor(hb, ha.shape, ha.data, { atol: 0, rtol: 0 });
  const [ou] = a.forward(x.unsqueeze(1));
  assertTensor(ou, [6, 1, 4], oa.data, { what: 'batch of one', atol: 0, rtol: 0 });
});

test('cells in a hand-written loop give the sequence layer\'s results', () => {
  manualSeed(6);
  const lstm = new LSTM(3, 4), cell = new LSTMCell(3, 4);
  const p = Object.fromEntries(lstm.namedParameters());
  cell.loadStateDict({ weight_ih: p.weight_ih_l0, weight_hh: p.weight_hh_l0, bias_ih: p.bias_ih_l0, bias_hh: p.bias_hh_l0 });
  const x = randn([5, 2, 3]);
  const [out, [hN, cN]] = lstm.forward(x);
  let state: [Tensor, Tensor] | null = null;
  for (let t = 0; t < 5; t++) {
    state = cell.forward(x.narrow(0, t, 1).reshape(2, 3), state);
    assertTensor(state[0], [2, 4], out.narrow(0, t, 1).data, { what: `h at step ${t}`, atol: 1e-6, rtol: 1e-5 });
  }
  assertTensor(state![0], [2, 4], hN.data, { what: 'final h', atol: 1e-6, rtol: 1e-5 });
  assertTensor(state![1], [2, 4], cN.data, { what: 'final c', atol: 1e-6, rtol: 1e-5 });
});

// ---------------------------------------------------------------------------------------------
// Bad input and bad configuration: errors that name the layer, the argument and the shapes.

test('bad inputs give errors naming the layer and the shapes', () => {
  const lstm = new LSTM(3, 4, { numLayers: 2 });
  const rnn = new RNN(3, 4, { batchFirst: true, bidirectional: true });
  const x = zeros([5, 2, 3]);
  assert.throws(() => lstm.forward(zeros([5, 2, 3, 1])), /^ShapeError: LSTM: input must be 3-D \[seq, batch, features\] or 2-D \[seq, features\] \(unbatched\), got \[5,2,3,1\]$/);
  assert.throws(() => rnn.forward(zeros([3])), /RNN: input must be 3-D \[batch, seq, features\] \(batchFirst\) or 2-D .*got \[3\]/);
  assert.throws(() => lstm.forward(zeros([5, 2, 7])), /^ShapeError: LSTM: input has 7 features but inputSize is 3 \(input \[5,2,7\], \[seq, batch, features\]\)$/);
  assert.throws(() => rnn.forward(zeros([2, 5, 4])), /RNN: input has 4 features but inputSize is 3 \(input \[2,5,4\], batchFirst \[batch, seq, features\]\)/);
  assert.throws(() => new GRU(3, 4).forward(zeros([0, 2, 3])), /GRU: input must hold at least one step and one sequence, got \[0,2,3\]/);
  // Initial states.
  assert.throws(() => rnn.forward(zeros([2, 5, 3]), zeros([1, 2, 4])), /^ShapeError: RNN: h0 must have shape \[2,2,4\] \(numLayers·directions, batch, hiddenSize\), got \[1,2,4\] \(input \[2,5,3\]\)$/);
  assert.throws(() => lstm.forward(x, [zeros([2, 2, 4]), zeros([2, 3, 4])]), /LSTM: c0 must have shape \[2,2,4\] .*got \[2,3,4\]/);
  assert.throws(() => lstm.forward(x, [zeros([2, 2, 4])] as unknown as [Tensor, Tensor]), /LSTM: hx must be a pair \[h0, c0\]/);
  assert.throws(() => new GRU(3, 4).forward(zeros([5, 3]), zeros([1, 2, 4])), /GRU: h0 must have shape \[1,4\] \(numLayers·directions, hiddenSize\), got \[1,2,4\] \(input \[5,3\]\)/);
  // Lengths.
  assert.throws(() => lstm.forward(x, null, { lengths: [5, 9] }), /^ShapeError: LSTM: lengths\[1\] = 9 is longer than the sequence \(5 steps, input \[5,2,3\]\)$/);
  assert.throws(() => lstm.forward(x, null, { lengths: [5, 0] }), /^ArgumentError: LSTM: lengths\[1\] must be a positive integer, got 0$/);
  assert.throws(() => lstm.forward(x, null, { lengths: [-1, 2] }), /lengths\[0\] must be a positive integer, got -1/);
  assert.throws(() => lstm.forward(x, null, { lengths: [2.5, 2] }), /lengths\[0\] must be a positive integer, got 2.5/);
  assert.throws(() => lstm.forward(x, null, { lengths: [5, 4, 3] }), /^ShapeError: LSTM: lengths has 3 entries but the batch has 2 sequences \(input \[5,2,3\]\)$/);
  assert.throws(() => lstm.forward(x, null, { lengths: tensor([5, 4]) }), /LSTM: lengths must be a 1-D int32 tensor or an array of integers, got a float32 tensor of shape \[2\]/);
  assert.throws(() => lstm.forward(x, null, { length: [5, 4] } as never), /LSTM: unknown option 'length'/);
  // Cells.
  const cell = new LSTMCell(3, 4);
  assert.throws(() => cell.forward(zeros([2, 2, 3])), /^ShapeError: LSTMCell: input must be 2-D \[batch, inputSize\] or 1-D \[inputSize\] \(unbatched\), got \[2,2,3\]$/);
  assert.throws(() => cell.forward(zeros([2, 5])), /^ShapeError: LSTMCell: input has 5 features but inputSize is 3 \(input \[2,5\]\)$/);
  assert.throws(() => cell.forward(zeros([2, 3]), [zeros([2, 4]), zeros([3, 4])]), /^ShapeError: LSTMCell: hx\[1\] \(c\) must have shape \[2,4\] \(batch, hiddenSize\), got \[3,4\] \(input \[2,3\]\)$/);
  assert.throws(() => new GRUCell(3, 4).forward(zeros([3]), zeros([1, 4])), /GRUCell: hx must have shape \[4\] \(hiddenSize, for unbatched input\), got \[1,4\]/);
  assert.throws(() => new RNNCell(3, 4).forward(zeros([2, 3]), zeros([2, 5])), /RNNCell: hx must have shape \[2,4\]/);
});

test('bad configurations are rejected at construction, naming the layer and the argument', () => {
  assert.throws(() => new LSTM(3, 4, { dropout: 1.5 }), /^ArgumentError: LSTM: dropout must be a number in \[0, 1\], got 1.5$/);
  assert.throws(() => new GRU(3, 4, { dropout: -0.1 }), /GRU: dropout must be a number in \[0, 1\], got -0.1/);
  assert.throws(() => new RNN(3, 4, { dropout: NaN }), /RNN: dropout must be a number in \[0, 1\], got NaN/);
  assert.throws(() => new LSTM(3, 4, { numLayers: 0 }), /^ArgumentError: LSTM: numLayers must be a positive integer, got 0$/);
  assert.throws(() => new LSTM(3, 4, { numLayers: 1.5 }), /LSTM: numLayers must be a positive integer, got 1.5/);
  assert.throws(() => new GRU(0, 4), /GRU: inputSize must be a positive integer, got 0/);
  assert.throws(() => new RNN(3, -2), /RNN: hiddenSize must be a positive integer, got -2/);
  assert.throws(() => new RNN(3, 4, { nonlinearity: 'sigmoid' as never }), /RNN: nonlinearity must be 'tanh', 'relu' or 'identity', got 'sigmoid'/);
  assert.throws(() => new RNNCell(3, 4, { nonlinearity: 'gelu' as never }), /RNNCell: nonlinearity must be/);
  assert.throws(() => new LSTM(3, 4, { bidirectional: 'yes' as never }), /LSTM: bidirectional must be true or false, got yes/);
  assert.throws(() => new LSTM(3, 4, { batch_first: true } as never), /LSTM: unknown option 'batch_first'; did you mean 'batchFirst'\?/);
  assert.throws(() => new GRU(3, 4, { nonlinearity: 'tanh' } as never), /GRU: unknown option 'nonlinearity'/);
  assert.throws(() => new LSTM(3, 4, { projSize: 2 } as never), /^NotSupportedError: LSTM: option 'projSize' is not supported \(LSTMs with projections \(proj_size\) are not implemented\)$/);
  assert.throws(() => new LSTM(3, 4, { proj_size: 2 } as never), /NotSupportedError: LSTM: option 'proj_size' is not supported/);
  assert.throws(() => new GRUCell(3, 4, { dtype: 'float64' } as never), /NotSupportedError: GRUCell: option 'dtype' is not supported/);
  assert.doesNotThrow(() => new LSTM(3, 4, { projSize: 0 } as never));
  assert.throws(() => recurrent(zeros([2, 1, 3]), [[zeros([4, 3]), zeros([4, 4])]], { mode: 'gru' }), /recurrent: weightHh must be \[3·hiddenSize, hiddenSize\], got \[4,4\]/);
});

// ---------------------------------------------------------------------------------------------
// The row-RNN model, the examples and the benchmark workload.

test('models.rowRnn: PyTorch parameter counts and names, logits for [N,1,28,28] digits, createModel-style shapes', () => {
  const count = (m: nn.Module) => m.parameters().reduce((s, p) => s + p.size, 0);
  assert.equal(count(rowRnn()), fixtures.paramCounts.rowRnn_lstm);
  assert.equal(count(rowRnn({ cell: 'gru' })), fixtures.paramCounts.rowRnn_gru);
  assert.equal(count(rowRnn({ cell: 'rnn' })), fixtures.paramCounts.rowRnn_rnn);
  const deep = rowRnn({ cell: 'lstm', hiddenSize: 64, numLayers: 2 });
  assert.equal(count(deep), fixtures.paramCounts.rowRnn_lstm_h64_l2);
  assert.deepEqual(Object.keys(deep.stateDict()), fixtures.paramNames.rowRnn_lstm_h64_l2);
  manualSeed(8);
  const x = rand([3, 1, 28, 28]);
  for (const cell of ['lstm', 'gru', 'rnn'] as const) {
    const m = rowRnn({ cell, hiddenSize: 16 });
    const y = m.forward(x);
    assert.deepEqual(y.shape, [3, 10]);
    // The same as the layer on the [N, 28, 28] rows, last layer's final state → fc.
    const seq = x.reshape(3, 28, 28);
    const hN = m.rnn instanceof LSTM ? m.rnn.forward(seq)[1][0] : (m.rnn as RNN | GRU).forward(seq)[1];
    assertTensor(y, [3, 10], m.fc.forward(hN.reshape(3, 16)).data, { what: `${cell} logits`, atol: 1e-6, rtol: 1e-5 });
  }
  const colour = new RowRnn({ inChannels: 3, numClasses: 4, inputSize: 8, hiddenSize: 5 });
  assert.deepEqual(colour.forward(rand([2, 3, 8, 8])).shape, [2, 4]);
  assert.equal(colour.rnn.inputSize, 24);
  assert.throws(() => rowRnn().forward(rand([2, 1, 28, 27])), /RowRnn: input must be \[N, 1, 28, 28\] images or \[N, 28, 28\] row sequences, got \[2,1,28,27\]/);
  assert.throws(() => rowRnn({ cell: 'tcn' as never }), /RowRnn: cell must be 'lstm', 'gru' or 'rnn', got 'tcn'/);
});

test('the scalar identity-activation RNN of examples/rnn-graph.ts, rebuilt with RNNCell, gives the same numbers', () => {
  // h_t = Wh·h_{t−1} + Wx·x_t (RNNCell, nonlinearity 'identity', no bias), ŷ_t = Wy·h_t, L = Σ (ŷ_t − y_t)².
  const cell = new RNNCell(1, 1, { bias: false, nonlinearity: 'identity' });
  const head = new nn.Linear(1, 1, { bias: false });
  noGrad(() => { cell.weight_hh.data[0] = 1; cell.weight_ih.data[0] = 0.1; head.weight.data[0] = 2; });
  let h = tensor([[1]]);
  const hs: Tensor[] = [], yHat: Tensor[] = [];
  let loss: Tensor | null = null;
  [10, 10].forEach((xt, i) => {
    h = cell.forward(tensor([[xt]]), h).retainGrad();
    hs.push(h);
    const y = head.forward(h);
    yHat.push(y);
    const term = y.sub(tensor([[[5, 5][i]]])).pow(2).sum();
    loss = loss ? loss.add(term) : term;
  });
  loss!.backward();
  const ref = scalarRnn();
  const near = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-5, `${what}: ${a} vs ${b}`);
  near(yHat[0].item(), 4, 'ŷ1'); near(yHat[1].item(), 6, 'ŷ2'); near(loss!.item(), 2, 'L');
  near(hs[0].grad!.item(), 0, '∂L/∂h1'); near(hs[1].grad!.item(), 4, '∂L/∂h2');
  near(cell.weight_hh.grad!.item(), 8, '∂L/∂Wh'); near(cell.weight_ih.grad!.item(), 40, '∂L/∂Wx'); near(head.weight.grad!.item(), 2, '∂L/∂Wy');
  // ... which are the numbers of the scalar-tensor version.
  near(yHat[1].item(), ref.yHat[1].item(), 'ŷ2 as rnn-graph');
  near(cell.weight_hh.grad!.item(), ref.params.Wh.grad!.item(), 'Wh grad as rnn-graph');
  near(cell.weight_ih.grad!.item(), ref.params.Wx.grad!.item(), 'Wx grad as rnn-graph');
  near(head.weight.grad!.item(), ref.params.Wy.grad!.item(), 'Wy grad as rnn-graph');
  near(hs[0].grad!.item(), ref.h[0].grad!.item(), 'h1 grad as rnn-graph');
  // The same through the sequence layer with the identity extension.
  const rnn = new RNN(1, 1, { bias: false, nonlinearity: 'identity' });
  noGrad(() => { rnn.parameters()[0].data[0] = 0.1; rnn.parameters()[1].data[0] = 1; });
  const [out] = rnn.forward(tensor([[[10]], [[10]]]), tensor([[[1]]]));
  assert.deepEqual(Array.from(out.data), [2, 3]);
});

test('examples/vanishing-gradients.ts: the tanh RNN\'s ‖∂L/∂h_t‖ vanishes towards early steps; an LSTM with forget bias 1 keeps far more', () => {
  const series = gradientNorms({ batch: 16, steps: 28 });
  const by = Object.fromEntries(series.map((s) => [s.name, s.norms]));
  const rnnNorms = by['tanh RNN (PyTorch init)'], lstm1 = by['LSTM, forget-gate bias 1'], lstm = by['LSTM (PyTorch init)'];
  assert.equal(rnnNorms.length, 28);
  for (let t = 1; t < 28; t++) assert.ok(rnnNorms[t - 1] < rnnNorms[t], `RNN norm grows towards the last step (t = ${t})`);
  const ratio = (n: number[]) => n[0] / n[n.length - 1];
  assert.ok(ratio(rnnNorms) < 1e-5, `RNN: ‖∂L/∂h_1‖/‖∂L/∂h_28‖ = ${ratio(rnnNorms)}`);
  assert.ok(ratio(lstm1) > 100 * ratio(rnnNorms), `LSTM (forget bias 1) ${ratio(lstm1)} vs RNN ${ratio(rnnNorms)}`);
  assert.ok(ratio(lstm) < 1e-4, `LSTM at PyTorch's init (forget gate ≈ 0.5) also vanishes: ${ratio(lstm)}`);
});

test('bench W7: one training step of the row LSTM runs and its loss goes down on the fixed batch', () => {
  const { step } = w7Step(8);
  const first = step();
  let last = first;
  for (let i = 0; i < 4; i++) last = step();
  assert.ok(Number.isFinite(first) && Math.abs(first - Math.log(10)) < 0.2, `first loss ≈ ln 10, got ${first}`);
  assert.ok(last < first, `loss ${first} → ${last}`);
});

test('examples/row-rnn.ts trains with fit, Adam and clipGradNorm (a short run)', async () => {
  const r = await trainRowRnn({ epochs: 1, limit: 64, hiddenSize: 16, batchSize: 32 });
  assert.equal(r.history.length, 1);
  assert.ok(Number.isFinite(r.history[0].trainLoss));
  assert.ok(r.testAccuracy >= 0 && r.testAccuracy <= 1);
});
