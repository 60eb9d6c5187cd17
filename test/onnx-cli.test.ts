/**
 * `pixelgrad export --format onnx` end to end, in process: a LeNet-5 checkpoint with
 * the run configuration train writes becomes an ONNX file whose outputs, read back, are the
 * checkpoint's; bad input is a one-line error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { modelFromCheckpoint } from '../src/cli/transfer.js';
import { createModel } from '../src/models/index.js';
import { saveCheckpoint } from '../src/train/checkpoint.js';
import { readOnnxFile } from '../src/io/onnx/node.js';
import { Generator, manualSeed, randn } from '../src/index.js';
import { noGrad } from '../src/autograd/grad-mode.js';
import { assertClose } from './helpers/assert.js';
import { assertOneLineError, runHere as run } from './helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'pixelgrad-export-'));
manualSeed(5);
const digits = Array.from({ length: 10 }, (_, i) => String(i));
const lenet = join(tmp, 'lenet.safetensors');
saveCheckpoint(lenet, {
  model: createModel('lenet5', { inChannels: 1, numClasses: 10, inputSize: 28 }), epoch: 1,
  config: { model: 'lenet5', dataset: 'mnist', seed: 0, classes: digits, inputShape: [1, 28, 28] },
});

test('export --format onnx: the file gives the checkpoint\'s outputs for any batch size', async () => {
  const out = join(tmp, 'lenet.onnx');
  const r = await run('export', '--checkpoint', lenet, '--format', 'onnx', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^wrote .*lenet\.onnx: ONNX opset 13, input \[N,1,28,28\], 10 classes, 61,706 parameters\n$/);
  const { model } = modelFromCheckpoint(lenet);
  const x = randn([3, 1, 28, 28], { generator: new Generator(1) });
  assertClose(noGrad(() => readOnnxFile(out).forward(x)).data, noGrad(() => model.eval().forward(x)).data, { atol: 1e-5 });
});

test('export: one-line errors for a missing checkpoint, a file that is not one, a file in the way of --out, an unknown format, no --out', async () => {
  const junk = join(tmp, 'junk.safetensors');
  writeFileSync(junk, 'not a checkpoint');
  for (const [argv, pattern] of [
    [['export', '--checkpoint', join(tmp, 'none.safetensors'), '--out', join(tmp, 'x.onnx')], /none\.safetensors/],
    [['export', '--checkpoint', junk, '--out', join(tmp, 'x.onnx')], /junk\.safetensors/],
    [['export', '--checkpoint', lenet, '--out', join(lenet, 'x.onnx')], /lenet\.safetensors/],
  ] as const) {
    assertOneLineError(await run(...argv), pattern, argv.join(' '));
  }
  // Commander refuses these itself (and prints its own line to stderr).
  for (const argv of [['export', '--checkpoint', lenet, '--format', 'tflite', '--out', join(tmp, 'x.onnx')], ['export', '--checkpoint', lenet]]) {
    const write = process.stderr.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try { assert.equal((await run(...argv)).status, 1, argv.join(' ')); } finally { process.stderr.write = write; }
  }
});
