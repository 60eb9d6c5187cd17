/** The README's training example really learns. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { trainSmall } from '../examples/train-small.js';
import { augmentations, writeGallery } from '../examples/augmentation-gallery.js';

test('examples/train-small.ts: the loss goes down', () => {
  const losses = trainSmall(60);
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  const first = mean(losses.slice(0, 10)), last = mean(losses.slice(-10));
  assert.ok(first > 1.3, `starts near ln 4 ≈ 1.39, got ${first}`);
  assert.ok(last < 0.7 * first, `mean loss of the last 10 steps ${last} vs first 10 ${first}`);
});

test('examples/augmentation-gallery.ts writes one captioned row for the digit and one for the colour image', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'pixelgrad-gallery-')), 'gallery.png');
  await writeGallery(out);
  const meta = await sharp(out).metadata();
  const tiles = augmentations().length;
  assert.equal(tiles, 13);
  assert.ok(meta.width! >= tiles * 96 && meta.width! < tiles * 110, `width ${meta.width}`);
  assert.ok(meta.height! >= 2 * 96 && meta.height! < 2 * 130, `height ${meta.height}`);
  assert.equal(meta.channels, 3);
});
