/** Numeric assertions shared by the tests. */
import assert from 'node:assert/strict';
import type { Tensor } from '../../src/index.js';

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, { atol = 1e-5, rtol = 1e-4, what = 'values' } = {}): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} vs expected ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    const ok = Object.is(a, e) || Math.abs(a - e) <= atol + rtol * Math.abs(e);
    if (!ok) assert.fail(`${what}[${i}]: got ${a}, expected ${e} (atol ${atol}, rtol ${rtol})`);
  }
}

export function assertTensor(t: Tensor, shape: readonly number[], data: ArrayLike<number>, options: { atol?: number; rtol?: number; what?: string } = {}): void {
  assert.deepEqual([...t.shape], [...shape], `${options.what ?? 'tensor'}: shape ${JSON.stringify(t.shape)} vs expected ${JSON.stringify(shape)}`);
  assertClose(t.data, data, options);
}
