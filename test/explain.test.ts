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
  explain, viz, nn, tensor, zeros, randn, relu, clamp, maxPool2d, avgPool2d, flatten, conv2d, withGradientRules, Generator, models, type Tensor,
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

test('full backward hooks on nn.ReLU modules give guided backprop and deconvolution (PyTorch semantics)', () => {
  const model = sequentialCnn();
  const relus = model.modules().filter((m) => m instanceof nn.ReLU);
  let removes = relus.map((r) => r.registerFullBackwardHook((_m, [gi]) => [clamp(gi!, 0)]));
  expectArr(explain.saliency(model, x, targets, { abs: false }), caseOf('guidedBackprop').expected, 'hooked guided backprop');
  removes.forEach((r) => r());
  removes = relus.map((r) => r.registerFullBackwardHook((_m, _gi, [go]) => [clamp(go!, 0)]));
  expectArr(explain.saliency(model, x, targets, { abs: false }), caseOf('deconvolution').expected, 'hooked deconvolution');
  removes.forEach((r) => r());
  // With the hooks removed the gradient is the plain one again; the gradient-rule scope gives the same as the hooks.
  expectArr(explain.saliency(model, x, targets, { abs: false }), caseOf('saliency').signed, 'hooks removed');
  expectArr(explain.guidedBackprop(model, x, targets), caseOf('guidedBackprop').expected, 'rule on nn.ReLU');
});

test('a full backward hook sees gradInput and gradOutput, and its replacement flows on', () => {
  const lin = new nn.Linear(3, 2);
  const seen: { gi: (Tensor | null)[]; go: (Tensor | null)[] }[] = [];
  const remove = lin.registerFullBackwardHook((m, gi, go) => {
    assert.equal(m, lin);
    seen.push({ gi: [...gi], go: [...go] });
    return gi[0] ? [gi[0].mul(10)] : undefined;
  });
  const input = randn([4, 3], { requiresGrad: true, generator: new Generator(1) });
  const up = randn([4, 2], { generator: new Generator(2) });
  lin.forward(input).mul(up).sum().backward();
  assert.equal(seen.length, 1);
  assertTensor(seen[0].go[0]!, [4, 2], up.data, { what: 'gradOutput' });
  const expected = up.matmul(lin.weight.detach());
  assertTensor(seen[0].gi[0]!, [4, 3], expected.data, { what: 'gradInput' });
  assertTensor(input.grad!, [4, 3], expected.mul(10).data, { what: 'replaced gradient' });
  // An input that needs no gradient: the hook still runs, with null for it.
  lin.forward(input.detach()).sum().backward();
  assert.equal(seen.length, 2);
  assert.equal(seen[1].gi[0], null);
  remove();
  lin.forward(input).sum().backward();
  assert.equal(seen.length, 2);
  // A replacement of the wrong shape is an error naming the module.
  lin.registerFullBackwardHook(() => [zeros([1])]);
  assert.throws(() => lin.forward(input).sum().backward(), /Linear\.backwardHook: .*shape \[1\].*\[4,3\]/);
});

test('withGradientRules: scoped, nested, and fixed when the op runs', () => {
  const a = tensor([-1, 2, -3, 4], { requiresGrad: true });
  const double = { relu: (g: Tensor, c: { vjp: (g: Tensor, n: readonly boolean[]) => readonly (Tensor | null)[]; needsGrad: readonly boolean[] }) => c.vjp(g.mul(2), c.needsGrad) };
  const y = withGradientRules(double, () => relu(a).sum());
  y.backward(); // outside the scope: the rule recorded with the op still applies
  assertTensor(a.grad!, [4], [0, 2, 0, 2]);
  a.grad = null;
  withGradientRules(double, () => withGradientRules({ relu: (g) => [g] }, () => relu(a).sum())).backward();
  assertTensor(a.grad!, [4], [1, 1, 1, 1], { what: 'inner rule wins' });
  a.grad = null;
  relu(a).sum().backward();
  assertTensor(a.grad!, [4], [0, 1, 0, 1], { what: 'no rule outside' });
});

