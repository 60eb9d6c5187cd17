/**
 * Image transforms (src/data/transforms): the functional ops against torchvision 0.14
 * (test/fixtures/transforms.json, made by tools/gen_transform_fixtures.py); the random transforms'
 * reproducibility, variety, probabilities and parameter ranges; paired image + mask transforms
 * keeping the mask aligned with the image; conversion and statistics; and error messages.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArgumentError, DTypeError, Generator, ShapeError, manualSeed, rand, tensor, zeros, type Tensor } from '../src/index.js';
import * as T from '../src/data/transforms/index.js';
import { assertClose, assertTensor } from './helpers/assert.js';

const F = T.functional;
const P = T.paired;

// ---------------------------------------------------------------------------------------------
// torchvision fixtures
// ---------------------------------------------------------------------------------------------

interface Arr { shape: number[]; data: number[] }
interface Case { name: string; op: string; input: string; args: Record<string, any>; output: Arr }
const fixtures: { torch: string; torchvision: string; images: Record<string, Arr>; cases: Case[] } =
  JSON.parse(readFileSync(new URL('./fixtures/transforms.json', import.meta.url), 'utf8'));
const images = Object.fromEntries(Object.entries(fixtures.images).map(([k, v]) => [k, tensor(Float32Array.from(v.data), { shape: v.shape })]));

const RUN: Record<string, (x: Tensor, a: Record<string, any>) => Tensor> = {
  hflip: (x) => F.hflip(x),
  vflip: (x) => F.vflip(x),
  crop: (x, a) => F.crop(x, a.top, a.left, a.height, a.width),
  centerCrop: (x, a) => F.centerCrop(x, a.size),
  pad: (x, a) => F.pad(x, a.padding, { fill: a.fill, paddingMode: a.paddingMode }),
  resize: (x, a) => F.resize(x, a.size, { interpolation: a.interpolation, antialias: a.antialias }),
  resizedCrop: (x, a) => F.resizedCrop(x, a.top, a.left, a.height, a.width, a.size, { interpolation: a.interpolation }),
  rotate: (x, a) => F.rotate(x, a.angle, { interpolation: a.interpolation, expand: a.expand, center: a.center, fill: a.fill }),
  affine: (x, a) => F.affine(x, { angle: a.angle, translate: a.translate, scale: a.scale, shear: a.shear, interpolation: a.interpolation, fill: a.fill, center: a.center }),
  adjustBrightness: (x, a) => F.adjustBrightness(x, a.factor),
  adjustContrast: (x, a) => F.adjustContrast(x, a.factor),
  adjustSaturation: (x, a) => F.adjustSaturation(x, a.factor),
  adjustHue: (x, a) => F.adjustHue(x, a.factor),
  adjustGamma: (x, a) => F.adjustGamma(x, a.gamma, a.gain),
  gaussianBlur: (x, a) => F.gaussianBlur(x, a.kernelSize, a.sigma),
  normalize: (x, a) => F.normalize(x, a.mean, a.std),
  erase: (x, a) => F.erase(x, a.i, a.j, a.h, a.w, a.value),
  toGrayscale: (x, a) => F.toGrayscale(x, a.numOutputChannels),
};

test('the fixtures cover every functional op, each on several inputs', () => {
  assert.deepEqual(new Set(fixtures.cases.map((c) => c.op)), new Set(Object.keys(RUN)));
  for (const op of Object.keys(RUN)) assert.ok(fixtures.cases.filter((c) => c.op === op).length >= 3, op);
});

for (const c of fixtures.cases) {
  test(`functional.${c.name} matches torchvision ${fixtures.torchvision}`, () => {
    const x = images[c.input];
    const before = x.data.slice();
    const y = RUN[c.op](x, c.args);
    assert.equal(y.dtype, 'float32');
    assertTensor(y, c.output.shape, c.output.data, { what: c.name, atol: 2e-6, rtol: 1e-6 });
    assert.deepEqual(x.data, before, 'the input is not modified');
    assert.notEqual(y.data, x.data, 'the output has its own data');
  });
}

// ---------------------------------------------------------------------------------------------
// functional: dtypes, masks and identities
// ---------------------------------------------------------------------------------------------

/** A smooth single-channel image with blobs, values in about [0.05, 1]. */
function blobs(h = 24, w = 28): Tensor {
  const d = new Float32Array(h * w);
  const centres = [[6, 7, 4], [15, 19, 5], [18, 6, 3.5], [5, 22, 3]];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let v = 0.05;
      for (const [cy, cx, s] of centres) v += Math.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * s * s));
      d[y * w + x] = Math.min(v, 1);
    }
  }
  return tensor(d, { shape: [1, h, w] });
}
/** Class 2 where the image is above 0.5, else 1 (0 is left for the fill). */
const classOf = (v: number): number => (v > 0.5 ? 2 : 1);
const threshold = (img: Tensor): Tensor => tensor(Int32Array.from(img.data, classOf), { shape: img.shape.slice(-2) });
const uniq = (t: Tensor): number[] => [...new Set(t.data)].sort((a, b) => a - b);

