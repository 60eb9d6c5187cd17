/**
 * The core entry in a real browser (Debian's chromium, driven by playwright-core): bundled by
 * esbuild and served with and without cross-origin isolation. Isolated, the wasm backend runs on
 * a pool of Web Workers; not isolated, on one thread; both with the relaxed-SIMD builds. Either way a convolution training step and a
 * large matrix product give the JS backend's numbers.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { MIN_PARALLEL_MACS } from '../src/backend/wasm/kernels.js';

const CHROMIUM = '/usr/bin/chromium';
const root = new URL('..', import.meta.url);

/** What the page computes: the backend chosen at import, then the same work on it and on js. */
const PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
import * as pg from './pixelgrad.js';
function work() {
  pg.manualSeed(0);
  // Sizes past the wasm backend's threshold for splitting a convolution or a product across threads.
  const model = new pg.nn.Sequential(new pg.nn.Conv2d(1, 32, 3, { padding: 1 }), new pg.nn.ReLU(), new pg.nn.Flatten(), new pg.nn.Linear(32 * 20 * 20, 10));
  const x = pg.randn([64, 1, 20, 20]), y = pg.randint(0, 10, [64]);
  const loss = pg.nn.functional.crossEntropy(model.forward(x), y);
  loss.backward();
  const a = pg.randn([300, 200]), b = pg.randn([200, 260]);
  return { loss: loss.item(), convGrad: Array.from(model.parameters()[0].grad.data), product: Array.from(pg.matmul(a, b).data.subarray(0, 2000)) };
}
const info = pg.backendInfo();
const fast = work();
pg.setBackend('js');
window.result = { info, isolated: crossOriginIsolated, threads: navigator.hardwareConcurrency, fast, js: work() };
</script>`;

let server: Server, browser: Browser, base: string;

before(async () => {
  const bundle = await build({ entryPoints: [new URL('src/index.ts', root).pathname], bundle: true, format: 'esm', write: false, target: 'es2022', platform: 'browser' });
  const files: Record<string, [string, Uint8Array | string]> = {
    '/index.html': ['text/html', PAGE],
    '/pixelgrad.js': ['text/javascript', bundle.outputFiles[0].contents],
  };
  for (const name of ['kernels', 'kernels-threads', 'kernels-relaxed', 'kernels-threads-relaxed']) {
    files[`/${name}.wasm`] = ['application/wasm', readFileSync(new URL(`src/backend/wasm/${name}.wasm`, root))];
  }
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const file = files[url.pathname];
    if (!file) { res.writeHead(404).end(); return; }
    const headers: Record<string, string> = { 'content-type': file[0] };
    // Only the document's headers decide isolation.
    if (url.searchParams.has('isolated')) {
      headers['cross-origin-opener-policy'] = 'same-origin';
      headers['cross-origin-embedder-policy'] = 'require-corp';
    }
    res.writeHead(200, headers).end(file[1]);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

after(async () => {
  await browser?.close();
  server?.close();
});

interface PageResult {
  info: { backend: string; threads: number; isa: string; fallbackReason?: string };
  isolated: boolean;
  threads: number;
  fast: { loss: number; convGrad: number[]; product: number[] };
  js: { loss: number; convGrad: number[]; product: number[] };
}

async function run(path: string): Promise<PageResult> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  try {
    await page.goto(`${base}${path}`);
    await page.waitForFunction(() => 'result' in window, null, { timeout: 60_000 }).catch(() => {
      throw new Error(`the page did not finish: ${errors.join('; ') || 'no error reported'}`);
    });
    return await page.evaluate(() => (window as unknown as { result: PageResult }).result);
  } finally {
    await page.close();
  }
}

function assertSameWork(got: PageResult['fast'], want: PageResult['js']): void {
  assert.ok(Math.abs(got.loss - want.loss) <= 1e-5 * Math.abs(want.loss), `loss ${got.loss} vs ${want.loss}`);
  const close = (a: number[], b: number[], what: string) => {
    const scale = Math.max(...b.map(Math.abs));
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= 1e-4 * scale, `${what}[${i}]: ${v} vs ${b[i]}`));
  };
  close(got.convGrad, want.convGrad, 'conv weight gradient');
  close(got.product, want.product, 'matmul');
}

test('cross-origin isolated: the wasm backend on a pool of Web Workers matches the JS backend', async () => {
  const r = await run('/index.html?isolated');
  assert.equal(r.isolated, true);
  // Chromium has relaxed SIMD: the fused-multiply-add builds run.
  assert.deepEqual(r.info, { backend: 'wasm', threads: r.threads, isa: 'wasm-relaxed-simd', relaxedSimd: true });
  assert.ok(r.threads > 1, 'the browser reports more than one hardware thread');
  assert.ok(64 * 32 * 20 * 20 * 9 >= MIN_PARALLEL_MACS && 300 * 200 * 260 >= MIN_PARALLEL_MACS, 'the page\'s convolution and product are split across threads');
  assertSameWork(r.fast, r.js);
});

test('not isolated: the wasm backend on one thread (no SharedArrayBuffer) matches the JS backend', async () => {
  const r = await run('/index.html');
  assert.equal(r.isolated, false);
  assert.deepEqual(r.info, { backend: 'wasm', threads: 1, isa: 'wasm-relaxed-simd', relaxedSimd: true });
  assertSameWork(r.fast, r.js);
});
