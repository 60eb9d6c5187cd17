/** An LSTM sequence forward and backward on any backend's kernels, for comparing backends. */
import type { Kernels } from '../../src/backend/backend.js';
import { Generator } from '../../src/random.js';

const floats = (g: Generator, n: number, scale: number): Float32Array => Float32Array.from({ length: n }, () => scale * g.normal());

/**
 * lstmSequence and its backward on kernels `k`, inputs drawn from `seed`; `mask` bits 1, 2, 4 give
 * bias, h0, c0 and bits 8, 16, 32 ask for dWhh, dh0, dc0 (null otherwise).
 */
export function runSequence(k: Pick<Kernels, 'lstmSequence' | 'lstmSequenceBackward'>, seed: number, L: number, B: number, H: number, reverse: boolean, mask: number) {
  const g = new Generator(seed), G = 4 * H, n = B * H;
  const small = (len: number) => floats(g, len, 0.3);
  const gates = floats(g, L * B * G, 2), wHh = small(G * H), given = (bit: number, len: number) => (mask & bit ? small(len) : null);
  const bias = given(1, G), h0 = given(2, n), c0 = given(4, n), gHs = small(L * n), gCs = small(L * n);
  const hs = new Float32Array(L * n), cs = new Float32Array(L * n);
  k.lstmSequence(gates, wHh, bias, h0, c0, L, B, H, reverse, hs, cs);
  const asked = (bit: number, len: number) => (mask & bit ? new Float32Array(len) : null);
  const dPre = new Float32Array(L * B * G), dWhh = asked(8, G * H), dh0 = asked(16, n), dc0 = asked(32, n);
  k.lstmSequenceBackward(gates, wHh, h0, c0, hs, cs, gHs, gCs, L, B, H, reverse, dPre, dWhh, dh0, dc0);
  return { gates, hs, cs, dPre, dWhh, dh0, dc0 };
}
