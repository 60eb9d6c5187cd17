/**
 * The browser workbench (web/): built by Vite, served by web/server.ts, driven in Debian's
 * chromium through playwright-core. Drawing with pointer events gives a prediction and heatmaps,
 * the FGSM slider flips the prediction, the t-SNE worker returns a map, and one epoch of training in
 * the tab reaches 90 % test accuracy. The server refuses paths that leave its root and listens on
 * 127.0.0.1 only by default.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startWorkbenchServer, requestedFile } from '../web/server.js';

const CHROMIUM = '/usr/bin/chromium';
const webRoot = fileURLToPath(new URL('../web/', import.meta.url));
const outDir = fileURLToPath(new URL('../runs/workbench-test-build', import.meta.url));

let server: Server, browser: Browser, page: Page, base: string;
const pageErrors: string[] = [];

interface WorkbenchState {
  ready: boolean;
  backend: { backend: string; threads: number };
  prediction: number | null;
  heatmaps: number;
  adversarialPrediction: number | null;
  training: null | { accuracyBefore: number; accuracy: number; seconds: number; samples: number };
  tsne: null | { n: number; iterations: number; kl: number | null; embedding: number[] };
  errors: string[];
}
const wb = () => page.evaluate(() => (window as unknown as { workbench: WorkbenchState }).workbench);

before(async () => {
  await build({ configFile: `${webRoot}vite.config.ts`, logLevel: 'error', build: { outDir, emptyOutDir: true } });
  ({ server, url: base } = await startWorkbenchServer({ root: outDir, port: 0 }));
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  page = await browser.newPage();
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
  await page.goto(`${base}?tsne=300&tsneIter=300`);
  await page.waitForFunction(() => (window as unknown as { workbench?: WorkbenchState }).workbench?.ready || (window as unknown as { workbench?: WorkbenchState }).workbench?.errors.length, null, { timeout: 30_000 });
  assert.deepEqual((await wb()).errors, []);
});

after(async () => {
  await browser?.close();
  server?.close();
});

/** Status and body of a raw request whose path is sent as written (no normalisation by a client). */
function get(path: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => { body += d; }).on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject).end();
  });
}

test('the server refuses paths outside its root and absolute paths, and serves the page cross-origin isolated', async () => {
  for (const path of ['/../package.json', '/assets/../../package.json', '/%2e%2e/%2e%2e/package.json', '/..%2f..%2fpackage.json', '//etc/passwd', '/%2Fetc%2Fpasswd', '/C:%5Cwindows%5Cwin.ini', '/..%5c..%5cpackage.json', '/index.html%00.png']) {
    const r = await get(path);
    assert.equal(r.status, 400, `${path} gave ${r.status}`);
    assert.ok(!r.body.includes('"name"'), `${path} leaked a file`);
  }
  assert.equal((await get('/nope.js')).status, 404);
  assert.equal(requestedFile('http://127.0.0.1/../package.json'), null, 'an absolute-form request target is refused');
  const index = await get('/');
  assert.equal(index.status, 200);
  assert.match(index.body, /pixelgrad workbench/);
  assert.equal(index.headers['cross-origin-opener-policy'], 'same-origin');
  assert.equal(index.headers['cross-origin-embedder-policy'], 'require-corp');
});

test('the server listens on 127.0.0.1 only by default', async () => {
  const { server: s } = await startWorkbenchServer({ root: outDir, port: 0 });
  try {
    const { address, port } = s.address() as AddressInfo;
    assert.equal(address, '127.0.0.1');
    const others = Object.values(networkInterfaces()).flat().filter((a) => a && !a.internal && a.family === 'IPv4').map((a) => a!.address);
    for (const host of others) {
      const refused = await new Promise<boolean>((resolve) => {
        const c = connect({ host, port }, () => { c.destroy(); resolve(false); });
        c.on('error', () => resolve(true));
      });
      assert.ok(refused, `the server answered on ${host}`);
    }
  } finally {
    s.close();
  }
});

test('the page runs the core on the wasm backend on worker threads (cross-origin isolated)', async () => {
  const s = await wb();
  assert.equal(await page.evaluate(() => crossOriginIsolated), true);
  assert.equal(s.backend.backend, 'wasm');
  assert.ok(s.backend.threads > 1, `threads: ${s.backend.threads}`);
});

