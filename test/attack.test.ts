/**
 * Attacks against PyTorch (test/fixtures/attack.json, made by tools/gen_attack_fixtures.py: the
 * torchattacks algorithms written out, random starts drawn by pixelgrad's generator), their
 * bounds on random inputs with normalisation, the model left as it was, the evaluation numbers,
 * and a LeNet trained on the bundled digits losing accuracy under FGSM and more under PGD.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
// The modules directly (not the package entry), so that this test runs while other areas are in progress.
import * as attack from '../src/attack/index.js';
import * as nn from '../src/nn/index.js';
import { Generator, manualSeed } from '../src/random.js';
import { tensor, rand, randint } from '../src/creation.js';
import { ArgumentError, ShapeError } from '../src/errors.js';
import type { Tensor } from '../src/tensor.js';
import { selectDefaultBackend } from '../src/backend/select.js';
import { mnist } from '../src/data/node/mnist.js';
import { DataLoader } from '../src/data/dataloader.js';
import { Subset } from '../src/data/dataset.js';
import { LeNet5 } from '../src/models/lenet.js';
import { Adam } from '../src/optim/adam.js';
import { crossEntropy } from '../src/nn/functional/loss.js';
import { fit, type Batch } from '../src/train/fit.js';
import { assertClose } from './helpers/assert.js';

interface Arr { shape: number[]; data: number[] }
interface Case { name: string; method: attack.AttackMethod; options: Record<string, number>; targeted?: boolean; adv: Arr; advPred: number[] }
const fx: { cases: Case[]; normalize: attack.Normalization; state: Record<string, Arr>; images: Arr; labels: number[]; targets: number[] } =
  JSON.parse(readFileSync(new URL('./fixtures/attack.json', import.meta.url), 'utf8'));

const f32 = (a: Arr) => tensor(Float32Array.from(a.data), { shape: a.shape });
const ints = (v: number[]) => tensor(Int32Array.from(v));

function fixtureModel(): nn.Sequential {
  const model = new nn.Sequential(new nn.Conv2d(3, 4, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(64, 5));
  model.loadStateDict(Object.fromEntries(Object.entries(fx.state).map(([k, v]) => [k, f32(v)])));
  return model;
}

const images = f32(fx.images), labels = ints(fx.labels), targets = ints(fx.targets);

for (const c of fx.cases) {
  test(`${c.name} matches PyTorch`, () => {
    const model = fixtureModel();
    const { seed, ...rest } = c.options;
    const options: attack.PgdOptions = { ...rest, normalize: fx.normalize, ...(c.targeted ? { target: targets } : {}), ...(seed !== undefined ? { generator: new Generator(seed) } : {}) };
    const adv = attack.runAttack(c.method, model, images, labels, options);
    assert.deepEqual(adv.shape, images.shape);
    assertClose(adv.data, c.adv.data, { atol: 2e-6, rtol: 0, what: c.name });
    assert.deepEqual([...attack.logitsOf(model, adv, fx.normalize).argmax(1).data], c.advPred);
  });
}

test('every attack stays in [0, 1] and in its ε-ball with a normalising model; ε = 0 returns the input', () => {
  const model = fixtureModel();
  const g = new Generator(1);
  for (let trial = 0; trial < 6; trial++) {
    // Pixels in [0, 1], a quarter of them on the box's faces.
    const x = rand([4, 3, 8, 8], { generator: g }).mul(1.5).sub(0.25).clamp(0, 1);
    const y = randint(0, 5, [4], { generator: g });
    for (const method of attack.ATTACK_METHODS) {
      const eps = method === 'pgdL2' ? 0.3 + g.random() : 0.02 + 0.3 * g.random();
      const opts: attack.PgdOptions = { eps, normalize: fx.normalize, ...(trial % 2 ? { target: 2 } : {}) };
      if (method !== 'fgsm') Object.assign(opts, { alpha: eps / 3, steps: 4 });
      if (method.startsWith('pgd')) opts.generator = g;
      const adv = attack.runAttack(method, model, x, y, opts);
      const s = attack.attackStats(model, x, adv, y);
      for (const v of adv.data) assert.ok(v >= 0 && v <= 1, `${method}: pixel ${v} outside [0, 1]`);
      if (method === 'pgdL2') assert.ok(s.l2.max <= eps * (1 + 1e-5), `pgdL2: L2 ${s.l2.max} > ε ${eps}`);
      else assert.ok(s.linf.max <= eps + 1e-6, `${method}: L∞ ${s.linf.max} > ε ${eps}`);
      assert.ok(s.linf.max > 0, `${method} moved nothing`);
      const same = attack.runAttack(method, model, x, y, { ...opts, eps: 0 });
      assert.deepEqual([...same.data], [...x.data], `${method} at ε = 0`);
    }
  }
});

test('an attack leaves the model as it was: modes, weights, requiresGrad and .grad', () => {
  const model = new nn.Sequential(new nn.Conv2d(3, 4, 3, { padding: 1 }), new nn.ReLU(), new nn.Dropout(0.5), new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(64, 5));
  model.loadStateDict(Object.fromEntries(Object.entries(fixtureModel().stateDict()).map(([k, v]) => [k.replace(/^4\./, '5.'), v])));
  model.train();
  model.at(2).eval(); // a mixed state must survive too
  const [w, b] = model.parameters();
  w.grad = tensor(new Float32Array(w.size).fill(0.5), { shape: w.shape });
  b.requiresGrad = false;
  const before = model.parameters().map((p) => [...p.data]);
  const modes = model.modules().map((m) => m.training);
  const a = attack.pgd(model, images, labels, { eps: 0.1, alpha: 0.03, steps: 3, generator: new Generator(0) });
  // Dropout was active (train mode) for the model but the attack ran in eval mode: deterministic.
  const again = attack.pgd(model, images, labels, { eps: 0.1, alpha: 0.03, steps: 3, generator: new Generator(0) });
  assert.deepEqual([...a.data], [...again.data]);
  assert.deepEqual(model.modules().map((m) => m.training), modes);
  assert.deepEqual(model.parameters().map((p) => [...p.data]), before);
  assert.deepEqual(model.parameters().map((p) => p.requiresGrad), [true, false, true, true]);
  assert.ok(w.grad && w.grad.data.every((v) => v === 0.5));
  assert.deepEqual(model.parameters().slice(1).map((p) => p.grad), [null, null, null]);
});

test('bad arguments name the attack, the argument and the shapes', () => {
  const model = fixtureModel();
  assert.throws(() => attack.fgsm(model, images, labels, { eps: -0.1 }), (e: Error) => e instanceof ArgumentError && /^fgsm: eps must be a non-negative number, got -0.1/.test(e.message));
  assert.throws(() => attack.pgd(model, images, labels, { steps: 0 }), /pgd: steps must be a positive integer, got 0/);
  assert.throws(() => attack.bim(model, images, labels, { alpha: 0 }), /bim: alpha must be a positive number/);
  assert.throws(() => attack.fgsm(model, images, labels, { steps: 3 } as attack.AttackOptions), /fgsm: unknown option 'steps'/);
  assert.throws(() => attack.fgsm(model, images, ints([1, 2])), (e: Error) => e instanceof ShapeError && /labels must be an int32 tensor \[6\].*\[2\]/.test(e.message));
  assert.throws(() => attack.fgsm(model, images.mul(3), labels), /fgsm: images must be pixels in \[0, 1\], got values from 0 to 3 .*normalize/);
  assert.throws(() => attack.fgsm(model, images, labels, { target: 7, normalize: fx.normalize }), /fgsm: target holds class 7, out of range for a model with 5 classes/);
  assert.throws(() => attack.fgsm(model, images, labels, { normalize: { mean: [0.5, 0.5], std: 0.2 } }), /fgsm: normalize.mean has 2 values but the images have 3 channels/);
  assert.throws(() => attack.fgsm(model, images, labels, { normalize: { mean: 0.5, std: 0 } }), /fgsm: normalize.std must be a positive number/);
});

test('attackStats, robustAccuracy and attackBatched give the numbers of the PyTorch predictions', () => {
  const model = fixtureModel();
  const normalize = fx.normalize;
  const byName = Object.fromEntries(fx.cases.map((c) => [c.name, c]));
  const expectAccuracy = (pred: number[]) => pred.filter((p, i) => p === fx.labels[i]).length / pred.length;
  // The fixture's labels are the model's clean predictions: clean accuracy 1, success = 1 − robust accuracy.
  const fg = attack.fgsm(model, images, labels, { eps: 0.1, normalize });
  const s = attack.attackStats(model, images, fg, labels, { normalize });
  assert.equal(s.cleanAccuracy, 1);
  assert.equal(s.accuracy, expectAccuracy(byName.fgsm.advPred));
  assert.equal(s.successRate, 1 - s.accuracy);
  assert.ok(Math.abs(s.linf.max - 0.1) < 1e-6 && s.linf.mean <= s.linf.max);
  assert.ok(s.wrongConfidence! > 0.2 && s.wrongConfidence! <= 1);
  const tg = attack.attackStats(model, images, f32(byName['fgsm-targeted'].adv), labels, { target: targets, normalize });
  assert.equal(tg.successRate, byName['fgsm-targeted'].advPred.filter((p, i) => p === fx.targets[i]).length / 6);

  const curve = attack.robustAccuracy(model, images, labels, 'fgsm', { eps: [0, 0.1], normalize, batchSize: 4 });
  assert.deepEqual(curve.map((p) => [p.eps, p.accuracy]), [[0, 1], [0.1, s.accuracy]]);
  assert.equal(curve[0].linf.max, 0);
  // Batches of 4 and a per-image target give the images of one call.
  const whole = attack.bim(model, images, labels, { eps: 0.1, alpha: 0.02, steps: 3, target: targets, normalize });
  const batched = attack.attackBatched('bim', model, images, labels, { eps: 0.1, alpha: 0.02, steps: 3, target: targets, normalize, batchSize: 4 });
  assertClose(batched.data, whole.data, { atol: 1e-7, rtol: 0 });
  const pgdCurve = attack.robustAccuracy(model, images, labels, 'pgd', { eps: [0.05, 0.1], steps: 5, alphaRatio: 0.25, normalize, generator: new Generator(7) });
  assert.ok(pgdCurve[1].linf.max <= 0.1 + 1e-6 && pgdCurve[1].linf.max > 0.05);
  assert.throws(() => attack.robustAccuracy(model, images, labels, 'pgd', { eps: [0.1], alpha: 0.01, alphaRatio: 0.25 }), /give alpha or alphaRatio/);
});

test('transfer measures a source model\'s adversarial images on another model', () => {
  const source = fixtureModel(), other = fixtureModel();
  const normalize = fx.normalize;
  const self = attack.transfer(source, source, images, labels, 'fgsm', { eps: 0.1, normalize });
  assert.equal(self.targetAccuracy, self.sourceAccuracy);
  assert.equal(self.targetCleanAccuracy, 1);
  // Another head: its accuracy on the source's images is what attackStats says of them.
  const head = other.at(4) as nn.Linear;
  head.weight.data.reverse();
  const t = attack.transfer(source, other, images, labels, 'fgsm', { eps: 0.1, normalize });
  const adv = attack.fgsm(source, images, labels, { eps: 0.1, normalize });
  assert.equal(t.targetAccuracy, attack.attackStats(other, images, adv, labels, { normalize }).accuracy);
  assert.equal(t.sourceAccuracy, self.sourceAccuracy);
});

test('robustAccuracySpec draws one line per model over ε, in percent', () => {
  const a = { name: 'LeNet', points: [{ eps: 0, accuracy: 0.98 }, { eps: 0.1, accuracy: 0.7 }] };
  const b = { name: 'LeNet (adversarial)', points: [{ eps: 0, accuracy: 0.97 }, { eps: 0.1, accuracy: 0.9 }] };
  const spec = attack.robustAccuracySpec([a, b]) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
  assert.deepEqual(spec.datasets.series, [
    { x: 0, series: 'LeNet', y: 98 }, { x: 0.1, series: 'LeNet', y: 70 },
    { x: 0, series: 'LeNet (adversarial)', y: 97 }, { x: 0.1, series: 'LeNet (adversarial)', y: 90 },
  ]);
  assert.match(spec.encoding.x.title, /ε/);
  assert.throws(() => attack.robustAccuracySpec([a, { ...b, points: b.points.slice(1) }]), /robustAccuracySpec: curve 'LeNet \(adversarial\)' is measured at ε \[0.1\]/);
});

test('triptychs: original, perturbation on a shared grey scale, adversarial, with captions', () => {
  const model = fixtureModel();
  const adv = f32(fx.cases[0].adv);
  const t = attack.triptychs(model, images.narrow(0, 0, 2), adv.narrow(0, 0, 2), { classes: ['a', 'b', 'c', 'd', 'e'], normalize: fx.normalize });
  assert.equal(t.images.length, 6);
  assert.deepEqual(t.images[0].data, images.data.subarray(0, 192));
  assert.deepEqual(t.images[2].data, adv.data.subarray(0, 192));
  assert.ok(Math.abs(t.scale - 0.1) < 1e-6);
  const d = t.images[1].data, x = t.images[0].data, y = t.images[2].data;
  for (let i = 0; i < d.length; i++) assert.ok(Math.abs(d[i] - (0.5 + (y[i] - x[i]) / (2 * t.scale))) < 1e-6);
  assert.match(t.labels[0], new RegExp(`^${'abcde'[fx.labels[0]]} \\d+%$`));
  assert.match(t.labels[2], new RegExp(`^${'abcde'[fx.cases[0].advPred[0]]} \\d+%$`));
  assert.match(t.labels[1], /^δ ±0.10$/);
});

test('a LeNet-5 trained briefly on the bundled digits: FGSM at ε = 0.1 and 0.2 lowers its accuracy, PGD lowers it further', async () => {
  await selectDefaultBackend();
  manualSeed(0);
  const digits = mnist(), testDigits = mnist({ train: false });
  const model = new LeNet5();
  const loader = new DataLoader<{ input: Tensor; target: number | Tensor }, Batch>(new Subset(digits, Array.from({ length: 2000 }, (_, i) => i)), { batchSize: 32, shuffle: true, generator: new Generator(1) });
  await fit(model, { train: loader, optimizer: new Adam(model.parameters(), { lr: 5e-3 }), loss: crossEntropy, epochs: 2 });
  const x = testDigits.inputs.narrow(0, 0, 200), y = testDigits.targets.narrow(0, 0, 200);
  const fg = attack.robustAccuracy(model, x, y, 'fgsm', { eps: [0, 0.1, 0.2] });
  const pg = attack.robustAccuracy(model, x, y, 'pgd', { eps: [0.1, 0.2], steps: 10, alphaRatio: 0.25, generator: new Generator(0) });
  const [clean, f1, f2] = fg.map((p) => p.accuracy), [p1, p2] = pg.map((p) => p.accuracy);
  assert.ok(clean > 0.85, `clean accuracy ${clean}`);
  assert.ok(f1 < clean - 0.05 && f2 < f1, `FGSM: clean ${clean}, ε 0.1 → ${f1}, ε 0.2 → ${f2}`);
  assert.ok(p1 < f1 && p2 < f2 && p2 < 0.2, `PGD-10: ε 0.1 → ${p1} (FGSM ${f1}), ε 0.2 → ${p2} (FGSM ${f2})`);
});

test('adversarial training: a batch transform replaces the first ⌈ratio·n⌉ images, a callback records robust accuracy per epoch', async () => {
  const model = fixtureModel();
  const normalize = fx.normalize;
  const toInput = attack.inputNormalizer('test', images, normalize);
  // Batches of pixels (no normalize): the first half become FGSM images, the rest stay.
  const half = attack.adversarialBatches(model, { method: 'fgsm', eps: 0.1, ratio: 0.5 });
  const b = half({ input: images, target: labels });
  assert.equal(b.target, labels);
  assert.deepEqual(b.input.data.subarray(0, 3 * 192), attack.fgsm(model, images.narrow(0, 0, 3), labels.narrow(0, 0, 3), { eps: 0.1 }).data);
  assert.deepEqual(b.input.data.subarray(3 * 192), images.data.subarray(3 * 192));
  // Normalised batches: attacked as the pixels they came from, returned normalised; ratio 1 and α = ε/4 by default.
  const pgdAll = attack.adversarialBatches(model, { method: 'pgd', eps: 0.1, steps: 3, generator: new Generator(4), normalize });
  const whole = attack.pgd(model, images, labels, { eps: 0.1, alpha: 0.025, steps: 3, generator: new Generator(4), normalize });
  assertClose(pgdAll({ input: toInput(images), target: labels }).input.data, toInput(whole).data, { atol: 1e-5, rtol: 0 });
  assert.throws(() => attack.adversarialBatches(model, { method: 'fgsm', eps: 0.1, ratio: 0 }), /adversarialBatches: ratio must be above 0/);
  assert.throws(() => attack.adversarialBatches(model, { method: 'fgsm', eps: 0 }), /adversarialBatches: eps must be a positive number, got 0/);
  assert.throws(() => attack.adversarialBatches(model, { method: 'deepfool' as attack.AttackMethod, eps: 0.1 }), /adversarialBatches: method must be one of 'fgsm', 'bim', 'pgd', 'pgdL2'/);

  // Two epochs of FGSM training on the six fixture images; after the last epoch the callback's
  // number is the robust accuracy of the final model.
  const trainee = fixtureModel();
  const { SGD } = await import('../src/optim/sgd.js');
  const history = await fit(trainee, {
    train: [{ input: toInput(images), target: labels }], optimizer: new SGD(trainee.parameters(), { lr: 0.1 }), loss: crossEntropy, epochs: 2,
    transformBatch: attack.adversarialBatches(trainee, { method: 'fgsm', eps: 0.1, normalize }),
    callbacks: [attack.robustAccuracyCallback(images, labels, { method: 'fgsm', eps: 0.1, normalize })],
  });
  const last = attack.attackStats(trainee, images, attack.fgsm(trainee, images, labels, { eps: 0.1, normalize }), labels, { normalize }).accuracy;
  assert.equal(history[1].valRobustAccuracy, last);
  assert.ok(history.every((h) => typeof h.valRobustAccuracy === 'number'));
  const spec = attack.robustTrainingSpec(history, { attack: 'FGSM ε = 0.1' }) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
  assert.deepEqual(spec.encoding.color.scale.domain, ['training (adversarial batches)', 'test, clean', 'test, FGSM ε = 0.1']);
  assert.deepEqual(spec.datasets.series.filter((r: { series: string }) => r.series === 'test, FGSM ε = 0.1').map((r: { y: number }) => r.y), history.map((h) => 100 * h.valRobustAccuracy!));
});
