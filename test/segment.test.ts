/**
 * Segmentation pieces against test/fixtures/segment.json (tools/gen_seg_fixtures.py: SciPy's
 * distance transform and labelling, PyTorch losses): the U-Net weight map, weighted pixel-wise
 * cross entropy and the Dice variants with gradients, the ISBI Rand scores; float64 gradient
 * checks; elastic deformation; overlap-tile prediction against whole-image prediction.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ArgumentError, Generator, ShapeError, Tensor, gradcheck, rand, randint, randn, tensor } from '../src/index.js';
import { ceDiceLoss, crossEntropy, diceLoss } from '../src/nn/functional/loss.js';
import { unetWeightMap } from '../src/data/transforms/weight-map.js';
import { elastic, randomCrop } from '../src/data/transforms/paired.js';
import { randScores, segmentationScores, confusionMatrix } from '../src/train/metrics.js';
import { connectedComponents, distanceTransform } from '../src/segment/morphology.js';
import { predictTiled } from '../src/segment/tile.js';
import { Conv2d } from '../src/nn/layers/conv.js';
import { ReLU } from '../src/nn/layers/activation.js';
import { Sequential } from '../src/nn/layers/container.js';
import { UNet } from '../src/models/unet.js';
import { assertClose, assertTensor } from './helpers/assert.js';

interface Arr { shape: number[]; data: number[]; dtype?: 'float32' | 'int32' }
type Case =
  | { name: string; kind: 'weightMap'; mask: Arr; options: Record<string, any>; output: Arr }
  | { name: string; kind: 'loss'; loss: 'crossEntropy' | 'diceLoss' | 'ceDiceLoss'; options: Record<string, any>; tensors: Record<string, Arr>; output: Arr; upstream: Arr | null; grad: Arr }
  | { name: string; kind: 'rand'; predicted: Arr; truth: Arr; output: { vRand: number; split: number; merge: number } };
const fixtures: { torch: string; scipy: string; cases: Case[] } = JSON.parse(readFileSync(new URL('./fixtures/segment.json', import.meta.url), 'utf8'));
/** Throws a PixelgradError whose message (which starts with the function's name) matches. */
function throwsWith(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: Error) => re.test(e.message) || assert.fail(`message: ${e.message}`));
}
const arr = (a: Arr): Tensor => tensor(a.dtype === 'int32' ? Int32Array.from(a.data) : Float32Array.from(a.data), { shape: a.shape });

test('the fixtures cover weight maps, every segmentation loss and the Rand scores', () => {
  const kinds = new Set(fixtures.cases.map((c) => (c.kind === 'loss' ? c.loss : c.kind)));
  assert.deepEqual([...kinds].sort(), ['ceDiceLoss', 'crossEntropy', 'diceLoss', 'rand', 'weightMap']);
});

const LOSSES = { crossEntropy, diceLoss, ceDiceLoss } as const;
for (const c of fixtures.cases) {
  test(`${c.kind === 'loss' ? c.loss : c.kind}: ${c.name} matches SciPy ${fixtures.scipy} / PyTorch ${fixtures.torch}`, () => {
    if (c.kind === 'weightMap') {
      const w = unetWeightMap(arr(c.mask), c.options);
      assert.equal(w.dtype, 'float32');
      assertTensor(w, c.output.shape, c.output.data, { what: 'weight map', atol: 1e-5, rtol: 1e-5 });
      return;
    }
    if (c.kind === 'rand') {
      const r = randScores(arr(c.predicted), arr(c.truth));
      assertClose([r.vRand, r.split, r.merge], [c.output.vRand, c.output.split, c.output.merge], { atol: 1e-12, rtol: 1e-12, what: 'rand' });
      return;
    }
    const input = arr(c.tensors.input).setRequiresGrad(true);
    const extra: Record<string, Tensor> = {};
    if (c.tensors.weight) extra.weight = arr(c.tensors.weight);
    if (c.tensors.weightMap) extra.weightMap = arr(c.tensors.weightMap);
    const options = c.loss === 'ceDiceLoss' ? { ...c.options, crossEntropy: { ...c.options.crossEntropy, ...extra } } : { ...c.options, ...extra };
    const out = LOSSES[c.loss](input, arr(c.tensors.target), options);
    assertTensor(out, c.output.shape, c.output.data, { what: 'loss', atol: 1e-5, rtol: 1e-4 });
    if (c.upstream) out.mul(arr(c.upstream)).sum().backward();
    else out.backward();
    assertTensor(input.grad!, c.grad.shape, c.grad.data, { what: 'grad', atol: 1e-6, rtol: 1e-3 });
  });
}

