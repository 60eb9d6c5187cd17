/** Metrics against scikit-learn, and the fit/evaluate/predict loop with callbacks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Generator, data, manualSeed, nn, optim, rand, tensor, train, type Tensor } from '../src/index.js';
import { assertClose } from './helpers/assert.js';

interface Arr { shape: number[]; data: number[] }
const fixtures = JSON.parse(readFileSync(new URL('./fixtures/metrics.json', import.meta.url), 'utf8'));
const t = (a: Arr, int = false): Tensor => tensor(int ? Int32Array.from(a.data) : Float32Array.from(a.data), { shape: a.shape });

for (const c of fixtures.cases) {
  test(`metrics match scikit-learn: ${c.name}`, () => {
    const logits = t(c.logits), target = t(c.target, true);
    assert.ok(Math.abs(train.accuracy(logits, target) - c.accuracy) < 1e-12);
    const m = train.confusionMatrix(logits, target, c.numClasses);
    assert.deepEqual(m, c.confusion);
    if (c.kind === 'classification') {
      assert.ok(Math.abs(train.topKAccuracy(logits, target, 2) - c.top2) < 1e-12);
      const r = train.classificationReport(m);
      assertClose(r.precision, c.precision, { atol: 1e-12, rtol: 0 });
      assertClose(r.recall, c.recall, { atol: 1e-12, rtol: 0 });
      assertClose(r.f1, c.f1, { atol: 1e-12, rtol: 0 });
      assert.deepEqual(r.support, c.support);
      assert.ok(Math.abs(r.macroF1 - c.macroF1) < 1e-12);
    } else {
      const s = train.segmentationScores(m);
      assertClose(s.iou, c.iou, { atol: 1e-12, rtol: 0 });
      assertClose(s.dice, c.dice, { atol: 1e-12, rtol: 0 });
      assert.ok(Math.abs(s.pixelAccuracy - c.accuracy) < 1e-12);
    }
  });
}

test('metrics reject mismatched shapes and classes out of range', () => {
  assert.throws(() => train.accuracy(tensor([[1, 0]]), tensor([0, 1], { dtype: 'int32' })), /accuracy: predictions \[1\] .* do not match target \[2\]/);
  assert.throws(() => train.confusionMatrix(tensor([[1, 0]]), tensor([5], { dtype: 'int32' }), 2), /confusionMatrix: class 5 at position 0 is outside 0..1/);
  assert.throws(() => train.topKAccuracy(tensor([[1, 0]]), tensor([0], { dtype: 'int32' }), 3), /topKAccuracy: k must be in 1..2, got 3/);
});

/** Points in 2-D, class = quadrant: learnable by a small MLP. */
function quadrants(n: number, seed: number) {
  const x = rand([n, 2], { generator: new Generator(seed) }).sub(0.5);
  const y = Int32Array.from({ length: n }, (_, i) => (x.data[2 * i] > 0 ? 1 : 0) + (x.data[2 * i + 1] > 0 ? 2 : 0));
  return new data.TensorDataset(x, tensor(y));
}

test('fit trains, evaluates every epoch, steps the schedule and calls callbacks', async () => {
  manualSeed(0);
  const model = new nn.Sequential(new nn.Linear(2, 16), new nn.ReLU(), new nn.Linear(16, 4));
  const opt = new optim.SGD(model.parameters(), { lr: 0.5, momentum: 0.9 });
  const sched = new optim.StepLR(opt, { stepSize: 1, gamma: 0.5 });
  const loader = new data.DataLoader(quadrants(256, 1), { batchSize: 32, shuffle: true, generator: new Generator(2) });
  const val = new data.DataLoader(quadrants(128, 3), { batchSize: 64 });
  const events: string[] = [];
  const history = await train.fit(model, {
    train: loader as Iterable<train.Batch>, val: val as Iterable<train.Batch>, optimizer: opt, scheduler: sched, loss: nn.functional.crossEntropy, epochs: 6,
    callbacks: [{ onTrainBegin: () => { events.push('begin'); }, onEpochEnd: (_c, r) => { events.push(`epoch ${r.epoch}`); }, onTrainEnd: () => { events.push('end'); } }],
  });
  assert.deepEqual(events, ['begin', 'epoch 1', 'epoch 2', 'epoch 3', 'epoch 4', 'epoch 5', 'epoch 6', 'end']);
  assert.equal(history.length, 6);
  assert.deepEqual(history.map((r) => r.lr), [0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625]);
  assert.ok(history[5].trainLoss < 0.5 * history[0].trainLoss, `loss ${history[0].trainLoss} → ${history[5].trainLoss}`);
  assert.ok(history[5].valAccuracy! > 0.9, `val accuracy ${history[5].valAccuracy}`);
  assert.ok(history.every((r) => r.imagesPerSecond > 0 && r.seconds > 0));
  const ev = train.evaluate(model, val as Iterable<train.Batch>, { loss: nn.functional.crossEntropy, numClasses: 4 });
  assert.equal(ev.samples, 128);
  assert.equal(ev.confusion!.flat().reduce((a, b) => a + b, 0), 128);
  assert.ok(Math.abs(ev.accuracy! - history[5].valAccuracy!) < 1e-12);
  assert.equal(model.training, true, 'evaluate restores training mode');
  const logits = train.predict(model, val as Iterable<train.Batch>);
  assert.deepEqual(logits.shape, [128, 4]);
});

test('EarlyStopping stops when the monitored value stops improving', async () => {
  manualSeed(0);
  const model = new nn.Sequential(new nn.Linear(2, 4));
  const opt = new optim.SGD(model.parameters(), { lr: 0 }); // nothing changes: no improvement after epoch 1
  const stopper = new train.EarlyStopping({ monitor: 'trainLoss', patience: 2 });
  const loader = new data.DataLoader(quadrants(64, 1), { batchSize: 64 });
  const history = await train.fit(model, { train: loader as Iterable<train.Batch>, optimizer: opt, loss: nn.functional.crossEntropy, epochs: 10, callbacks: [stopper] });
  assert.equal(history.length, 3);
  assert.equal(stopper.bestEpoch, 1);
  assert.throws(() => new train.EarlyStopping({ patience: -1 }), /EarlyStopping: patience must be a non-negative integer/);
});
