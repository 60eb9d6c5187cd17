/**
 * `pixelgrad train --from/--freeze/--replace-head/--unfreeze-after` end to end, on tiny runs over
 * the bundled digits starting from the zoo's Fashion-MNIST LeNet-5.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { loadZooModel } from '../src/node.js';
import { randn, type Tensor } from '../src/index.js';
import { writePng } from '../src/data/node/image-io.js';
import { assertOneLineError, runCli as run } from './helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'pixelgrad-transfer-'));
const TINY = ['--limit', '64', '--batch-size', '32', '--augment', 'none'];
const FEATURES = ['conv1.weight', 'conv1.bias', 'conv2.weight', 'conv2.bias', 'fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias'];
const same = (a: Tensor, b: Tensor) => a.data.length === b.data.length && a.data.every((v, i) => v === b.data[i]);

test('--from zoo with frozen features and a new head: only the head trains, then --unfreeze-after trains everything', () => {
  const zoo = loadZooModel('lenet5-fashion-mnist').stateDict();
  const frozenOut = join(tmp, 'frozen');
  const r = run('train', '--from', 'zoo:lenet5-fashion-mnist', '--freeze', 'conv1,conv2,fc1,fc2', '--replace-head', '0,1,2', '--epochs', '1', ...TINY, '--out', frozenOut);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /weights from zoo:lenet5-fashion-mnist, with a new classifier head/);
  assert.match(r.stdout, /frozen: conv1, conv2, fc1, fc2\n/);
  const ckpt = loadCheckpoint(join(frozenOut, 'last.safetensors'));
  for (const k of FEATURES) assert.ok(same(ckpt.model[k], zoo[k]), `${k} kept the zoo's values`);
  assert.deepEqual(ckpt.model['fc3.weight'].shape, [3, 84]);
  const config = JSON.parse(readFileSync(join(frozenOut, 'config.json'), 'utf8'));
  assert.deepEqual(config.classes, ['0', '1', '2']);
  assert.deepEqual(config.transfer, { from: 'zoo:lenet5-fashion-mnist', freeze: ['conv1', 'conv2', 'fc1', 'fc2'], replaceHead: true, unfreezeAfter: null, channels: 'average' });

  const stagedOut = join(tmp, 'staged');
  const s = run('train', '--from', 'zoo:lenet5-fashion-mnist', '--freeze', 'conv1,conv2,fc1,fc2', '--replace-head', '--classes', '0,1,2',
    '--unfreeze-after', '1', '--epochs', '2', '--schedule', 'none', '--lr', '0.01', ...TINY, '--out', stagedOut);
  assert.equal(s.status, 0, s.stderr);
  assert.match(s.stdout, /frozen: conv1, conv2, fc1, fc2 \(until epoch 1\)/);
  assert.match(s.stdout, /epoch 2: every layer trains from now on/);
  const staged = loadCheckpoint(join(stagedOut, 'last.safetensors'));
  for (const k of FEATURES) assert.ok(!same(staged.model[k], zoo[k]), `${k} trained in the second stage`);

  // A checkpoint is a source too; its classes must fit the data unless the head is replaced.
  const again = run('train', '--from', join(frozenOut, 'last.safetensors'), '--epochs', '1', ...TINY, '--out', join(tmp, 'again'));
  assertOneLineError(again, /^pixelgrad: train: --from .*last\.safetensors has 3 classes, the data 10: pass --replace-head for a new classifier$/);
});

test('--from a gray network onto RGB images: the first convolution is adapted by the chosen rule', async () => {
  const folder = join(tmp, 'colour');
  let k = 0;
  for (const split of ['train', 'test']) {
    for (const cls of ['cat', 'dog']) {
      for (let i = 0; i < 4; i++) await writePng(randn([3, 28, 28]).mul(0.2).add(((k++ * 37) % 200) / 255 + 0.1).clamp(0, 1), join(folder, split, cls, `${i}.png`));
    }
  }
  const out = join(tmp, 'rgb');
  const r = run('train', '--from', 'zoo:lenet5-mnist', '--replace-head', '--freeze', 'conv1', '--adapt-channels', 'replicate', '--dataset', folder, '--no-cache', '--epochs', '1', '--batch-size', '4', '--augment', 'none', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /first convolution adapted from 1 to 3 input channels \(replicate rule\)/);
  const gray = loadZooModel('lenet5-mnist').stateDict()['conv1.weight'];
  const conv1 = loadCheckpoint(join(out, 'last.safetensors')).model['conv1.weight'];
  assert.deepEqual(conv1.shape, [6, 3, 5, 5]);
  // replicate from 1 to 3 channels: W'[:, j] = W[:, 0]·1/3 (frozen, so still so after training)
  for (let f = 0; f < 6; f++) for (let j = 0; j < 3; j++) for (let t = 0; t < 25; t++) {
    assert.ok(Math.abs(conv1.data[(f * 3 + j) * 25 + t] - gray.data[f * 25 + t] / 3) < 1e-7, `conv1.weight[${f},${j}]`);
  }
});

test('transfer options: one-line errors before any training', () => {
  assertOneLineError(run('train', '--freeze', 'conv1', ...TINY, '--out', join(tmp, 'e1')), /^pixelgrad: train: --freeze needs --from <checkpoint\|zoo:name>$/);
  assertOneLineError(run('train', '--from', 'zoo:resnet-imagenet', ...TINY, '--out', join(tmp, 'e2')), /^pixelgrad: train --from: no model "resnet-imagenet" in the zoo \(it has: lenet5-mnist, lenet5-fashion-mnist\)$/);
  assertOneLineError(run('train', '--from', 'zoo:lenet5-mnist', '--model', 'resnet20', ...TINY, '--out', join(tmp, 'e3')), /^pixelgrad: train: --from zoo:lenet5-mnist is a lenet5; leave out --model resnet20$/);
  assertOneLineError(run('train', '--from', 'zoo:lenet5-mnist', '--freeze', 'conv1', '--unfreeze-after', '2', '--epochs', '2', ...TINY, '--out', join(tmp, 'e4')),
    /^pixelgrad: train: --unfreeze-after must be an integer from 1 to 1 \(less than --epochs 2\), got 2$/);
  assertOneLineError(run('train', '--from', 'zoo:lenet5-mnist', '--unfreeze-after', '1', ...TINY, '--out', join(tmp, 'e5')), /--unfreeze-after needs --freeze/);
  assertOneLineError(run('train', '--from', 'zoo:lenet5-mnist', '--freeze', 'conv', '--epochs', '1', ...TINY, '--out', join(tmp, 'e6')),
    /^pixelgrad: freeze: LeNet5 has no module "conv" \(modules: conv1, conv2, fc1, fc2, fc3\)$/);
  assertOneLineError(run('train', '--from', 'zoo:lenet5-mnist', '--replace-head', '1,2', '--classes', '1,3', ...TINY, '--out', join(tmp, 'e7')), /--replace-head 1,2 and --classes 1,3 differ/);
});
