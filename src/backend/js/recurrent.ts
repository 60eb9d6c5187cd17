/**
 * Reference kernels of one LSTM step after its matrix products (gate order i, f, g, o, PyTorch's):
 * the bias, the four activations and the cell and hidden updates in one pass each way, instead of
 * a dozen element-wise ops that each allocate their output.
 */
import { arrayLike, type TypedArray } from '../../dtype.js';
import type { Kernels } from '../backend.js';
import { unaryFns } from './elementwise.js';

const sigmoid = unaryFns.sigmoid as (x: number) => number, tanh = unaryFns.tanh as (x: number) => number;

export function lstmCell(xw: TypedArray, hw: TypedArray | null, bias: TypedArray | null, c: TypedArray | null,
  B: number, H: number, gates: TypedArray, hOut: TypedArray, cOut: TypedArray): void {
  const G = 4 * H;
  for (let r = 0; r < B; r++) {
    const row = r * G;
    for (let j = 0; j < G; j++) gates[row + j] = xw[row + j] + (hw ? hw[row + j] : 0) + (bias ? bias[j] : 0);
    for (let j = 0, k = row, q = r * H; j < H; j++, k++, q++) {
      const i = sigmoid(gates[k]), f = sigmoid(gates[k + H]), g = tanh(gates[k + 2 * H]), o = sigmoid(gates[k + 3 * H]);
      gates[k] = i; gates[k + H] = f; gates[k + 2 * H] = g; gates[k + 3 * H] = o;
      // Read back from the arrays, so that float32 steps round where the composed ops round.
      cOut[q] = gates[k] * gates[k + 2 * H] + (c ? gates[k + H] * c[q] : 0);
      hOut[q] = gates[k + 3 * H] * tanh(cOut[q]);
    }
  }
}

export function lstmCellBackward(gates: TypedArray, c: TypedArray | null, hOut: TypedArray, gH: TypedArray, gC: TypedArray,
  B: number, H: number, dPre: TypedArray, dc: TypedArray | null): void {
  const G = 4 * H;
  for (let r = 0; r < B; r++) {
    for (let j = 0, k = r * G, q = r * H; j < H; j++, k++, q++) {
      const i = gates[k], f = gates[k + H], g = gates[k + 2 * H], o = gates[k + 3 * H];
      // tanh(c') = h'/o without a second tanh; where o is 0, every term with tanh(c') is too.
      const t = o === 0 ? 0 : hOut[q] / o;
      // The gradient of c' through both of its uses: h' = o ⊙ tanh(c') and the next step's c'.
      const dC = gC[q] + gH[q] * o * (1 - t * t);
      dPre[k] = dC * g * i * (1 - i);
      dPre[k + H] = c ? dC * c[q] * f * (1 - f) : 0;
      dPre[k + 2 * H] = dC * i * (1 - g * g);
      dPre[k + 3 * H] = gH[q] * t * o * (1 - o);
      if (dc) dc[q] = dC * f;
    }
  }
}

/** The kernels a whole sequence is made of. */
export type SequenceParts = Pick<Kernels, 'matmul' | 'lstmCell' | 'lstmCellBackward'>;

const at = (a: TypedArray, t: number, size: number): TypedArray => a.subarray(t * size, (t + 1) * size);

/**
 * lstmSequence and its gradient by their definition: per step the product and the step kernel of
 * `k`. The reference runs them over the reference kernels; a backend without sequence kernels of
 * its own (wasm) runs them over its own products.
 */
export function lstmSequenceKernels(k: SequenceParts): Pick<Kernels, 'lstmSequence' | 'lstmSequenceBackward'> {
  return {
    lstmSequence(gates, wHh, bias, h0, c0, L, B, H, reverse, hs, cs) {
      const G = 4 * H, n = B * H;
      const wT = arrayLike(wHh, H * G);
      for (let j = 0; j < G; j++) for (let i = 0; i < H; i++) wT[i * G + j] = wHh[j * H + i];
      const hw = arrayLike(gates, B * G);
      let h = h0, c = c0;
      for (let s = 0; s < L; s++) {
        const t = reverse ? L - 1 - s : s, g = at(gates, t, B * G), hOut = at(hs, t, n), cOut = at(cs, t, n);
        if (h) k.matmul(h, [B, H], wT, [H, G], hw, [B, G]);
        k.lstmCell(g, h ? hw : null, bias, c, B, H, g, hOut, cOut);
        h = hOut; c = cOut;
      }
    },
    lstmSequenceBackward(gates, wHh, h0, c0, hs, cs, gHs, gCs, L, B, H, reverse, dPre, dWhh, dh0, dc0) {
      const G = 4 * H, n = B * H;
      const timeOf = (s: number) => (reverse ? L - 1 - s : s);
      // What each step carries back to the previous one (dh, dc), and its sum with that step's own gradients.
      const dh = arrayLike(gHs, n), dc = arrayLike(gHs, n), gH = arrayLike(gHs, n), gC = arrayLike(gHs, n);
      for (let s = L - 1; s >= 0; s--) {
        const t = timeOf(s), prev = s > 0 ? timeOf(s - 1) : -1;
        let gHt = at(gHs, t, n), gCt = at(gCs, t, n);
        if (s < L - 1) {
          for (let q = 0; q < n; q++) { gH[q] = gHt[q] + dh[q]; gC[q] = gCt[q] + dc[q]; }
          gHt = gH; gCt = gC;
        }
        const d = at(dPre, t, B * G);
        k.lstmCellBackward(at(gates, t, B * G), prev >= 0 ? at(cs, prev, n) : c0, at(hs, t, n), gHt, gCt, B, H, d, prev >= 0 ? dc : dc0);
        const dhOut = prev >= 0 ? dh : dh0;
        if (dhOut) k.matmul(d, [B, G], wHh, [G, H], dhOut, [B, H]);
      }
      if (!dWhh) return;
      // dW_hhᵀ = Pᵀ·dPre, P [L·B, H] the h each step read (zero rows for a zero h0): the smaller operand transposed.
      const LB = L * B, pT = arrayLike(hs, H * LB);
      for (let s = 0; s < L; s++) {
        const t = timeOf(s), src = s > 0 ? at(hs, timeOf(s - 1), n) : h0;
        if (src) for (let r = 0; r < B; r++) for (let i = 0; i < H; i++) pT[i * LB + t * B + r] = src[r * H + i];
      }
      const dWT = arrayLike(dWhh, H * G);
      k.matmul(pT, [H, LB], dPre, [LB, G], dWT, [H, G]);
      for (let j = 0; j < G; j++) for (let i = 0; i < H; i++) dWhh[j * H + i] = dWT[i * G + j];
    },
  };
}
