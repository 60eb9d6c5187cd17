/** The benchmark runner's protocol (bench/protocol.ts) and its command line. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { measure, median } from '../bench/protocol.js';

test('median of odd and even counts', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
});

test('measure warms up, calibrates and reports throughput samples', () => {
  let calls = 0;
  const spin = () => { calls++; const t = performance.now(); while (performance.now() - t < 2); };
  const m = measure(spin, 1);
  assert.ok(m.warmup_calls >= 2);
  assert.ok(m.calls_per_repeat >= 100, `k = ${m.calls_per_repeat} calls of ~2 ms fill a 0.3 s repeat`);
  assert.equal(m.samples.length, m.repeats);
  assert.equal(calls, m.warmup_calls + m.repeats * m.calls_per_repeat);
  assert.ok(m.value > 100 && m.value < 600, `about 500 calls/s, got ${m.value}`);
  assert.ok(m.min <= m.value && m.value <= m.max);
});

test('npm run bench (the compiled dist/bench/run.js) prints one JSON line per case, an error line for a case that fails', () => {
  const run = fileURLToPath(new URL('../dist/bench/run.js', import.meta.url));
  const out = execFileSync(process.execPath, [run, 'W5', '--cases', 'bh_3'], { encoding: 'utf8', env: { ...process.env, PEER_ID: 'pg-test' } });
  const lines = out.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines, [{ peer: 'pg-test', workload: 'W5', case: 'tsne_bh_3', error: "unknown case 'bh_3' (known: bh_2000, bh_1000, bh_500, exact_1000, exact_500)" }]);
});
