/** The README's training example really learns. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trainSmall } from '../examples/train-small.js';

test('examples/train-small.ts: the loss goes down', () => {
  const losses = trainSmall(60);
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  const first = mean(losses.slice(0, 10)), last = mean(losses.slice(-10));
  assert.ok(first > 1.3, `starts near ln 4 ≈ 1.39, got ${first}`);
  assert.ok(last < 0.7 * first, `mean loss of the last 10 steps ${last} vs first 10 ${first}`);
});