// ---- float64 gradient checks ----------------------------------------------------------------

const gen = new Generator(15);
const f64 = (shape: number[]) => randn(shape, { dtype: 'float64', generator: gen }).setRequiresGrad(true);
const labels = (classes: number, shape: number[]) => randint(0, classes, shape, { generator: gen });
const positive = (shape: number[]) => rand(shape, { dtype: 'float64', generator: gen }).add(0.2);

const t3 = labels(3, [2, 4, 4]), t2 = labels(2, [2, 5, 5]), map = positive([2, 4, 4]), cw = tensor([0.5, 2, 1], { dtype: 'float64' });
const GRADCHECKS: [string, (x: Tensor) => Tensor, number[]][] = [
  ['crossEntropy weightMap + class weights', (x) => crossEntropy(x, t3, { weight: cw, weightMap: map }), [2, 3, 4, 4]],
  ['crossEntropy weightMap none', (x) => crossEntropy(x, t3, { weightMap: map, reduction: 'none' }), [2, 3, 4, 4]],
  ['crossEntropy weightMap + label smoothing', (x) => crossEntropy(x, t3, { weightMap: map, labelSmoothing: 0.2 }), [2, 3, 4, 4]],
  ['diceLoss binary classIndex 1', (x) => diceLoss(x, t2, { classIndex: 1 }), [2, 2, 5, 5]],
  ['diceLoss without background', (x) => diceLoss(x, t3, { includeBackground: false, smooth: 0.5 }), [2, 3, 4, 4]],
  ['diceLoss over the batch', (x) => diceLoss(x, t3, { batch: true }), [2, 3, 4, 4]],
  ['ceDiceLoss', (x) => ceDiceLoss(x, t3, { diceWeight: 0.7, crossEntropy: { weightMap: map }, dice: { includeBackground: false } }), [2, 3, 4, 4]],
];
for (const [name, fn, shape] of GRADCHECKS) {
  test(`gradcheck ${name}`, () => {
    const r = gradcheck(fn, [f64(shape)]);
    assert.ok(r.ok, `${name}: analytic ${r.failure?.analytic} vs numeric ${r.failure?.numeric} at ${r.failure?.index}`);
  });
}

test('crossEntropy with a weight map of ones is plain cross entropy; Dice variants agree with each other', () => {
  const x = randn([2, 3, 4, 4], { generator: gen }), t = labels(3, [2, 4, 4]);
  assertClose(crossEntropy(x, t, { weightMap: tensor(new Float32Array(32).fill(1), { shape: [2, 4, 4] }) }).data, crossEntropy(x, t).data);
  // classIndex k alone, per sample, equals the k-th class of the unreduced per-class mean with C = 1 kept.
  const all = [0, 1, 2].map((k) => diceLoss(x, t, { classIndex: k, reduction: 'none' }));
  const mean = all.reduce((a, b) => a.add(b)).div(3);
  assertClose(mean.data, diceLoss(x, t, { reduction: 'none' }).data, { atol: 1e-6 });
  const noBg = all[1].add(all[2]).div(2);
  assertClose(noBg.data, diceLoss(x, t, { reduction: 'none', includeBackground: false }).data, { atol: 1e-6 });
});

test('segmentation loss errors name the function, the argument and the shapes', () => {
  const x = randn([2, 3, 4, 4]), t = labels(3, [2, 4, 4]);
  assert.throws(() => crossEntropy(x, t, { weightMap: rand([2, 4, 5]) }), (e: Error) => e instanceof ShapeError && /^crossEntropy: weightMap has shape \[2,4,5\] but the target is \[2,4,4\]/.test(e.message));
  throwsWith(() => crossEntropy(x, rand([2, 3, 4, 4]), { weightMap: rand([2, 4, 4]) }), /^crossEntropy: weightMap needs class-index targets/);
  assert.throws(() => diceLoss(x, t, { classIndex: 3 }), (e: Error) => e instanceof ArgumentError && /^diceLoss: classIndex 3 is out of range for 3 classes \(input \[2,3,4,4\]\)$/.test(e.message));
  throwsWith(() => diceLoss(x, t, { classIndex: 1, includeBackground: false }), /^diceLoss: classIndex 1 picks one class; includeBackground does not apply/);
  throwsWith(() => diceLoss(x, t, { batch: 1 as any }), /^diceLoss: batch must be true or false, got 1$/);
  throwsWith(() => ceDiceLoss(x, t, { dice: { reduction: 'none' } }), /^ceDiceLoss: dice.reduction must be 'mean' or 'sum'/);
  throwsWith(() => ceDiceLoss(x, t, { diceWieght: 1 } as any), /^ceDiceLoss: unknown option 'diceWieght'/);
});

