import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { importOnnx } from '../src/io/onnx/import.js';
import { DataType, OnnxError, encodeModel } from '../src/io/onnx/proto.js';
import { NotSupportedError } from '../src/errors.js';
import { tensor } from '../src/creation.js';
import { mul, sub } from '../src/ops/elementwise.js';
import { sum } from '../src/ops/reduce.js';
import { assertClose } from './helpers/assert.js';
import { exportOnnx } from '../src/io/onnx/export.js';
import { Module } from '../src/nn/module.js';
import { Sequential } from '../src/nn/layers/container.js';
import { Conv2d, ConvTranspose2d } from '../src/nn/layers/conv.js';
import { Linear } from '../src/nn/layers/linear.js';
import { BatchNorm1d } from '../src/nn/layers/norm.js';
import { ELU, Flatten, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh } from '../src/nn/layers/activation.js';
import { Dropout } from '../src/nn/layers/dropout.js';
import { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d, Upsample } from '../src/nn/layers/pool.js';
import { LeNet5 } from '../src/models/lenet.js';
import { ResNet } from '../src/models/resnet.js';
import { UNet } from '../src/models/unet.js';
import { Generator } from '../src/random.js';
import { rand, randn } from '../src/creation.js';
import { noGrad } from '../src/autograd/grad-mode.js';
import { SGD } from '../src/optim/sgd.js';

interface Enc { shape: number[]; data: number[] }
interface Case { name: string; onnx: string; input: Enc; output: Enc; probe: Enc; inputGrad: Enc; paramGrads: Record<string, Enc> }
const fx = JSON.parse(readFileSync(new URL('./fixtures/onnx.json', import.meta.url), 'utf8')) as { cases: Case[] };
const bytesOf = (c: Case) => new Uint8Array(Buffer.from(c.onnx, 'base64'));
const t = (e: Enc) => tensor(e.data, { shape: e.shape });

for (const c of fx.cases.filter((c) => c.name !== 'erf')) {
  test(`importOnnx: ${c.name} exported by torch.onnx.export gives PyTorch's output and gradients`, () => {
    const net = importOnnx(bytesOf(c)).eval();
    assert.deepEqual(net.namedParameters().map(([n]) => n).sort(), Object.keys(c.paramGrads).sort());
    const x = t(c.input).setRequiresGrad(true);
    const y = net.forward(x);
    assert.deepEqual(y.shape, c.output.shape);
    assertClose(y.data, c.output.data, { atol: 1e-5, what: 'output' });
    sum(mul(y, t(c.probe))).backward();
    assertClose(x.grad!.data, c.inputGrad.data, { atol: 1e-5, what: 'input gradient' });
    for (const [name, p] of net.namedParameters()) assertClose(p.grad!.data, c.paramGrads[name].data, { atol: 1e-5, what: `gradient of ${name}` });
  });
}

test('importOnnx: dynamic batch (one image through a graph exported with two)', () => {
  const c = fx.cases.find((c) => c.name === 'lenet5')!;
  const net = importOnnx(bytesOf(c)).eval();
  const one = tensor(c.input.data.slice(0, 256), { shape: [1, 1, 16, 16] });
  assertClose(net.forward(one).data, c.output.data.slice(0, 10), { atol: 1e-5 });
});

test('importOnnx: an unsupported operator is an error naming the operator and the node', () => {
  const c = fx.cases.find((c) => c.name === 'erf')!;
  assert.throws(() => importOnnx(bytesOf(c)), (e: Error) => e instanceof NotSupportedError && /operator 'Erf' of node 0 '\/Erf'/.test(e.message));
});

test('importOnnx: truncated bytes are one-line errors', () => {
  const bytes = bytesOf(fx.cases[0]);
  for (const cut of [1, 10, 100, bytes.length - 3]) {
    assert.throws(() => importOnnx(bytes.subarray(0, cut)), (e: Error) => (e instanceof OnnxError || e instanceof NotSupportedError) && !e.message.includes('\n'));
  }
});

test('importOnnx: initializers are checked against their dims before any memory is taken', () => {
  const model = (init: object) => encodeModel({
    irVersion: 8, opsetImport: [{ domain: '', version: 13 }],
    graph: { node: [{ opType: 'MatMul', input: ['x', 'w'], output: ['y'] }], initializer: [{ name: 'w', dataType: DataType.FLOAT, ...init }], input: [{ name: 'x' }], output: [{ name: 'y' }] },
  });
  assert.equal(importOnnx(model({ dims: [2, 3], floatData: [1, 2, 3, 4, 5, 6] })).stateDict().w.size, 6);
  for (const [init, why] of [
    [{ dims: [2, 3], floatData: [1, 2, 3, 4, 5] }, /initializer 'w': 5 values for \[2,3\]/],
    [{ dims: [2, 3], rawData: new Uint8Array(20) }, /initializer 'w': 20 bytes of data for \[2,3\] \(needs 24\)/],
    [{ dims: [1 << 20, 1 << 20] }, /more than the limit/],
    [{ dims: [-2, 3] }, /negative dim/],
    [{ dims: ['9007199254740993'] }, /not a usable integer/],
  ] as const) assert.throws(() => importOnnx(model(init)), (e: Error) => e instanceof OnnxError && why.test(e.message), JSON.stringify(init));
  assert.throws(() => importOnnx(model({ dims: [1], dataType: 8 })), /ONNX data type 8/);
});

