/**
 * `pixelgrad train --task segment` and `pixelgrad predict` on a segmentation checkpoint: a tiny
 * U-Net on a folder of 0/255 masks (ISBI's layout) trained on crops with the weight map, elastic
 * deformation and CE + Dice; the run folder's files agree with each other; resume; eval rescores
 * the validation images; predict writes the masks by overlap-tile; bad folders and options are one-line errors naming the file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readImage, readMask, writePng } from '../src/data/node/image-io.js';
import { Generator } from '../src/random.js';
import { segmentationTask } from '../src/cli/segment-task.js';
import { DEFAULT_CONFIG } from '../src/cli/train.js';
import { shapes } from '../src/data/shapes.js';
import { Tensor } from '../src/tensor.js';
import { assertOneLineError, runCli as run, runHere } from './helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'pixelgrad-segment-cli-'));
process.env.XDG_CACHE_HOME = join(tmp, 'xdg-cache');

/** A folder of n images h×w: bright discs (mask 255) on a dark noisy background (mask 0). */
async function makeFolder(dir: string, n: number, h: number, w: number, seed: number): Promise<void> {
  mkdirSync(join(dir, 'image'), { recursive: true });
  mkdirSync(join(dir, 'label'), { recursive: true });
  const g = new Generator(seed);
  for (let k = 0; k < n; k++) {
    const img = new Float32Array(h * w), mask = new Int32Array(h * w);
    const discs = Array.from({ length: 3 }, () => [g.random() * h, g.random() * w, 3 + g.random() * 4]);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const inside = discs.some(([cy, cx, r]) => (y - cy) ** 2 + (x - cx) ** 2 <= r * r);
        mask[y * w + x] = inside ? 255 : 0;
        img[y * w + x] = Math.min(1, Math.max(0, (inside ? 0.8 : 0.2) + 0.1 * g.normal()));
      }
    }
    await writePng(new Tensor(img, [1, h, w]), join(dir, 'image', `${k}.png`));
    await writePng(new Tensor(mask, [h, w]), join(dir, 'label', `${k}.png`));
  }
}

const data = join(tmp, 'discs');
const UNET = ['--task', 'segment', '--model', 'unet', '--unet-depth', '2', '--unet-width', '4', '--batch-size', '4', '--schedule', 'none', '--optimizer', 'adam'];

test('train --task segment: crops, weight map, elastic, ce+dice; the run folder agrees with itself; resume; predict by overlap-tile', async () => {
  await makeFolder(join(data, 'train'), 5, 32, 40, 1);
  const out = join(tmp, 'run');
  const r = run('train', ...UNET, '--dataset', data, '--crop', '16', '--loss', 'ce+dice', '--weight-map', '--augment', 'elastic', '--epochs', '1', '--out', out);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /4 training, 1 validation images from a seeded 80\/20 split by image; classes = mask values 0, 255/);
  assert.match(r.stdout, /5 random 16×16 crops per image and epoch; loss ce\+dice with the U-Net weight map; augmentation elastic/);
  for (const f of ['config.json', 'last.safetensors', 'best.safetensors', 'metrics.jsonl', 'summary.json', 'segmentation.png', 'weight-map.png', 'segmentation-curves.png', 'learning-curves.png']) {
    assert.ok(existsSync(join(out, f)), f);
  }
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.deepEqual([config.task, config.crop, config.loss, config.weightMap, config.unetDepth, config.unetWidth, config.classes], ['segment', 16, 'ce+dice', true, 2, 4, ['0', '255']]);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  const [record] = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  // The last epoch's validation is the summary's, and the numbers are consistent with each other.
  assert.equal(record.valMeanIoU, summary.meanIoU);
  assert.equal(record.valAccuracy, summary.pixelAccuracy);
  assert.ok(Math.abs(summary.meanIoU - (summary.perClass[0].iou + summary.perClass[1].iou) / 2) < 1e-12);
  assert.equal(summary.foregroundDice, summary.perClass[1].dice);
  assert.ok(summary.vRand >= 0 && summary.vRand <= 1);
  assert.match(r.stdout, new RegExp(`foreground Dice ${summary.foregroundDice.toFixed(4)}, V_rand ${summary.vRand.toFixed(4)}`));
  // The split by file (for a twin in another framework): every image once, the 1 of validation apart.
  assert.equal(summary.split.validation.length, 1);
  assert.deepEqual([...summary.split.train, ...summary.split.validation].sort(), ['0.png', '1.png', '2.png', '3.png', '4.png']);

  const resumed = run('train', '--resume', '--out', out, '--epochs', '2');
  assert.equal(resumed.status, 0, resumed.stderr + resumed.stdout);
  const records = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(records.map((x) => x.epoch), [1, 2]);
  assert.ok(records.every((x) => typeof x.valMeanDice === 'number'));
  // eval of the last checkpoint scores the same validation split as the run's end.
  const after = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  const e = await runHere('eval', '--checkpoint', join(out, 'last.safetensors'));
  assert.equal(e.status, 0, e.stderr);
  assert.match(e.stdout, new RegExp(`^1 validation images: mean IoU ${after.meanIoU.toFixed(4)}, mean Dice ${after.meanDice.toFixed(4)}, pixel accuracy ${after.pixelAccuracy.toFixed(4)}, loss \\d\\.\\d{4}, V_rand ${after.vRand.toFixed(4)}\n`));

  // An image larger than the crops, of another size than the training images.
  await makeFolder(join(tmp, 'big'), 1, 45, 37, 9);
  const predOut = join(tmp, 'pred');
  const p = await runHere('predict', '--checkpoint', join(out, 'last.safetensors'), '--out', predOut, join(tmp, 'big', 'image', '0.png'));
  assert.equal(p.status, 0, p.stderr);
  assert.match(p.stdout, /0\.png: 0 \d+\.\d%, 255 \d+\.\d%; wrote .*0-mask\.png/);
  const mask = await readMask(join(predOut, '0-mask.png'));
  assert.deepEqual(mask.shape, [45, 37]);
  assert.ok([...mask.data].every((v) => v === 0 || v === 1), 'class indices');
  assert.deepEqual((await readImage(join(predOut, '0-overlay.png'))).shape, [3, 45, 37]);
  assert.deepEqual((await readImage(join(predOut, '0-mask-colour.png'))).shape, [3, 45, 37]);
});

