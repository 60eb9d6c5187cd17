/**
 * The way to PyTorch (examples/pytorch/): its definitions of LeNet-5, ResNet and U-Net load a
 * pixelgrad checkpoint strictly (same parameter names and shapes) and compute pixelgrad's outputs;
 * train_ddp.py continues training a LeNet-5 checkpoint with torchrun and DistributedDataParallel
 * (gloo, 2 processes), and pixelgrad loads the saved safetensors and evaluates them to the loss and
 * accuracy PyTorch reported. Needs /usr/bin/python3 with torch (Debian: python3-torch).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createModel } from '../src/models/index.js';
import { saveCheckpoint } from '../src/train/checkpoint.js';
import { loadModel, loadSafetensors, saveSafetensors } from '../src/io/node.js';
import { Generator, manualSeed, randn } from '../src/index.js';
import { Tensor } from '../src/tensor.js';
import type { Module } from '../src/nn/module.js';
import { noGrad } from '../src/autograd/grad-mode.js';
import { crossEntropy } from '../src/nn/functional/loss.js';
import { argmax } from '../src/ops/reduce.js';
import { assertClose } from './helpers/assert.js';

const PYTHON = '/usr/bin/python3';
const examples = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', 'examples', 'pytorch');
const tmp = mkdtempSync(join(tmpdir(), 'pixelgrad-pytorch-'));
const env = { ...process.env, OMP_NUM_THREADS: '1', PYTHONPATH: examples };

function requireTorch(): void {
  const r = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${PYTHON} with torch is needed for the PyTorch path (install Debian's python3-torch): ${r.error?.message ?? r.stderr.trim().split('\n').pop()}`);
}

/** A fresh model saved as a checkpoint with the run configuration train writes; `prepare` runs before saving. */
function checkpointOf(path: string, model: string, inputShape: number[], classes: number, extra: { unetDepth?: number; unetWidth?: number } = {}, prepare = (_net: Module) => {}): Module {
  const config = { model, dataset: 'synthetic', seed: 0, classes: Array.from({ length: classes }, (_, i) => `c${i}`), inputShape, ...extra };
  const net = createModel(model, { inChannels: inputShape[0], numClasses: classes, inputSize: inputShape[1], unet: { depth: extra.unetDepth, width: extra.unetWidth } });
  prepare(net);
  saveCheckpoint(path, { model: net, epoch: 1, config });
  return net;
}

test('examples/pytorch: LeNet-5, ResNet-20 and U-Net load pixelgrad checkpoints strictly and give the same outputs', () => {
  requireTorch();
  manualSeed(11);
  for (const [model, shape, classes, extra] of [
    ['lenet5', [1, 28, 28], 10, {}], ['resnet20', [3, 8, 8], 4, {}], ['unet', [1, 8, 8], 3, { unetDepth: 2, unetWidth: 4 }],
  ] as const) {
    const ckpt = join(tmp, `${model}.safetensors`), io = join(tmp, `${model}-io.safetensors`);
    // Running statistics other than 0 and 1, so the batch norms' buffers are checked too.
    const net = checkpointOf(ckpt, model, [...shape], classes, extra, (m) => {
      for (const [k, b] of m.namedBuffers()) if (/running_(mean|var)$/.test(k)) b.data.set(b.data.map((_, i) => 0.6 + 0.1 * (i % 5)));
    });
    const x = randn([2, ...shape], { generator: new Generator(4) });
    saveSafetensors(io, { x });
    execFileSync(PYTHON, ['-c', [
      'import sys, torch', 'from pixelgrad_models import model_from_checkpoint, load_safetensors, save_safetensors',
      'm, _ = model_from_checkpoint(sys.argv[1]); m.eval()', 't, _ = load_safetensors(sys.argv[2])',
      'with torch.no_grad(): save_safetensors(sys.argv[2], {"x": t["x"], "y": m(t["x"])})',
    ].join('\n'), ckpt, io], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const want = noGrad(() => net.eval().forward(x));
    assertClose(loadSafetensors(io).tensors.y.data, want.data, { atol: 1e-5, what: `${model} output` });
  }
});

test('examples/pytorch/train_ddp.py: torchrun with 2 gloo processes continues a checkpoint; pixelgrad evaluates the result as PyTorch did', () => {
  requireTorch();
  manualSeed(12);
  // Ten classes of 16×16 images: a bright 4×4 square whose place is the class, in noise.
  const n = 160, g = new Generator(5);
  const images = new Float32Array(n * 256), labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = i % 10, r = 2 + 3 * Math.floor(k / 4), c = 2 + 3 * (k % 4);
    labels[i] = k;
    for (let p = 0; p < 256; p++) images[i * 256 + p] = 0.3 * g.normal();
    for (let dr = 0; dr < 4; dr++) for (let dc = 0; dc < 4; dc++) images[i * 256 + (r + dr) * 16 + c + dc] += 2;
  }
  const x = new Tensor(images, [n, 1, 16, 16]), y = new Tensor(labels, [n]);
  const data = join(tmp, 'train.safetensors'), ckpt = join(tmp, 'start.safetensors'), out = join(tmp, 'trained.safetensors'), report = join(tmp, 'report.json');
  saveSafetensors(data, { images: x, labels: y });
  const start = checkpointOf(ckpt, 'lenet5', [1, 16, 16], 10);
  const lossBefore = noGrad(() => crossEntropy(start.eval().forward(x), y)).data[0];
  // --redirects/--tee 1 (workers' stdout to a log, echoed): torch 1.13's default 0 fails under Python 3.11,
  // whose IntFlag iteration skips the zero member (Std.NONE).
  execFileSync('/usr/bin/torchrun', ['--standalone', '--nproc_per_node', '2', '--redirects', '1', '--tee', '1', '--log_dir', join(tmp, 'torchrun'), join(examples, 'train_ddp.py'),
    '--checkpoint', ckpt, '--data', data, '--out', out, '--epochs', '4', '--batch-size', '16', '--lr', '0.05', '--report', report],
  { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
  const torchSays = JSON.parse(readFileSync(report, 'utf8')) as { loss: number; accuracy: number; samples: number };
  const trained = createModel('lenet5', { inChannels: 1, numClasses: 10, inputSize: 16 });
  loadModel(trained, out, { strict: true });
  const logits = noGrad(() => trained.eval().forward(x));
  const loss = crossEntropy(logits, y).data[0];
  const predicted = Array.from(argmax(logits, 1).data as Int32Array);
  const accuracy = predicted.filter((p, i) => p === labels[i]).length / n;
  assertClose([loss, accuracy], [torchSays.loss, torchSays.accuracy], { atol: 1e-5, what: 'loss and accuracy' });
  assert.ok(loss < lossBefore, `training in PyTorch did not lower the loss (${lossBefore} → ${loss})`);
});
