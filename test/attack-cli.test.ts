/**
 * `pixelgrad attack` on a LeNet-5 checkpoint trained briefly on the bundled digits: the numbers,
 * chart and triptychs it writes, and one-line errors with exit status 1 for bad input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { selectDefaultBackend } from '../src/backend/select.js';
import { mnist } from '../src/data/node/mnist.js';
import { DataLoader } from '../src/data/dataloader.js';
import { Subset } from '../src/data/dataset.js';
import { LeNet5 } from '../src/models/lenet.js';
import { Adam } from '../src/optim/adam.js';
import { crossEntropy } from '../src/nn/functional/loss.js';
import { fit, type Batch } from '../src/train/fit.js';
import { saveCheckpoint } from '../src/train/checkpoint.js';
import { Generator, manualSeed } from '../src/random.js';
import type { Tensor } from '../src/tensor.js';
import { DEFAULT_CONFIG } from '../src/cli/train.js';
import { assertOneLineError, hereRunner } from './helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'pixelgrad-attack-'));
const checkpoint = join(tmp, 'lenet.safetensors');

test.before(async () => {
  await selectDefaultBackend();
  manualSeed(0);
  const model = new LeNet5();
  const loader = new DataLoader<{ input: Tensor; target: number | Tensor }, Batch>(new Subset(mnist(), Array.from({ length: 2000 }, (_, i) => i)), { batchSize: 32, shuffle: true, generator: new Generator(1) });
  await fit(model, { train: loader, optimizer: new Adam(model.parameters(), { lr: 5e-3 }), loss: crossEntropy, epochs: 2 });
  const config = { ...DEFAULT_CONFIG, epochs: 2, optimizer: 'adam', classes: Array.from({ length: 10 }, (_, i) => String(i)), inputShape: [1, 28, 28] };
  saveCheckpoint(checkpoint, { model, epoch: 2, config });
});

/** Runs the command in this process (console and commander's own stderr); attack options go to an attack of the test checkpoint. */
const here = hereRunner({ writes: true });
const cli = (...args: string[]) => here(...(args[0] === 'train' ? args : ['attack', '--checkpoint', checkpoint, '--samples', '120', '--batch-size', '50', ...args]));