test('geometric functions keep int32 masks int32 with only their values (nearest) or rounded values (bilinear)', () => {
  const mask = tensor(Int32Array.from({ length: 7 * 9 }, (_, i) => [3, 5, 9][i % 3]), { shape: [7, 9] });
  const nearest = [
    F.rotate(mask, 33), F.rotate(mask, -70, { expand: true, fill: 255 }), F.affine(mask, { angle: 20, translate: [1, -2], scale: 1.3, shear: [10, 5] }),
    F.resize(mask, [13, 4], { interpolation: 'nearest' }), F.hflip(mask), F.vflip(mask), F.crop(mask, -2, 3, 8, 8, { fill: 255 }),
    F.centerCrop(mask, [9, 4]), F.pad(mask, [1, 2], { paddingMode: 'reflect' }), F.resizedCrop(mask, 1, 1, 4, 4, 9, { interpolation: 'nearest' }),
  ];
  for (const m of nearest) {
    assert.equal(m.dtype, 'int32');
    assert.ok(uniq(m).every((v) => [0, 3, 5, 9, 255].includes(v)), JSON.stringify(uniq(m)));
  }
  const r = F.rotate(mask, 33, { interpolation: 'bilinear' });
  assert.equal(r.dtype, 'int32');
  assert.ok(r.data.every((v) => Number.isInteger(v) && v >= 0 && v <= 9));
  // a [1,H,W] mask behaves like [H,W]
  assert.deepEqual([...F.rotate(mask.reshape([1, 7, 9]), 33).data], [...nearest[0].data]);
});

test('float64 images stay float64 and agree with float32 results', () => {
  const x = images.A, x64 = x.double();
  for (const f of [(t: Tensor) => F.rotate(t, 30, { interpolation: 'bilinear' }), (t: Tensor) => F.resize(t, [4, 11]), (t: Tensor) => F.gaussianBlur(t, 5, 1.2),
    (t: Tensor) => F.adjustContrast(t, 1.4), (t: Tensor) => F.adjustHue(t, 0.3), (t: Tensor) => F.normalize(t, [0.5], [0.25])]) {
    const y = f(x64);
    assert.equal(y.dtype, 'float64');
    assertClose(y.data, f(x).data, { atol: 1e-5 });
  }
});

test('flips are involutions; rotate 90 four times and rotate 360 are the identity', () => {
  const x = images.A;
  assert.deepEqual(F.hflip(F.hflip(x)).data, x.data);
  assert.deepEqual(F.vflip(F.vflip(x)).data, x.data);
  let y = x;
  for (let k = 0; k < 4; k++) y = F.rotate(y, 90, { expand: true });
  assert.deepEqual(y.shape, x.shape);
  assert.deepEqual(y.data, x.data);
  assert.deepEqual(F.rotate(x, 360).data, x.data);
  // counter-clockwise: the top-middle pixel of a square image goes to the left-middle
  const sq = zeros([1, 5, 5]).data.slice();
  sq[2] = 1;
  const r = F.rotate(tensor(sq, { shape: [1, 5, 5] }), 90);
  assert.equal(r.data[2 * 5 + 0], 1);
  // torchvision's affine turns the other way (clockwise for positive angles)
  const a = F.affine(tensor(sq, { shape: [1, 5, 5] }), { angle: 90 });
  assert.equal(a.data[2 * 5 + 4], 1);
});

test('erase takes a number, one value per channel or a broadcastable tensor, and clips to the image', () => {
  const x = images.A;
  const e = F.erase(x, 5, 7, 4, 4, tensor([[[1]], [[2]], [[3]]]));
  const at = (t: Tensor, c: number, i: number, j: number) => t.data[c * 63 + i * 9 + j];
  assert.equal(at(e, 0, 6, 8), 1); assert.equal(at(e, 2, 5, 7), 3);
  assert.equal(at(e, 1, 4, 7), at(x, 1, 4, 7));
  const r = rand([3, 2, 2], { generator: new Generator(1) });
  const e2 = F.erase(x, 0, 0, 2, 2, r);
  assert.equal(at(e2, 1, 1, 1), r.data[4 + 3]);
});

// ---------------------------------------------------------------------------------------------
// random transforms
// ---------------------------------------------------------------------------------------------

/** [name, factory, the fewest distinct outputs expected in 12 draws] */
const RANDOM: [string, (g: Generator) => T.Transform, number?][] = [
  ['randomCrop', (g) => T.randomCrop([4, 5], { padding: 1, generator: g })],
  ['randomResizedCrop', (g) => T.randomResizedCrop(6, { generator: g })],
  ['randomHorizontalFlip', (g) => T.randomHorizontalFlip({ generator: g }), 2],
  ['randomVerticalFlip', (g) => T.randomVerticalFlip({ generator: g }), 2],
  ['randomRotation', (g) => T.randomRotation(40, { interpolation: 'bilinear', generator: g })],
  ['randomAffine', (g) => T.randomAffine({ degrees: 20, translate: [0.2, 0.2], scale: [0.8, 1.2], shear: [-10, 10, -5, 5], generator: g })],
  ['colorJitter', (g) => T.colorJitter({ brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1, generator: g })],
  ['randomAdjustGamma', (g) => T.randomAdjustGamma({ gamma: [0.5, 2], gain: [0.9, 1.1], generator: g })],
  ['gaussianNoise', (g) => T.gaussianNoise({ std: 0.1, generator: g })],
  ['gaussianBlur', (g) => T.gaussianBlur(3, { generator: g })],
  ['randomErasing', (g) => T.randomErasing({ value: 'random', generator: g })],
  ['randomApply', (g) => T.randomApply(T.colorJitter({ brightness: 0.5, generator: g }), { p: 0.5, generator: g })],
];

