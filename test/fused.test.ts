/**
 * The fused inference ops (conv2dFused: convolution + bias + ReLU + max pooling; linearFused: dense
 * layer + ReLU) against their composed definitions, on the js backend, the wasm backend with one
 * and two threads and the native backend: the same values bit for bit (the stages do the same arithmetic), the same
 * gradients when a graph is recorded, hooks still seeing the layers they are on, and LeNet-5's
 * forward unchanged.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ArgumentError, Generator, ShapeError, Tensor, enableGrad, getBackend, listBackends, maxPool2d, models, nn, noGrad, randn, relu, setBackend,
  withGradientRules, type GradientRuleContext,
} from '../src/index.js';
import { registerBackend } from '../src/backend/backend.js';
import { createWasmBackend } from '../src/backend/wasm/index.js';
import type { Conv2dFusedOptions } from '../src/ops/conv.js';

const F = nn.functional;
const initial = getBackend().name;
after(() => setBackend(initial));

registerBackend({ ...(await createWasmBackend({ threads: 1 })), name: 'fused-wasm-1' });
registerBackend({ ...(await createWasmBackend({ threads: 2 })), name: 'fused-wasm-2' });
// A memory of 4 MiB: LeNet's first block on 256 images (about 4.4 MB with the GEMM's scratch) does not fit in one call, so it runs by halves of the batch.
registerBackend({ ...(await createWasmBackend({ threads: 1, maxMemory: 4 << 20 })), name: 'fused-wasm-small' });
const BACKENDS = ['js', 'fused-wasm-1', 'fused-wasm-2', 'fused-wasm-small', 'native'].filter((n) => listBackends().includes(n));
/** Where the composed ops run for the comparison: the same kernels, with memory for the unsplit pooling. */
const composedOn = (backend: string): string => (backend === 'fused-wasm-small' ? 'fused-wasm-1' : backend);
/** f() on `backend`, then the backend of the test restored. */
function on<T>(backend: string, f: () => T): T {
  const current = getBackend().name;
  setBackend(backend);
  try { return f(); } finally { setBackend(current); }
}

/** Same values element for element: equal (0 and −0 apart), or both NaN. */
function assertIdentical(got: Tensor, want: Tensor, what: string): void {
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  assert.equal(got.dtype, want.dtype, `${what}: dtype`);
  for (let i = 0; i < want.size; i++) {
    const a = got.data[i], e = want.data[i];
    if (Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e))) continue;
    assert.fail(`${what}[${i}]: got ${a}, composed ${e}`);
  }
}

const composedConv = (x: Tensor, w: Tensor, b: Tensor | null, o: Conv2dFusedOptions): Tensor => {
  const { relu: r, maxPool, ...conv } = o;
  const y = r ? relu(F.conv2d(x, w, b, conv)) : F.conv2d(x, w, b, conv);
  if (!maxPool) return y;
  const { kernelSize, ...poolOptions } = maxPool;
  return maxPool2d(y, kernelSize, poolOptions);
};

interface ConvCase { name: string; x: number[]; w: number[]; bias: boolean; options: Conv2dFusedOptions }
const CONV_CASES: ConvCase[] = [
  { name: 'LeNet block 1', x: [256, 1, 28, 28], w: [6, 1, 5, 5], bias: true, options: { padding: 2, relu: true, maxPool: { kernelSize: 2 } } },
  { name: 'LeNet block 2', x: [64, 6, 14, 14], w: [16, 6, 5, 5], bias: true, options: { relu: true, maxPool: { kernelSize: 2 } } },
  { name: '3×3 same, no bias, ReLU only', x: [3, 5, 9, 11], w: [7, 5, 3, 3], bias: false, options: { padding: 'same', relu: true } },
  { name: 'even kernel, same padding (padded input)', x: [2, 3, 8, 8], w: [4, 3, 4, 4], bias: true, options: { padding: 'same', maxPool: { kernelSize: 2 } } },
  { name: 'stride 2, groups 2, no ReLU', x: [3, 4, 13, 10], w: [6, 2, 3, 3], bias: true, options: { stride: 2, padding: 1, groups: 2, maxPool: { kernelSize: 3, stride: 2, padding: 1, ceilMode: true } } },
  { name: 'dilation, pooling with dilation', x: [2, 3, 17, 15], w: [5, 3, 3, 3], bias: true, options: { dilation: 2, relu: true, maxPool: { kernelSize: [2, 3], dilation: 2 } } },
  { name: 'pointwise', x: [4, 8, 6, 6], w: [8, 8, 1, 1], bias: true, options: { relu: true, maxPool: { kernelSize: 2, ceilMode: true } } },
  { name: 'convolution alone', x: [2, 3, 7, 7], w: [5, 3, 3, 3], bias: true, options: {} },
];

