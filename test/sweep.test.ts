/**
 * `pixelgrad sweep` in process on a tiny --limit: one run folder per value, sweep.csv agreeing with
 * each run's own metrics, parameter counts derived by hand, the chart; LeNet-5's width multiplier;
 * one-line errors for sweeps that cannot run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { models } from '../src/index.js';
import { assertOneLineError, hereRunner } from './helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'pixelgrad-sweep-'));

/** The command in this process, with commander's own errors. */
const run = hereRunner({ writes: true });

const count = (m: { parameters(): { size: number }[] }) => m.parameters().reduce((n, p) => n + p.size, 0);

test('LeNet-5 width: 1 is the classic network, other widths scale every hidden layer', () => {
  // conv1 6·25+6, conv2 16·6·25+16, fc1 400·120+120, fc2 120·84+84, fc3 84·10+10.
  assert.equal(count(new models.LeNet5()), 156 + 2416 + 48120 + 10164 + 850);
  assert.deepEqual(Object.keys(new models.LeNet5({ width: 1 }).stateDict()), Object.keys(new models.LeNet5().stateDict()));
  const narrow = new models.LeNet5({ width: 0.25 }); // channels 2, 4; units 30, 21
  assert.deepEqual([narrow.conv1.weight.shape, narrow.fc1.weight.shape, narrow.fc3.weight.shape], [[2, 1, 5, 5], [30, 100], [10, 21]]);
  assert.throws(() => new models.LeNet5({ width: 0 }), /LeNet5: width must be a positive number, got 0/);
});

test('sweep --width trains one run per value and writes the CSV and chart from their results', async () => {
  const out = join(tmp, 'width');
  const r = await run('sweep', '--width', '0.5,0.25', '--limit', '32', '--epochs', '1', '--batch-size', '16', '--out', out, '--no-cache');
  assert.equal(r.status, 0, r.stderr);
  const [header, ...rows] = readFileSync(join(out, 'sweep.csv'), 'utf8').trim().split('\n');
  assert.equal(header, 'width,parameters,train_error,val_error,train_loss,val_loss,run');
  // Sorted by value; width 0.25: conv1 2·25+2, conv2 4·2·25+4, fc1 100·30+30, fc2 30·21+21, fc3 21·10+10;
  // width 0.5: channels 3, 8, units 60, 42.
  const parsed = rows.map((line) => line.split(','));
  assert.deepEqual(parsed.map((c) => [c[0], c[1], c[6]]), [['0.25', String(52 + 204 + 3030 + 651 + 220), 'width-0.25'], ['0.5', String(78 + 608 + 12060 + 2562 + 430), 'width-0.5']]);
  for (const c of parsed) {
    const metrics = readFileSync(join(out, c[6], 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const last = metrics[metrics.length - 1];
    assert.equal(metrics.length, 1);
    assert.ok(Math.abs(Number(c[2]) - (1 - last.trainAccuracy)) < 1e-12 && Math.abs(Number(c[3]) - (1 - last.valAccuracy)) < 1e-12, `errors of ${c[6]}`);
    assert.equal(Number(c[4]), last.trainLoss);
    const config = JSON.parse(readFileSync(join(out, c[6], 'config.json'), 'utf8'));
    assert.deepEqual([config.width, config.limit, config.augment], [Number(c[0]), 32, 'none']);
    assert.ok(existsSync(join(out, c[6], 'best.safetensors')));
  }
  const svg = readFileSync(join(out, 'capacity-sweep.svg'), 'utf8');
  assert.match(svg, /generalisation gap/);
  assert.match(svg, /LeNet-5 width multiplier/);
  assert.ok(existsSync(join(out, 'capacity-sweep.png')));
  // A swept checkpoint loads back at its width (eval builds the model from the checkpoint alone).
  assert.equal((await run('eval', '--checkpoint', join(out, 'width-0.25', 'last.safetensors'), '--no-cache')).status, 0);
});

test('sweeps that cannot run are refused in one line before any training', async () => {
  const cases: [string[], RegExp][] = [
    [['--limit', '32'], /give the variable to sweep: --width, --depth, or a list for --epochs or --limit/],
    [['--width', '0.5,1', '--epochs', '1,2'], /sweep one variable at a time, got --width and --epochs/],
    [['--width', '1'], /--width needs at least two values to sweep, got 1/],
    [['--width', '1,1'], /--width lists a value twice/],
    [['--width', '0.5,1', '--model', 'resnet20'], /--width applies to --model lenet5/],
    [['--depth', '20,32'], /--depth applies to the ResNets \(--model resnet20\), got --model lenet5/],
    [['--model', 'resnet20', '--depth', '20,30'], /--depth 30: the ResNets have depths 20, 32, 44 and 56/],
    [['--width', '0.5,-1'], /--width values must be positive, got '-1'/],
  ];
  for (const [argv, pattern] of cases) {
    const out = join(tmp, 'refused');
    const r = await run('sweep', ...argv, '--out', out);
    assertOneLineError(r, pattern, argv.join(' '));
    assert.ok(!existsSync(out), 'nothing written');
  }
});