for (const [name, make, fewest = 6] of RANDOM) {
  test(`${name}: reproducible for a seeded generator, varies across draws, never modifies its input`, () => {
    const x = images.A;
    const before = x.data.slice();
    const t1 = make(new Generator(11)), t2 = make(new Generator(11));
    const outs = Array.from({ length: 12 }, () => t1(x));
    const again = Array.from({ length: 12 }, () => t2(x));
    outs.forEach((o, i) => { assert.deepEqual(o.shape, again[i].shape); assert.deepEqual(o.data, again[i].data, `draw ${i}`); });
    const distinct = new Set(outs.map((o) => `${o.shape}:${Array.from(o.data).join(',')}`));
    assert.ok(distinct.size >= fewest, `${distinct.size} distinct outputs in 12 draws`);
    assert.deepEqual(x.data, before);
    assert.equal(typeof t1.description, 'string');
    assert.equal(String(t1), t1.description);
  });
}

test('the default generator drives transforms without a generator (manualSeed makes them reproducible)', () => {
  const t = T.compose([T.randomRotation(45), T.randomHorizontalFlip(), T.colorJitter({ brightness: 0.5 })]);
  manualSeed(123);
  const a = [t(images.A), t(images.A)];
  manualSeed(123);
  const b = [t(images.A), t(images.A)];
  assert.deepEqual(a[0].data, b[0].data);
  assert.deepEqual(a[1].data, b[1].data);
  assert.notDeepEqual(a[0].data, a[1].data);
});

test('flip probabilities: p = 0.5 flips about half of 2000 draws; p = 0 never, p = 1 always', () => {
  const x = images.B;
  const flipped = F.hflip(x).data;
  const count = (p: number, t: (o: { p: number; generator: Generator }) => T.Transform, ref: ArrayLike<number>) => {
    const tr = t({ p, generator: new Generator(5) });
    let n = 0;
    for (let i = 0; i < 2000; i++) {
      const y = tr(x);
      if (y !== x) { assert.deepEqual(y.data, ref); n++; }
    }
    return n;
  };
  const n = count(0.5, T.randomHorizontalFlip, flipped);
  assert.ok(n > 900 && n < 1100, `${n} of 2000 flipped`);
  const nv = count(0.5, T.randomVerticalFlip, F.vflip(x).data);
  assert.ok(nv > 900 && nv < 1100, `${nv} of 2000 flipped`);
  assert.equal(count(0, T.randomHorizontalFlip, flipped), 0);
  assert.equal(count(1, T.randomHorizontalFlip, flipped), 2000);
  const p3 = count(0.3, T.randomHorizontalFlip, flipped);
  assert.ok(p3 > 500 && p3 < 700, `${p3} of 2000 flipped at p = 0.3`);
});

test('randomErasing erases with probability p, a box strictly inside the image, with the given value', () => {
  const x = images.A;
  const t = T.randomErasing({ p: 0.5, value: [7, 8, 9], generator: new Generator(2) });
  let erased = 0;
  for (let i = 0; i < 2000; i++) {
    const y = t(x);
    if (y === x) continue;
    erased++;
    for (let c = 0; c < 3; c++) {
      const changed = [...y.data.subarray(c * 63, c * 63 + 63)].filter((v) => v === 7 + c).length;
      assert.ok(changed >= 1 && changed < 63);
    }
  }
  assert.ok(erased > 900 && erased < 1100, `${erased} of 2000 erased`);
  assert.equal(T.randomErasing({ p: 0, generator: new Generator(2) })(x), x);
});

test('randomCrop reaches every offset, each output being the crop at that offset; padIfNeeded pads as torchvision', () => {
  const x = images.A;
  const t = T.randomCrop([5, 5], { generator: new Generator(3) });
  const seen = new Set<string>();
  for (let k = 0; k < 400; k++) {
    const y = t(x);
    let found = '';
    for (let i = 0; i <= 2 && !found; i++) for (let j = 0; j <= 4 && !found; j++) if (F.crop(x, i, j, 5, 5).data.every((v, q) => v === y.data[q])) found = `${i},${j}`;
    assert.ok(found, 'the output is a window of the image');
    seen.add(found);
  }
  assert.equal(seen.size, 15);
  // padIfNeeded: width 9 < 12 pads 3 on both sides (torchvision pads by the shortfall on each side)
  const big = T.randomCrop([8, 12], { padIfNeeded: true, fill: 0.5, generator: new Generator(4) })(x);
  assert.deepEqual(big.shape, [3, 8, 12]);
  assert.ok(big.data.some((v) => v === 0.5));
  // the whole image when the size equals the image size
  assert.deepEqual(T.randomCrop([7, 9], { generator: new Generator(1) })(x).data, x.data);
});

test('randomResizedCrop draws areas and aspect ratios in range, and falls back to a central crop', () => {
  const g = new Generator(9);
  for (let k = 0; k < 1000; k++) {
    const { top, left, height, width } = T.drawResizedCrop(100, 120, [0.08, 1], [3 / 4, 4 / 3], g);
    const area = (height * width) / 12000;
    assert.ok(area > 0.07 && area < 1.02, `area fraction ${area}`);
    assert.ok(width / height > 0.73 && width / height < 1.37, `ratio ${width / height}`);
    assert.ok(top >= 0 && left >= 0 && top + height <= 100 && left + width <= 120);
  }
  // impossible areas: the fallback keeps the whole image when its ratio is in range...
  const x = images.A;
  assert.deepEqual(T.drawResizedCrop(7, 9, [4, 5], [0.5, 2], g), { top: 0, left: 0, height: 7, width: 9 });
  // ...or clamps the ratio: 9/7 > 0.5 → height 7, width round(3.5) = 4 (half to even), centred
  assert.deepEqual(T.drawResizedCrop(7, 9, [4, 5], [0.5, 0.5], g), { top: 0, left: 2, height: 7, width: 4 });
  const y = T.randomResizedCrop([5, 6], { scale: [4, 5], ratio: [0.5, 0.5], generator: g })(x);
  assertTensor(y, [3, 5, 6], F.resizedCrop(x, 0, 2, 7, 4, [5, 6]).data);
});