for (const c of CONV_CASES) {
  test(`conv2dFused equals maxPool2d(relu(conv2d)) bit for bit: ${c.name}`, () => {
    const g = new Generator(7);
    const x = randn(c.x, { generator: g }), w = randn(c.w, { generator: g }), b = c.bias ? randn([c.w[0]], { generator: g }) : null;
    for (const backend of BACKENDS) {
      setBackend(backend);
      noGrad(() => assertIdentical(F.conv2dFused(x, w, b, c.options), on(composedOn(backend), () => composedConv(x, w, b, c.options)), `${backend} ${c.name}`));
    }
  });
}

test('conv2dFused: float64, unbatched input, NaN and infinities pass as in the composed ops', () => {
  const g = new Generator(3);
  const x = randn([3, 10, 10], { generator: g }), w = randn([4, 3, 3, 3], { generator: g }), b = randn([4], { generator: g });
  x.data[5] = NaN; x.data[40] = Infinity; x.data[77] = -Infinity;
  const options: Conv2dFusedOptions = { padding: 1, relu: true, maxPool: { kernelSize: 2 } };
  for (const backend of BACKENDS) {
    setBackend(backend);
    noGrad(() => {
      assertIdentical(F.conv2dFused(x, w, b, options), composedConv(x, w, b, options), `${backend} float32 with NaN`);
      const [x64, w64, b64] = [x, w, b].map((t) => t.to('float64'));
      assertIdentical(F.conv2dFused(x64, w64, b64, options), composedConv(x64, w64, b64, options), `${backend} float64`);
    });
  }
  // A 1×1 convolution keeps each NaN in its pixel: NaNs at every corner of a 2×2 window (and past
  // the last whole group of four windows in a row), and a row of tied zeros.
  const xp = randn([2, 3, 6, 13], { generator: g }), wp = randn([4, 3, 1, 1], { generator: g });
  for (const [y, x] of [[0, 1], [2, 4], [3, 7], [5, 11], [1, 10]]) xp.data[(3 * 6 + y) * 13 + x] = NaN;
  xp.data[2 * 13 + 6] = Infinity; xp.data[4 * 13 + 2] = -Infinity;
  for (let c = 0; c < 3; c++) xp.data.fill(0, ((3 + c) * 6 + 2) * 13, ((3 + c) * 6 + 3) * 13);
  for (const relu of [true, false]) {
    const pointwise: Conv2dFusedOptions = { relu, maxPool: { kernelSize: 2 } };
    for (const backend of BACKENDS) {
      setBackend(backend);
      noGrad(() => assertIdentical(F.conv2dFused(xp, wp, null, pointwise), composedConv(xp, wp, null, pointwise), `${backend} 1×1 with NaN${relu ? ', ReLU' : ''}`));
    }
  }
});

/** The gradients of the inputs of f()'s sum of squares, from cleared `.grad`s. */
function gradsOf(inputs: Tensor[], f: () => Tensor): Tensor[] {
  for (const t of inputs) t.grad = null;
  f().square().sum().backward();
  return inputs.map((t) => t.grad!);
}

/** f()'s result and how many times it ran the ReLU kernel on its own (not inside a fused kernel). */
function countingReluKernels<T>(f: () => T): [T, number] {
  const k = getBackend().kernels, unary = k.unary;
  let calls = 0;
  k.unary = (op, ...rest) => { if (op === 'relu') calls++; return unary(op, ...rest); };
  try { return [f(), calls]; } finally { k.unary = unary; }
}

/** The ops from `t` back along each node's first input. */
function opChain(t: Tensor): string[] {
  const ops: string[] = [];
  for (let n = t.gradFn; n; n = n.inputs[0].gradFn) ops.push(n.op);
  return ops;
}

