/**
 * Layers and models against PyTorch (test/fixtures/nn.json, made by tools/gen_nn_fixtures.py):
 * the torch layer's state dict is loaded into the pixelgrad layer, then outputs, input and
 * parameter gradients, and buffers after the forward pass (BatchNorm statistics) are compared.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { models, nn, tensor, type Tensor } from '../src/index.js';
import { assertTensor } from './helpers/assert.js';

interface Arr { shape: number[]; data: number[] }
interface Case {
  name: string; layer: string; config: Record<string, any>; train: boolean;
  state: Record<string, Arr>; inputs: Arr[]; output: Arr; upstream: Arr; inputGrad: Arr;
  paramGrads: Record<string, Arr>; buffersAfter: Record<string, Arr>;
}
const fixtures: { torch: string; cases: Case[]; paramCounts: Record<string, number> } =
  JSON.parse(readFileSync(new URL('./fixtures/nn.json', import.meta.url), 'utf8'));

const BUILD: Record<string, (c: Record<string, any>) => nn.Module> = {
  Linear: ({ inFeatures, outFeatures, ...o }) => new nn.Linear(inFeatures, outFeatures, o),
  Conv2d: ({ inChannels, outChannels, kernelSize, ...o }) => new nn.Conv2d(inChannels, outChannels, kernelSize, o),
  ConvTranspose2d: ({ inChannels, outChannels, kernelSize, ...o }) => new nn.ConvTranspose2d(inChannels, outChannels, kernelSize, o),
  Conv1d: ({ inChannels, outChannels, kernelSize, ...o }) => new nn.Conv1d(inChannels, outChannels, kernelSize, o),
  MaxPool2d: ({ kernelSize, ...o }) => new nn.MaxPool2d(kernelSize, o),
  AvgPool2d: ({ kernelSize, ...o }) => new nn.AvgPool2d(kernelSize, o),
  AdaptiveAvgPool2d: ({ outputSize }) => new nn.AdaptiveAvgPool2d(outputSize),
  Upsample: (o) => new nn.Upsample(o),
  BatchNorm2d: ({ numFeatures, ...o }) => new nn.BatchNorm2d(numFeatures, o),
  BatchNorm1d: ({ numFeatures, ...o }) => new nn.BatchNorm1d(numFeatures, o),
  LayerNorm: ({ normalizedShape, ...o }) => new nn.LayerNorm(normalizedShape, o),
  GroupNorm: ({ numGroups, numChannels, ...o }) => new nn.GroupNorm(numGroups, numChannels, o),
  ResNetTiny: (o) => models.resnet(o),
  UNet: (o) => models.unet(o),
};

const toTensor = (a: Arr, int = false): Tensor => tensor(int ? Int32Array.from(a.data) : Float32Array.from(a.data), { shape: a.shape });

test('every layer kind in the fixtures has a builder', () => {
  assert.deepEqual(new Set(fixtures.cases.map((c) => c.layer)), new Set(Object.keys(BUILD)));
});

for (const c of fixtures.cases) {
  test(`${c.layer}: ${c.name} matches PyTorch ${fixtures.torch}`, () => {
    const m = BUILD[c.layer](c.config);
    const sd = Object.fromEntries(Object.entries(c.state).map(([k, v]) => [k, toTensor(v, k.endsWith('num_batches_tracked'))]));
    m.loadStateDict(sd);
    m.train(c.train);
    let out: Tensor | null = null;
    let x: Tensor | null = null;
    for (const input of c.inputs) {
      x = toTensor(input).setRequiresGrad(true);
      out = m.forward(x);
    }
    assertTensor(out!, c.output.shape, c.output.data, { what: 'output', atol: 1e-5, rtol: 1e-4 });
    out!.backward(toTensor(c.upstream));
    assertTensor(x!.grad!, c.inputGrad.shape, c.inputGrad.data, { what: 'input grad', atol: 1e-5, rtol: 1e-4 });
    const params = Object.fromEntries(m.namedParameters());
    assert.deepEqual(Object.keys(params).sort(), Object.keys(c.paramGrads).sort(), 'parameter names');
    for (const [name, g] of Object.entries(c.paramGrads)) assertTensor(params[name].grad!, g.shape, g.data, { what: `grad of ${name}`, atol: 1e-4, rtol: 1e-4 });
    const buffers = Object.fromEntries(m.namedBuffers());
    assert.deepEqual(Object.keys(buffers).sort(), Object.keys(c.buffersAfter).sort(), 'buffer names');
    for (const [name, b] of Object.entries(c.buffersAfter)) assertTensor(buffers[name], b.shape, b.data, { what: `buffer ${name}`, atol: 1e-5, rtol: 1e-4 });
  });
}

test('model parameter counts equal the PyTorch definitions', () => {
  const count = (m: nn.Module) => m.parameters().reduce((s, p) => s + p.size, 0);
  const p = fixtures.paramCounts;
  assert.equal(count(models.lenet5()), p.lenet5);
  assert.equal(count(models.resnet({ depth: 20 })), p.resnet20_A);
  assert.equal(count(models.resnet({ depth: 20, shortcut: 'B' })), p.resnet20_B);
  assert.equal(count(models.resnet({ depth: 32 })), p.resnet32_A);
  assert.equal(count(models.resnet({ depth: 56 })), p.resnet56_A);
  assert.equal(count(models.smallVgg()), p.smallVgg_bn);
  assert.equal(count(models.smallVgg({ widths: [16, 32], batchNorm: false, hidden: 64 })), p.smallVgg_nobn_w16_32);
  assert.equal(count(models.unet()), p.unet_w6);
});