test('--dataset shapes: 1920 training images; validation the samples 480–599, as when the set held 600', async () => {
  const data = await segmentationTask.load({ ...DEFAULT_CONFIG, task: 'segment', model: 'unet', dataset: 'shapes' }, { out: tmp, resume: false }, () => {});
  assert.deepEqual([data.train.length, data.val.length], [1920, 120]);
  const index = (source: string) => Number(/^shapes\[(\d+)\]$/.exec(source)![1]);
  assert.deepEqual(data.val.map((p) => index(p.source)), Array.from({ length: 120 }, (_, i) => 480 + i));
  assert.deepEqual(data.train.map((p) => index(p.source)), [...Array.from({ length: 480 }, (_, i) => i), ...Array.from({ length: 1440 }, (_, i) => 600 + i)]);
  assert.deepEqual(data.val[0].mask.data, shapes({ n: 600, seed: 0 }).get(480).target.data);
});

test('segmentation data errors are one line naming the file; options that need --task segment', async () => {
  const bad = join(tmp, 'bad');
  await makeFolder(join(bad, 'train'), 3, 32, 32, 2);
  const args = (dataset: string, ...more: string[]) => ['train', ...UNET, '--dataset', dataset, '--epochs', '1', '--out', join(tmp, 'never'), ...more];
  assertOneLineError(await runHere(...args(bad, '--crop', '64')), /--crop 64 is larger than '.*0\.png' \(32×32\)/);
  assertOneLineError(await runHere(...args(bad, '--crop', '15')), /--crop 15 must be divisible by 2 for a U-Net of depth 2/);
  assertOneLineError(await runHere(...args(bad, '--classes', '0,128')), /mask '.*label\/\d\.png' has value 255 \(\d+ pixels\) that classes does not map; classes maps the values 0, 128/);
  // A mask of another size than its image.
  await writePng(new Tensor(new Int32Array(16 * 16), [16, 16]), join(bad, 'train', 'label', '1.png'));
  assertOneLineError(await runHere(...args(bad)), /image '.*1\.png' is 32×32 \(H×W\) but its mask '.*1\.png' is 16×16/);
  // An image without a mask.
  const orphan = join(tmp, 'orphan');
  await makeFolder(join(orphan, 'train'), 2, 32, 32, 3);
  writeFileSync(join(orphan, 'train', 'image', 'extra.png'), readFileSync(join(orphan, 'train', 'image', '0.png')));
  assertOneLineError(await runHere(...args(orphan)), /no mask in '.*label' for 1 image: '.*extra\.png'/);
  assertOneLineError(await runHere(...args(join(tmp, 'nowhere'))), /--dataset .*nowhere: not a folder/);
  assertOneLineError(await runHere('train', '--model', 'unet', '--epochs', '1', '--out', join(tmp, 'never')), /--model unet segments images; pass --task segment/);
  assertOneLineError(await runHere('train', '--crop', '16', '--epochs', '1', '--out', join(tmp, 'never')), /--crop applies to --task segment only/);
  assertOneLineError(await runHere('train', '--task', 'segment', '--model', 'lenet5', '--epochs', '1', '--out', join(tmp, 'never')), /--task segment needs a segmentation model \(unet\), got --model lenet5/);
  assertOneLineError(await runHere(...args(bad, '--loss', 'dice', '--weight-map')), /--weight-map weights the cross entropy; --loss dice has none/);
  assert.ok(!existsSync(join(tmp, 'never')), 'no run folder for bad data');
});
