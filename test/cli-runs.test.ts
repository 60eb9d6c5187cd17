/**
 * Run faults at the command line: a diverging run, a run of two steps on the default schedule,
 * resume repairing a run folder, write failures, a closed pipe and out-of-range options.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { assertOneLineError, hereRunner, mainTs, root, spawnRunner } from './helpers/cli.js';

const run = spawnRunner({ timeout: 120_000 });
const tmp = mkdtempSync(join(tmpdir(), 'pixelgrad-cli-runs-'));

/** The command in this process (for errors found before any work: no start-up per case), with commander's own errors. */
const inProcess = hereRunner({ writes: true });

test('a diverging run stops at the first NaN loss, exits 1 with a hint and writes no checkpoint', () => {
  const out = join(tmp, 'diverged');
  const r = run('train', '--limit', '64', '--batch-size', '16', '--epochs', '2', '--lr', '1e300', '--augment', 'none', '--out', out);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr.trim().split('\n').pop()!, /^pixelgrad: train: the loss is NaN at epoch 1, batch \d+; training stopped before that batch's step; no checkpoint was written\. Lower --lr \(it is 1e\+300\), or pass --allow-nonfinite to train on$/);
  assert.ok(!existsSync(join(out, 'last.safetensors')));
});

test('two steps in all on the default one-cycle schedule train; resume repairs metrics, summary and pictures and removes stale temp files', () => {
  const out = join(tmp, 'short');
  const r = run('train', '--limit', '64', '--batch-size', '32', '--epochs', '1', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /epoch 1\/1 {2}loss/);
  const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8');
  assert.equal(metrics.trim().split('\n').length, 1);

  // As a kill between the checkpoint's rename and the metrics' would leave it, plus killed writes' temp files.
  writeFileSync(join(out, 'metrics.jsonl'), '');
  const gone = ['summary.json', 'learning-curves.svg', 'learning-curves.png', 'confusion-matrix.svg', 'confusion-matrix.png'];
  for (const f of gone) rmSync(join(out, f));
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  const stale = [`metrics.jsonl.${dead}.1700000000000.tmp`, `last.safetensors.${dead}.1700000000001.tmp`];
  for (const f of stale) writeFileSync(join(out, f), 'partial');

  const resumed = run('train', '--out', out, '--resume');
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stdout, /removed 2 temporary files of interrupted writes/);
  assert.match(resumed.stdout, /resuming .* after epoch 1/);
  assert.equal(readFileSync(join(out, 'metrics.jsonl'), 'utf8'), metrics);
  const history = loadCheckpoint(join(out, 'last.safetensors')).history as { epoch: number }[];
  assert.deepEqual(metrics.trim().split('\n').map((l) => JSON.parse(l).epoch), history.map((h) => h.epoch));
  for (const f of gone) assert.ok(existsSync(join(out, f)), `${f} written again`);
  assert.deepEqual(readdirSync(out).filter((f) => f.endsWith('.tmp')), []);
});

test('an output folder under /proc is named with the reason, without spinning', { skip: !existsSync('/proc/self') }, () => {
  // (A file in the way, /sys and a full disk: test/runs.test.ts.)
  assertOneLineError(run('train', '--out', '/proc/pixelgrad-test/run'), /^pixelgrad: mkdir: cannot create folder \/proc\/pixelgrad-test\/run \(at \/proc\/pixelgrad-test\): the file system refuses to create it/);
});

test('a reader that closes the pipe early gets no EPIPE stack trace', () => {
  // `true` exits without reading, so every write the command makes meets a closed pipe.
  const r = spawnSync('sh', ['-c', `"${process.execPath}" --import tsx "${mainTs}" summary --model resnet20 --input-shape 3,32,32 | true`], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  assert.doesNotMatch(r.stderr, /EPIPE|\n\s+at /, r.stderr);
  assert.equal(r.stderr, '');
});

test('integer options refuse zero, negative, fractional and absurdly large values; summary refuses huge input shapes', async () => {
  const cases: [string[], RegExp][] = [
    [['predict', '--checkpoint', 'x', '--top', '0', 'a.png'], /--top must be a positive integer, got '0'/],
    [['predict', '--checkpoint', 'x', '--top', '-2', 'a.png'], /--top must be a positive integer, got '-2'/],
    [['train', '--epochs', '1.5'], /--epochs must be an integer from 1 to 100000, got '1.5'/],
    [['train', '--epochs', '1e9'], /--epochs must be an integer from 1 to 100000, got '1e9'/],
    [['train', '--batch-size', '0'], /--batch-size must be an integer from 1 to 65536, got '0'/],
    [['train', '--seed', '-1'], /--seed must be an integer from 0 to 4294967295, got '-1'/],
    [['train', '--limit', '2'], /--limit must be an integer ≥ 4, got '2'/],
    [['summary', '--classes', '0'], /--classes must be an integer from 1 to 100000, got '0'/],
    [['train', '--lr', '1e999'], /--lr must be a number, got '1e999'/],
    [['summary', '--input-shape', '1,1e9,1e9'], /^pixelgrad: summary: --input-shape 1,1e9,1e9 is too large: 1,000,000,000,000,000,000 values per image .*, at most 16,777,216$/],
  ];
  for (const [args, pattern] of cases) assertOneLineError(await inProcess(...args), pattern);
});
