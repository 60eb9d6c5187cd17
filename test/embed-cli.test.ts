/**
 * `pixelgrad embed` end to end, in process (main() returns the exit status), on a LeNet-5 trained
 * briefly (saved with the run configuration train writes): the files it writes agree with each
 * other, and bad input gets a one-line error and exit status 1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { manualSeed, nn, optim, tensor } from '../src/index.js';
import { createModel } from '../src/models/index.js';
import { saveCheckpoint } from '../src/train/checkpoint.js';
import { mnist } from '../src/data/node/mnist.js';
import { leaveOneOutAccuracy } from '../src/embed/index.js';
import { assertOneLineError, hereRunner } from './helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'pixelgrad-embed-'));
const ckpt = join(tmp, 'run', 'best.safetensors');

/** The command in this process; commander reports its own errors (a bad choice) on stderr directly. */
const run = hereRunner({ writes: true });

test('a tiny trained checkpoint: LeNet-5, one pass of Adam over 1,000 training digits', () => {
  manualSeed(0);
  const model = createModel('lenet5', { inChannels: 1, numClasses: 10, inputSize: 28 });
  const train = mnist();
  const opt = new optim.Adam(model.parameters(), { lr: 0.003 });
  for (let start = 0; start < 1000; start += 50) {
    const idx = Array.from({ length: 50 }, (_, i) => start + i);
    const { input, target } = train.getBatch(idx);
    const loss = nn.functional.crossEntropy(model.forward(input), target);
    opt.zeroGrad();
    loss.backward();
    opt.step();
  }
  mkdirSync(join(tmp, 'run'));
  saveCheckpoint(ckpt, {
    model, epoch: 1,
    config: { model: 'lenet5', dataset: 'mnist', seed: 0, classes: Array.from({ length: 10 }, (_, i) => String(i)), inputShape: [1, 28, 28] },
  });
});

/** embedding.csv as rows. */
function readCsv(dir: string): { x: number; y: number; label: string; index: number }[] {
  const [head, ...lines] = readFileSync(join(dir, 'embedding.csv'), 'utf8').trim().split('\n');
  assert.equal(head, 'x,y,label,index');
  return lines.map((l) => {
    const [x, y, label, index] = l.split(',');
    return { x: Number(x), y: Number(y), label: JSON.parse(label), index: Number(index) };
  });
}