test('drawing a digit with pointer events gives a prediction, a saliency map and a Grad-CAM map', async () => {
  const box = (await page.locator('#pad').boundingBox())!;
  // A "1": one vertical stroke down the middle of the pad.
  await page.mouse.move(box.x + box.width * 0.52, box.y + box.height * 0.15);
  await page.mouse.down();
  for (let t = 1; t <= 12; t++) await page.mouse.move(box.x + box.width * (0.52 - 0.04 * t / 12), box.y + box.height * (0.15 + 0.7 * t / 12));
  await page.mouse.up();
  await page.waitForFunction(() => (window as unknown as { workbench: WorkbenchState }).workbench.heatmaps > 0, null, { timeout: 10_000 });
  const s = await wb();
  assert.equal(s.prediction, 1, `a vertical stroke read as ${s.prediction}`);
  assert.match(await page.locator('#prediction').innerText(), /^1 \(/);
  // The heatmaps are pictures, not blank canvases: many distinct colours.
  for (const id of ['input28', 'saliency', 'gradcam']) {
    const colours = await page.evaluate((id) => {
      const c = document.getElementById(id) as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      const seen = new Set<number>();
      for (let i = 0; i < d.length; i += 4) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      return seen.size;
    }, id);
    assert.ok(colours >= 10, `#${id} has ${colours} colours`);
  }
});

test('the FGSM slider changes the prediction', async () => {
  const setEps = (eps: number) => page.evaluate((eps) => {
    const input = document.getElementById('eps') as HTMLInputElement;
    input.value = String(eps);
    input.dispatchEvent(new Event('input'));
  }, eps);
  await setEps(0);
  let s = await wb();
  assert.equal(s.adversarialPrediction, s.prediction, 'at ε = 0 the attack changes nothing');
  await setEps(0.4);
  s = await wb();
  assert.notEqual(s.adversarialPrediction, s.prediction, 'at ε = 0.4 the prediction flips');
  assert.match(await page.locator('#adv-prediction').innerText(), /flipped/);
});

test('the t-SNE worker returns an embedding in which neighbours share labels', async () => {
  await page.click('#tsne');
  await page.waitForFunction(() => { const w = (window as unknown as { workbench: WorkbenchState }).workbench; return w.tsne || w.errors.length; }, null, { timeout: 30_000 });
  const s = await wb();
  assert.deepEqual(s.errors, []);
  const { n, embedding } = s.tsne!;
  assert.equal(n, 300);
  assert.equal(embedding.length, 2 * n);
  assert.ok(embedding.every(Number.isFinite));
  const labels = await page.evaluate(() => fetch('./digits.bin').then((r) => r.arrayBuffer()).then((b) => {
    const v = new DataView(b), nTrain = v.getUint32(4, true);
    return Array.from(new Uint8Array(b, 12 + nTrain, 300));
  }));
  // 1-NN agreement in the map: chance is about 10 %; pixels of MNIST digits give far more.
  let same = 0;
  for (let i = 0; i < n; i++) {
    let best = -1, bestD = Infinity;
    for (let j = 0; j < n; j++) {
      const d = j === i ? Infinity : (embedding[2 * i] - embedding[2 * j]) ** 2 + (embedding[2 * i + 1] - embedding[2 * j + 1]) ** 2;
      if (d < bestD) { bestD = d; best = j; }
    }
    same += labels[best] === labels[i] ? 1 : 0;
  }
  assert.ok(same / n > 0.7, `1-NN label agreement in the map ${same / n}`);
});

test('one epoch of training in the tab raises test accuracy above 90 %', async () => {
  await page.click('#train');
  await page.waitForFunction(() => { const w = (window as unknown as { workbench: WorkbenchState }).workbench; return w.training || w.errors.length; }, null, { timeout: 60_000, polling: 500 });
  const s = await wb();
  assert.deepEqual(s.errors, []);
  const t = s.training!;
  assert.equal(t.samples, 8000);
  assert.ok(t.accuracyBefore < 0.3, `untrained accuracy ${t.accuracyBefore}`);
  assert.ok(t.accuracy > 0.9, `accuracy after one epoch ${t.accuracy}`);
  mkdirSync(fileURLToPath(new URL('../runs', import.meta.url)), { recursive: true });
  await page.screenshot({ path: fileURLToPath(new URL('../runs/workbench.png', import.meta.url)), fullPage: true });
  assert.deepEqual(pageErrors, []);
});