/** The fixture network in float64, with the given activation and pooling. */
function cnn64(act: (t: Tensor) => Tensor, pool: (t: Tensor) => Tensor): nn.Module {
  const p = Object.fromEntries(Object.entries(fx.state).map(([k, v]) => [k, toTensor(v).double()]));
  return new (class extends nn.Module {
    override forward(t: Tensor): Tensor {
      t = pool(act(conv2d(t, p['conv1.weight'], p['conv1.bias'], { padding: 1 })));
      t = act(conv2d(t, p['conv2.weight'], p['conv2.bias'], { padding: 1 }));
      return nn.functional.linear(flatten(t, 1), p['fc.weight'], p['fc.bias']);
    }
  })();
}

test('integratedGradients in float64: completeness to the rule\'s error (Gauss-Legendre exact to 1e-10; Riemann O(1/n), midpoint and trapezoid O(1/n²))', () => {
  const x64 = x.double();
  const baseline = randn(x.shape, { dtype: 'float64', generator: new Generator(5) }).mul(0.1);
  // tanh and average pooling: smooth along the path, so each rule shows its order.
  const smooth = cnn64((t) => t.tanh(), (t) => avgPool2d(t, 2));
  const delta = (method: explain.IntegrationMethod, steps: number) =>
    Math.max(...explain.integratedGradients(smooth, x64, targets, { method, steps, baseline, returnConvergenceDelta: true }).delta.abs().data);
  assert.ok(delta('gaussLegendre', 16) < 1e-10, `Gauss-Legendre residual ${delta('gaussLegendre', 16)}`);
  for (const [method, order] of [['riemannLeft', 1], ['riemannRight', 1], ['riemannMiddle', 2], ['riemannTrapezoid', 2]] as const) {
    const d32 = delta(method, 32), d64 = delta(method, 64);
    const ratio = d64 / d32;
    assert.ok(Math.abs(ratio - 2 ** -order) < 0.1, `${method}: residual ${d32} at 32 steps, ${d64} at 64 (ratio ${ratio}, expected ${2 ** -order})`);
  }
  // With relu and max pooling the gradient jumps along the path; the residual still shrinks with the steps.
  const relu64 = cnn64(relu, (t) => maxPool2d(t, 2));
  const r = (steps: number) => Math.max(...explain.integratedGradients(relu64, x64, targets, { method: 'riemannTrapezoid', steps, baseline, returnConvergenceDelta: true }).delta.abs().data);
  assert.ok(r(400) < r(10) / 10, `relu net: residual ${r(10)} at 10 steps, ${r(400)} at 400`);
});

test('channelGuidedBackprop: guided backprop from the strongest activation of a layer matches PyTorch', () => {
  const c = caseOf('channelGuidedBackprop');
  const r = explain.channelGuidedBackprop(tinyCnn(), x, { layer: c.layer });
  assert.deepEqual(r.channels, c.channels);
  expectArr(r.attributions, c.expected, 'channelGuidedBackprop');
  // A fixed channel: its strongest position only.
  const fixed = explain.channelGuidedBackprop(tinyCnn(), x, { layer: 'conv2', channel: 1 });
  assert.deepEqual(fixed.channels, [1, 1]);
  assert.throws(() => explain.channelGuidedBackprop(tinyCnn(), x, { layer: 'conv2', channel: 6 }), /channelGuidedBackprop: channel must be an integer in \[0, 6\)/);
});

/** Counts the model's forward calls and their batch sizes. */
function countPasses(model: nn.Module): number[] {
  const sizes: number[] = [];
  model.registerForwardHook((_m, [inp]) => { sizes.push((inp as Tensor).shape[0]); });
  return sizes;
}