test('pgd at ε 0, 0.1, 0.2: attack.json, the CSV table, the chart and one triptych grid per ε > 0', async () => {
  const out = join(tmp, 'pgd');
  const r = await cli('--method', 'pgd', '--eps', '0,0.1,0.2', '--steps', '5', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(readFileSync(join(out, 'attack.json'), 'utf8'));
  assert.equal(summary.samples, 120);
  assert.deepEqual(summary.points.map((p: { eps: number }) => p.eps), [0, 0.1, 0.2]);
  const acc = summary.points.map((p: { accuracy: number }) => p.accuracy);
  assert.equal(acc[0], summary.points[0].cleanAccuracy);
  assert.ok(acc[0] > 0.8 && acc[1] < acc[0] - 0.1 && acc[2] < acc[1], `accuracy per ε: ${acc}`);
  assert.ok(Math.abs(summary.points[1].linf.max - 0.1) < 1e-6);
  const csv = readFileSync(join(out, 'robust-accuracy.csv'), 'utf8').trim().split('\n');
  assert.equal(csv.length, 4);
  assert.equal(Number(csv[2].split(',')[1]), acc[1]);
  assert.match(readFileSync(join(out, 'robust-accuracy.svg'), 'utf8'), /<svg[^>]*>[\s\S]*Robust accuracy/);
  for (const e of ['0.1', '0.2']) {
    const meta = await sharp(join(out, `triptychs-eps${e}.png`)).metadata();
    // 8 triptychs, 2 per row of 6 tiles of 28×3 pixels.
    assert.ok(meta.width! > 6 * 84 && meta.height! > 4 * 84, `triptych grid ${meta.width}×${meta.height}`);
  }
  assert.match(r.stdout, new RegExp(`ε = 0.2: accuracy ${(100 * acc[2]).toFixed(2)}% \\(clean ${(100 * acc[0]).toFixed(2)}%\\)`));
});

test('targeted fgsm reports the success rate of reaching the target and leaves out images of that class', async () => {
  const out = join(tmp, 'fgsm-to-3');
  assert.equal((await cli('--method', 'fgsm', '--eps', '0.3', '--target', '3', '--out', out)).status, 0);
  const summary = JSON.parse(readFileSync(join(out, 'attack.json'), 'utf8'));
  const [p] = summary.points;
  assert.equal(summary.target, '3');
  assert.ok(summary.samples < 120 && summary.samples > 100, `${summary.samples} images besides the 3s`);
  assert.ok(p.successRate > 0.1 && p.successRate <= 1 - p.accuracy, `success ${p.successRate}, accuracy ${p.accuracy}`);
});

test('bad input: one line on stderr and exit status 1', async () => {
  const corrupt = join(tmp, 'corrupt.safetensors');
  writeFileSync(corrupt, 'not a checkpoint');
  const cases: [string[], RegExp][] = [
    [['--eps', '-0.1'], /^pixelgrad: attack: --eps must be a non-negative number, got -0.1$/],
    [['--eps', '0.1', '--alpha', '0.2'], /^pixelgrad: attack: --alpha 0.2 is larger than ε = 0.1/],
    [['--steps', '0'], /^error: option '--steps <n>' argument '0' is invalid\. --steps must be an integer from 1 to 10000, got '0'$/],
    [['--method', 'deepfool'], /argument 'deepfool' is invalid\. Allowed choices are fgsm, bim, pgd, pgd-l2/],
    [['--target', '10'], /^pixelgrad: attack: --target '10' is neither a class name nor a class index 0..9/],
    [['--eps', '0.1,x'], /^pixelgrad: attack: --eps must be a number or a comma-separated list of numbers, got '0.1,x'$/],
  ];
  for (const [args, pattern] of cases) {
    const r = await cli(...args, '--out', join(tmp, 'never'));
    assertOneLineError(r, pattern, args.join(' '));
  }
  for (const [path, pattern] of [[corrupt, /^pixelgrad: .*corrupt\.safetensors/], [join(tmp, 'missing.safetensors'), /^pixelgrad: attack: no checkpoint at .*missing\.safetensors$/]] as const) {
    const r = await cli('--checkpoint', path);
    assertOneLineError(r, pattern);
  }
});

test('train --adversarial pgd: adversarial batches, robust accuracy per epoch in metrics.jsonl and its chart, its own learning rate', async () => {
  const out = join(tmp, 'adv-run');
  const train = (...args: string[]) => cli('train', '--limit', '256', '--batch-size', '32', '--epochs', '2', '--augment', 'none', ...args);
  const { status } = await train('--adversarial', 'pgd', '--eps', '0.1', '--steps', '2', '--adv-ratio', '0.5', '--out', out);
  assert.equal(status, 0);
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.deepEqual(config.adversarial, { method: 'pgd', eps: 0.1, steps: 2, alpha: null, ratio: 0.5 });
  assert.equal(config.lr, 0.02);
  const records = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(records.length, 2);
  for (const r of records) assert.ok(r.valRobustAccuracy >= 0 && r.valRobustAccuracy <= r.valAccuracy + 0.05, JSON.stringify(r));
  assert.match(readFileSync(join(out, 'robust-accuracy.svg'), 'utf8'), /PGD-2 ε = 0.1/);

  for (const [args, pattern] of [
    [['--eps', '0.1'], /^pixelgrad: train: --eps is an option of adversarial training: add --adversarial fgsm\|pgd$/],
    [['--adversarial', 'pgd'], /^pixelgrad: train: --adversarial needs --eps <x>/],
    [['--adversarial', 'pgd', '--eps', '0.1', '--alpha', '0.2'], /^pixelgrad: train: --alpha 0.2 is larger than --eps 0.1/],
    [['--adversarial', 'fgsm', '--eps', '0.1', '--adv-ratio', '1.5'], /^pixelgrad: train: --adv-ratio must be a number in \[0, 1\], got 1.5$/],
  ] as const) {
    const r = await train(...args, '--out', join(tmp, 'never'));
    assertOneLineError(r, pattern, args.join(' '));
  }
  assert.ok(!existsSync(join(tmp, 'never')), 'no run folder for a refused configuration');
});