test('random geometric transforms apply exactly the parameters of their draw functions', () => {
  const x = images.A;
  const rot = T.randomRotation([-30, 60], { interpolation: 'bilinear', generator: new Generator(21) });
  const g = new Generator(21);
  for (let k = 0; k < 5; k++) {
    const angle = T.drawRotation([-30, 60], g);
    assert.ok(angle >= -30 && angle < 60);
    assert.deepEqual(rot(x).data, F.rotate(x, angle, { interpolation: 'bilinear', fill: 0 }).data);
  }
  const opts = { degrees: [-10, 10] as [number, number], translate: [0.3, 0.1] as [number, number], scale: [0.7, 1.3] as [number, number], shear: 15 };
  const aff = T.randomAffine({ ...opts, generator: new Generator(22) });
  const g2 = new Generator(22);
  for (let k = 0; k < 5; k++) {
    const d = T.drawAffine({ degrees: [-10, 10], translate: [0.3, 0.1], scale: [0.7, 1.3], shear: [-15, 15], interpolation: 'nearest', fill: 0, center: undefined }, 9, 7, g2);
    assert.ok(Number.isInteger(d.translate[0]) && Math.abs(d.translate[0]) <= 2.7 + 0.5 && Math.abs(d.translate[1]) <= 0.7 + 0.5);
    assert.ok(d.scale >= 0.7 && d.scale < 1.3 && Math.abs(d.shear[0]) <= 15 && d.shear[1] === 0);
    assert.deepEqual(aff(x).data, F.affine(x, { ...d, fill: 0 }).data);
  }
});

test('colorJitter applies the drawn factors in the drawn order; hue is supported', () => {
  const x = images.A;
  const t = T.colorJitter({ brightness: [0.5, 1.5], contrast: 0.5, saturation: [0, 2], hue: [-0.2, 0.2], generator: new Generator(8) });
  const g = new Generator(8);
  const orders = new Set<string>();
  for (let k = 0; k < 30; k++) {
    const { order, factors } = T.drawColorJitter([[0.5, 1.5], [0.5, 1.5], [0, 2], [-0.2, 0.2]], g);
    orders.add(order.join(''));
    let y = x;
    for (const i of order) y = [F.adjustBrightness, F.adjustContrast, F.adjustSaturation, F.adjustHue][i](y, factors[i]!);
    assertClose(t(x).data, y.data, { atol: 0, rtol: 0 });
  }
  assert.ok(orders.size > 5, `${orders.size} orders`);
  // brightness only, fixed: exactly adjustBrightness
  assertClose(T.colorJitter({ brightness: [1.3, 1.3] })(x).data, F.adjustBrightness(x, 1.3).data, { atol: 0 });
});

test('gaussianNoise has the requested mean and std, and clips to [0, 1] by default', () => {
  const x = zeros([1, 100, 100]).add(0.5);
  const y = T.gaussianNoise({ mean: 0.05, std: 0.1, clip: false, generator: new Generator(1) })(x);
  const d = Array.from(y.data, (v) => v - 0.5);
  const m = d.reduce((a, b) => a + b, 0) / d.length;
  const s = Math.sqrt(d.reduce((a, b) => a + (b - m) ** 2, 0) / d.length);
  assert.ok(Math.abs(m - 0.05) < 0.005 && Math.abs(s - 0.1) < 0.005, `mean ${m}, std ${s}`);
  const c = T.gaussianNoise({ std: 1, generator: new Generator(1) })(x);
  assert.ok(c.data.every((v) => v >= 0 && v <= 1) && c.data.some((v) => v === 0) && c.data.some((v) => v === 1));
});

test('gaussianBlur and randomAdjustGamma draw sigma and gamma uniformly from their ranges', () => {
  const x = images.A;
  const blur = T.gaussianBlur([3, 5], { sigma: [0.5, 1.5], generator: new Generator(4) });
  const gamma = T.randomAdjustGamma({ gamma: 0.5, generator: new Generator(4) });
  const g = new Generator(4), g2 = new Generator(4);
  for (let k = 0; k < 5; k++) {
    const s = 0.5 + g.random();
    assertClose(blur(x).data, F.gaussianBlur(x, [3, 5], [s, s]).data, { atol: 0 });
    const gm = 0.5 + g2.random();
    assertClose(gamma(x).data, F.adjustGamma(x, gm).data, { atol: 0 });
  }
  assertClose(T.adjustGamma(2, 0.9)(x).data, F.adjustGamma(x, 2, 0.9).data, { atol: 0 });
});

test('deterministic transform factories and compose', () => {
  const x = images.A;
  const t = T.compose([T.resize([10, 12]), T.centerCrop(8), T.normalize([0.5, 0.5, 0.5], [0.25, 0.25, 0.25])]);
  assertTensor(t(x), [3, 8, 8], F.normalize(F.centerCrop(F.resize(x, [10, 12]), 8), [0.5], [0.25]).data);
  assert.equal(t.description, 'Compose(Resize(size=[10,12], interpolation=bilinear), CenterCrop(size=[8,8]), Normalize(mean=[0.5,0.5,0.5], std=[0.25,0.25,0.25]))');
  assertTensor(T.pad(2, { paddingMode: 'edge' })(x), [3, 11, 13], F.pad(x, 2, { paddingMode: 'edge' }).data);
  assertTensor(T.grayscale(3)(x), [3, 7, 9], F.toGrayscale(x, 3).data);
  const plain = T.compose([(img: Tensor) => F.hflip(img)]);
  assert.deepEqual(plain(x).data, F.hflip(x).data);
  // a batch [N,C,H,W] gets one draw for all its images, as torchvision
  const batch = images.N;
  const r = T.randomRotation(30, { generator: new Generator(6) })(batch);
  const angle = T.drawRotation([-30, 30], new Generator(6));
  assert.deepEqual(r.data, F.rotate(batch, angle, { fill: 0 }).data);
});

