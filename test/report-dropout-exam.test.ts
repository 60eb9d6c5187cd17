/**
 * examples/dropout-exam.ts against the exam's hand-worked answers: products w_i·x_i = (10, 1, 7, 4),
 * kept ones doubled (1/(1 − 0.5)); dropping half, the largest output keeps x1, x3: 2·(10 + 7) = 34,
 * the smallest keeps x2, x4: 2·(1 + 4) = 10; all kept 2·22 = 44; at test time w·x = 22.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dropoutExam } from '../examples/dropout-exam.js';

test('the dropout exam: every mask from nn.Dropout, the extremes and the test-time output', () => {
  const exam = dropoutExam();
  assert.equal(exam.masks.length, 16);
  assert.equal(new Set(exam.masks.map((m) => m.mask.join(''))).size, 16);
  const x = [5, 1, 7, 2], w = [2, 1, 1, 2];
  for (const m of exam.masks) {
    assert.deepEqual(m.dropped, x.map((v, i) => 2 * v * m.mask[i]));
    assert.equal(m.output, m.dropped.reduce((s, v, i) => s + v * w[i], 0));
  }
  assert.deepEqual([exam.half.largest.mask, exam.half.largest.output], [[1, 0, 1, 0], 34]);
  assert.deepEqual([exam.half.smallest.mask, exam.half.smallest.output], [[0, 1, 0, 1], 10]);
  assert.deepEqual([exam.all.largest.output, exam.all.smallest.output], [44, 0]);
  assert.equal(exam.testTime, 22);
  assert.equal(exam.meanTraining, 22);
});

test('the exam with another p scales kept inputs by 1/(1 − p)', () => {
  const exam = dropoutExam([1, 2], [1, 1], 0.75);
  assert.equal(exam.masks.length, 4);
  assert.equal(exam.all.largest.output, 12);
  assert.equal(exam.testTime, 3);
  assert.throws(() => dropoutExam([5, 1, 7, 2], [2, 1, 1, 2], 0.5, 3), /dropoutExam: only \d+ of 16 masks appeared in 3 draws/);
});
