/**
 * `pixelgrad report` and `train --report`: a tiny classification run and a tiny segmentation run
 * (a folder of six 16×16 squares), each report opened in a real browser (Debian's chromium via playwright-core) with the
 * network off: no console errors, no request leaves the page, every section rendered (checked in
 * the DOM), and a full-page screenshot kept as an artefact in the test's temp folder.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { Tensor } from '../src/index.js';
import { writePng } from '../src/node.js';
import { assertOneLineError, hereRunner } from './helpers/cli.js';

const CHROMIUM = '/usr/bin/chromium';
const tmp = mkdtempSync(join(tmpdir(), 'pixelgrad-report-'));
let browser: Browser;

/** The command in this process, with commander's own errors. */
const run = hereRunner({ writes: true });

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});
after(async () => { await browser?.close(); });

interface Rendered { id: string; svgs: number; images: number; brokenImages: number; rows: number; text: string }

/** Opens the report offline; the console errors, the requests other than the page and data: URLs, and each section. */
async function openReport(path: string, screenshot: string): Promise<{ errors: string[]; requests: string[]; sections: Rendered[]; hover: string[] }> {
  const context = await browser.newContext({ offline: true, viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [], requests: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => { if (!r.url().startsWith('data:') && r.url() !== pathToFileURL(path).href) requests.push(r.url()); });
  try {
    await page.goto(pathToFileURL(path).href, { waitUntil: 'load' });
    const sections = await page.$$eval('section', (list) => list.map((s) => {
      const imgs = Array.from(s.querySelectorAll('img'));
      return {
        id: s.id, svgs: s.querySelectorAll('svg').length, images: imgs.length, text: s.textContent ?? '',
        brokenImages: imgs.filter((i) => !i.complete || i.naturalWidth === 0).length, rows: s.querySelectorAll('tbody tr').length,
      };
    }));
    await page.screenshot({ path: screenshot, fullPage: true });
    // The t-SNE map's thumbnails: faint, and opaque under the pointer (the last drawn is on top).
    let hover: string[] = [];
    if (await page.$('#tsne svg image')) {
      const opacities = () => page.$$eval('#tsne svg image', (list) => list.map((i) => getComputedStyle(i).opacity));
      const faint = await opacities();
      await page.hover('#tsne svg image >> nth=-1');
      await page.waitForTimeout(300);
      const hovered = await opacities();
      hover = [faint[faint.length - 1], hovered[hovered.length - 1], hovered[0]];
    }
    return { errors, requests, sections, hover };
  } finally {
    await context.close();
  }
}

function assertSection(sections: Rendered[], id: string, what: 'svg' | 'img' | 'table', atLeast = 1): Rendered {
  const s = sections.find((v) => v.id === id);
  assert.ok(s, `section ${id} present (got ${sections.map((v) => v.id).join(', ')})`);
  const n = what === 'svg' ? s.svgs : what === 'img' ? s.images : s.rows;
  assert.ok(n >= atLeast, `section ${id}: ${n} ${what}`);
  assert.equal(s.brokenImages, 0, `section ${id}: broken images`);
  return s;
}

test('train --report writes a classification report that renders offline with every section', async () => {
  const out = join(tmp, 'classify');
  const r = await run('train', '--limit', '120', '--epochs', '1', '--out', out, '--no-cache', '--report');
  assert.equal(r.status, 0, r.stderr);
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  // Self-contained: nothing to fetch, no scripts at all.
  assert.doesNotMatch(html, /<script|<link|src="(?!data:)|href="(?!#|data:)[a-z]+:/i);
  const { errors, requests, sections, hover } = await openReport(join(out, 'report.html'), join(tmp, 'classify-report.png'));
  assert.deepEqual(hover, ['0.25', '1', '0.25'], 'thumbnail opacity before hovering, under the pointer, elsewhere');
  assert.deepEqual(errors, []);
  assert.deepEqual(requests, []);
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.equal(assertSection(sections, 'configuration', 'table').rows, Object.keys(config).length);
  assertSection(sections, 'learning-curves', 'svg');
  assertSection(sections, 'confusion', 'svg');
  assert.equal(assertSection(sections, 'per-class', 'table').rows, 10);
  assertSection(sections, 'misclassified', 'img');
  assertSection(sections, 'tsne', 'svg');
  assertSection(sections, 'neighbors', 'img');
  assertSection(sections, 'explanations', 'img');
  assertSection(sections, 'robust-accuracy', 'svg');
  assertSection(sections, 'triptychs', 'img');
  // The checkpoint is scored on the whole test split of the bundled digits (2,000 images), not the run's --limit sample.
  assert.match(sections.find((s) => s.id === 'confusion')!.text, /2000 test images, accuracy \d+\.\d\d%, macro F1/);
  assert.ok(existsSync(join(tmp, 'classify-report.png')), 'screenshot kept');
});

test('report --no-extras on a segmentation run shows its metrics, mask grid and IoU curves', async () => {
  const out = join(tmp, 'segment');
  // Six 16×16 images of a bright square (mask 255) on a dark background, at different places.
  const data = join(tmp, 'squares');
  mkdirSync(join(data, 'image'), { recursive: true });
  mkdirSync(join(data, 'label'), { recursive: true });
  for (let k = 0; k < 6; k++) {
    const img = new Float32Array(256).fill(0.2), mask = new Int32Array(256);
    for (let y = 2 + k; y < 8 + k; y++) for (let x = 8 - k; x < 14 - k; x++) { img[y * 16 + x] = 0.8; mask[y * 16 + x] = 255; }
    await writePng(new Tensor(img, [1, 16, 16]), join(data, 'image', `${k}.png`));
    await writePng(new Tensor(mask, [16, 16]), join(data, 'label', `${k}.png`));
  }
  const train = await run('train', '--task', 'segment', '--model', 'unet', '--dataset', data, '--unet-depth', '2', '--unet-width', '4',
    '--batch-size', '4', '--schedule', 'none', '--optimizer', 'adam', '--epochs', '1', '--out', out);
  assert.equal(train.status, 0, train.stderr);
  const file = join(tmp, 'segment-report.html');
  const r = await run('report', out, '--out', file, '--no-extras');
  assert.equal(r.status, 0, r.stderr);
  const { errors, requests, sections } = await openReport(file, join(tmp, 'segment-report.png'));
  assert.deepEqual([errors, requests], [[], []]);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  const metrics = assertSection(sections, 'metrics', 'table');
  for (const [k, v] of Object.entries(summary)) if (typeof v === 'number') assert.ok(metrics.text.includes(k), k);
  assertSection(sections, 'masks', 'img');
  assertSection(sections, 'iou-curves', 'svg');
  assert.deepEqual(sections.map((s) => s.id), ['configuration', 'learning-curves', 'metrics', 'masks', 'iou-curves']);
});

test('report refuses a folder that is not a run in one line', async () => {
  const r = await run('report', tmp);
  assertOneLineError(r, /^pixelgrad: report: .* has no config\.json: give a run folder written by 'pixelgrad train'$/);
});