test('toTensor converts interleaved 8-bit pixels (HWC) to a [C,H,W] float tensor in [0, 1]', () => {
  const rgb = Uint8Array.from([255, 0, 10, 20, 30, 40, 0, 0, 0, 51, 102, 204]); // 2×2 RGB
  const t = T.toTensor(rgb, { width: 2, height: 2, channels: 3 });
  assertTensor(t, [3, 2, 2], [1, 20 / 255, 0, 0.2, 0, 30 / 255, 0, 0.4, 10 / 255, 40 / 255, 0, 0.8], { atol: 1e-7 });
  const rgba = { data: Uint8ClampedArray.from([255, 255, 255, 255, 0, 0, 0, 128]), width: 2, height: 1 };
  const u = T.toTensor(rgba);
  assertTensor(u, [4, 1, 2], [1, 0, 1, 0, 1, 0, 1, 128 / 255], { atol: 1e-7 });
  assert.equal(T.toTensor([0, 255], { width: 2, height: 1, dtype: 'float64' }).dtype, 'float64');
});

test('computeMeanStd gives per-channel population statistics over all pixels of all images', () => {
  const g = new Generator(12);
  const imgs = [rand([3, 5, 6], { generator: g }).mul(2), rand([3, 4, 4], { generator: g }), rand([2, 3, 2, 3], { generator: g }).add(1)];
  const { mean, std } = T.computeMeanStd(imgs);
  for (let c = 0; c < 3; c++) {
    const vals: number[] = [];
    for (const im of imgs) {
      const hw = im.shape.at(-1)! * im.shape.at(-2)!;
      const n = im.size / (3 * hw);
      for (let b = 0; b < n; b++) vals.push(...im.data.subarray((b * 3 + c) * hw, (b * 3 + c + 1) * hw));
    }
    const m = vals.reduce((a, b) => a + b, 0) / vals.length;
    const s = Math.sqrt(vals.reduce((a, b) => a + (b - m) ** 2, 0) / vals.length);
    assert.ok(Math.abs(mean[c] - m) < 1e-12 && Math.abs(std[c] - s) < 1e-12, `channel ${c}`);
  }
  const x = images.A;
  const st = T.computeMeanStd(x);
  const z = T.computeMeanStd(F.normalize(x, st.mean, st.std));
  assertClose(z.mean, [0, 0, 0], { atol: 1e-6 });
  assertClose(z.std, [1, 1, 1], { atol: 1e-5 });
  // a generator works as an iterable
  function* gen() { yield images.A; yield images.A; }
  assertClose(T.computeMeanStd(gen()).mean, st.mean, { atol: 1e-12 });
});

// ---------------------------------------------------------------------------------------------
// paired transforms
// ---------------------------------------------------------------------------------------------

/**
 * Checks that the transformed mask is the threshold of the transformed image: everywhere for
 * nearest image sampling (mask value 0 = fill, where the image is its fill 0), and where the
 * mask's 3×3 neighbourhood is one class for bilinear sampling (at least `agree` of those pixels).
 */
function assertAligned(img: Tensor, mask: Tensor, nearest: boolean, what: string, agree = 0.98): void {
  assert.equal(mask.dtype, 'int32', what);
  assert.deepEqual(mask.shape.slice(-2), img.shape.slice(-2), what);
  const [h, w] = mask.shape.slice(-2);
  let n = 0, ok = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const m = mask.data[y * w + x], v = img.data[y * w + x];
      if (m === 0) { if (nearest) assert.equal(v, 0, `${what}: fill at (${y},${x})`); continue; }
      if (nearest) { assert.equal(m, classOf(v), `${what}: (${y},${x})`); n++; ok++; continue; }
      if (y === 0 || x === 0 || y === h - 1 || x === w - 1) continue;
      let uniform = true;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) if (mask.data[(y + dy) * w + x + dx] !== m) uniform = false;
      if (!uniform) continue;
      n++;
      if (classOf(v) === m) ok++;
    }
  }
  assert.ok(n > 0.2 * h * w, `${what}: ${n} pixels compared`);
  assert.ok(ok >= agree * n, `${what}: ${ok} of ${n} agree`);
  assert.ok(uniq(mask).every((v) => [0, 1, 2].includes(v)), `${what}: values ${uniq(mask)}`);
}

const PAIRED: [string, (g: Generator, interpolation: 'nearest' | 'bilinear') => T.PairTransform][] = [
  ['randomRotation', (g, interpolation) => P.randomRotation(180, { interpolation, generator: g })],
  ['randomRotation expand', (g, interpolation) => P.randomRotation([20, 70], { interpolation, expand: true, generator: g })],
  ['randomAffine', (g, interpolation) => P.randomAffine({ degrees: 40, translate: [0.2, 0.2], scale: [0.7, 1.4], shear: [-20, 20, -10, 10], interpolation, generator: g })],
  ['randomCrop', (g) => P.randomCrop([16, 20], { padding: [3, 2], generator: g })],
  ['randomResizedCrop', (g, interpolation) => P.randomResizedCrop([30, 30], { interpolation, generator: g })],
  ['randomHorizontalFlip', (g) => P.randomHorizontalFlip({ generator: g })],
  ['randomVerticalFlip', (g) => P.randomVerticalFlip({ generator: g })],
  ['resize', (_g, interpolation) => P.resize([37, 31], { interpolation })],
  ['centerCrop', () => P.centerCrop([30, 17])],
  ['compose', (g, interpolation) => P.compose([P.randomHorizontalFlip({ generator: g }), P.randomAffine({ degrees: 25, scale: [0.8, 1.2], interpolation, generator: g }),
    P.randomCrop(20, { padIfNeeded: true, generator: g }), P.image(T.colorJitter({ brightness: [1, 1] }))])],
];