test('embed --method tsne: CSV, map, gallery and metrics that agree with each other', async () => {
  const out = join(tmp, 'tsne');
  const r = await run('embed', '--checkpoint', ckpt, '--n', '400', '--perplexity', '15', '--seed', '1', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(readFileSync(join(out, 'embedding.json'), 'utf8'));
  assert.equal(summary.method, 'tsne');
  assert.equal(summary.layer, 'fc3');
  assert.equal(summary.at, 'input');
  assert.equal(summary.features, 84);
  assert.equal(summary.k, 10);
  assert.ok(Number.isFinite(summary.kl) && summary.kl > 0);
  for (const v of [summary.trustworthiness, summary.knnAccuracy.features, summary.knnAccuracy.pixels, summary.knnAccuracy.map, summary.galleryAgreement.pixels, summary.galleryAgreement.features]) {
    assert.ok(v >= 0 && v <= 1, `${v} in [0, 1]`);
  }
  assert.ok(summary.trustworthiness > 0.85, `trustworthiness ${summary.trustworthiness}`);
  const rows = readCsv(out);
  assert.equal(rows.length, 400);
  // A stratified sample of the 10,000 bundled digits (8,000 training, then 2,000 test): distinct indices, every class in its share.
  assert.equal(new Set(rows.map((p) => p.index)).size, 400);
  assert.ok(rows.every((p) => Number.isInteger(p.index) && p.index >= 0 && p.index < 10000));
  const counts = new Map<string, number>();
  for (const p of rows) counts.set(p.label, (counts.get(p.label) ?? 0) + 1);
  assert.deepEqual([...counts.keys()].sort(), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  for (const [label, c] of counts) assert.ok(c >= 30 && c <= 52, `class ${label}: ${c} of 400`);
  // The map's k-NN accuracy, recomputed from the CSV, is the one reported.
  const map = tensor(Float64Array.from(rows.flatMap((p) => [p.x, p.y])), { shape: [400, 2] });
  const acc = leaveOneOutAccuracy(map, rows.map((p) => Number(p.label)), { nNeighbors: 10 });
  assert.equal(Number(acc.toFixed(4)), summary.knnAccuracy.map);
  const svg = readFileSync(join(out, 'embedding.svg'), 'utf8');
  assert.ok(svg.includes('data:image/png;base64,'), 'thumbnails in the map');
  const png = await sharp(join(out, 'embedding.png')).metadata();
  assert.ok(png.width! > 600 && png.height! > 600);
  // The gallery: 8 rows of query, 2 panels of a name tile and 6 neighbours (28-pixel tiles at scale 2).
  const gallery = await sharp(join(out, 'neighbors.png')).metadata();
  assert.equal(gallery.width, 15 * (56 + 2) + 2);
  assert.match(r.stdout, /trustworthiness@10 0\.\d+, 10-NN accuracy: features 0\.\d+, pixels 0\.\d+, map 0\.\d+, KL \d/);
});

test('embed --method pca --layer fc2: components in decreasing variance, explained variance reported, pixel reconstructions', async () => {
  const out = join(tmp, 'pca');
  const r = await run('embed', '--checkpoint', ckpt, '--method', 'pca', '--layer', 'fc2', '--n', '200', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(readFileSync(join(out, 'embedding.json'), 'utf8'));
  assert.equal(summary.kl, null);
  assert.equal(summary.features, 84);
  assert.equal(summary.at, 'output');
  const [r1, r2] = summary.explainedVarianceRatio;
  assert.ok(r1 >= r2 && r2 > 0 && r1 + r2 <= 1);
  const rows = readCsv(out);
  const variance = (v: number[]) => { const m = v.reduce((a, b) => a + b, 0) / v.length; return v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1); };
  const vx = variance(rows.map((p) => p.x)), vy = variance(rows.map((p) => p.y));
  assert.ok(vx >= vy, `first component variance ${vx} >= second ${vy}`);
  assert.ok(Math.abs(vy / vx - r2 / r1) < 1e-3, 'the ratio of the map\'s variances is that of the explained variances');
  // Pixel-space reconstructions: 8 test images, each as the original and from 1, 2, 5, 10, 20, 50, 100 components (28-pixel tiles at scale 2).
  const rec = await sharp(join(out, 'reconstructions.png')).metadata();
  assert.equal(rec.width, 8 * (56 + 2) + 2);
  assert.ok(rec.height! > 8 * 56);
});

test('embed: bad input gets one line and exit status 1', async () => {
  assertOneLineError(await run('embed', '--checkpoint', join(tmp, 'missing.safetensors')), /missing\.safetensors/);
  assertOneLineError(await run('embed', '--checkpoint', ckpt, '--layer', 'fc9', '--out', join(tmp, 'x')), /unknown layer 'fc9'; the model's layers are: conv1, conv2, fc1, fc2, fc3/);
  assertOneLineError(await run('embed', '--checkpoint', ckpt, '--n', '10001', '--out', join(tmp, 'x')), /--n 10001 is more than the 10000 images of mnist \(8000 training \+ 2000 test\)/);
  assertOneLineError(await run('embed', '--checkpoint', ckpt, '--n', '90', '--perplexity', '30', '--out', join(tmp, 'x')), /--perplexity 30 must be less than n\/3 = 30/);
  assertOneLineError(await run('embed', '--checkpoint', ckpt, '--n', 'many'), /--n must be an integer from 4 to 1000000, got 'many'/);
  assertOneLineError(await run('embed', '--checkpoint', ckpt, '--method', 'umap'), /umap/);
  assertOneLineError(await run('embed', '--checkpoint', ckpt, '--method', 'pca', '--perplexity', '10'), /embed: --perplexity applies to --method tsne only/);
});
