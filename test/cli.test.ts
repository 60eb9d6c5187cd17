/**
 * The pixelgrad command end to end (small runs on the bundled digits): the run folder, exit codes
 * and one-line errors, and that a killed and resumed run ends with the same weights as an
 * uninterrupted one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { writePng } from '../src/data/node/image-io.js';
import { zeros } from '../src/index.js';
import { assertOneLineError, cliArgs as args, root, runCli as run } from './helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'pixelgrad-cli-'));
const QUICK = ['--limit', '256', '--batch-size', '32'];

test('summary prints the layer table', () => {
  const r = run('summary', '--model', 'lenet5');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /conv1\s+Conv2d\s+\[1,6,28,28\]\s+156/);
  assert.match(r.stdout, /Total params: 61,706/);
});

test('--help works on every subcommand', () => {
  for (const cmd of ['train', 'eval', 'predict', 'summary']) {
    const r = run(cmd, '--help');
    assert.equal(r.status, 0, cmd);
    assert.match(r.stdout, new RegExp(`Usage: pixelgrad ${cmd}`));
  }
});

test('bad input gives a one-line error and a non-zero exit', () => {
  assertOneLineError(run('train', '--model', 'alexnet'), /option '--model <name>' argument 'alexnet' is invalid\. Allowed choices are lenet5/);
  assertOneLineError(run('train', '--epochs', 'many'), /--epochs must be an integer/);
  assertOneLineError(run('train', '--dataset', join(tmp, 'nowhere')), /^pixelgrad: dataset: '.*nowhere' is neither 'mnist' nor an existing folder$/);
  assertOneLineError(run('eval', '--checkpoint', join(tmp, 'missing.safetensors')), /^pixelgrad: .*missing\.safetensors/);
  const corrupt = join(tmp, 'corrupt.safetensors');
  writeFileSync(corrupt, 'this is not a checkpoint at all');
  assertOneLineError(run('eval', '--checkpoint', corrupt), /^pixelgrad: .*corrupt\.safetensors/);
  assertOneLineError(run('train', '--resume'), /^pixelgrad: train: --resume needs --out <run folder>$/);
});

test('a bad memory setting in the environment is a one-line error before the command writes anything', () => {
  for (const [name, value] of [['PIXELGRAD_MAX_TENSOR_BYTES', '-3'], ['PIXELGRAD_FILL_UNINITIALIZED', 'zero']]) {
    const out = join(tmp, `bad-env-${name}`);
    const r = spawnSync(process.execPath, args('train', ...QUICK, '--epochs', '1', '--out', out), { cwd: root, encoding: 'utf8', env: { ...process.env, PIXELGRAD_DEBUG: '', [name]: value } });
    assertOneLineError(r, new RegExp(`^pixelgrad: ${name}: must be .*, got '${value}'$`));
    assert.equal(existsSync(out), false, `${name}: no run folder`);
  }
});

test('a short run writes checkpoints, metrics, config and pictures; eval and predict use its checkpoint', async () => {
  const out = join(tmp, 'run');
  const r = run('train', ...QUICK, '--epochs', '2', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /epoch 2\/2 {2}loss/);
  assert.match(r.stdout, /test accuracy \d+\.\d+%/);
  for (const f of ['config.json', 'metrics.jsonl', 'summary.json', 'last.safetensors', 'best.safetensors', 'learning-curves.svg', 'learning-curves.png', 'confusion-matrix.svg', 'confusion-matrix.png', 'misclassified.png']) {
    assert.ok(existsSync(join(out, f)), `${f} exists`);
  }
  assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).model, 'lenet5');
  const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(metrics.map((m) => m.epoch), [1, 2]);
  for (const svg of ['learning-curves.svg', 'confusion-matrix.svg']) {
    const text = readFileSync(join(out, svg), 'utf8');
    assert.match(text, /^<svg[\s\S]*<\/svg>\s*$/);
  }
  for (const png of ['learning-curves.png', 'confusion-matrix.png', 'misclassified.png']) {
    const meta = await sharp(join(out, png)).metadata();
    assert.ok(meta.format === 'png' && meta.width! > 50 && meta.height! > 50, png);
  }
  assert.equal(loadCheckpoint(join(out, 'last.safetensors')).epoch, 2);

  const ev = run('eval', '--checkpoint', join(out, 'last.safetensors'));
  assert.equal(ev.status, 0, ev.stderr);
  assert.match(ev.stdout, /2000 test images: accuracy \d+\.\d+%/);

  const digit = join(tmp, 'digit.png'), big = join(tmp, 'big.png');
  await writePng(zeros([1, 28, 28]), digit);
  await writePng(zeros([1, 32, 32]), big);
  const pr = run('predict', '--checkpoint', join(out, 'last.safetensors'), digit);
  assert.equal(pr.status, 0, pr.stderr);
  assert.match(pr.stdout, /digit\.png: \d \(\d+\.\d%\), \d \(\d+\.\d%\), \d \(\d+\.\d%\)/);
  assertOneLineError(run('predict', '--checkpoint', join(out, 'last.safetensors'), big), /^pixelgrad: predict: .*big\.png is 32×32 but the model expects 28×28 images$/);
  assertOneLineError(run('train', '--out', out), /already holds a run \(last\.safetensors\); pass --resume/);
  assertOneLineError(run('train', '--out', out, '--resume', '--epochs', '5'), /uses the onecycle schedule over 2 epochs; resuming cannot change --epochs/);
});

test('a run killed after a checkpoint and resumed ends with the same weights as an uninterrupted run', async () => {
  const whole = join(tmp, 'whole'), killed = join(tmp, 'killed');
  assert.equal(run('train', ...QUICK, '--epochs', '3', '--out', whole).status, 0);
  // Start the same run and kill it as soon as its first checkpoint exists.
  const child = spawn(process.execPath, args('train', ...QUICK, '--epochs', '3', '--out', killed), { cwd: root, stdio: 'ignore' });
  await new Promise<void>((resolve, reject) => {
    const poll = setInterval(() => {
      if (existsSync(join(killed, 'last.safetensors'))) { clearInterval(poll); child.kill('SIGKILL'); }
    }, 10);
    child.on('exit', () => { clearInterval(poll); resolve(); });
    child.on('error', reject);
  });
  const interrupted = loadCheckpoint(join(killed, 'last.safetensors')).epoch;
  assert.ok(interrupted >= 1 && interrupted < 3, `killed after epoch ${interrupted}`);
  const resumed = run('train', '--epochs', '3', '--out', killed, '--resume');
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stdout, new RegExp(`resuming .* after epoch ${interrupted}`));
  const a = loadCheckpoint(join(whole, 'last.safetensors')), b = loadCheckpoint(join(killed, 'last.safetensors'));
  assert.equal(b.epoch, 3);
  for (const [name, t] of Object.entries(a.model)) assert.deepEqual([...b.model[name].data], [...t.data], `${name} equal`);
  assert.deepEqual(b.history, a.history === null ? null : (a.history as { epoch: number }[]).map((r, i) => ({ ...r, ...pickTimes((b.history as object[])[i]) })));
});

/** Timing fields differ between runs; everything else in the history must match. */
function pickTimes(r: object): object {
  const { seconds, imagesPerSecond } = r as { seconds: number; imagesPerSecond: number };
  return { seconds, imagesPerSecond };
}

test('the compiled command (dist/, as installed and as npm start runs it) prints the package version', () => {
  const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
  const built = spawnSync(process.execPath, [join(root, 'dist/src/cli/main.js'), '--version'], { cwd: root, encoding: 'utf8' });
  assert.equal(built.status, 0, built.stderr);
  assert.equal(built.stdout.trim(), version);
  assert.equal(run('--version').stdout.trim(), version, 'and from the sources');
});