for (const [name, make] of PAIRED) {
  test(`paired.${name}: the mask stays aligned with the image (nearest and bilinear)`, () => {
    const img = blobs(), mask = threshold(img);
    for (const interpolation of ['nearest', 'bilinear'] as const) {
      const t = make(new Generator(31), interpolation);
      for (let k = 0; k < 8; k++) {
        const [i2, m2] = t(img, mask);
        assertAligned(i2, m2, interpolation === 'nearest' || ['randomCrop', 'randomHorizontalFlip', 'randomVerticalFlip', 'centerCrop'].includes(name), `${name} ${interpolation} draw ${k}`);
      }
    }
  });
}

test('paired transforms draw exactly as the single-image ones and fill the mask with maskFill', () => {
  const img = blobs(), mask = threshold(img);
  const single = T.randomAffine({ degrees: 50, translate: [0.3, 0.3], generator: new Generator(40) });
  const pair = P.randomAffine({ degrees: 50, translate: [0.3, 0.3], maskFill: 255, generator: new Generator(40) });
  let sawFill = false;
  for (let k = 0; k < 5; k++) {
    const [i2, m2] = pair(img, mask);
    assert.deepEqual(i2.data, single(img).data);
    assert.ok(uniq(m2).every((v) => [1, 2, 255].includes(v)));
    sawFill ||= m2.data.includes(255);
  }
  assert.ok(sawFill, 'maskFill appears outside the transformed mask');
  const [ci, cm] = P.randomCrop(30, { padIfNeeded: true, fill: 0.5, maskFill: 7, generator: new Generator(1) })(img, mask);
  assert.deepEqual(ci.shape, [1, 30, 30]);
  assert.ok(!img.data.includes(0.5) && cm.data.includes(7));
  for (let i = 0; i < cm.size; i++) assert.equal(cm.data[i] === 7, ci.data[i] === 0.5, `pixel ${i}: the mask is padded where the image is`);
  const [, cc] = P.centerCrop([26, 28], { maskFill: 9 })(img, mask);
  assert.deepEqual(uniq(cc), [1, 2, 9]);
});

test('paired.image lifts a photometric transform and leaves the mask untouched; batches pair with [N,H,W] masks', () => {
  const img = blobs(), mask = threshold(img);
  const [i2, m2] = P.image(T.adjustGamma(2))(img, mask);
  assert.equal(m2, mask);
  assert.deepEqual(i2.data, F.adjustGamma(img, 2).data);
  const batch = tensor(Float32Array.from([...img.data, ...F.hflip(img).data]), { shape: [2, 1, 24, 28] });
  const masks = tensor(Int32Array.from([...mask.data, ...F.hflip(mask).data]), { shape: [2, 24, 28] });
  const [bi, bm] = P.randomRotation(90, { generator: new Generator(3) })(batch, masks);
  assert.deepEqual(bi.shape, [2, 1, 24, 28]);
  assert.deepEqual(bm.shape, [2, 24, 28]);
  for (let b = 0; b < 2; b++) {
    const ib = tensor(bi.data.slice(b * 672, (b + 1) * 672), { shape: [1, 24, 28] });
    const mb = tensor(bm.data.slice(b * 672, (b + 1) * 672), { shape: [24, 28] });
    assertAligned(ib, mb, true, `batch ${b}`);
  }
});

// ---------------------------------------------------------------------------------------------
// errors name the transform, the argument and the shapes
// ---------------------------------------------------------------------------------------------

