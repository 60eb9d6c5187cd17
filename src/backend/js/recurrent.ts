/**
 * Reference kernels of one LSTM step after its matrix products (gate order i, f, g, o, PyTorch's):
 * the bias, the four activations and the cell and hidden updates in one pass each way, instead of
 * a dozen element-wise ops that each allocate their output.
 */
import type { TypedArray } from '../../dtype.js';
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
