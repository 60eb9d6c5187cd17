/** The benchmark runner's protocol (bench/protocol.ts) and its command line. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { measure, median } from '../bench/protocol.js';
import { createNativeBackend } from '../src/backend/native/index.js';

test('median of odd and even counts', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
});

test('measure warms up, calibrates and reports throughput samples', () => {
  let calls = 0;
  const spin = () => { calls++; const t = performance.now(); while (performance.now() - t < 2); };
  const m = measure(spin, 1);
  assert.ok(m.warmup_calls >= 2);
  // Each call takes at least 2 ms of wall time (more on a loaded machine), so a 0.3 s repeat holds at
  // most 150 of them and the rate is at most 500 calls/s; bounds on the other side would time the machine.
  assert.ok(m.calls_per_repeat >= 1 && m.calls_per_repeat <= 150, `k = ${m.calls_per_repeat} calls of ≥ 2 ms in a 0.3 s repeat`);
  assert.equal(m.samples.length, m.repeats);
  assert.equal(calls, m.warmup_calls + m.repeats * m.calls_per_repeat);
  assert.ok(m.value > 0 && m.value <= 500, `at most 500 calls/s, got ${m.value}`);
  assert.ok(m.min <= m.value && m.value <= m.max);
});

const run = fileURLToPath(new URL('../dist/bench/run.js', import.meta.url));
const version = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;

/** `npm run bench` (the compiled dist/bench/run.js) with `args` and `env` added (empty = unset). */
function bench(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, [run, ...args], { encoding: 'utf8', env: { ...process.env, PEER_ID: 'pg-test', PIXELGRAD_BACKEND: '', PIXELGRAD_THREADS: '', ...env } });
}

test('npm run bench prints one JSON line per case, an error line for a case that fails; every line says the backend, its instruction set, threads and Node version', async () => {
  // V8 11.4 shipped relaxed SIMD (Node 22+); Node 20 runs the plain SIMD builds.
  const [v8Major, v8Minor] = process.versions.v8.split('.').map(Number);
  const wasmSimd = v8Major > 11 || (v8Major === 11 && v8Minor >= 4) ? 'wasm-relaxed-simd' : 'wasm-simd128';
  const { isa } = await createNativeBackend();
  const cases: [Record<string, string>, object][] = [
    [{ PIXELGRAD_THREADS: '2' }, { backend: 'native', threads: 2, simd: isa }],
    [{ PIXELGRAD_BACKEND: 'wasm', PIXELGRAD_THREADS: '1' }, { backend: 'wasm', threads: 1, simd: wasmSimd }],
    [{ PIXELGRAD_BACKEND: 'js' }, { backend: 'js', threads: 1, simd: 'none' }],
  ];
  for (const [env, backend] of cases) {
    const r = bench(['W5', '--cases', 'bh_3'], env);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines, [{
      peer: 'pg-test', workload: 'W5', case: 'tsne_bh_3', error: "unknown case 'bh_3' (known: bh_2000, bh_1000, bh_500, exact_1000, exact_500)",
      info: { version, ...backend, node: process.versions.node },
    }], JSON.stringify(env));
  }
});

test('PIXELGRAD_BACKEND=native without the addon stops the bench with an error saying why, rather than running on another backend', () => {
  const r = bench(['W1'], { PIXELGRAD_BACKEND: 'native', PIXELGRAD_NATIVE_ADDON: '/nonexistent/pixelgrad.node' });
  assert.notEqual(r.status, 0);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /PIXELGRAD_BACKEND=native, but createNativeBackend: native addon not built: \/nonexistent\/pixelgrad.node does not exist/);
});
