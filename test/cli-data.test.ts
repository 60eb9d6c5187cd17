/**
 * The data side of the command line (src/cli/data.ts and its use by train, eval and predict): the
 * class list and the mapping of labels to class indices, test labels checked before training, the
 * stratified --limit, datasets checked before any output is written, image folders decoded once and
 * then read from the cache, and predict / eval working from the checkpoint alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { classBalance, limitSplit, loadDataset, type LabelledSplit } from '../src/cli/data.js';
import { countProgress } from '../src/cli/progress.js';
import { TensorDataset } from '../src/data/dataset.js';
import { writePng } from '../src/data/node/image-io.js';
import { loadCheckpoint, saveCheckpoint } from '../src/train/checkpoint.js';
import { LeNet5 } from '../src/models/lenet.js';
import { Generator } from '../src/random.js';
import { Tensor } from '../src/tensor.js';
import { tensor } from '../src/creation.js';
import { assertOneLineError, runCli as run, runHere } from './helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'pixelgrad-cli-data-'));
// The commands keep their default cache inside the test's folder.
process.env.XDG_CACHE_HOME = join(tmp, 'xdg-cache');
const TINY = ['--epochs', '1', '--batch-size', '8', '--schedule', 'none', '--augment', 'none'];

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function idxBytes(shape: number[], body: Uint8Array): Uint8Array {
  const head = new Uint8Array(4 + 4 * shape.length);
  head.set([0, 0, 0x08, shape.length]);
  shape.forEach((d, i) => new DataView(head.buffer).setUint32(4 + 4 * i, d, false));
  return new Uint8Array([...head, ...body]);
}

/** An IDX dataset folder: uint8 images whose every pixel is 10·label + i (so a sample shows where it came from). */
function idxFolder(trainLabels: number[], testLabels: number[], { h = 28, w = 28 } = {}): string {
  const dir = mkdtempSync(join(tmp, 'idx-'));
  const write = (prefix: string, labels: number[]) => {
    const pixels = new Uint8Array(labels.length * h * w);
    labels.forEach((l, i) => pixels.fill((10 * l + i) % 256, i * h * w, (i + 1) * h * w));
    writeFileSync(join(dir, `${prefix}-images-idx3-ubyte`), idxBytes([labels.length, h, w], pixels));
    writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte`), idxBytes([labels.length], Uint8Array.from(labels)));
  };
  write('train', trainLabels);
  write('t10k', testLabels);
  return dir;
}

/** An image folder `<root>/<split>/<class>/<n>.png` of gray images of the given size, each a flat grey. */
async function imageTree(counts: Record<string, Record<string, number>>, size = 28): Promise<string> {
  const dir = mkdtempSync(join(tmp, 'images-'));
  let k = 0;
  for (const [split, classes] of Object.entries(counts)) {
    for (const [cls, n] of Object.entries(classes)) {
      mkdirSync(join(dir, split, cls), { recursive: true });
      for (let i = 0; i < n; i++) await writePng(tensor(new Array(size * size).fill(((k++ * 37) % 256) / 255), { shape: [1, size, size] }), join(dir, split, cls, `${i}.png`));
    }
  }
  return dir;
}

const cycle = (labels: number[], n: number) => Array.from({ length: n }, (_, i) => labels[i % labels.length]);

test('IDX labels that start at 1 and have gaps become class indices 0..C−1, in label order', async () => {
  const dir = idxFolder(cycle([7, 1, 3], 12), [3, 1, 7]);
  const data = await loadDataset(dir, { seed: 0 });
  assert.deepEqual(data.classes, ['1', '3', '7']);
  assert.deepEqual(data.inputShape, [1, 28, 28]);
  const train = data.train!;
  assert.deepEqual([...train.targets], cycle([2, 0, 1], 12));
  assert.ok(train.dataset instanceof TensorDataset, 'batches still come from one gather');
  const s = train.dataset.get(4);
  assert.equal(s.target, 0, 'label 1 is class 0');
  assert.equal(Math.round((s.input as Tensor).data[0] * 255), 10 * 1 + 4, 'the sample itself is unchanged');
  assert.deepEqual([...data.test.targets], [1, 0, 2]);
});

test('a test label unseen in training is an error before training, naming the label and both files', async () => {
  const dir = idxFolder(cycle([1, 2, 3], 9), [1, 5, 5, 2]);
  await assert.rejects(loadDataset(dir, { seed: 0 }), (e: Error) => e.message === `dataset: ${join(dir, 't10k-labels-idx1-ubyte')}: test label '5' (2 images) does not occur in the training data ${join(dir, 'train-labels-idx1-ubyte')}, whose classes are '1', '2', '3'; pass --classes to choose the classes (images of other labels are then left out)`);
  const out = join(tmp, 'unseen-run');
  assertOneLineError(await runHere('train', '--dataset', dir, '--out', out, ...TINY), new RegExp(`^pixelgrad: dataset: .*t10k-labels-idx1-ubyte: test label '5' \\(2 images\\) does not occur`));
  assert.ok(!existsSync(out), 'no run folder');
});

test('an explicit class list sets the order and leaves other labels out of both splits', async () => {
  const dir = idxFolder(cycle([1, 2, 3], 9), [1, 5, 3, 2]);
  const notes: string[] = [];
  const data = await loadDataset(dir, { seed: 0, classes: ['3', '1'], log: (l) => notes.push(l) });
  assert.deepEqual(data.classes, ['3', '1']);
  assert.deepEqual([...data.train!.targets], [1, 0, 1, 0, 1, 0]);
  assert.deepEqual([...data.test.targets], [1, 0]);
  assert.equal(Math.round((data.test.dataset.get(1).input as Tensor).data[0] * 255), 10 * 3 + 2, 'the kept test images are the right ones');
  assert.deepEqual(notes, [
    `left out 3 images of ${join(dir, 'train-labels-idx1-ubyte')} whose labels are not among the classes ('2')`,
    `left out 2 images of ${join(dir, 't10k-labels-idx1-ubyte')} whose labels are not among the classes ('2', '5')`,
  ]);
  await assert.rejects(loadDataset(dir, { seed: 0, classes: ['1', '4', '9'] }), new RegExp(`^ArgumentError: dataset: ${escape(join(dir, 'train-labels-idx1-ubyte'))} has no training images of the classes '4', '9' \\(its labels: '1', '2', '3'\\)$`));
  const out = join(tmp, 'classes-run');
  assertOneLineError(await runHere('train', '--dataset', dir, '--classes', '3, 9', '--out', out, ...TINY), /^pixelgrad: dataset: .*train-labels-idx1-ubyte has no training images of the class '9' \(its labels: '1', '2', '3'\)$/);
  assert.ok(!existsSync(out), 'no run folder');
  await assert.rejects(loadDataset(dir, { seed: 0, classes: ['1', '1'] }), /dataset: the class list names '1' twice/);
  await assert.rejects(loadDataset(dir, { seed: 0, classes: [] }), /dataset: the class list must be non-empty names/);
  // eval's case: only the test split, with a checkpoint's classes; the training files are not needed.
  const testOnly = idxFolder([1], [1, 2, 3]);
  for (const f of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte']) renameSync(join(testOnly, f), join(testOnly, `${f}.moved`));
  const evalData = await loadDataset(testOnly, { seed: 0, classes: ['3', '2'], testOnly: true });
  assert.equal(evalData.train, null);
  assert.deepEqual([...evalData.test.targets], [1, 0]);
  await assert.rejects(loadDataset(testOnly, { seed: 0 }), /dataset: .* has IDX files but not train-images-idx3-ubyte, train-labels-idx1-ubyte \(raw or \.gz\)$/);
});

test('--limit takes a stratified seeded sample: every class keeps its share, not the first n of a sorted set', () => {
  // 100 samples sorted by class: 50 of class 0, 30 of class 1, 20 of class 2; the first 10 are all class 0.
  const targets = Int32Array.from([...new Array(50).fill(0), ...new Array(30).fill(1), ...new Array(20).fill(2)]);
  const split: LabelledSplit = { dataset: new TensorDataset(tensor(Float32Array.from(targets.keys()), { shape: [100, 1] }), new Tensor(targets, [100])), targets };
  const a = limitSplit(split, 10, new Generator(5));
  assert.equal(a.dataset.length, 10);
  const counts = [0, 1, 2].map((c) => a.targets.filter((t) => t === c).length);
  assert.deepEqual(counts, [5, 3, 2]);
  const rows = Array.from({ length: 10 }, (_, i) => (a.dataset.get(i).input as Tensor).data[0]);
  assert.deepEqual(rows, [...rows].sort((x, y) => x - y), 'in dataset order');
  assert.equal(new Set(rows).size, 10, 'no sample twice');
  rows.forEach((r, i) => assert.equal(targets[r], a.targets[i], 'targets follow their samples'));
  assert.deepEqual(rows, Array.from({ length: 10 }, (_, i) => (limitSplit(split, 10, new Generator(5)).dataset.get(i).input as Tensor).data[0]), 'the same seed, the same sample');
  assert.notDeepEqual(rows, Array.from({ length: 10 }, (_, i) => (limitSplit(split, 10, new Generator(6)).dataset.get(i).input as Tensor).data[0]), 'another seed, another sample');
  assert.equal(limitSplit(split, null, new Generator(0)), split);
  assert.equal(limitSplit(split, 100, new Generator(0)), split);
});

test('classBalance says which classes a split holds and how many of each', () => {
  assert.equal(classBalance(['cat', 'dog', 'fox'], [0, 1, 0, 2, 2, 0]), 'all 3 classes (cat 3, dog 1, fox 2)');
  assert.equal(classBalance(['cat', 'dog', 'fox'], [0, 2, 0]), "2 of 3 classes (cat 2, fox 1); none of 'dog'");
  const letters = Array.from({ length: 26 }, (_, i) => String.fromCharCode(97 + i));
  const targets = [...Array.from({ length: 24 }, (_, i) => i), ...Array.from({ length: 24 }, (_, i) => i), 0];
  assert.equal(classBalance(letters, targets), "24 of 26 classes, 2–3 each; none of 'y', 'z'");
  assert.equal(classBalance(letters, letters.map((_, i) => i)), 'all 26 classes, 1 each');
});

test('decoding progress: plain lines at most every interval when not a TTY', () => {
  let text = '';
  const out = new Writable({ write(chunk, _enc, done) { text += String(chunk); done(); } });
  const every = countProgress('decoding x', 'images', out, false, 0);
  for (const done of [1, 2, 4]) every(done, 4);
  assert.equal(text, 'decoding x: 1/4 images (25.00%)\ndecoding x: 2/4 images (50.00%)\n');
  text = '';
  const rarely = countProgress('decoding x', 'images', out, false, 60_000);
  for (const done of [1, 2, 3, 4]) rarely(done, 4);
  assert.equal(text, '', 'work that ends before the interval prints nothing');
});

test('an image folder is decoded once, then read from the cache; predict and eval need only the checkpoint', async () => {
  const data = await imageTree({ train: { cat: 4, dog: 3, fox: 3 }, test: { cat: 1, dog: 1, fox: 1 } });
  const cache = join(tmp, 'cache');
  const first = run('train', '--dataset', data, '--out', join(tmp, 'img-1'), '--cache', cache, ...TINY);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, new RegExp(`decoded 10 images of ${escape(join(data, 'train'))} in \\d+\\.\\d s \\(cached in ${escape(cache)}/train-[0-9a-f]{16}\\.safetensors\\)`));
  assert.match(first.stdout, /training images: all 3 classes \(cat 4, dog 3, fox 3\)\ntest images: all 3 classes \(cat 1, dog 1, fox 1\)/);
  const second = run('train', '--dataset', data, '--out', join(tmp, 'img-2'), '--cache', cache, ...TINY);
  assert.equal(second.status, 0, second.stderr);
  assert.match(second.stdout, new RegExp(`read 10 decoded images of ${escape(join(data, 'train'))} from the cache ${escape(cache)}/train-`));
  const a = loadCheckpoint(join(tmp, 'img-1', 'last.safetensors')), b = loadCheckpoint(join(tmp, 'img-2', 'last.safetensors'));
  for (const [name, t] of Object.entries(a.model)) assert.deepEqual([...b.model[name].data], [...t.data], `${name}: the same pixels, the same run`);
  const config = JSON.parse(readFileSync(join(tmp, 'img-1', 'config.json'), 'utf8'));
  assert.deepEqual([config.classes, config.inputShape], [['cat', 'dog', 'fox'], [1, 28, 28]]);
  assert.deepEqual(((a.config as { classes: string[] }).classes), ['cat', 'dog', 'fox'], 'the checkpoint holds the class names');

  // The dataset moves away: predict needs none, eval takes the new place.
  const moved = `${data}-moved`;
  renameSync(data, moved);
  const pr = await runHere('predict', '--checkpoint', join(tmp, 'img-1', 'last.safetensors'), '--top', '3', join(moved, 'test', 'dog', '0.png'));
  assert.equal(pr.status, 0, pr.stderr);
  assert.match(pr.stdout, /0\.png: (cat|dog|fox) \(\d+\.\d%\), (cat|dog|fox) \(\d+\.\d%\), (cat|dog|fox) \(\d+\.\d%\)\n$/);
  assertOneLineError(await runHere('eval', '--checkpoint', join(tmp, 'img-1', 'last.safetensors'), '--no-cache'), new RegExp(`^pixelgrad: dataset: '${escape(data)}' is neither 'mnist' nor an existing folder$`));
  const ev = await runHere('eval', '--checkpoint', join(tmp, 'img-1', 'last.safetensors'), '--dataset', moved, '--no-cache');
  assert.equal(ev.status, 0, ev.stderr);
  assert.match(ev.stdout, /^3 test images: accuracy \d+\.\d+%/);
  assert.match(ev.stdout, /\ncat +[\d.]+ +[\d.]+ +[\d.]+ +1\ndog +[\d.]+ +[\d.]+ +[\d.]+ +1\nfox +[\d.]+ +[\d.]+ +[\d.]+ +1\n$/);
  assert.doesNotMatch(ev.stderr, /decoded \d+ images of .*train/, 'eval decodes only the test split');
  const checkpoint = join(tmp, 'img-1', 'last.safetensors');
  assertOneLineError(await runHere('eval', '--checkpoint', checkpoint, '--dataset', 'mnist'), /^pixelgrad: dataset: the bundled MNIST digits has no test images of the classes 'cat', 'dog', 'fox'$/);
  const colour = await imageTree({ train: { cat: 1 }, test: { cat: 1, dog: 1 } });
  await writePng(tensor(new Array(3 * 28 * 28).fill(0.5), { shape: [3, 28, 28] }), join(colour, 'test', 'cat', '0.png'));
  await writePng(tensor(new Array(3 * 28 * 28).fill(0.2), { shape: [3, 28, 28] }), join(colour, 'test', 'dog', '0.png'));
  const rgb = await runHere('eval', '--checkpoint', checkpoint, '--dataset', colour, '--no-cache');
  assert.equal(rgb.status, 1);
  assert.match(rgb.stderr, /^decoded 2 images of .*test in \d+\.\d s\npixelgrad: dataset: .* holds 3×28×28 images but the model takes 1×28×28 \(C×H×W\)\n$/);

  // A checkpoint without the classes and input shape (an earlier pixelgrad's) is refused clearly.
  const old = join(tmp, 'old.safetensors');
  saveCheckpoint(old, { model: new LeNet5(), epoch: 1, config: { model: 'lenet5', dataset: data } });
  assertOneLineError(await runHere('predict', '--checkpoint', old, join(moved, 'test', 'dog', '0.png')), /^pixelgrad: checkpoint: .*old\.safetensors does not record its model's classes and input shape \(it was written by an earlier pixelgrad\); train the model again$/);
});

test('a bad dataset is refused in one line before any output is written', async () => {
  const empty = mkdtempSync(join(tmp, 'empty-'));
  const noImages = mkdtempSync(join(tmp, 'no-images-'));
  mkdirSync(join(noImages, 'cat'));
  writeFileSync(join(noImages, 'cat', 'notes.txt'), 'no images here');
  const mixed = await imageTree({ all: { cat: 1 } }, 28);
  await writePng(tensor(new Array(30 * 30).fill(0.5), { shape: [1, 30, 30] }), join(mixed, 'all', 'cat', 'big.png'));
  const oblong = await imageTree({ train: { a: 2, b: 2 }, test: { a: 1, b: 1 } }, 28);
  await writePng(tensor(new Array(28 * 30).fill(0.5), { shape: [1, 28, 30] }), join(oblong, 'train', 'a', '0.png'));
  await writePng(tensor(new Array(28 * 30).fill(0.5), { shape: [1, 28, 30] }), join(oblong, 'train', 'a', '1.png'));
  await writePng(tensor(new Array(28 * 30).fill(0.5), { shape: [1, 28, 30] }), join(oblong, 'train', 'b', '0.png'));
  await writePng(tensor(new Array(28 * 30).fill(0.5), { shape: [1, 28, 30] }), join(oblong, 'train', 'b', '1.png'));
  const wideIdx = idxFolder([0, 1, 0, 1], [0, 1], { h: 28, w: 20 });
  const trainOnly = await imageTree({ train: { a: 1 } });
  const emptyIdx = idxFolder([], [0, 1]);
  const cases: [string, string, RegExp][] = [
    ['missing', join(tmp, 'nowhere'), /^pixelgrad: dataset: '.*nowhere' is neither 'mnist' nor an existing folder$/],
    ['a file', join(wideIdx, 't10k-labels-idx1-ubyte'), /^pixelgrad: dataset: '.*t10k-labels-idx1-ubyte' is not a folder/],
    ['empty', empty, /^pixelgrad: imageFolder: no class sub-folders in '.*empty-\w+'/],
    ['no images', noImages, /^pixelgrad: imageFolder: found no files ending in \.png, \.jpg, \.jpeg for the class 'cat'/],
    ['mixed sizes', join(mixed, 'all'), /^pixelgrad: imageFolder: images differ in shape: '.*0\.png' is \[1,28,28\] but '.*big\.png' is \[1,30,30\]/],
    ['not square', oblong, /^pixelgrad: dataset: .*train: images must be square \[C,H,W\]; got \[1,28,30\]/],
    ['IDX not square', wideIdx, /^pixelgrad: dataset: .*train-images-idx3-ubyte: the images are 28×20 \(H×W\) but the models take square images$/],
    ['IDX empty', emptyIdx, /^pixelgrad: idx: .*train-images-idx3-ubyte: the file holds no images \(shape \[0,28,28\]\)/],
    ['train/ without test/', trainOnly, /^pixelgrad: dataset: .* has a train\/ folder but no test\/ folder$/],
  ];
  for (const [what, dataset, message] of cases) {
    const out = join(tmp, `bad-${what.replace(/\W/g, '-')}`);
    assertOneLineError(await runHere('train', '--dataset', dataset, '--out', out, '--no-cache', ...TINY), message);
    assert.ok(!existsSync(out), `${what}: no run folder`);
  }
});
