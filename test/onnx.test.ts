import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { importOnnx } from '../src/io/onnx/import.js';
import { OnnxError } from '../src/io/onnx/proto.js';
import { NotSupportedError } from '../src/errors.js';
import { tensor } from '../src/creation.js';
import { mul } from '../src/ops/elementwise.js';
import { sum } from '../src/ops/reduce.js';
import { assertClose } from './helpers/assert.js';

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

test('importOnnx: truncated bytes and initializers whose data does not match their dims are one-line errors', () => {
  const bytes = bytesOf(fx.cases[0]);
  for (const cut of [1, 10, 100, bytes.length - 3]) {
    assert.throws(() => importOnnx(bytes.subarray(0, cut)), (e: Error) => (e instanceof OnnxError || e instanceof NotSupportedError) && !e.message.includes('\n'));
  }
});