test('smoothGrad and integratedGradients batch their passes; chunking does not change the result', () => {
  const model = tinyCnn();
  const passes = countPasses(model);
  explain.smoothGrad(model, x, targets, { samples: 50, generator: new Generator(3) });
  assert.deepEqual(passes.splice(0), [100], 'smoothGrad: one pass of 2 × 50 images');
  explain.integratedGradients(model, x, targets, { steps: 50, returnConvergenceDelta: true });
  assert.deepEqual(passes.splice(0), [100, 4], 'IG: one pass of 2 × 50 path points, one for f(x) and f(baseline)');
  const whole = explain.integratedGradients(model, x, targets, { steps: 9, method: 'riemannMiddle' });
  const chunked = explain.integratedGradients(model, x, targets, { steps: 9, method: 'riemannMiddle', batchSize: 4 });
  assert.deepEqual(passes.splice(0).slice(1), [4, 4, 4, 4, 2]);
  assertClose(chunked.data, whole.data, { atol: 1e-6, what: 'chunked IG' });
  const sg = explain.smoothGrad(model, x, targets, { samples: 7, generator: new Generator(4) });
  const sgChunked = explain.smoothGrad(model, x, targets, { samples: 7, generator: new Generator(4), batchSize: 3 });
  assertClose(sgChunked.data, sg.data, { atol: 1e-6, what: 'chunked smoothGrad' });
});

test('smoothGrad: zero noise gives saliency; squared averages squares; seeded', () => {
  const model = tinyCnn();
  const sal = explain.saliency(model, x, targets);
  assertClose(explain.smoothGrad(model, x, targets, { samples: 3, stdev: 0 }).data, sal.data, { atol: 1e-6, what: 'no noise' });
  assertClose(explain.smoothGrad(model, x, targets, { samples: 3, noiseLevel: 0, squared: true }).data, sal.mul(sal).data, { atol: 1e-6, what: 'squared' });
  const a = explain.smoothGrad(model, x, targets, { samples: 20, generator: new Generator(9) });
  const b = explain.smoothGrad(model, x, targets, { samples: 20, generator: new Generator(9) });
  assert.deepEqual([...a.data], [...b.data]);
  const diff = a.sub(sal).abs().max().item();
  assert.ok(diff > 1e-4, `noise changed nothing (${diff})`);
  // Signed SmoothGrad is the plain average of noisy gradients: its mean lies between their extremes.
  const signed = explain.smoothGrad(model, x, targets, { samples: 20, generator: new Generator(9), abs: false });
  assert.ok(signed.abs().sum().item() <= a.sum().item() + 1e-5);
});

test('every method leaves the model\'s modes, requiresGrad and parameter gradients as they were', () => {
  const model = tinyCnn();
  model.train();
  model.conv2.eval();
  const before = model.conv1.weight.grad = zeros(model.conv1.weight.shape).add(7);
  model.fc.bias!.requiresGrad = false;
  const all: [string, () => unknown][] = [
    ['saliency', () => explain.saliency(model, x, targets)],
    ['inputXGradient', () => explain.inputXGradient(model, x, targets)],
    ['smoothGrad', () => explain.smoothGrad(model, x, targets, { samples: 2 })],
    ['integratedGradients', () => explain.integratedGradients(model, x, targets, { steps: 3 })],
    ['guidedBackprop', () => explain.guidedBackprop(model, x, targets)],
    ['deconvolution', () => explain.deconvolution(model, x, targets)],
    ['gradCam', () => explain.gradCam(model, x, targets)],
    ['guidedGradCam', () => explain.guidedGradCam(model, x, targets)],
    ['occlusion', () => explain.occlusion(model, x, targets, { window: 4, stride: 4 })],
    ['channelGuidedBackprop', () => explain.channelGuidedBackprop(model, x, { layer: 'conv1' })],
    ['activationMaximization', () => explain.activationMaximization(model, { shape: [2, 8, 8], target: 1, steps: 2 })],
  ];
  for (const [name, run] of all) {
    run();
    assert.deepEqual(model.modules().map((m) => m.training), [true, true, false, true], name);
    assert.equal(model.conv1.weight.grad, before, `${name}: conv1.weight.grad`);
    assert.deepEqual([...before.data.slice(0, 3)], [7, 7, 7]);
    assert.equal(model.conv2.weight.grad, null, `${name}: conv2.weight.grad`);
    assert.deepEqual(model.parameters().map((p) => p.requiresGrad), [true, true, true, true, true, false], name);
    assert.equal(x.requiresGrad, false);
  }
});

