/**
 * Explanations against PyTorch (test/fixtures/explain.json, made by tools/gen_explain_fixtures.py
 * with autograd and module hooks): a small CNN with fixed weights whose forward calls functional
 * relu (the reference uses nn.ReLU modules with hooks), so the gradient-rule override is checked
 * on functional calls. Also: full backward hooks, the scoped rules, completeness of integrated
 * gradients in float64, batching, restored model state, a sanity check, and the pictures.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  explain, nn, tensor, zeros, randn, relu, clamp, maxPool2d, flatten, conv2d, withGradientRules, Generator, models, type Tensor,
} from '../src/index.js';
import { assertClose, assertTensor } from './helpers/assert.js';

interface Arr { shape: number[]; data: number[] }
interface Case { name: string; [k: string]: any }
const fx: { cases: Case[]; state: Record<string, Arr>; input: Arr; targets: number[] } =
  JSON.parse(readFileSync(new URL('./fixtures/explain.json', import.meta.url), 'utf8'));
const caseOf = (name: string): Case => {
  const c = fx.cases.find((k) => k.name === name);
  if (!c) throw new Error(`no fixture case ${name}`);
  return c;
};
const toTensor = (a: Arr): Tensor => tensor(Float32Array.from(a.data), { shape: a.shape });
const expectArr = (t: Tensor, a: Arr, what: string, atol = 1e-5) => assertTensor(t, a.shape, a.data, { atol, rtol: 1e-4, what });

/** The fixture's network, with functional relu calls in forward (the reference has nn.ReLU modules). */
class TinyCnn extends nn.Module {
  readonly conv1 = this.registerModule('conv1', new nn.Conv2d(2, 4, 3, { padding: 1 }));
  readonly conv2 = this.registerModule('conv2', new nn.Conv2d(4, 6, 3, { padding: 1 }));
  readonly fc = this.registerModule('fc', new nn.Linear(96, 3));
  override forward(x: Tensor): Tensor {
    x = maxPool2d(relu(this.conv1.forward(x)), 2);
    x = relu(this.conv2.forward(x));
    return this.fc.forward(flatten(x, 1));
  }
}

/** The same network with nn.ReLU modules (for the module backward hooks). */
function sequentialCnn(): nn.Sequential {
  const s = new nn.Sequential(new nn.Conv2d(2, 4, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Conv2d(4, 6, 3, { padding: 1 }), new nn.ReLU(), new nn.Flatten(), new nn.Linear(96, 3));
  const rename: Record<string, string> = { conv1: '0', conv2: '3', fc: '6' };
  s.loadStateDict(Object.fromEntries(Object.entries(fx.state).map(([k, v]) => [k.replace(/^\w+/, (m) => rename[m]), toTensor(v)])));
  return s;
}

function tinyCnn(): TinyCnn {
  const m = new TinyCnn();
  m.loadStateDict(Object.fromEntries(Object.entries(fx.state).map(([k, v]) => [k, toTensor(v)])));
  return m;
}

const x = toTensor(fx.input);
const targets = fx.targets;

test('saliency, inputXGradient, guidedBackprop, deconvolution match PyTorch (functional relu covered)', () => {
  const model = tinyCnn();
  const s = caseOf('saliency');
  expectArr(explain.saliency(model, x, targets), s.abs, 'saliency abs');
  expectArr(explain.saliency(model, x, targets, { abs: false }), s.signed, 'saliency signed');
  expectArr(explain.inputXGradient(model, x, targets), caseOf('inputXGradient').expected, 'inputXGradient');
  expectArr(explain.guidedBackprop(model, x, targets), caseOf('guidedBackprop').expected, 'guidedBackprop');
  expectArr(explain.deconvolution(model, x, targets), caseOf('deconvolution').expected, 'deconvolution');
  // Guided backprop really differs from the plain gradient here (else the comparison proves little).
  const diff = explain.guidedBackprop(model, x, targets).sub(explain.saliency(model, x, targets, { abs: false })).abs().max().item();
  assert.ok(diff > 1e-3, `guided backprop equals the gradient (max diff ${diff})`);
});

test('gradCam on either conv layer: pre- and post-ReLU maps and the bilinear upsampling match PyTorch', () => {
  const model = tinyCnn();
  for (const layer of ['conv1', 'conv2']) {
    const c = caseOf(`gradCam.${layer}`);
    expectArr(explain.gradCam(model, x, targets, { layer, relu: false, upsample: false }), c.pre, `${layer} pre-ReLU`);
    expectArr(explain.gradCam(model, x, targets, { layer, upsample: false }), c.post, `${layer} post-ReLU`);
    const up = explain.gradCam(model, x, targets, { layer });
    assert.deepEqual(up.shape, x.shape);
    // Both channels carry the same upsampled map.
    const per = 64;
    for (let n = 0; n < 2; n++) {
      const ch0 = up.data.subarray((2 * n) * per, (2 * n + 1) * per), ch1 = up.data.subarray((2 * n + 1) * per, (2 * n + 2) * per);
      assertClose(ch0, c.upsampled.data.slice(n * per, (n + 1) * per), { atol: 1e-5, what: `${layer} upsampled` });
      assertClose(ch1, ch0, { atol: 0, rtol: 0, what: 'channels' });
    }
  }
  // The default layer is the last Conv2d.
  expectArr(explain.gradCam(model, x, targets, { upsample: false }), caseOf('gradCam.conv2').post, 'default layer');
  expectArr(explain.guidedGradCam(model, x, targets, { layer: 'conv2' }), caseOf('guidedGradCam').expected, 'guidedGradCam');
});

test('integratedGradients: every rule matches PyTorch (points, weights, attributions, delta)', () => {
  const model = tinyCnn();
  for (const method of explain.INTEGRATION_METHODS) {
    const c = caseOf(`integratedGradients.${method}`);
    const rule = explain.integrationRule(method, c.steps);
    assertClose(rule.alphas, c.alphas, { atol: 1e-12, rtol: 1e-12, what: `${method} alphas` });
    assertClose(rule.weights, c.weights, { atol: 1e-12, rtol: 1e-12, what: `${method} weights` });
    const { attributions, delta } = explain.integratedGradients(model, x, targets, { method, steps: c.steps, baseline: c.baseline, returnConvergenceDelta: true });
    expectArr(attributions, c.expected, method, 2e-5);
    assertClose(delta.data, c.delta.data, { atol: 2e-5, rtol: 1e-3, what: `${method} delta` });
  }
});

test('occlusion matches PyTorch (windows over all channels, strides, baselines)', () => {
  const model = tinyCnn();
  for (const c of fx.cases.filter((k) => k.name.startsWith('occlusion.'))) {
    expectArr(explain.occlusion(model, x, targets, { window: c.window, stride: c.stride, baseline: c.baseline, batchSize: 5 }), c.expected, c.name);
  }
});