// ---- weight map, distances, components ------------------------------------------------------

test('distanceTransform is exact on a single point; components are 4-connected', () => {
  const d = distanceTransform(5, 7, (i) => i === 2 * 7 + 3);
  for (let y = 0; y < 5; y++) for (let x = 0; x < 7; x++) assert.ok(Math.abs(d[y * 7 + x] - Math.hypot(y - 2, x - 3)) < 1e-12);
  assert.ok(distanceTransform(2, 2, () => false).every((v) => v === Infinity));
  // Diagonal neighbours are separate objects (scipy.ndimage.label's default structure).
  const { labels: l, count } = connectedComponents(2, 2, (i) => i === 0 || i === 3);
  assert.equal(count, 2);
  assert.deepEqual([...l], [1, 0, 0, 2]);
});

test('unetWeightMap: options and errors', () => {
  const mask = tensor(Int32Array.from([1, 1, 0, 1, 1, 1, 1, 0, 1, 1]), { shape: [2, 5] });
  const plain = unetWeightMap(mask, { classWeights: 'none', w0: 0 });
  assert.ok(plain.data.every((v) => v === 1));
  const listed = unetWeightMap(mask, { classWeights: [3, 0.5], w0: 0 });
  assert.deepEqual([...listed.data], [...mask.data].map((v) => (v ? 0.5 : 3)));
  // The gap between the two objects weighs most: d1 = d2 = 1 there.
  const w = unetWeightMap(mask, { classWeights: 'none', sigma: 1 });
  assertClose([w.data[2]], [1 + 10 * Math.exp(-2)], { atol: 1e-6 });
  throwsWith(() => unetWeightMap(mask.to('float32')), /^unetWeightMap: mask must hold int32 class ids, got float32/);
  throwsWith(() => unetWeightMap(mask.reshape(1, 2, 5)), /^unetWeightMap: mask must be \[H,W\], got shape \[1,2,5\]/);
  throwsWith(() => unetWeightMap(mask, { classWeights: [1] }), /^unetWeightMap: the mask holds class id 1 but classWeights lists 1 weights/);
  throwsWith(() => unetWeightMap(mask, { sigma: 0 }), /^unetWeightMap: sigma/);
});

// ---- elastic deformation and crops ----------------------------------------------------------

test('paired.elastic: the mask keeps its class ids and follows the image; sigma 0 is the identity', () => {
  const size = 32;
  // A mask and an image that is the mask as floats: after the same deformation they must agree
  // wherever the image is not between two classes.
  const mask = tensor(Int32Array.from({ length: size * size }, (_, i) => (Math.floor(i / size / 8) + Math.floor((i % size) / 8)) % 3), { shape: [size, size] });
  const image = mask.to('float32').reshape(1, size, size);
  const [img2, mask2] = elastic({ sigma: 4, generator: new Generator(3) })(image, mask);
  assert.equal(mask2.dtype, 'int32');
  assert.deepEqual(img2.shape, [1, size, size]);
  assert.ok([...mask2.data].every((v) => v === 0 || v === 1 || v === 2));
  let moved = 0, agree = 0, integral = 0;
  for (let i = 0; i < size * size; i++) {
    if (mask2.data[i] !== mask.data[i]) moved++;
    const v = img2.data[i];
    if (Math.abs(v - Math.round(v)) < 1e-6) { integral++; if (Math.round(v) === mask2.data[i]) agree++; }
  }
  assert.ok(moved > 20, `the deformation moved ${moved} mask pixels`);
  assert.ok(agree / integral > 0.97, `image and mask agree on ${agree} of ${integral} pixels`);
  const [same, sameMask] = elastic({ sigma: 0, generator: new Generator(3) })(image, mask);
  assert.deepEqual([...same.data], [...image.data]);
  assert.deepEqual([...sameMask.data], [...mask.data]);
  throwsWith(() => elastic({ grid: 1 }), /^paired.elastic: grid must be at least 2/);
  throwsWith(() => elastic({ sigmaa: 1 } as any), /^paired.elastic: unknown option 'sigmaa'/);
  throwsWith(() => elastic()(image, mask.reshape(16, 64)), /^paired.elastic: mask of shape \[16,64\] does not match/);
});