test('sanity check (Adebayo et al.): randomising the top layer changes Grad-CAM and saliency', () => {
  const model = tinyCnn();
  const cam = explain.gradCam(model, x, targets, { upsample: false });
  const sal = explain.saliency(model, x, targets);
  const shuffled = tinyCnn();
  shuffled.fc.weight.data.set(randn(shuffled.fc.weight.shape, { generator: new Generator(21) }).mul(0.1).data);
  const cam2 = explain.gradCam(shuffled, x, targets, { upsample: false });
  const sal2 = explain.saliency(shuffled, x, targets);
  // Rank correlation of the maps: a method that ignored the top layer (an edge detector of the input) would give 1.
  const spearman = (a: ArrayLike<number>, b: ArrayLike<number>) => {
    const rank = (v: ArrayLike<number>) => { const idx = [...Array(v.length).keys()].sort((i, j) => v[i] - v[j]); const r = new Array<number>(v.length); idx.forEach((k, i) => { r[k] = i; }); return r; };
    const ra = rank(a), rb = rank(b), n = a.length, m = (n - 1) / 2;
    let num = 0, da = 0, db = 0;
    for (let i = 0; i < n; i++) { num += (ra[i] - m) * (rb[i] - m); da += (ra[i] - m) ** 2; db += (rb[i] - m) ** 2; }
    return num / Math.sqrt(da * db);
  };
  const rc = spearman(cam.data, cam2.data), rs = spearman(sal.data, sal2.data);
  assert.ok(rc < 0.6, `Grad-CAM rank correlation after randomising fc: ${rc}`);
  assert.ok(rs < 0.6, `saliency rank correlation after randomising fc: ${rs}`);
  // ...while the same weights give the same map.
  assert.equal(spearman(cam.data, explain.gradCam(tinyCnn(), x, targets, { upsample: false }).data), 1);
});