test('conv2dFused with a gradient recorded: the convolution and the ReLU in one call, recorded as both ops; same values and gradients', () => {
  const g = new Generator(11);
  const x = randn([3, 2, 9, 9], { generator: g }).setRequiresGrad(), w = randn([4, 2, 3, 3], { generator: g }).setRequiresGrad();
  const b = randn([4], { generator: g }).setRequiresGrad();
  const options: Conv2dFusedOptions = { padding: 1, relu: true, maxPool: { kernelSize: 2 } };
  for (const backend of BACKENDS) {
    setBackend(backend);
    enableGrad(() => {
      const [fused, reluCalls] = countingReluKernels(() => F.conv2dFused(x, w, b, options));
      assert.equal(reluCalls, 0, `${backend}: the ReLU runs inside the convolution's kernel`);
      assert.deepEqual(opChain(fused), ['maxPool2d', 'relu', 'conv2d'], `${backend}: the graph`);
      assertIdentical(fused, composedConv(x, w, b, options), `${backend} values`);
      const want = gradsOf([x, w, b], () => composedConv(x, w, b, options)), got = gradsOf([x, w, b], () => F.conv2dFused(x, w, b, options));
      got.forEach((gr, i) => assertIdentical(gr, want[i], `${backend} gradient of input ${i}`));
      // A gradient rule for relu (guided backpropagation) sees the composed ops: the rule's input is the convolution's output.
      let ruleInput: Tensor | null = null;
      const guided = { relu: (gr: Tensor, c: GradientRuleContext) => { ruleInput = c.inputs[0]; return c.vjp(relu(gr), c.needsGrad); } };
      const wantGuided = withGradientRules(guided, () => gradsOf([x, w, b], () => composedConv(x, w, b, options)));
      withGradientRules(guided, () => gradsOf([x, w, b], () => F.conv2dFused(x, w, b, options))).forEach((gr, i) => assertIdentical(gr, wantGuided[i], `${backend} guided gradient of input ${i}`));
      assert.ok(Array.from(ruleInput!.data).some((v) => v < 0), `${backend}: the rule saw the convolution's output, negatives included`);
    });
  }
});

test('Sequential runs Conv2d + ReLU as one fused op, unless a hook or a subclass must see the layers', () => {
  const g = new Generator(13);
  const x = randn([2, 3, 10, 10], { generator: g });
  const net = new nn.Sequential(new nn.Conv2d(3, 4, 3, { padding: 1 }), new nn.ReLU(), new nn.Conv2d(4, 5, 3), new nn.ReLU(), new nn.MaxPool2d(2));
  const [c1, , c2] = [...net] as nn.Conv2d[];
  const composed = () => maxPool2d(relu(c2.forward(relu(c1.forward(x)))), 2);
  for (const backend of BACKENDS) {
    setBackend(backend);
    const params = net.parameters();
    const [out, reluCalls] = countingReluKernels(() => net.forward(x));
    assert.equal(reluCalls, 0, `${backend}: both ReLUs run inside the convolutions' kernels`);
    assert.deepEqual(opChain(out), ['maxPool2d', 'relu', 'conv2d', 'relu', 'conv2d'], `${backend}: the graph`);
    assertIdentical(out, composed(), `${backend} values`);
    const want = gradsOf(params, composed);
    gradsOf(params, () => net.forward(x)).forEach((gr, i) => assertIdentical(gr, want[i], `${backend} gradient of parameter ${i}`));
    noGrad(() => assertIdentical(net.forward(x), composed(), `${backend} inference`));
  }
  // A forward hook on a ReLU sees its input and output: the pair runs as its two layers.
  setBackend('js');
  const relu1 = net.at(1);
  let seen: [Tensor, Tensor] | null = null;
  const remove = relu1.registerForwardHook((_m, [input], output) => { seen = [input, output]; });
  const [hooked, hookedReluCalls] = countingReluKernels(() => net.forward(x));
  assertIdentical(hooked, composed(), 'values with a hook');
  assert.equal(hookedReluCalls, 1, 'the hooked ReLU runs as a layer; the other pair stays fused');
  remove();
  assert.ok(Array.from(seen![0].data).some((v) => v < 0) && Array.from(seen![1].data).every((v) => v >= 0), 'the hook saw the convolution output and the ReLU output');
  // A subclass of Conv2d with its own forward runs it.
  class Doubled extends nn.Conv2d { override forward(t: Tensor): Tensor { return super.forward(t).mul(2); } }
  const doubled = new Doubled(3, 4, 3);
  assertIdentical(new nn.Sequential(doubled, new nn.ReLU()).forward(x), relu(doubled.forward(x)), 'a subclass');
});

test('linearFused equals relu(linear) bit for bit, with and without bias, on 1-D to 3-D inputs', () => {
  const g = new Generator(5);
  const shapes: [number[], number][] = [[[256, 400], 120], [[7, 13], 5], [[13], 9], [[2, 3, 17], 33], [[70, 300], 300]];
  for (const backend of BACKENDS) {
    setBackend(backend);
    for (const [xs, out] of shapes) {
      const x = randn(xs, { generator: g }), w = randn([out, xs[xs.length - 1]], { generator: g }), b = randn([out], { generator: g });
      noGrad(() => {
        for (const bias of [b, null]) {
          const what = `${backend} x ${xs} → ${out}${bias ? '' : ' no bias'}`;
          const plain = F.linear(x, w, bias);
          assertIdentical(F.linearFused(x, w, bias, { relu: true }), relu(plain), `${what} relu`);
          assertIdentical(plain, bias ? F.linear(x, w).add(bias) : x.matmul(w.transpose(0, 1)), `${what} against matmul`);
        }
      });
    }
  }
});