test('paired.randomCrop of a fixed size from a large image; a crop larger than the image is an error', () => {
  const image = rand([1, 40, 50]), mask = labels(2, [40, 50]);
  const [i2, m2] = randomCrop(32, { generator: new Generator(1) })(image, mask);
  assert.deepEqual(i2.shape, [1, 32, 32]);
  assert.deepEqual(m2.shape, [32, 32]);
  throwsWith(() => randomCrop(64)(image, mask), /^paired.randomCrop: crop size \[64,64\] is larger than the image \[40,50\]/);
});

// ---- overlap-tile prediction ----------------------------------------------------------------

test('predictTiled equals whole-image prediction of a fully convolutional model (reflect padding, any size)', () => {
  const g = new Generator(5);
  // Reflect padding at each layer's border equals the mirrored context of the tiles only for one
  // 3×3 layer; the 1×1 layers after it see single pixels.
  const model = new Sequential(new Conv2d(2, 6, 3, { padding: 1, paddingMode: 'reflect' }), new ReLU(), new Conv2d(6, 3, 1));
  for (const p of model.parameters()) p.data.set(randn(p.shape, { generator: g }).data);
  model.eval();
  for (const [h, w] of [[37, 50], [16, 16], [5, 9]]) {
    const image = rand([2, 2, h, w], { generator: g });
    const whole = model.forward(image);
    const tiled = predictTiled(model, image, { tile: 16, margin: 3, batchSize: 3 });
    assertTensor(tiled, whole.shape, whole.data, { atol: 1e-5, what: `${h}×${w}` });
    assertTensor(predictTiled(model, image.narrow(0, 1, 1).reshape(2, h, w), { tile: 16, margin: 3 }), [3, h, w], whole.narrow(0, 1, 1).data, { atol: 1e-5 });
  }
});

test('predictTiled on a U-Net: an image of any size, no seams away from the borders', () => {
  const model = new UNet({ inChannels: 1, numClasses: 2, widths: [4, 8] });
  const image = rand([1, 1, 40, 40], { generator: new Generator(2) });
  const out = predictTiled(model, image, { tile: 24, margin: 6 });
  assert.deepEqual(out.shape, [1, 2, 40, 40]);
  assert.ok(Array.from(out.data).every(Number.isFinite));
  // Interior pixels whose receptive field lies inside the image and within their tile's margin
  // match the whole-image prediction, on both sides of the seams between cores (at 12 and 24).
  const whole = model.forward(image);
  for (const [y, x] of [[11, 11], [12, 12], [11, 24], [23, 12], [24, 23]]) {
    for (let c = 0; c < 2; c++) {
      const i = (c * 40 + y) * 40 + x;
      assert.ok(Math.abs(out.data[i] - whole.data[i]) < 1e-4, `(${c},${y},${x}): ${out.data[i]} vs ${whole.data[i]}`);
    }
  }
  throwsWith(() => predictTiled(model, image, { tile: 24, margin: 12 }), /^predictTiled: margin must be an integer in \[0, tile\/2\)/);
  throwsWith(() => predictTiled(model, image.reshape(40, 40)), /^predictTiled: image must be \[C,H,W\] or \[N,C,H,W\], got \[40,40\]/);
});

// ---- metrics --------------------------------------------------------------------------------

test('randScores: a perfect segmentation scores 1; errors; IoU/Dice from a confusion matrix', () => {
  const t = tensor(Int32Array.from([1, 1, 0, 1, 1, 1, 1, 0, 1, 1]), { shape: [2, 5] });
  assert.deepEqual(randScores(t, t), { vRand: 1, split: 1, merge: 1 });
  throwsWith(() => randScores(t, t.reshape(5, 2)), /^randScores: predicted \[2,5\] and truth \[5,2\] differ/);
  throwsWith(() => randScores(t.to('float32'), t), /^randScores: predicted must hold int32 class ids, got float32/);
  const s = segmentationScores(confusionMatrix(tensor(Int32Array.from([0, 1, 1, 1]), { shape: [4] }), tensor(Int32Array.from([0, 0, 1, 1]), { shape: [4] }), 2));
  assertClose(s.iou, [0.5, 2 / 3]);
  assertClose(s.dice, [2 / 3, 0.8]);
});