test('bad input: clear errors naming the method and listing what is valid', () => {
  const model = tinyCnn();
  assert.throws(() => explain.gradCam(model, x, targets, { layer: 'conv9' }), /gradCam: the model has no layer 'conv9' \(layers: conv1, conv2, fc\)/);
  assert.throws(() => explain.gradCam(model, x, targets, { layer: 'fc' }), /gradCam: layer 'fc' is not spatial: its output has shape \[2,3\]/);
  assert.throws(() => explain.saliency(model, x, [0]), /saliency: got 1 targets for 2 inputs/);
  assert.throws(() => explain.saliency(model, x, [0, 3]), /saliency: target\[1\] = 3 but the model has 3 classes/);
  assert.throws(() => explain.saliency(model, x, 0, { abs: 1 as unknown as boolean }), /saliency: abs must be a boolean/);
  assert.throws(() => explain.integratedGradients(model, x, 0, { method: 'simpson' as explain.IntegrationMethod }), /integratedGradients: method must be one of 'riemannLeft'/);
  assert.throws(() => explain.integratedGradients(model, x, 0, { baseline: zeros([3, 8, 8]) }), /integratedGradients: baseline of shape \[3,8,8\] does not broadcast to the input's shape \[2,2,8,8\]/);
  assert.throws(() => explain.occlusion(model, x, 0, { window: [9, 9] }), /occlusion: window \[2,9,9\] is larger than the input \[2,8,8\]/);
  assert.throws(() => explain.smoothGrad(model, x, 0, { n_samples: 5 } as never), /smoothGrad: unknown option 'n_samples'/);
  assert.throws(() => explain.saliency(model, zeros([2, 1, 8, 8]), 0), /conv2d: input has 1 channels but weight expects 2/);
});

test('activationMaximization: the objective rises, the image stays in range, the seed fixes the result', () => {
  const model = tinyCnn();
  const run = (o: Partial<explain.ActivationMaximizationOptions>) => explain.activationMaximization(model, { shape: [2, 8, 8], steps: 30, ...o });
  const cls = run({ target: 2, seed: 1 });
  assert.equal(cls.objective.length, 30);
  assert.ok(cls.objective[29] > cls.objective[0] * 1.2, `class logit ${cls.objective[0]} → ${cls.objective[29]}`);
  assert.deepEqual(cls.image.shape, [1, 2, 8, 8]);
  assert.ok(Math.min(...cls.image.data) >= 0 && Math.max(...cls.image.data) <= 1);
  assert.deepEqual([...run({ target: 2, seed: 1 }).image.data], [...cls.image.data]);
  assert.notDeepEqual([...run({ target: 2, seed: 2 }).image.data], [...cls.image.data]);
  const ch = run({ layer: 'conv2', channel: 3, range: [-1, 1], jitter: 0, blurEvery: 0 });
  assert.ok(ch.objective[29] > ch.objective[0], `channel activation ${ch.objective[0]} → ${ch.objective[29]}`);
  assert.ok(Math.min(...ch.image.data) >= -1 && Math.max(...ch.image.data) <= 1);
  assert.throws(() => run({}), /activationMaximization: give either target \(a class\) or layer and channel/);
  assert.throws(() => run({ layer: 'conv2', channel: 9 }), /activationMaximization: channel 9 is out of range for layer 'conv2'/);
});

test('filterImages: the first layer\'s filters as tiles with 0 at mid-grey', () => {
  const model = tinyCnn();
  const conv = explain.firstConv(model);
  assert.equal(conv, model.conv1);
  const tiles = explain.filterImages(conv); // 2 input channels: one gray tile per (filter, channel)
  assert.equal(tiles.length, 8);
  const w = model.conv1.weight.data;
  const peak = Math.max(...[...w].map(Math.abs));
  assertTensor(tiles[3], [1, 3, 3], [...w.slice(27, 36)].map((v) => 0.5 + v / (2 * peak)), { what: 'filter 1, channel 1' });
  const rgb = explain.filterImages(new nn.Conv2d(3, 5, 3));
  assert.equal(rgb.length, 5);
  assert.deepEqual(rgb[0].shape, [3, 3, 3]);
  assert.ok(Math.min(...rgb.flatMap((t) => [...t.data])) >= 0 && Math.max(...rgb.flatMap((t) => [...t.data])) <= 1);
});

test('viz heatmaps: colour maps, channel maps, percentile normalisation, overlays', () => {
  assertClose(viz.colormapColor('viridis', 0), [68 / 255, 1 / 255, 84 / 255]);
  assertClose(viz.colormapColor('viridis', 1), [253 / 255, 231 / 255, 37 / 255]);
  assertClose(viz.colormapColor('viridis', 0.05), [70 / 255, 18.5 / 255, 100.5 / 255], { what: 'halfway between the first two stops' });
  assertClose(viz.colormapColor('coolwarm', 0.5), [221 / 255, 221 / 255, 221 / 255]);
  const img = viz.applyColormap(tensor([[0, 1]]), 'gray');
  assertTensor(img, [3, 1, 2], [0, 1, 0, 1, 0, 1]);
  const attr = tensor([[[1, -2]], [[-3, 0.5]]]); // [2, 1, 2]
  assertTensor(viz.channelMap(attr), [1, 1, 2], [4, 2.5]);
  assertTensor(viz.channelMap(attr, 'all'), [1, 1, 2], [-2, -1.5]);
  assertTensor(viz.channelMap(attr, 'positive'), [1, 1, 2], [1, 0.5]);
  // 101 values 0..100: the 90th percentile of |v| is 90, so 45 → 0.5 and 95 saturates.
  const ramp = tensor(Array.from({ length: 101 }, (_, i) => i));
  const nm = viz.normalizeMap(ramp, { percentile: 90 });
  assertClose([nm.data[45], nm.data[90], nm.data[95]], [0.5, 1, 1]);
  const signed = viz.normalizeMap(tensor([-2, 0, 1, 4]), { percentile: 100, signed: true });
  assertClose(signed.data, [0.25, 0.5, 0.625, 1]);
  assertClose(viz.normalizeMap(zeros([3])).data, [0, 0, 0]);
  const over = viz.overlayHeatmap(tensor([[[1, 0]]]), viz.applyColormap(tensor([[1, 0]]), 'gray'), 0.25);
  assertTensor(over, [3, 1, 2], [1, 0, 1, 0, 1, 0]);
  const over2 = viz.overlayHeatmap(tensor([[[1, 0]]]), viz.applyColormap(tensor([[0, 1]]), 'gray'), 0.25);
  assertTensor(over2, [3, 1, 2], [0.75, 0.25, 0.75, 0.25, 0.75, 0.25]);
  assert.throws(() => viz.overlayHeatmap(tensor([[[1, 0]]]), zeros([3, 2, 2])), /overlayHeatmap: heat must be RGB \[3, 1, 2\]/);
  assert.throws(() => viz.applyColormap(zeros([1, 1]), 'jet' as never), /applyColormap: colormap must be one of 'viridis', 'coolwarm', 'gray'/);
});

test('explanationFigure: image | one tile per method per row, captions, styles', () => {
  const model = tinyCnn();
  const imgs = x.narrow(1, 0, 1); // a 1-channel view for the picture
  const sal = explain.saliency(model, x, targets).narrow(1, 0, 1);
  const cam = explain.gradCam(model, x, targets).narrow(1, 0, 1);
  const f = explain.explanationFigure(imgs, [
    { title: 'saliency', attributions: sal, style: 'magnitude' },
    { title: 'Grad-CAM', attributions: cam, style: 'overlay' },
  ], { rowLabels: ['a', 'b'] });
  assert.equal(f.nrow, 3);
  assert.deepEqual(f.captions, ['a', 'saliency', 'Grad-CAM', 'b', 'saliency', 'Grad-CAM']);
  assert.deepEqual(f.tiles.map((t) => t.shape[0]), [1, 3, 3, 1, 3, 3]);
  // The saliency tile is viridis of the normalised map: its brightest pixel is where |gradient| is largest.
  const s0 = sal.narrow(0, 0, 1).data;
  const hot = s0.indexOf(Math.max(...s0));
  assertClose([f.tiles[1].data[hot], f.tiles[1].data[64 + hot]], viz.colormapColor('viridis', 1).slice(0, 3).slice(0, 2));
  assert.throws(() => explain.explanationFigure(imgs, [{ title: 'x', attributions: zeros([2, 1, 4, 4]), style: 'signed' }]), /explanationFigure: column 'x' has attributions of shape \[2,1,4,4\], expected \[2, C, 8, 8\]/);
});

test('the models: LeNet-5 and ResNet (functional relu), SmallVgg (nn.ReLU, batch norm, dropout) all explain', () => {
  const cases: [string, nn.Module, number[], string][] = [
    ['lenet5', new models.LeNet5(), [2, 1, 28, 28], 'conv2'],
    ['resnet8', new models.ResNet({ depth: 8, inChannels: 3, numClasses: 4, widths: [4, 8, 8] }), [2, 3, 16, 16], 'layer3.0.conv2'],
    ['smallvgg', new models.SmallVgg({ inChannels: 3, numClasses: 4, inputSize: 16, widths: [4, 8], batchNorm: true, hidden: 16 }), [2, 3, 16, 16], 'features.10'],
  ];
  for (const [name, model, shape, lastConv] of cases) {
    model.train(); // batch norm and dropout are switched to evaluation for the call and back after
    const input = randn(shape, { generator: new Generator(8) });
    assert.equal(explain.convLayerNames(model).at(-1), lastConv, name);
    const gb = explain.guidedBackprop(model, input, [0, 1]);
    const plain = explain.saliency(model, input, [0, 1], { abs: false });
    assert.deepEqual(gb.shape, shape, name);
    assert.ok(gb.sub(plain).abs().max().item() > 1e-6, `${name}: guided backprop changed nothing, so its relus were not covered`);
    assert.deepEqual(explain.gradCam(model, input, [0, 1]).shape, shape, name);
    assert.ok(model.training, name);
  }
});
