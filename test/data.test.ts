/** Datasets, the DataLoader, splits, the synthetic shapes set, IDX parsing and the bundled MNIST digits. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Generator, arange, data, tensor, type Tensor } from '../src/index.js';
import { datasets } from '../src/node.js';

const ds = new data.TensorDataset(arange(10, undefined, 1, { dtype: 'float32' }).reshape(10, 1), arange(10));

test('TensorDataset samples and batches', () => {
  assert.equal(ds.length, 10);
  const s = ds.get(3);
  assert.deepEqual([...s.input.data], [3]);
  assert.equal(s.target, 3);
  const b = ds.getBatch([4, 1]);
  assert.deepEqual([...b.input.data], [4, 1]);
  assert.deepEqual([...b.target.data], [4, 1]);
  assert.throws(() => ds.get(10), /TensorDataset: index 10 is out of range for a dataset of length 10/);
  assert.throws(() => new data.TensorDataset(tensor([[1]]), tensor([1, 2])), /TensorDataset: inputs \[1,1\] and targets \[2\] must have the same first dim/);
});

test('collate stacks tensors, makes int32 or float32 tensors of numbers, recurses into objects', () => {
  const b = data.collate([{ x: tensor([1, 2]), y: 1, name: 'a', pair: [0.5, tensor(1)] }, { x: tensor([3, 4]), y: 2, name: 'b', pair: [1.5, tensor(2)] }]);
  assert.deepEqual(b.x.shape, [2, 2]);
  assert.equal(b.y.dtype, 'int32');
  assert.deepEqual(b.name, ['a', 'b']);
  assert.equal(b.pair[0].dtype, 'float32');
  assert.deepEqual([...b.pair[1].data], [1, 2]);
  assert.throws(() => data.collate([tensor([1]), tensor([1, 2])]), /collate: sample 1 has shape \[2\] but sample 0 has \[1\]/);
});

test('DataLoader: every sample once per epoch, last-batch handling, seeded shuffling', () => {
  const seen = (loader: data.DataLoader<any, any>) => [...loader].map((b: { target: Tensor }) => [...b.target.data]);
  const plain = new data.DataLoader(ds, { batchSize: 4 });
  assert.equal(plain.length, 3);
  assert.deepEqual(seen(plain), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  const dropped = new data.DataLoader(ds, { batchSize: 4, dropLast: true });
  assert.equal(dropped.length, 2);
  assert.deepEqual(seen(dropped).flat().length, 8);
  const shuffled = new data.DataLoader(ds, { batchSize: 3, shuffle: true, generator: new Generator(5) });
  const e1 = seen(shuffled), e2 = seen(shuffled);
  assert.deepEqual(e1.flat().sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.notDeepEqual(e1, e2, 'a new order each epoch');
  const again = new data.DataLoader(ds, { batchSize: 3, shuffle: true, generator: new Generator(5) });
  assert.deepEqual(seen(again), e1, 'same seed, same batches');
  assert.deepEqual(seen(again), e2);
  assert.throws(() => new data.DataLoader(ds, { batchSize: 0 }), /DataLoader: batchSize must be a positive integer, got 0/);
});

test('DataLoader applies per-sample transforms and custom collate; supports for await', async () => {
  const loader = new data.DataLoader(ds, {
    batchSize: 5,
    transform: (s) => ({ ...s, input: s.input.mul(10) }),
    collate: (samples) => samples.map((s) => s.input.item()),
  });
  assert.deepEqual([...loader], [[0, 10, 20, 30, 40], [50, 60, 70, 80, 90]]);
  const batches: number[][] = [];
  for await (const b of loader) batches.push(b);
  assert.equal(batches.length, 2);
});

test('randomSplit and stratifiedSplit', () => {
  const [a, b] = data.randomSplit(ds, [0.7, 0.3], { generator: new Generator(1) });
  assert.equal(a.length, 7);
  assert.equal(b.length, 3);
  assert.deepEqual([...a.indices, ...b.indices].sort((x, y) => x - y), [...Array(10).keys()]);
  assert.throws(() => data.randomSplit(ds, [3, 3]), /randomSplit: lengths \[3,3\] must be counts summing to 10 or fractions summing to 1/);
  const labels = Int32Array.from({ length: 100 }, (_, i) => (i < 80 ? 0 : 1));
  const big = new data.TensorDataset(arange(100, undefined, 1, { dtype: 'float32' }), tensor(labels));
  const [train, test] = data.stratifiedSplit(big, labels, [0.75, 0.25], { generator: new Generator(2) });
  const ones = (s: data.Subset<unknown>) => s.indices.filter((i) => labels[i] === 1).length;
  assert.equal(train.length, 75);
  assert.equal(ones(train), 15, '20 % of each part is class 1');
  assert.equal(ones(test), 5);
  assert.equal(new Set([...train.indices, ...test.indices]).size, 100);
});

test('shapes: reproducible images with masks that match the drawn shapes', () => {
  const s = data.shapes({ n: 20, size: 32, seed: 4 });
  assert.deepEqual(s.classes, ['background', 'circle', 'rectangle', 'triangle']);
  const a = s.get(7), b = data.shapes({ n: 20, size: 32, seed: 4 }).get(7);
  assert.deepEqual([...a.input.data], [...b.input.data]);
  assert.deepEqual(a.input.shape, [1, 32, 32]);
  assert.equal(a.target.dtype, 'int32');
  let fg = 0, bg = 0, fgSum = 0, bgSum = 0, classesSeen = new Set<number>();
  for (let i = 0; i < 20; i++) {
    const { input, target } = s.get(i);
    for (let p = 0; p < target.size; p++) {
      classesSeen.add(target.data[p]);
      if (target.data[p] > 0) { fg++; fgSum += input.data[p]; } else { bg++; bgSum += input.data[p]; }
    }
  }
  assert.deepEqual([...classesSeen].sort(), [0, 1, 2, 3]);
  assert.ok(fgSum / fg > bgSum / bg + 0.3, 'shapes are brighter than the background');
  assert.ok(fg / (fg + bg) > 0.05 && fg / (fg + bg) < 0.6);
  assert.deepEqual(data.shapes({ n: 1, size: 16, channels: 3, classes: 1 }).get(0).input.shape, [3, 16, 16]);
  assert.throws(() => data.shapes({ n: 1, classes: 4 }), /shapes: classes must be 1, 2 or 3, got 4/);
});

function idxBytes(typeCode: number, shape: number[], body: Uint8Array): Uint8Array {
  const head = new Uint8Array(4 + 4 * shape.length);
  head.set([0, 0, typeCode, shape.length]);
  const view = new DataView(head.buffer);
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  return new Uint8Array([...head, ...body]);
}

test('IDX: images and labels, raw and gzip', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pixelgrad-idx-'));
  const pixels = Uint8Array.from({ length: 3 * 2 * 2 }, (_, i) => i * 20);
  writeFileSync(join(dir, 'img'), idxBytes(0x08, [3, 2, 2], pixels));
  writeFileSync(join(dir, 'lab.gz'), gzipSync(idxBytes(0x08, [3], Uint8Array.of(7, 0, 9))));
  const d = datasets.idx(join(dir, 'img'), join(dir, 'lab.gz'));
  assert.equal(d.length, 3);
  assert.deepEqual(d.inputs.shape, [3, 1, 2, 2]);
  assert.ok(Math.abs(d.inputs.data[11] - 220 / 255) < 1e-7);
  assert.deepEqual([...d.targets.data], [7, 0, 9]);
  const f32 = new Uint8Array(8);
  new DataView(f32.buffer).setFloat32(0, 1.5, false);
  new DataView(f32.buffer).setFloat32(4, -2, false);
  assert.deepEqual([...data.parseIdx(idxBytes(0x0d, [2], f32)).data], [1.5, -2]);
});

test('IDX: truncated files, wrong magic, lying headers and mismatched pairs give errors naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pixelgrad-idx-bad-'));
  const put = (name: string, bytes: Uint8Array) => { const p = join(dir, name); writeFileSync(p, bytes); return p; };
  const good = put('good', idxBytes(0x08, [2], Uint8Array.of(1, 2)));
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty', new Uint8Array(0), /empty: too short for an IDX header \(0 bytes\)/],
    ['magic', Uint8Array.of(0x50, 0x4b, 3, 4, 0, 0), /magic: not an IDX file: the magic number must start with two zero bytes, got 0x504b/],
    ['type', idxBytes(0x07, [1], Uint8Array.of(1)), /type: unknown IDX element type code 0x07/],
    ['header', Uint8Array.of(0, 0, 8, 3, 0, 0, 0, 1), /header: truncated header: 3 dims need 16 bytes, the file has 8/],
    ['truncated', idxBytes(0x08, [10, 28, 28], new Uint8Array(100)), /truncated: the header says \[10,28,28\] uint8 values \(7856 bytes with the header\) but the file has 116 bytes \(truncated\?\)/],
    ['lying', idxBytes(0x08, [4294967295, 4294967295, 4294967295], new Uint8Array(4)), /lying: the header's sizes .* are impossibly large/],
    ['gz', Uint8Array.of(0x1f, 0x8b, 8, 0, 1, 2, 3), /gz: corrupt gzip data/],
  ];
  for (const [name, bytes, message] of cases) {
    const p = put(name, bytes);
    assert.throws(() => datasets.idx(p, good), (err: Error) => err.message.startsWith('idx: ') && message.test(err.message) && err.message.includes(p), `${name}: ${message}`);
  }
  assert.throws(() => datasets.idx(join(dir, 'missing'), good), /idx: cannot read .*missing/);
  const images = put('images', idxBytes(0x08, [3, 1, 1], Uint8Array.of(1, 2, 3)));
  assert.throws(() => datasets.idx(images, good), /has 3 images but .*good has 2 labels/);
  assert.throws(() => datasets.idx(good, good), /good: expected images of shape \[N, H, W\], got \[2\]/);
});

test('IDX: empty sets, zero-size images and non-integer labels are data errors naming the file; non-square images load', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pixelgrad-idx-sets-'));
  const put = (name: string, bytes: Uint8Array) => { const p = join(dir, name); writeFileSync(p, bytes); return p; };
  const noLabels = put('no-labels', idxBytes(0x08, [0], new Uint8Array(0)));
  const empty = put('empty-images', idxBytes(0x08, [0, 28, 28], new Uint8Array(0)));
  assert.throws(() => datasets.idx(empty, noLabels), /^ArgumentError: idx: .*empty-images: the file holds no images \(shape \[0,28,28\]\): an empty IDX set$/);
  const flat = put('flat', idxBytes(0x08, [2, 0, 5], new Uint8Array(0)));
  const two = put('two-labels', idxBytes(0x08, [2], Uint8Array.of(1, 2)));
  assert.throws(() => datasets.idx(flat, two), /flat: the images are 0×5 pixels \(shape \[2,0,5\]\); each needs at least one pixel/);
  const wide = put('wide', idxBytes(0x08, [2, 2, 3], new Uint8Array(12)));
  assert.deepEqual(datasets.idx(wide, two).inputs.shape, [2, 1, 2, 3]);
  const f32 = new Uint8Array(8);
  new DataView(f32.buffer).setFloat32(0, 1, false);
  new DataView(f32.buffer).setFloat32(4, 2.5, false);
  assert.throws(() => datasets.idx(wide, put('float-labels', idxBytes(0x0d, [2], f32))), /float-labels: label 1 is 2\.5, not an integer class label/);
});

test('IDX: a gzip bomb is refused after inflating no more than its header declares, fast and in little memory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pixelgrad-idx-bomb-'));
  // 2 GiB of zeros in 2 MB: the header declares 2×2×2 bytes, then 2,048 gzip members of 1 MiB of zeros each.
  const header = gzipSync(idxBytes(0x08, [2, 2, 2], new Uint8Array(8)));
  const mib = gzipSync(new Uint8Array(2 ** 20), { level: 9 });
  const bomb = join(dir, 'bomb.gz');
  writeFileSync(bomb, Buffer.concat([header, ...new Array<Buffer>(2048).fill(mib)]));
  const labels = join(dir, 'labels');
  writeFileSync(labels, idxBytes(0x08, [2], Uint8Array.of(0, 1)));
  const rss = process.resourceUsage().maxRSS;
  const t0 = performance.now();
  assert.throws(() => datasets.idx(bomb, labels),
    /^ArgumentError: idx: .*bomb\.gz: the gzip data decompresses to more than the 24 bytes its IDX header declares \(\[2,2,2\] uint8 values, 24 bytes with the header\); stopped there \(a decompression bomb, or a corrupt file\)$/);
  const ms = performance.now() - t0;
  assert.ok(ms < 1000, `refused after ${ms.toFixed(0)} ms`);
  assert.ok(process.resourceUsage().maxRSS - rss < 100 * 1024, `peak memory grew by ${process.resourceUsage().maxRSS - rss} KiB`);
  // A header declaring more than the limit is refused before inflating anything else.
  const huge = join(dir, 'huge.gz');
  writeFileSync(huge, Buffer.concat([gzipSync(idxBytes(0x08, [60000, 1000, 1000], new Uint8Array(0))), mib]));
  assert.throws(() => datasets.idx(huge, labels), /huge\.gz: the header declares \[60000,1000,1000\] uint8 values, 60000000016 bytes with the header, over the limit of 2147483647 bytes$/);
  // A valid file that compresses a thousandfold (the first compressed bytes alone inflate past the header probe's cap) loads.
  const zeros = join(dir, 'zeros.gz');
  writeFileSync(zeros, gzipSync(idxBytes(0x08, [1, 500, 500], new Uint8Array(250_000)), { level: 9 }));
  writeFileSync(labels, idxBytes(0x08, [1], Uint8Array.of(3)));
  assert.deepEqual(datasets.idx(zeros, labels).inputs.shape, [1, 1, 500, 500]);
});

test('MNIST: the 10,000 bundled digits in the benchmark split (same bytes as its mnist_8k2k bundle)', () => {
  const train = datasets.mnist(), test = datasets.mnist({ train: false });
  assert.equal(train.length, 8000);
  assert.equal(test.length, 2000);
  assert.deepEqual(train.inputs.shape, [8000, 1, 28, 28]);
  const counts = (y: Tensor) => Array.from({ length: 10 }, (_, c) => [...y.data].filter((v) => v === c).length);
  assert.deepEqual(counts(train.targets), [801, 902, 793, 826, 784, 690, 811, 856, 755, 782]);
  assert.deepEqual(counts(test.targets), [200, 225, 198, 206, 196, 173, 203, 214, 189, 196]);
  assert.deepEqual([...train.targets.data.subarray(0, 12)], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1], 'round-robin by class');
  // SHA-256 of the float32 bytes, as documented for the shared benchmark's train_x / test_x.
  const sha = (t: Tensor) => createHash('sha256').update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)).digest('hex');
  assert.match(sha(train.inputs), /^0eb06eb0.*bbbff$/);
  assert.match(sha(test.inputs), /^2cd3ca77.*ded2c$/);
  const x = train.inputs.data;
  assert.ok(x.every((v) => v >= 0 && v <= 1));
});

test('apportion: largest remainder, ties to the lower class', () => {
  assert.deepEqual(datasets.apportion([1, 1, 1], 2), [1, 1, 0]);
  assert.deepEqual(datasets.apportion([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978], 8000), [801, 902, 793, 826, 784, 690, 811, 856, 755, 782]);
});