const A = images.A;
const mask79 = zeros([7, 9], { dtype: 'int32' });
const ERRORS: [string, () => unknown, RegExp, Function][] = [
  ['rank 1', () => F.hflip(zeros([5])), /^hflip: img must be an image \[C,H,W\], a batch \[N,C,H,W\] or a plane \[H,W\], got shape \[5\]$/, ShapeError],
  ['rank 5', () => F.rotate(zeros([1, 1, 1, 2, 2]), 3), /^rotate: img must be an image .* got shape \[1,1,1,2,2\]$/, ShapeError],
  ['not a tensor', () => F.vflip([1, 2] as never), /^vflip: img must be a Tensor, got object$/, DTypeError],
  ['normalize rank 2', () => F.normalize(zeros([4, 4]), [0], [1]), /^normalize: img must be an image \[C,H,W\] or a batch \[N,C,H,W\], got shape \[4,4\]$/, ShapeError],
  ['normalize std 0', () => F.normalize(A, [0.5], [0, 1, 1]), /^normalize: std must not be zero, got \[0,1,1\]$/, ArgumentError],
  ['normalize mean length', () => F.normalize(A, [0.5, 0.5], [1]), /^normalize: mean has 2 values but the image has 3 channels$/, ArgumentError],
  ['crop height', () => F.crop(A, 0, 0, 0, 3), /^crop: height must be a positive integer, got 0$/, ArgumentError],
  ['crop top', () => F.crop(A, 0.5, 0, 2, 3), /^crop: top must be an integer, got 0.5$/, ArgumentError],
  ['centerCrop size', () => F.centerCrop(A, [2, 3, 4]), /^centerCrop: size must be a positive integer or \[height, width\] of positive integers, got \[2,3,4\]$/, ArgumentError],
  ['resize size', () => F.resize(A, [0, 3]), /^resize: size must be a positive integer or \[height, width\] of positive integers, got \[0,3\]$/, ArgumentError],
  ['resize antialias nearest', () => F.resize(A, [3, 3], { interpolation: 'nearest', antialias: true }), /^resize: antialias applies to interpolation 'bilinear' only, got 'nearest'$/, ArgumentError],
  ['rotate interpolation', () => F.rotate(A, 10, { interpolation: 'bicubic' as never }), /^rotate: interpolation must be 'nearest' or 'bilinear', got "bicubic"$/, ArgumentError],
  ['rotate fill', () => F.rotate(A, 10, { fill: [1, 2] }), /^rotate: fill has 2 values but the image has 3 channels$/, ArgumentError],
  ['rotate center', () => F.rotate(A, 10, { center: [1] as never }), /^rotate: center must be \[x, y\], got \[1\]$/, ArgumentError],
  ['affine scale', () => F.affine(A, { scale: 0 }), /^affine: scale must be a number > 0, got 0$/, ArgumentError],
  ['affine shear', () => F.affine(A, { shear: [1, 2, 3] }), /^affine: shear must be a number, \[s\] or \[sx, sy\], got \[1,2,3\]$/, ArgumentError],
  ['pad reflect', () => F.pad(A, [9, 0], { paddingMode: 'reflect' }), /^pad: reflect padding of 9 is too large for the width 9 of the image \(at most size - 1\)$/, ArgumentError],
  ['pad mode', () => F.pad(A, 1, { paddingMode: 'wrap' as never }), /^pad: paddingMode must be 'constant', 'edge', 'reflect' or 'symmetric', got "wrap"$/, ArgumentError],
  ['pad padding', () => F.pad(A, [1, 2, 3]), /^pad: padding must be an integer or an array of 1, 2 or 4 integers, got \[1,2,3\]$/, ArgumentError],
  ['blur even kernel', () => F.gaussianBlur(A, 4), /^gaussianBlur: kernelSize must be an odd positive integer or \[kx, ky\] of them, got 4$/, ArgumentError],
  ['blur sigma', () => F.gaussianBlur(A, 3, -1), /^gaussianBlur: sigma must be a positive number or \[sx, sy\] of positive numbers, got -1$/, ArgumentError],
  ['blur too large', () => F.gaussianBlur(A, [3, 15]), /^gaussianBlur: kernel size 15 needs reflect padding 7, which must be smaller than the image height 7 \(shape \[3,7,9\]\)$/, ShapeError],
  ['brightness int', () => F.adjustBrightness(zeros([1, 2, 2], { dtype: 'int32' }), 2), /^adjustBrightness: img must be a floating-point image, got int32 with shape \[1,2,2\]$/, DTypeError],
  ['saturation channels', () => F.adjustSaturation(zeros([2, 3, 3]), 2), /^adjustSaturation: img must have 1 or 3 channels, got 2 \(shape \[2,3,3\]\)$/, ShapeError],
  ['contrast factor', () => F.adjustContrast(A, -1), /^adjustContrast: factor must be a number >= 0, got -1$/, ArgumentError],
  ['hue factor', () => F.adjustHue(A, 0.7), /^adjustHue: factor must be a number in \[-0.5, 0.5\], got 0.7$/, ArgumentError],
  ['gamma', () => F.adjustGamma(A, -1), /^adjustGamma: gamma must be a number >= 0, got -1$/, ArgumentError],
  ['erase value', () => F.erase(A, 0, 0, 2, 2, zeros([2, 3, 3])), /^erase: value of shape \[2,3,3\] does not broadcast to the erased region \[3,2,2\] \(image shape \[3,7,9\]\)$/, ShapeError],
  ['grayscale channels', () => F.toGrayscale(zeros([4, 2, 2])), /^toGrayscale: img must have 1 or 3 channels, got 4 \(shape \[4,2,2\]\)$/, ShapeError],
  ['randomCrop too large', () => T.randomCrop([10, 10])(A), /^randomCrop: crop size \[10,10\] is larger than the image \[7,9\] \(input shape \[3,7,9\]\); use padIfNeeded or padding$/, ShapeError],
  ['randomCrop padded too large', () => T.randomCrop([10, 12], { padding: 1 })(A), /^randomCrop: crop size \[10,12\] is larger than the padded image \[9,11\] \(input shape \[3,7,9\]\)/, ShapeError],
  ['randomCrop size', () => T.randomCrop(-3), /^randomCrop: size must be a positive integer or \[height, width\] of positive integers, got -3$/, ArgumentError],
  ['randomCrop rank', () => T.randomCrop(2)(zeros([3])), /^randomCrop: img must be an image .*got shape \[3\]$/, ShapeError],
  ['flip p', () => T.randomHorizontalFlip({ p: 1.5 }), /^randomHorizontalFlip: p must be a probability in \[0, 1\], got 1.5$/, ArgumentError],
  ['vflip p', () => T.randomVerticalFlip({ p: -0.1 }), /^randomVerticalFlip: p must be a probability in \[0, 1\], got -0.1$/, ArgumentError],
  ['erasing p', () => T.randomErasing({ p: 2 }), /^randomErasing: p must be a probability in \[0, 1\], got 2$/, ArgumentError],
  ['erasing rank', () => T.randomErasing({ p: 1 })(zeros([4, 4])), /^randomErasing: img must be an image \[C,H,W\] or a batch \[N,C,H,W\], got shape \[4,4\]$/, ShapeError],
  ['rotation degrees', () => T.randomRotation(-5), /^randomRotation: degrees must be non-negative when it is a single number, got -5$/, ArgumentError],
  ['rotation range', () => T.randomRotation([10, -10]), /^randomRotation: degrees must be a non-negative number or \[min, max\] with min <= max, got \[10,-10\]$/, ArgumentError],
  ['rotation rank', () => T.randomRotation(10)(zeros([2, 2, 2, 2, 2])), /^randomRotation: img must be an image .*got shape \[2,2,2,2,2\]$/, ShapeError],
  ['affine degrees', () => T.randomAffine({} as never), /^randomAffine: degrees is required \(0 for no rotation\)$/, ArgumentError],
  ['affine translate', () => T.randomAffine({ degrees: 0, translate: [0.5, 2] }), /^randomAffine: translate must be \[a, b\] with fractions in \[0, 1\], got \[0.5,2\]$/, ArgumentError],
  ['resizedCrop scale', () => T.randomResizedCrop(4, { scale: [0.5, 0.1] }), /^randomResizedCrop: scale must be \[min, max\] with min <= max and min >= 0, got \[0.5,0.1\]$/, ArgumentError],
  ['colorJitter hue', () => T.colorJitter({ hue: 0.7 }), /^colorJitter: hue must be at most 0.5, got 0.7$/, ArgumentError],
  ['colorJitter channels', () => T.colorJitter({ brightness: 0.5 })(zeros([2, 3, 3])), /^colorJitter: img must have 1 or 3 channels, got 2 \(shape \[2,3,3\]\)$/, ShapeError],
  ['colorJitter int', () => T.colorJitter({ brightness: 0.5 })(zeros([3, 3, 3], { dtype: 'int32' })), /^colorJitter: img must be a floating-point image, got int32 with shape \[3,3,3\]$/, DTypeError],
  ['gamma channels', () => T.randomAdjustGamma()(zeros([4, 3, 3])), /^randomAdjustGamma: img must have 1 or 3 channels, got 4 \(shape \[4,3,3\]\)$/, ShapeError],
  ['noise std', () => T.gaussianNoise({ std: -1 }), /^gaussianNoise: std must be a number >= 0, got -1$/, ArgumentError],
  ['compose', () => T.compose([T.resize(3), 5 as never]), /^compose: transforms\[1\] must be a transform \(a function\), got number$/, ArgumentError],
  ['toTensor size', () => T.toTensor(new Uint8Array(10), { width: 2, height: 2, channels: 3 }), /^toTensor: 10 values do not fill height 2 × width 2 × 3 channels$/, ShapeError],
  ['toTensor width', () => T.toTensor(new Uint8Array(4), { height: 2 }), /^toTensor: width and height must be positive integers, got width undefined, height 2$/, ArgumentError],
  ['computeMeanStd channels', () => T.computeMeanStd([A, zeros([1, 2, 2])]), /^computeMeanStd: images\[1\] has 1 channels \(shape \[1,2,2\]\) but the first image has 3$/, ShapeError],
  ['computeMeanStd empty', () => T.computeMeanStd([]), /^computeMeanStd: images must contain at least one pixel$/, ArgumentError],
  ['paired mask size', () => P.randomRotation(10)(A, zeros([5, 5], { dtype: 'int32' })), /^paired.randomRotation: mask of shape \[5,5\] does not match the image's height and width \(image shape \[3,7,9\]\)$/, ShapeError],
  ['paired mask rank', () => P.randomHorizontalFlip()(A, zeros([9])), /^paired.randomHorizontalFlip: mask must be an image \[C,H,W\], a batch \[N,C,H,W\] or a plane \[H,W\], got shape \[9\]$/, ShapeError],
  ['paired crop too large', () => P.randomCrop(8)(A, mask79), /^paired.randomCrop: crop size \[8,8\] is larger than the image \[7,9\] \(input shape \[3,7,9\]\); use padIfNeeded or padding$/, ShapeError],
  ['paired p', () => P.randomVerticalFlip({ p: 3 }), /^paired.randomVerticalFlip: p must be a probability in \[0, 1\], got 3$/, ArgumentError],
  ['paired maskFill', () => P.randomAffine({ degrees: 3, maskFill: NaN }), /^paired.randomAffine: maskFill must be a finite number, got null$/, ArgumentError],
  ['paired image rank', () => P.resize(4)(zeros([4]), mask79), /^paired.resize: image must be an image .*got shape \[4\]$/, ShapeError],
  ['paired.image', () => P.image('x' as never), /^paired.image: transform must be a paired transform \(a function\), got string$/, ArgumentError],
];

for (const [name, fn, re, cls] of ERRORS) {
  test(`error: ${name}`, () => {
    assert.throws(fn, (e: Error) => {
      assert.ok(e instanceof cls, `${e.constructor.name}: ${e.message}`);
      assert.match(e.message, re);
      return true;
    });
  });
}

test('src/data/transforms imports no Node built-ins (it runs in browsers)', () => {
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'data', 'transforms');
  const seen = new Set<string>();
  const stack = [join(dir, 'index.ts')];
  const offenders: string[] = [];
  while (stack.length) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = m[1] ?? m[2];
      if (!spec.startsWith('.')) offenders.push(`${file} imports ${spec}`);
      else stack.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
    }
  }
  assert.ok(seen.size >= 6);
  assert.deepEqual(offenders, []);
});