// ---- export ----

const roundTrip = (name: string, model: Module<any, any>, inputShape: number[], batch = 2) => {
  test(`exportOnnx → importOnnx: ${name} gives the same outputs and state dict`, () => {
    model.eval();
    const bytes = exportOnnx(model, { inputShape });
    const back = importOnnx(bytes).eval();
    const keys = Object.keys(model.stateDict()).filter((k) => !k.endsWith('num_batches_tracked'));
    assert.deepEqual(Object.keys(back.stateDict()).sort(), keys.sort());
    const x = randn([batch, ...inputShape], { generator: new Generator(7) });
    const want = noGrad(() => model.forward(x));
    assertClose(noGrad(() => back.forward(x)).data, want.data, { atol: 1e-5, what: `${name} output` });
  });
};

const gen = new Generator(3);
const withStats = <M extends Module<any, any>>(m: M): M => {
  // Running statistics other than 0 and 1, so a swapped mean/variance would show.
  for (const [k, b] of m.namedBuffers()) if (/running_(mean|var)$/.test(k)) b.data.set(rand([b.size], { generator: gen }).data.map((v) => 0.5 + v));
  return m;
};
roundTrip('LeNet-5', new LeNet5(), [1, 28, 28]);
roundTrip('ResNet-8 (type A shortcuts: Slice and Pad)', withStats(new ResNet({ depth: 8, widths: [4, 8, 8] })), [3, 8, 8]);
roundTrip('ResNet-8 (type B shortcuts)', withStats(new ResNet({ depth: 8, widths: [4, 8, 8], shortcut: 'B' })), [3, 8, 8]);
roundTrip('U-Net with batch norm', withStats(new UNet({ widths: [4, 8], batchNorm: true })), [1, 8, 8]);
roundTrip('a Sequential of the other layers', new Sequential(
  new Conv2d(2, 4, 3, { padding: 'same' }), new LeakyReLU(0.2), new AvgPool2d(2), new Upsample({ scaleFactor: 2, mode: 'bilinear' }),
  new MaxPool2d(3, { stride: 2, padding: 1 }), new Sigmoid(), new ConvTranspose2d(4, 3, 3, { stride: 2, padding: 1, outputPadding: 1 }),
  new Tanh(), new AdaptiveAvgPool2d(1), new Flatten(), new Dropout(0.3), new Linear(3, 5), new BatchNorm1d(5), new ReLU(), new Softmax(1),
), [2, 6, 6], 3);

test('exportOnnx: the batch dim is dynamic (one image through a graph exported without a batch size)', () => {
  const model = new LeNet5({ inputSize: 16 }).eval();
  const back = importOnnx(exportOnnx(model, { inputShape: [1, 16, 16] }));
  const x = randn([5, 1, 16, 16], { generator: new Generator(1) });
  assertClose(noGrad(() => back.forward(x)).data, noGrad(() => model.forward(x)).data, { atol: 1e-5 });
});

test('exportOnnx: a module it does not know is NotSupportedError naming its path and class', () => {
  const model = new Sequential(new Conv2d(1, 2, 3), new ELU());
  assert.throws(() => exportOnnx(model, { inputShape: [1, 5, 5] }), (e: Error) => e instanceof NotSupportedError && /module '1' of class ELU/.test(e.message));
  assert.throws(() => exportOnnx(new LeNet5(), { inputShape: [1, 28] }), /LeNet5|conv2d|input/);
});

test('importOnnx of a PyTorch graph trains: SGD steps on its parameters lower the loss', () => {
  const c = fx.cases.find((c) => c.name === 'resblock')!;
  const net = importOnnx(bytesOf(c)).eval(); // batch norm on its running statistics
  const x = t(c.input), target = t(c.probe);
  const lossOf = () => { const d = sub(net.forward(x), target); return sum(mul(d, d)); };
  const before = lossOf().data[0];
  const opt = new SGD(net.parameters(), { lr: 0.05 });
  for (let i = 0; i < 3; i++) { opt.zeroGrad(); lossOf().backward(); opt.step(); }
  assert.ok(lossOf().data[0] < before, `loss ${lossOf().data[0]} not below ${before}`);
});
