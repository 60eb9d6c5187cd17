/**
 * `pixelgrad explain` end to end, in process (main() returns the exit status): a LeNet-5
 * checkpoint with the run configuration train writes, test samples and image files, the grid PNG
 * and the raw attributions, and one-line errors for bad input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { createModel } from '../src/models/index.js';
import { saveCheckpoint } from '../src/train/checkpoint.js';
import { loadSafetensors } from '../src/io/node.js';
import { writePng } from '../src/data/node/image-io.js';
import { manualSeed, rand } from '../src/index.js';
import { assertOneLineError, runHere as run } from './helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'pixelgrad-explain-'));
const ckpt = join(tmp, 'lenet.safetensors');
manualSeed(3);
saveCheckpoint(ckpt, {
  model: createModel('lenet5', { inChannels: 1, numClasses: 10, inputSize: 28 }), epoch: 1,
  config: { model: 'lenet5', dataset: 'mnist', seed: 0, classes: Array.from({ length: 10 }, (_, i) => String(i)), inputShape: [1, 28, 28] },
});

test('explain --samples: the default methods on test images, grid PNG and raw attributions', async () => {
  const out = join(tmp, 'samples');
  const r = await run('explain', '--checkpoint', ckpt, '--samples', '4', '--target', 'true', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /saliency, guidedBackprop, gradCam, guidedGradCam \(Grad-CAM on conv2\) for 4 images/);
  const st = loadSafetensors(join(out, 'attributions.safetensors'));
  for (const k of ['input', 'saliency', 'guidedBackprop', 'gradCam', 'guidedGradCam']) assert.deepEqual(st.tensors[k].shape, [4, 1, 28, 28], k);
  assert.deepEqual([...st.tensors.target.data], [...st.tensors.label.data], '--target true explains the labels');
  // Some misclassified images are among them (the untrained model gets most wrong).
  assert.ok([...st.tensors.label.data].some((l, i) => l !== st.tensors.predicted.data[i]));
  assert.equal(st.metadata?.layer, 'conv2');
  // 4 rows of 5 tiles (image + 4 methods), 28 px scaled by 3, 2 px padding, caption strips.
  const meta = await sharp(join(out, 'explain.png')).metadata();
  assert.equal(meta.width, 5 * (84 + 2) + 2);
  assert.ok(meta.height! > 4 * (84 + 2));
});

test('explain on image files: chosen methods, layer and class', async () => {
  const a = join(tmp, 'a.png'), b = join(tmp, 'b.png');
  await writePng(rand([1, 28, 28]), a);
  await writePng(rand([1, 28, 28]), b);
  const out = join(tmp, 'files');
  const r = await run('explain', '--checkpoint', ckpt, '--method', 'grad-cam,occlusion', '--method', 'IntegratedGradients', '--layer', 'conv1', '--target', '7', '--out', out, a, b);
  assert.equal(r.status, 0, r.stderr);
  const st = loadSafetensors(join(out, 'attributions.safetensors'));
  assert.deepEqual(Object.keys(st.tensors).sort(), ['gradCam', 'input', 'integratedGradients', 'occlusion', 'predicted', 'target']);
  assert.deepEqual([...st.tensors.target.data], [7, 7]);
  assert.equal(st.metadata?.layer, 'conv1');
  assert.ok(existsSync(join(out, 'explain.png')));
});

test('explain --filters: the first layer\'s filters and one image per class', async () => {
  const out = join(tmp, 'filters');
  const r = await run('explain', '--checkpoint', ckpt, '--filters', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /filters and classes: wrote .*filters\.png, .*classes\.png/);
  const filters = await sharp(join(out, 'filters.png')).metadata();
  assert.equal(filters.width, 6 * (40 + 2) + 2, 'six 5×5 filters scaled by 8 in one row');
  const classes = await sharp(join(out, 'classes.png')).metadata();
  assert.equal(classes.width, 10 * (84 + 2) + 2, 'ten classes in one row');
});

test('explain: bad input is a one-line error naming what is valid', async () => {
  const rgb = join(tmp, 'rgb.png'), big = join(tmp, 'big.png'), digit = join(tmp, 'digit.png');
  await writePng(rand([3, 28, 28]), rgb);
  await writePng(rand([1, 32, 32]), big);
  await writePng(rand([1, 28, 28]), digit);
  const base = ['explain', '--checkpoint', ckpt];
  assertOneLineError(await run(...base, '--method', 'lime', digit), /^pixelgrad: explain: unknown method 'lime' \(methods: saliency, inputXGradient, smoothGrad, integratedGradients, guidedBackprop, deconvolution, gradCam, guidedGradCam, occlusion\)$/);
  assertOneLineError(await run(...base, '--layer', 'conv3', digit), /^pixelgrad: explain: the model has no layer 'conv3' \(layers: conv1, conv2, fc1, fc2, fc3\)$/);
  assertOneLineError(await run(...base, '--layer', 'fc1', digit), /^pixelgrad: explain: layer 'fc1' is not spatial \(output \[1,120\]\); Grad-CAM needs a layer with \[N, C, H, W\] output, e.g. conv1, conv2$/);
  assertOneLineError(await run(...base, big), /^pixelgrad: explain: .*big\.png is 32×32 but the model takes 28×28 images$/);
  assertOneLineError(await run(...base, rgb), /^pixelgrad: explain: .*rgb\.png has 3 channels but the model takes 1 \(grayscale\)$/);
  assertOneLineError(await run(...base, '--target', 'true', digit), /^pixelgrad: explain: --target true needs --samples/);
  assertOneLineError(await run(...base, '--target', 'cat', digit), /^pixelgrad: explain: --target must be 'predicted', 'true' or a class \(0, 1, 2, 3, 4, 5, 6, 7, 8, 9\), got 'cat'$/);
  assertOneLineError(await run(...base, '--samples', '2', digit), /^pixelgrad: explain: give image files or --samples, not both$/);
  assertOneLineError(await run(...base), /^pixelgrad: explain: give image files, --samples <n> .* or --filters$/);
  assertOneLineError(await run(...base, '--method', 'saliency', '--layer', 'conv1', digit), /^pixelgrad: explain: --layer applies to gradCam and guidedGradCam; add one of them to --method$/);
  assertOneLineError(await run(...base, '--filters', '--layer', 'conv1'), /^pixelgrad: explain: --method and --layer need image files or --samples$/);
  assertOneLineError(await run(...base, '--samples', '0'), /^pixelgrad: explain: --samples must be an integer from 1 to 256, got '0'$/);
});