test('linearFused with a gradient recorded: the composed graph, the same gradients', () => {
  const g = new Generator(9);
  const x = randn([6, 10], { generator: g }).setRequiresGrad(), w = randn([4, 10], { generator: g }).setRequiresGrad(), b = randn([4], { generator: g }).setRequiresGrad();
  for (const backend of BACKENDS) {
    setBackend(backend);
    const want = gradsOf([x, w, b], () => relu(x.matmul(w.transpose(0, 1)).add(b))), got = gradsOf([x, w, b], () => F.linearFused(x, w, b, { relu: true }));
    got.forEach((gr, i) => assertIdentical(gr, want[i], `${backend} gradient of input ${i}`));
  }
});

test('fused ops name the op and the shapes in their errors', () => {
  setBackend('js');
  const x = randn([2, 3, 8, 8]), w = randn([4, 3, 3, 3]);
  noGrad(() => {
    assert.throws(() => F.conv2dFused(x, w, null, { pool: 2 } as never), (e: Error) => e instanceof ArgumentError && /conv2dFused/.test(e.message) && /pool/.test(e.message));
    assert.throws(() => F.conv2dFused(x, w, null, { maxPool: { kernelSize: 2, ceil: true } as never }), (e: Error) => e instanceof ArgumentError && /maxPool2d/.test(e.message));
    assert.throws(() => F.conv2dFused(randn([2, 5, 8, 8]), w), (e: Error) => e instanceof ShapeError && /conv2d/.test(e.message) && /\[2, ?5, ?8, ?8\]|5 channels/.test(e.message));
    assert.throws(() => F.conv2dFused(x, w, randn([3])), (e: Error) => e instanceof ShapeError && /bias/.test(e.message));
    assert.throws(() => F.conv2dFused(randn([2, 3, 4, 4]), w, null, { maxPool: { kernelSize: 5 } }), (e: Error) => e instanceof ShapeError && /maxPool2d/.test(e.message));
    assert.throws(() => F.linearFused(randn([2, 5]), randn([3, 4])), (e: Error) => e instanceof ShapeError && /linear/.test(e.message) && /5 features/.test(e.message));
  });
});

test('LeNet-5: the fused forward gives the composed logits, and hooks on a layer still see its output', () => {
  const net = models.lenet5().eval();
  const x = randn([20, 1, 28, 28], { generator: new Generator(1) });
  const composed = (): Tensor => {
    let h = maxPool2d(relu(net.conv1.forward(x)), 2);
    h = maxPool2d(relu(net.conv2.forward(h)), 2);
    h = relu(net.fc1.forward(h.flatten(1)));
    return net.fc3.forward(relu(net.fc2.forward(h)));
  };
  for (const backend of BACKENDS) {
    setBackend(backend);
    noGrad(() => {
      const want = composed();
      assertIdentical(net.forward(x), want, `${backend} logits`);
      let seen: Tensor | null = null;
      const remove = net.conv2.registerForwardHook((_m, _i, out) => { seen = out; });
      assertIdentical(net.forward(x), want, `${backend} logits with a hook`);
      remove();
      assert.deepEqual(seen!.shape, [20, 16, 10, 10], 'the hook saw conv2 before ReLU and pooling');
    });
  }
});

test('nn layers: forwardFused under training records the same graph as forward', () => {
  setBackend('js');
  const conv = new nn.Conv2d(2, 3, 3, { padding: 1, paddingMode: 'reflect' }), fc = new nn.Linear(3 * 4 * 4, 5);
  const x = randn([2, 2, 8, 8]);
  const fused = fc.forwardFused(conv.forwardFused(x, { relu: true, maxPool: { kernelSize: 2 } }).flatten(1), { relu: true });
  const composed = relu(fc.forward(maxPool2d(relu(conv.forward(x)), 2).flatten(1)));
  assertIdentical(fused, composed, 'reflect padding and training');
  assert.ok(fused.gradFn);
  assert.throws(() => fc.forwardFused(randn([2, 48]), { act: 'relu' } as never), /Linear\.forwardFused/);
});
