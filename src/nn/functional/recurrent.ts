/**
 * Recurrent networks as functions of their weights, composed from differentiable ops (matmul,
 * sigmoid, tanh, narrow, where, ...), so that backpropagation through time is ordinary autograd:
 *
 * - the cells `rnnCell`, `lstmCell`, `gruCell` (as `torch.rnn_tanh_cell`, `torch.lstm_cell`,
 *   `torch.gru_cell`): one step for a batch, `input` [batch, inputSize] or [inputSize];
 * - `recurrent`: a whole (multi-layer, optionally bidirectional) RNN, GRU or LSTM over a sequence,
 *   with initial states and per-sequence `lengths` (the layers in `nn/layers/recurrent.ts` call it).
 *
 * PyTorch's gate layouts: weights are [gates·hidden, in] with the gates stacked along dim 0 —
 * LSTM (i, f, g, o), GRU (r, z, n) — and
 *
 * ```text
 * RNN   h' = act(W_ih x + b_ih + W_hh h + b_hh)                act = tanh | relu (| identity)
 * LSTM  i, f, o = σ(W_i* x + b_i* + W_h* h + b_h*),  g = tanh(W_ig x + b_ig + W_hg h + b_hg)
 *       c' = f ⊙ c + i ⊙ g,  h' = o ⊙ tanh(c')
 * GRU   r, z = σ(W_i* x + b_i* + W_h* h + b_h*)
 *       n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),  h' = (1 − z) ⊙ n + z ⊙ h
 * ```
 */
import { grad, record } from '../../autograd/engine.js';
import { isGradEnabled } from '../../autograd/grad-mode.js';
import { getBackend } from '../../backend/backend.js';
import { zeros } from '../../creation.js';
import type { DType, FloatArray } from '../../dtype.js';
import { ArgumentError, ShapeError, fmtShape } from '../../errors.js';
import { add, gt, mul, relu, sigmoid, sub, tanh, where } from '../../ops/elementwise.js';
import { matmul, matmulWithTranspose } from '../../ops/matmul.js';
import { sum } from '../../ops/reduce.js';
import { concat, narrow, reshape, stack, transpose, unsqueeze } from '../../ops/shape.js';
import { alloc, allocUninitialized, kernels } from '../../ops/util.js';
import type { Generator } from '../../random.js';
import { Tensor } from '../../tensor.js';
import { dropout } from './dropout.js';

/**
 * The activation of a plain RNN. `'identity'` (h' = W_ih x + b_ih + W_hh h + b_hh) is a pixelgrad
 * extension for worked examples of backpropagation through time; PyTorch has only tanh and relu.
 */
export type RnnNonlinearity = 'tanh' | 'relu' | 'identity';

/** Which recurrence `recurrent` runs. */
export type RecurrentMode = 'rnnTanh' | 'rnnRelu' | 'rnnIdentity' | 'lstm' | 'gru';

export const RNN_NONLINEARITIES: readonly RnnNonlinearity[] = ['tanh', 'relu', 'identity'];

/** Number of gate blocks stacked in the weights: 1 (RNN), 3 (GRU), 4 (LSTM). */
export function gateCount(mode: RecurrentMode): number {
  return mode === 'lstm' ? 4 : mode === 'gru' ? 3 : 1;
}

export function rnnMode(nonlinearity: RnnNonlinearity): RecurrentMode {
  return nonlinearity === 'tanh' ? 'rnnTanh' : nonlinearity === 'relu' ? 'rnnRelu' : 'rnnIdentity';
}

// ---------------------------------------------------------------------------------------------
// One step, on 2-D tensors ([batch, features]), with the weights prepared once per sequence.

/**
 * The weights of one layer and direction, prepared once per sequence: transposed whole for the
 * fused kernels, or transposed per gate for the composed steps (one product per gate, so that
 * no step slices its gate block).
 */
interface StepWeights {
  fused: boolean;
  hidden: number;
  /** Fused: W_ihᵀ [in, G·H], W_hhᵀ [H, G·H], and the weights themselves for the products' backward pass. */
  wIhT: Tensor | null;
  wHhT: Tensor | null;
  wIh: Tensor;
  wHh: Tensor;
  /** Composed: per gate k, W_ih,kᵀ [in, H], W_hh,kᵀ [H, H]. */
  gIhT: Tensor[];
  gHhT: Tensor[];
  /** b_ih + b_hh (RNN, LSTM), or null without bias; per gate for the composed steps. */
  bSum: Tensor | null;
  gB: (Tensor | null)[];
  /** GRU keeps them apart (b_hn sits inside r ⊙ (...)). */
  bIh: Tensor | null;
  bHh: Tensor | null;
  gBIh: (Tensor | null)[];
  gBHh: (Tensor | null)[];
}

function prepare(mode: RecurrentMode, wIh: Tensor, wHh: Tensor, bIh: Tensor | null, bHh: Tensor | null, fused: boolean): StepWeights {
  const H = wHh.shape[1], G = gateCount(mode);
  const bSum = mode === 'gru' || !bIh || !bHh ? null : add(bIh, bHh);
  const w: StepWeights = { fused, hidden: H, wIhT: null, wHhT: null, wIh, wHh, gIhT: [], gHhT: [], bSum, gB: [], bIh, bHh, gBIh: [], gBHh: [] };
  if (fused) {
    w.wIhT = transpose(wIh, 0, 1);
    w.wHhT = transpose(wHh, 0, 1);
    return w;
  }
  const gate = (t: Tensor | null, k: number) => (t === null ? null : G === 1 ? t : narrow(t, 0, k * H, H));
  for (let k = 0; k < G; k++) {
    w.gIhT.push(transpose(gate(wIh, k)!, 0, 1));
    w.gHhT.push(transpose(gate(wHh, k)!, 0, 1));
    w.gB.push(gate(bSum, k));
    w.gBIh.push(gate(bIh, k));
    w.gBHh.push(gate(bHh, k));
  }
  return w;
}

const addBias = (x: Tensor, b: Tensor | null): Tensor => (b ? add(x, b) : x);

/** Gate k's x·W_ih,kᵀ + h·W_hh,kᵀ + b_k; `hIsZero` skips the product with an all-zero initial state. */
function gatePre(x: Tensor, h: Tensor, hIsZero: boolean, w: StepWeights, k: number): Tensor {
  const xw = matmul(x, w.gIhT[k]);
  return addBias(hIsZero ? xw : add(xw, matmul(h, w.gHhT[k])), w.gB[k]);
}

function rnnStep(mode: RecurrentMode, x: Tensor, h: Tensor, hIsZero: boolean, w: StepWeights): Tensor {
  const pre = gatePre(x, h, hIsZero, w, 0);
  return mode === 'rnnTanh' ? tanh(pre) : mode === 'rnnRelu' ? relu(pre) : pre;
}

function lstmStep(x: Tensor, h: Tensor, c: Tensor, stateIsZero: boolean, w: StepWeights): [Tensor, Tensor] {
  // With c = 0 the forget gate multiplies nothing.
  const pre = (k: number) => gatePre(x, h, stateIsZero, w, k);
  return lstmGates(pre(0), stateIsZero ? null : pre(1), pre(2), pre(3), stateIsZero ? null : c);
}

/** [h', c'] from the gates' pre-activations, composed from ops (f and c null when c = 0). */
function lstmGates(i: Tensor, f: Tensor | null, g: Tensor, o: Tensor, c: Tensor | null): [Tensor, Tensor] {
  const ig = mul(sigmoid(i), tanh(g));
  const c2 = f && c ? add(mul(sigmoid(f), c), ig) : ig;
  return [mul(sigmoid(o), tanh(c2)), c2];
}

function gruStep(x: Tensor, h: Tensor, hIsZero: boolean, w: StepWeights): Tensor {
  const r = sigmoid(gatePre2(x, h, hIsZero, w, 0));
  const z = sigmoid(gatePre2(x, h, hIsZero, w, 1));
  // With h = 0, W_hn·h + b_hn is just b_hn (broadcast over the batch).
  const hn: Tensor | null = hIsZero ? w.gBHh[2] : addBias(matmul(h, w.gHhT[2]), w.gBHh[2]);
  const xn = addBias(matmul(x, w.gIhT[2]), w.gBIh[2]);
  const n = tanh(hn ? add(xn, mul(r, hn)) : xn);
  // (1 − z) ⊙ n + z ⊙ h  =  n + z ⊙ (h − n)
  return hIsZero ? sub(n, mul(z, n)) : add(n, mul(z, sub(h, n)));
}

/** GRU gate k (r or z): x·W_ih,kᵀ + b_ih,k + h·W_hh,kᵀ + b_hh,k. */
function gatePre2(x: Tensor, h: Tensor, hIsZero: boolean, w: StepWeights, k: number): Tensor {
  let p = addBias(matmul(x, w.gIhT[k]), w.gBIh[k]);
  if (!hIsZero) p = add(p, matmul(h, w.gHhT[k]));
  return addBias(p, w.gBHh[k]);
}

// ---------------------------------------------------------------------------------------------
// Fused per-step kernels. The matrix products stay `matmul` ops; what follows them (bias, gate
// activations, cell and hidden update) is one loop forward and one loop backward per op instead of
// a dozen element-wise ops, each of which allocates and is recorded. Their VJPs use these loops
// when the backward pass is not itself recorded; under `createGraph` (higher-order gradients) they
// are written with ops, so that they are differentiable too. Tests check every fused op against
// the composed steps above (values and gradients) and both against finite differences.

/** true: always fused; false: always composed; 'auto' (default): see `setFusedRecurrent`. */
export type FusedSetting = boolean | 'auto';
let fusedSetting: FusedSetting = 'auto';

/**
 * Chooses the fused per-step kernels (true), the composed ops (false), or 'auto' (the default):
 * the LSTM step fused on every backend (it is a kernel of the backend table: one pass each way
 * instead of a dozen ops that each allocate; with the whole-sequence LSTM op, W7 on wasm takes about
 * 2× less CPU time than composed), the RNN and GRU steps
 * (JS loops here) fused on the JS reference backend only, where they are faster; on a backend with
 * its own SIMD element-wise kernels the composed ops are. Both give the same values and gradients
 * (tested). Returns the previous setting.
 */
export function setFusedRecurrent(setting: FusedSetting): FusedSetting {
  if (setting !== true && setting !== false && setting !== 'auto') throw new ArgumentError('setFusedRecurrent', `expects true, false or 'auto', got ${String(setting)}`);
  const was = fusedSetting;
  fusedSetting = setting;
  return was;
}

/** Whether the steps of `mode` run now use the fused kernels. */
export function isFusedRecurrent(mode: RecurrentMode = 'lstm'): boolean {
  return fusedSetting === 'auto' ? mode === 'lstm' || getBackend().name === 'js' : fusedSetting;
}

const sigm = (v: number): number => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));
type Act = 'tanh' | 'relu' | 'identity';

/** Column sums of a [rows, cols] array. */
function colSums(d: FloatArray, rows: number, cols: number, dtype: DType): Tensor {
  const out = alloc('rnnBiasGrad', dtype, [cols]);
  const o = out.data;
  for (let r = 0; r < rows; r++) for (let j = 0, k = r * cols; j < cols; j++, k++) o[j] += d[k];
  return out;
}

/** The dtype all tensors share, or null (then the composed path runs). */
function commonFloat(ts: readonly (Tensor | null)[]): DType | null {
  let dt: DType | null = null;
  for (const t of ts) {
    if (!t) continue;
    if (t.dtype === 'int32' || (dt && t.dtype !== dt)) return null;
    dt = t.dtype;
  }
  return dt;
}

/** act(xw + hw + b) for a plain RNN's [B, H] pre-activation (tanh, relu, identity). */
function gateOp(kind: Act, xw: Tensor, hw: Tensor | null, b: Tensor | null, dtype: DType): Tensor {
  const [B, cols] = xw.shape;
  const out = alloc('rnnGates', dtype, [B, cols]);
  const o = out.data as FloatArray, xd = xw.data, hd = hw?.data, bd = b?.data;
  for (let r = 0, k = 0; r < B; r++) {
    for (let j = 0; j < cols; j++, k++) {
      let v = xd[k];
      if (hd) v += hd[k];
      if (bd) v += bd[j];
      o[k] = kind === 'tanh' ? Math.tanh(v) : kind === 'relu' ? (v < 0 ? 0 : v) : v;
    }
  }
  const inputs = [xw, ...(hw ? [hw] : []), ...(b ? [b] : [])];
  return record(out, `rnn_${kind}`, inputs, (g, needs) => {
    let dpre: Tensor;
    if (isGradEnabled()) {
      // Recorded backward: the same derivative written with ops of the output.
      if (kind === 'tanh') dpre = mul(g, sub(1, mul(out, out)));
      else if (kind === 'relu') dpre = mul(g, gt(out, 0));
      else dpre = g;
      return inputs.map((t, i) => (needs[i] ? (t === b ? sum(dpre, 0) : dpre) : null));
    }
    dpre = alloc('rnnGates', dtype, [B, cols]);
    const d = dpre.data as FloatArray, gd = g.data;
    for (let r = 0, k = 0; r < B; r++) {
      for (let j = 0; j < cols; j++, k++) {
        const a = o[k];
        const deriv = kind === 'tanh' ? 1 - a * a : kind === 'relu' ? (a > 0 ? 1 : 0) : 1;
        d[k] = gd[k] * deriv;
      }
    }
    const db = b && needs[inputs.length - 1] ? colSums(d, B, cols, dtype) : null;
    return inputs.map((t, i) => (needs[i] ? (t === b ? db : dpre) : null));
  });
}

/**
 * One LSTM step after its products, [h'; c'] as one [2, B, H] tensor, from xw, hw = h·W_hhᵀ (null
 * when h = 0), the summed bias and c (null when c = 0): the backend's `lstmCell` kernel forward and
 * `lstmCellBackward` backward. The caller takes h' and c' as views of the two halves.
 */
function lstmStepOp(xw: Tensor, hw: Tensor | null, b: Tensor | null, c: Tensor | null, dtype: DType): Tensor {
  const [B, G] = xw.shape;
  const H = G / 4, n = B * H;
  const gates = alloc('lstmCell', dtype, [B, G]);
  const out = alloc('lstmCell', dtype, [2, B, H]);
  const hOut = out.data.subarray(0, n), cOut = out.data.subarray(n);
  kernels().lstmCell(xw.data, hw?.data ?? null, b?.data ?? null, c?.data ?? null, B, H, gates.data, hOut, cOut);
  const inputs = [xw, hw, b, c].filter((t): t is Tensor => t !== null);
  return record(out, 'lstmCell', inputs, (g, needs) => {
    if (isGradEnabled()) {
      // Recorded backward: the gradient of the composed definition, so that it can be differentiated again.
      const wanted = inputs.filter((t, k) => needs[k]);
      const sumOf = (ts: Tensor[]) => ts.reduce((p, t) => add(p, t));
      const pre = sumOf(inputs.filter((t) => t !== c));
      const [h2, c2] = lstmGates(narrow(pre, 1, 0, H), c ? narrow(pre, 1, H, H) : null, narrow(pre, 1, 2 * H, H), narrow(pre, 1, 3 * H, H), c);
      const grads = grad(stack([h2, c2], 0), wanted, { gradOutput: g, createGraph: true, allowUnused: true });
      return inputs.map((t) => (wanted.includes(t) ? grads[wanted.indexOf(t)] : null));
    }
    const dPre = alloc('lstmCell', dtype, [B, G]);
    const dc = c && needs[inputs.length - 1] ? alloc('lstmCell', dtype, [B, H]) : null;
    kernels().lstmCellBackward(gates.data, c?.data ?? null, hOut, g.data.subarray(0, n), g.data.subarray(n), B, H, dPre.data, dc?.data ?? null);
    return inputs.map((t, k) => (!needs[k] ? null : t === c ? dc : t === b ? sum(dPre, 0) : dPre));
  });
}

/**
 * A whole LSTM layer, one direction, over a time-major sequence x [L, B, I] as one op: every step's
 * h' then every step's c', [2, L, B, H]. Forward: one product for all of x·W_ihᵀ, then the backend's
 * `lstmSequence` (per step h·W_hhᵀ and the lstmCell step); backward: `lstmSequenceBackward` (per step
 * the step's gradient and the product carrying it to the previous h, then W_hh's gradient as one
 * product over all steps), then one product each for the gradients of x and W_ih. `reverse` runs
 * from the last step to the first; h0, c0 null mean zeros (W_hh·h is then skipped at the first step).
 */
function lstmSequenceOp(x: Tensor, wIh: Tensor, wHh: Tensor, b: Tensor | null, h0: Tensor | null, c0: Tensor | null, reverse: boolean, dtype: DType): Tensor {
  const [L, B, I] = x.shape;
  const H = wHh.shape[1], G = 4 * H, n = B * H, LB = L * B;
  const k = kernels();
  // Every step's x·W_ihᵀ in one product, turned into every step's activated gates in place.
  const gates = allocUninitialized('lstmSequence', dtype, [L, B, G]).data;
  k.linear(x.data, wIh.data, null, gates, LB, I, G, false);
  const out = allocUninitialized('lstmSequence', dtype, [2, L, B, H]);
  const hs = out.data.subarray(0, L * n), cs = out.data.subarray(L * n);
  k.lstmSequence(gates, wHh.data, b?.data ?? null, h0?.data ?? null, c0?.data ?? null, L, B, H, reverse, hs, cs);
  const inputs = [x, wIh, wHh, b, h0, c0].filter((t): t is Tensor => t !== null);
  return record(out, 'lstmSequence', inputs, (grad0, needs) => {
    const wanted = inputs.filter((_, i) => needs[i]);
    if (isGradEnabled()) {
      // Recorded backward: the gradient of the same layer run step by step, so that it can be differentiated again.
      const grads = grad(lstmSequenceSteps(x, wIh, wHh, b, h0, c0, reverse, dtype), wanted, { gradOutput: grad0, createGraph: true, allowUnused: true });
      return inputs.map((t) => (wanted.includes(t) ? grads[wanted.indexOf(t)] : null));
    }
    const need = (t: Tensor | null): t is Tensor => t !== null && wanted.includes(t);
    const dPre = allocUninitialized('lstmSequence', dtype, [LB, G]);
    const dWhh = need(wHh) ? allocUninitialized('lstmSequence', dtype, [G, H]) : null;
    const dh0 = need(h0) ? alloc('lstmSequence', dtype, [B, H]) : null, dc0 = need(c0) ? alloc('lstmSequence', dtype, [B, H]) : null;
    k.lstmSequenceBackward(gates, wHh.data, h0?.data ?? null, c0?.data ?? null, hs, cs, grad0.data.subarray(0, L * n), grad0.data.subarray(L * n),
      L, B, H, reverse, dPre.data, dWhh?.data ?? null, dh0?.data ?? null, dc0?.data ?? null);
    const result = new Map<Tensor, Tensor>();
    for (const [t, d] of [[wHh, dWhh], [h0, dh0], [c0, dc0]] as const) if (t && d) result.set(t, d);
    if (need(x)) {
      const dx = allocUninitialized('lstmSequence', dtype, [L, B, I]);
      k.matmul(dPre.data, [LB, G], wIh.data, [G, I], dx.data, [LB, I]);
      result.set(x, dx);
    }
    if (need(wIh)) {
      // dW_ihᵀ = xᵀ·dPre: x [L·B, I] is the operand worth transposing, not dPre [L·B, 4H].
      const xT = allocUninitialized('lstmSequence', dtype, [I, LB]), dWT = allocUninitialized('lstmSequence', dtype, [I, G]);
      const dw = allocUninitialized('lstmSequence', dtype, [G, I]);
      k.copyStrided(x.data, [1, I], xT.data, [I, LB]);
      k.matmul(xT.data, [I, LB], dPre.data, [LB, G], dWT.data, [I, G]);
      k.copyStrided(dWT.data, [1, G], dw.data, [G, I]);
      result.set(wIh, dw);
    }
    if (need(b)) result.set(b, sum(dPre, 0));
    return inputs.map((t) => result.get(t) ?? null);
  });
}

/** lstmSequenceOp's definition, step by step with the per-step ops (for recorded backward passes). */
function lstmSequenceSteps(x: Tensor, wIh: Tensor, wHh: Tensor, b: Tensor | null, h0: Tensor | null, c0: Tensor | null, reverse: boolean, dtype: DType): Tensor {
  const [L, B] = x.shape;
  const H = wHh.shape[1];
  const w: StepWeights = { ...prepare('lstm', wIh, wHh, null, null, true), bSum: b };
  const hs: Tensor[] = new Array(L), cs: Tensor[] = new Array(L);
  let h = h0 ?? zeros([B, H], { dtype }), c = c0 ?? h;
  for (let s = 0; s < L; s++) {
    const t = reverse ? L - 1 - s : s;
    // As recurrent's steps: W_hh·h is skipped at a zero first state, unless it is the only step (so W_hh gets its zero gradient).
    [h, c] = lstmStepFused(reshape(narrow(x, 0, t, 1), [B, x.shape[2]]), h, c, s === 0 && !h0 && L > 1, w)!;
    hs[t] = h; cs[t] = c;
  }
  return stack([stack(hs, 0), stack(cs, 0)], 0);
}

/**
 * GRU h' from gi = x·W_ihᵀ and gh = h·W_hhᵀ ([B, 3H]; gh null when h = 0) and the biases:
 * r, z = σ(gi + b_ih + gh + b_hh), n = tanh(gi_n + b_in + r ⊙ (gh_n + b_hn)), h' = n + z ⊙ (h − n).
 */
function gruOp(gi: Tensor, gh: Tensor | null, bIh: Tensor | null, bHh: Tensor | null, h: Tensor, dtype: DType): Tensor {
  const [B, G] = gi.shape;
  const H = G / 3;
  const out = alloc('gruCell', dtype, [B, H]);
  const o = out.data as FloatArray, id = gi.data, hd = gh?.data, bi = bIh?.data, bh = bHh?.data, hv = h.data;
  const R = new Float64Array(B * H), Z = new Float64Array(B * H), N = new Float64Array(B * H), HN = new Float64Array(B * H);
  for (let r = 0; r < B; r++) {
    for (let j = 0; j < H; j++) {
      const k = r * G + j, q = r * H + j;
      const rr = sigm(id[k] + (bi ? bi[j] : 0) + (hd ? hd[k] : 0) + (bh ? bh[j] : 0));
      const zz = sigm(id[k + H] + (bi ? bi[j + H] : 0) + (hd ? hd[k + H] : 0) + (bh ? bh[j + H] : 0));
      const hn = (hd ? hd[k + 2 * H] : 0) + (bh ? bh[j + 2 * H] : 0);
      const nn = Math.tanh(id[k + 2 * H] + (bi ? bi[j + 2 * H] : 0) + rr * hn);
      R[q] = rr; Z[q] = zz; N[q] = nn; HN[q] = hn;
      o[q] = nn + zz * (hv[q] - nn);
    }
  }
  const inputs: Tensor[] = [gi];
  const slot = { gh: -1, bIh: -1, bHh: -1, h: -1 };
  if (gh) slot.gh = inputs.push(gh) - 1;
  if (bIh) slot.bIh = inputs.push(bIh) - 1;
  if (bHh) slot.bHh = inputs.push(bHh) - 1;
  slot.h = inputs.push(h) - 1;
  return record(out, 'gruCell', inputs, (g, needs) => {
    const res: (Tensor | null)[] = inputs.map(() => null);
    if (isGradEnabled()) {
      // Recorded backward, from the composed forward's formulas.
      const part = (t: Tensor | null, k: number, n = 1) => (t ? narrow(t, t.ndim - 1, k * H, n * H) : null);
      const plus = (...ts: (Tensor | null)[]) => ts.filter((t): t is Tensor => t !== null).reduce((x, y) => add(x, y));
      const rz = sigmoid(plus(part(gi, 0, 2), part(bIh, 0, 2), part(gh, 0, 2), part(bHh, 0, 2)));
      const r = narrow(rz, 1, 0, H), z = narrow(rz, 1, H, H);
      const hn = gh || bHh ? plus(part(gh, 2), part(bHh, 2)) : zeros([H], { dtype });
      const n = tanh(plus(part(gi, 2), part(bIh, 2), mul(r, hn)));
      const dn = mul(g, sub(1, z)), dz = mul(g, sub(h, n));
      const dnp = mul(dn, sub(1, mul(n, n)));
      const drp = mul(mul(dnp, hn), mul(r, sub(1, r)));
      const dzp = mul(dz, mul(z, sub(1, z)));
      const dGi = concat([drp, dzp, dnp], 1), dGh = concat([drp, dzp, mul(dnp, r)], 1);
      if (needs[0]) res[0] = dGi;
      if (slot.gh >= 0 && needs[slot.gh]) res[slot.gh] = dGh;
      if (slot.bIh >= 0 && needs[slot.bIh]) res[slot.bIh] = sum(dGi, 0);
      if (slot.bHh >= 0 && needs[slot.bHh]) res[slot.bHh] = sum(dGh, 0);
      if (needs[slot.h]) res[slot.h] = mul(g, z);
      return res;
    }
    const gd = g.data;
    const dGi = alloc('gruCell', dtype, [B, G]), dGh = alloc('gruCell', dtype, [B, G]);
    const di = dGi.data as FloatArray, dh = dGh.data as FloatArray;
    for (let r = 0; r < B; r++) {
      for (let j = 0; j < H; j++) {
        const k = r * G + j, q = r * H + j;
        const gv = gd[q], rr = R[q], zz = Z[q], nn = N[q];
        const dnp = gv * (1 - zz) * (1 - nn * nn);
        const drp = dnp * HN[q] * rr * (1 - rr);
        const dzp = gv * (hv[q] - nn) * zz * (1 - zz);
        di[k] = drp; di[k + H] = dzp; di[k + 2 * H] = dnp;
        dh[k] = drp; dh[k + H] = dzp; dh[k + 2 * H] = dnp * rr;
      }
    }
    if (needs[0]) res[0] = dGi;
    if (slot.gh >= 0 && needs[slot.gh]) res[slot.gh] = dGh;
    if (slot.bIh >= 0 && needs[slot.bIh]) res[slot.bIh] = colSums(di, B, G, dtype);
    if (slot.bHh >= 0 && needs[slot.bHh]) res[slot.bHh] = colSums(dh, B, G, dtype);
    if (needs[slot.h]) {
      const dH = alloc('gruCell', dtype, [B, H]);
      const d = dH.data as FloatArray;
      for (let q = 0; q < B * H; q++) d[q] = gd[q] * Z[q];
      res[slot.h] = dH;
    }
    return res;
  });
}

/** x·W_ihᵀ and h·W_hhᵀ of the fused steps: their backward passes read W_ih and W_hh as they are. */
const xProduct = (x: Tensor, w: StepWeights): Tensor => matmulWithTranspose(x, w.wIhT!, w.wIh);
const hProduct = (h: Tensor, w: StepWeights): Tensor => matmulWithTranspose(h, w.wHhT!, w.wHh);

function rnnStepFused(mode: RecurrentMode, x: Tensor, h: Tensor, hIsZero: boolean, w: StepWeights): Tensor | null {
  const xw = xProduct(x, w);
  const hw = hIsZero ? null : hProduct(h, w);
  const dtype = commonFloat([xw, hw, w.bSum]);
  if (!dtype) return null;
  return gateOp(mode === 'rnnTanh' ? 'tanh' : mode === 'rnnRelu' ? 'relu' : 'identity', xw, hw, w.bSum, dtype);
}

function lstmStepFused(x: Tensor, h: Tensor, c: Tensor, stateIsZero: boolean, w: StepWeights): [Tensor, Tensor] | null {
  const xw = xProduct(x, w);
  const hw = stateIsZero ? null : hProduct(h, w);
  const dtype = commonFloat([xw, hw, w.bSum, stateIsZero ? null : c]);
  if (!dtype) return null;
  const state = lstmStepOp(xw, hw, w.bSum, stateIsZero ? null : c, dtype);
  const [, B, H] = state.shape;
  return [reshape(narrow(state, 0, 0, 1), [B, H]), reshape(narrow(state, 0, 1, 1), [B, H])];
}

function gruStepFused(x: Tensor, h: Tensor, hIsZero: boolean, w: StepWeights): Tensor | null {
  const gi = xProduct(x, w);
  const gh = hIsZero ? null : hProduct(h, w);
  const dtype = commonFloat([gi, gh, w.bIh, w.bHh, h]);
  if (!dtype) return null;
  return gruOp(gi, gh, w.bIh, w.bHh, h, dtype);
}

/** One step of any mode: fused when prepared so (and all dtypes agree), else composed. */
function step(mode: RecurrentMode, x: Tensor, h: Tensor, c: Tensor, fresh: boolean, w: StepWeights, wIh: Tensor, wHh: Tensor): [Tensor, Tensor | null] {
  if (w.fused) {
    const r = mode === 'lstm' ? lstmStepFused(x, h, c, fresh, w) : mode === 'gru' ? gruStepFused(x, h, fresh, w) : rnnStepFused(mode, x, h, fresh, w);
    if (r) return Array.isArray(r) ? r : [r, null];
    // Mixed dtypes: the composed ops promote them.
    Object.assign(w, prepare(mode, wIh, wHh, w.bIh, w.bHh, false));
  }
  if (mode === 'lstm') return lstmStep(x, h, c, fresh, w);
  if (mode === 'gru') return [gruStep(x, h, fresh, w), null];
  return [rnnStep(mode, x, h, fresh, w), null];
}

// ---------------------------------------------------------------------------------------------
// Cells.

interface CellShapes { batched: boolean; batch: number; inputSize: number; hidden: number }

function checkCellWeights(op: string, gates: number, wIh: Tensor, wHh: Tensor, bIh: Tensor | null, bHh: Tensor | null): { inputSize: number; hidden: number } {
  if (!(wIh instanceof Tensor) || !(wHh instanceof Tensor)) throw new ArgumentError(op, 'weightIh and weightHh must be Tensors');
  if (wHh.ndim !== 2 || wHh.shape[0] !== gates * wHh.shape[1]) {
    throw new ShapeError(op, `weightHh must be [${gates}·hiddenSize, hiddenSize], got ${fmtShape(wHh.shape)}`);
  }
  const hidden = wHh.shape[1];
  if (wIh.ndim !== 2 || wIh.shape[0] !== gates * hidden) {
    throw new ShapeError(op, `weightIh must be [${gates * hidden}, inputSize] (${gates}·hiddenSize rows), got ${fmtShape(wIh.shape)}`);
  }
  for (const [name, b] of [['biasIh', bIh], ['biasHh', bHh]] as const) {
    if (b !== null && (b.ndim !== 1 || b.shape[0] !== gates * hidden)) throw new ShapeError(op, `${name} must be [${gates * hidden}], got ${fmtShape(b.shape)}`);
  }
  if ((bIh === null) !== (bHh === null)) throw new ArgumentError(op, 'give both biasIh and biasHh, or neither');
  return { inputSize: wIh.shape[1], hidden };
}

function checkCellInput(op: string, input: Tensor, states: [string, Tensor | null][], inputSize: number, hidden: number): CellShapes {
  if (!(input instanceof Tensor)) throw new ArgumentError(op, `input must be a Tensor, got ${typeof input}`);
  if (input.ndim !== 1 && input.ndim !== 2) throw new ShapeError(op, `input must be 2-D [batch, inputSize] or 1-D [inputSize] (unbatched), got ${fmtShape(input.shape)}`);
  const batched = input.ndim === 2;
  const features = input.shape[input.ndim - 1];
  if (features !== inputSize) throw new ShapeError(op, `input has ${features} features but inputSize is ${inputSize} (input ${fmtShape(input.shape)})`);
  const batch = batched ? input.shape[0] : 1;
  const want = batched ? [batch, hidden] : [hidden];
  for (const [name, s] of states) {
    if (s === null) continue;
    if (!(s instanceof Tensor)) throw new ArgumentError(op, `${name} must be a Tensor, got ${typeof s}`);
    if (s.ndim !== want.length || s.shape.some((d, i) => d !== want[i])) {
      throw new ShapeError(op, `${name} must have shape ${fmtShape(want)} (${batched ? 'batch, hiddenSize' : 'hiddenSize, for unbatched input'}), got ${fmtShape(s.shape)} (input ${fmtShape(input.shape)})`);
    }
  }
  return { batched, batch, inputSize, hidden };
}

const as2d = (t: Tensor, batched: boolean) => (batched ? t : unsqueeze(t, 0));
const from2d = (t: Tensor, batched: boolean) => (batched ? t : reshape(t, [t.shape[1]]));

/**
 * @internal The cells with the caller's name in error messages. A missing state is a zero tensor
 * that still goes through W_hh, so that W_hh gets a (zero) gradient as in PyTorch.
 */
export function rnnCellImpl(op: string, input: Tensor, hx: Tensor | null, wIh: Tensor, wHh: Tensor, bIh: Tensor | null, bHh: Tensor | null, nonlinearity: RnnNonlinearity): Tensor {
  if (!RNN_NONLINEARITIES.includes(nonlinearity)) throw new ArgumentError(op, `nonlinearity must be 'tanh', 'relu' or 'identity', got '${nonlinearity}'`);
  const { inputSize, hidden } = checkCellWeights(op, 1, wIh, wHh, bIh, bHh);
  const s = checkCellInput(op, input, [['hx', hx]], inputSize, hidden);
  const mode = rnnMode(nonlinearity);
  const w = prepare(mode, wIh, wHh, bIh, bHh, isFusedRecurrent(mode));
  const h = hx ? as2d(hx, s.batched) : zeros([s.batch, hidden], { dtype: input.dtype });
  return from2d(step(mode, as2d(input, s.batched), h, h, false, w, wIh, wHh)[0], s.batched);
}

/** @internal */
export function lstmCellImpl(op: string, input: Tensor, hx: readonly [Tensor, Tensor] | null, wIh: Tensor, wHh: Tensor, bIh: Tensor | null, bHh: Tensor | null): [Tensor, Tensor] {
  const { inputSize, hidden } = checkCellWeights(op, 4, wIh, wHh, bIh, bHh);
  if (hx !== null && (!Array.isArray(hx) || hx.length !== 2)) throw new ArgumentError(op, 'hx must be a pair [h, c] of Tensors (or null for zeros)');
  const s = checkCellInput(op, input, [['hx[0] (h)', hx ? hx[0] : null], ['hx[1] (c)', hx ? hx[1] : null]], inputSize, hidden);
  const w = prepare('lstm', wIh, wHh, bIh, bHh, isFusedRecurrent('lstm'));
  const z = hx ? null : zeros([s.batch, hidden], { dtype: input.dtype });
  const [h, c] = step('lstm', as2d(input, s.batched), hx ? as2d(hx[0], s.batched) : z!, hx ? as2d(hx[1], s.batched) : z!, false, w, wIh, wHh);
  return [from2d(h, s.batched), from2d(c!, s.batched)];
}

/** @internal */
export function gruCellImpl(op: string, input: Tensor, hx: Tensor | null, wIh: Tensor, wHh: Tensor, bIh: Tensor | null, bHh: Tensor | null): Tensor {
  const { inputSize, hidden } = checkCellWeights(op, 3, wIh, wHh, bIh, bHh);
  const s = checkCellInput(op, input, [['hx', hx]], inputSize, hidden);
  const w = prepare('gru', wIh, wHh, bIh, bHh, isFusedRecurrent('gru'));
  const h = hx ? as2d(hx, s.batched) : zeros([s.batch, hidden], { dtype: input.dtype });
  return from2d(step('gru', as2d(input, s.batched), h, h, false, w, wIh, wHh)[0], s.batched);
}

/**
 * One step of a plain RNN, h' = act(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh), as `torch.rnn_tanh_cell` /
 * `torch.rnn_relu_cell`. `hx` null means zeros. Shapes: input [B, in] or [in], hx like it with H.
 */
export function rnnCell(input: Tensor, hx: Tensor | null, weightIh: Tensor, weightHh: Tensor, biasIh: Tensor | null = null, biasHh: Tensor | null = null, options: { nonlinearity?: RnnNonlinearity } = {}): Tensor {
  return rnnCellImpl('rnnCell', input, hx, weightIh, weightHh, biasIh, biasHh, options.nonlinearity ?? 'tanh');
}

/** One LSTM step (gate order i, f, g, o), as `torch.lstm_cell`; returns [h', c']. `hx` null means zeros. */
export function lstmCell(input: Tensor, hx: readonly [Tensor, Tensor] | null, weightIh: Tensor, weightHh: Tensor, biasIh: Tensor | null = null, biasHh: Tensor | null = null): [Tensor, Tensor] {
  return lstmCellImpl('lstmCell', input, hx, weightIh, weightHh, biasIh, biasHh);
}

/** One GRU step (gate order r, z, n), as `torch.gru_cell`. `hx` null means zeros. */
export function gruCell(input: Tensor, hx: Tensor | null, weightIh: Tensor, weightHh: Tensor, biasIh: Tensor | null = null, biasHh: Tensor | null = null): Tensor {
  return gruCellImpl('gruCell', input, hx, weightIh, weightHh, biasIh, biasHh);
}

// ---------------------------------------------------------------------------------------------
// Whole sequences.

export interface RecurrentOptions {
  mode: RecurrentMode;
  numLayers?: number;
  bidirectional?: boolean;
  /** Input and output are [batch, seq, features] instead of [seq, batch, features]. */
  batchFirst?: boolean;
  /** Dropout on the outputs of every layer but the last, in training. Default 0. */
  dropout?: number;
  /** Default true (dropout active when dropout > 0). */
  training?: boolean;
  generator?: Generator;
  /** Initial hidden state [numLayers·directions, batch, hidden] ([numLayers·directions, hidden] unbatched); default zeros. */
  h0?: Tensor | null;
  /** LSTM: initial cell state, shaped as h0; give both or neither. */
  c0?: Tensor | null;
  /**
   * The true length of each sequence of the batch (1 ≤ length ≤ seq, any order), as
   * `pack_padded_sequence(..., enforce_sorted=False)`: the steps after a sequence's end do not
   * affect its outputs, final state or any gradient, and its outputs there are zero (as
   * `pad_packed_sequence(..., total_length=seq)`; the output keeps the input's length).
   */
  lengths?: readonly number[] | Tensor | null;
  /** Name used in error messages (the layer). Default 'recurrent'. */
  op?: string;
}

export interface RecurrentResult {
  /** Last layer's hidden state at every step: [seq, batch, D·H] ([batch, seq, D·H] with batchFirst; [seq, D·H] unbatched). */
  output: Tensor;
  /** Final hidden state of every layer and direction: [numLayers·D, batch, H] ([numLayers·D, H] unbatched). */
  h: Tensor;
  /** LSTM: final cell states, shaped as h. */
  c?: Tensor;
}

function lengthsOf(op: string, lengths: readonly number[] | Tensor, batch: number, steps: number, inputShape: readonly number[]): number[] {
  let list: number[];
  if (lengths instanceof Tensor) {
    if (lengths.dtype !== 'int32' || lengths.ndim !== 1) throw new ArgumentError(op, `lengths must be a 1-D int32 tensor or an array of integers, got a ${lengths.dtype} tensor of shape ${fmtShape(lengths.shape)}`);
    list = Array.from(lengths.data);
  } else if (Array.isArray(lengths)) {
    list = [...lengths];
  } else {
    throw new ArgumentError(op, 'lengths must be an array of integers or a 1-D int32 tensor');
  }
  if (list.length !== batch) throw new ShapeError(op, `lengths has ${list.length} entries but the batch has ${batch} sequences (input ${fmtShape(inputShape)})`);
  list.forEach((n, i) => {
    if (!Number.isInteger(n) || n < 1) throw new ArgumentError(op, `lengths[${i}] must be a positive integer, got ${n}`);
    if (n > steps) throw new ShapeError(op, `lengths[${i}] = ${n} is longer than the sequence (${steps} steps, input ${fmtShape(inputShape)})`);
  });
  return list;
}

function checkWeights(op: string, mode: RecurrentMode, weights: readonly (readonly (Tensor | null)[])[], numLayers: number, dirs: number): { inputSize: number; hidden: number } {
  if (!Array.isArray(weights) || weights.length !== numLayers * dirs) {
    throw new ArgumentError(op, `weights must hold ${numLayers * dirs} entries (numLayers·directions), got ${Array.isArray(weights) ? weights.length : typeof weights}`);
  }
  const G = gateCount(mode);
  let inputSize = 0, hidden = 0;
  weights.forEach((w, k) => {
    const [wIh, wHh, bIh = null, bHh = null] = w;
    if (!wIh || !wHh) throw new ArgumentError(op, `weights[${k}] must be [weightIh, weightHh, biasIh?, biasHh?]`);
    const s = checkCellWeights(op, G, wIh, wHh, bIh, bHh);
    if (k === 0) ({ inputSize, hidden } = s);
    const wantIn = k < dirs ? inputSize : dirs * hidden;
    if (s.hidden !== hidden || s.inputSize !== wantIn) {
      throw new ShapeError(op, `weights[${k}] (layer ${Math.floor(k / dirs)}${k % dirs ? ' reverse' : ''}) has weightIh ${fmtShape(wIh.shape)} and weightHh ${fmtShape(wHh.shape)}; expected [${G * hidden},${wantIn}] and [${G * hidden},${hidden}]`);
    }
  });
  return { inputSize, hidden };
}

/**
 * recurrent's LSTM without lengths, each layer and direction one `lstmSequenceOp`: returns the
 * last layer's output [L, B, D·H] and pushes the final states onto hN and cN; null (nothing pushed)
 * when the dtypes differ, for the step-by-step ops to promote them.
 */
function lstmLayers(x: Tensor, weights: readonly (readonly (Tensor | null)[])[], numLayers: number, D: number, h0: Tensor | null, c0: Tensor | null,
  drop: ((t: Tensor) => Tensor) | null, hN: Tensor[], cN: Tensor[]): Tensor | null {
  const [L, B] = x.shape;
  const dtype = commonFloat([x, h0, c0, ...weights.flat()]);
  if (!dtype) return null;
  const state = (s: Tensor | null, k: number, H: number) => (s ? reshape(narrow(s, 0, k, 1), [B, H]) : null);
  const last = (seq: Tensor, t: number, H: number) => reshape(narrow(seq, 0, t, 1), [B, H]);
  let input = x;
  for (let layer = 0; layer < numLayers; layer++) {
    const outs: Tensor[] = [];
    for (let dir = 0; dir < D; dir++) {
      const k = layer * D + dir;
      const [wIh, wHh, bIh = null, bHh = null] = weights[k] as Tensor[];
      const H = wHh.shape[1];
      const seq = lstmSequenceOp(input, wIh, wHh, bIh && bHh ? add(bIh, bHh) : null, state(h0, k, H), state(c0, k, H), dir === 1, dtype);
      const hs = reshape(narrow(seq, 0, 0, 1), [L, B, H]), cs = reshape(narrow(seq, 0, 1, 1), [L, B, H]);
      hN.push(last(hs, dir === 1 ? 0 : L - 1, H));
      cN.push(last(cs, dir === 1 ? 0 : L - 1, H));
      outs.push(hs);
    }
    const out = D === 1 ? outs[0] : concat(outs, 2);
    input = drop && layer < numLayers - 1 ? drop(out) : out;
  }
  return input;
}

/**
 * A multi-layer, optionally bidirectional RNN/LSTM/GRU over a batch of sequences, from its weights:
 * `weights[layer·D + direction] = [weightIh, weightHh, biasIh?, biasHh?]` (D = 2 if bidirectional).
 * Layer l > 0 reads the concatenated outputs of both directions of layer l − 1.
 */
export function recurrent(input: Tensor, weights: readonly (readonly (Tensor | null)[])[], options: RecurrentOptions): RecurrentResult {
  const op = options.op ?? 'recurrent';
  const mode = options.mode;
  if (!['rnnTanh', 'rnnRelu', 'rnnIdentity', 'lstm', 'gru'].includes(mode)) throw new ArgumentError(op, `unknown mode '${mode}'`);
  const numLayers = options.numLayers ?? 1;
  if (!Number.isInteger(numLayers) || numLayers < 1) throw new ArgumentError(op, `numLayers must be a positive integer, got ${numLayers}`);
  const D = options.bidirectional ? 2 : 1;
  const batchFirst = options.batchFirst ?? false;
  const p = options.dropout ?? 0;
  if (!(typeof p === 'number' && p >= 0 && p <= 1)) throw new ArgumentError(op, `dropout must be a number in [0, 1], got ${p}`);
  const { inputSize, hidden: H } = checkWeights(op, mode, weights, numLayers, D);

  if (!(input instanceof Tensor)) throw new ArgumentError(op, `input must be a Tensor, got ${typeof input}`);
  if (input.ndim !== 3 && input.ndim !== 2) {
    throw new ShapeError(op, `input must be 3-D ${batchFirst ? '[batch, seq, features] (batchFirst)' : '[seq, batch, features]'} or 2-D [seq, features] (unbatched), got ${fmtShape(input.shape)}`);
  }
  const batched = input.ndim === 3;
  const features = input.shape[input.ndim - 1];
  if (features !== inputSize) throw new ShapeError(op, `input has ${features} features but inputSize is ${inputSize} (input ${fmtShape(input.shape)}${batched ? (batchFirst ? ', batchFirst [batch, seq, features]' : ', [seq, batch, features]') : ', unbatched [seq, features]'})`);
  // Time-major [L, B, I] from here on.
  const x = batched ? (batchFirst ? transpose(input, 0, 1) : input) : unsqueeze(input, 1);
  const [L, B] = x.shape;
  if (L < 1 || B < 1) throw new ShapeError(op, `input must hold at least one step and one sequence, got ${fmtShape(input.shape)}`);

  const stateShape = batched ? [numLayers * D, B, H] : [numLayers * D, H];
  const isLstm = mode === 'lstm';
  const states: [string, Tensor | null][] = isLstm ? [['h0', options.h0 ?? null], ['c0', options.c0 ?? null]] : [['h0', options.h0 ?? null]];
  if (!isLstm && options.c0) throw new ArgumentError(op, 'c0 is only for LSTMs');
  if (isLstm && (options.h0 == null) !== (options.c0 == null)) throw new ArgumentError(op, 'give both h0 and c0, or neither');
  for (const [name, s] of states) {
    if (s === null) continue;
    if (!(s instanceof Tensor)) throw new ArgumentError(op, `${name} must be a Tensor, got ${typeof s}`);
    if (s.ndim !== stateShape.length || s.shape.some((d, i) => d !== stateShape[i])) {
      throw new ShapeError(op, `${name} must have shape ${fmtShape(stateShape)} (numLayers·directions, ${batched ? 'batch, ' : ''}hiddenSize), got ${fmtShape(s.shape)} (input ${fmtShape(input.shape)})`);
    }
  }
  const h0 = options.h0 ? (batched ? options.h0 : unsqueeze(options.h0, 1)) : null;
  const c0 = options.c0 ? (batched ? options.c0 : unsqueeze(options.c0, 1)) : null;

  const lengths = options.lengths == null ? null : lengthsOf(op, options.lengths, B, L, input.shape);
  const maxLen = lengths ? Math.max(...lengths) : L;
  const minLen = lengths ? Math.min(...lengths) : L;
  // masks[t]: int32 [B, 1], 1 where step t is inside the sequence (only where some sequence has ended).
  const masks: (Tensor | null)[] = Array.from({ length: maxLen }, (_, t) => {
    if (!lengths || t < minLen) return null;
    return new Tensor(Int32Array.from(lengths, (n) => (t < n ? 1 : 0)), [B, 1]);
  });

  const dtype = x.dtype;
  const fused = isFusedRecurrent(mode);
  const stateAt = (s: Tensor, k: number) => reshape(narrow(s, 0, k, 1), [B, H]);
  const dropBetween = p > 0 && options.training !== false;
  const hN: Tensor[] = [], cN: Tensor[] = [];
  const whole = isLstm && fused && !lengths
    ? lstmLayers(x, weights, numLayers, D, h0, c0, dropBetween ? (t) => dropout(t, { p, generator: options.generator }) : null, hN, cN)
    : null;
  let layerInput: Tensor[] = whole ? [] : Array.from({ length: maxLen }, (_, t) => reshape(narrow(x, 0, t, 1), [B, x.shape[2]]));
  let outputs: Tensor[] = [];
  for (let layer = 0; layer < (whole ? 0 : numLayers); layer++) {
    const perDir: Tensor[][] = [];
    for (let dir = 0; dir < D; dir++) {
      const k = layer * D + dir;
      const [wIh, wHh, bIh = null, bHh = null] = weights[k] as (Tensor | null)[];
      const w = prepare(mode, wIh!, wHh!, bIh, bHh, fused);
      const zero = h0 && (!isLstm || c0) ? null : zeros([B, H], { dtype });
      let h = h0 ? stateAt(h0, k) : zero!;
      let c = c0 ? stateAt(c0, k) : zero!;
      // h (and c) are still the all-zero initial state: skip W_hh·h at the first step (with one
      // step only, W_hh would then get no gradient at all, where PyTorch gives zeros).
      let fresh = zero !== null && maxLen > 1;
      const outs: Tensor[] = new Array(maxLen);
      for (let s = 0; s < maxLen; s++) {
        const t = dir === 0 ? s : maxLen - 1 - s;
        const xt = layerInput[t];
        const [hNew, cNew] = step(mode, xt, h, c, fresh, w, wIh!, wHh!);
        const m = masks[t];
        if (m) {
          // Sequences that have ended keep their state (forward) or have not started (reverse).
          h = where(m, hNew, h);
          if (cNew) c = where(m, cNew, c);
          outs[t] = where(m, hNew, 0);
          fresh = false;
        } else {
          h = hNew;
          if (cNew) c = cNew;
          outs[t] = hNew;
          fresh = false;
        }
      }
      hN.push(h);
      if (isLstm) cN.push(c);
      perDir.push(outs);
    }
    outputs = D === 1 ? perDir[0] : perDir[0].map((o, t) => concat([o, perDir[1][t]], 1));
    const drop = layer < numLayers - 1 && dropBetween;
    layerInput = drop ? outputs.map((o) => dropout(o, { p, generator: options.generator })) : outputs;
  }

  let output = whole ?? stack(outputs, 0); // [maxLen, B, D·H]
  if (maxLen < L) output = concat([output, zeros([L - maxLen, B, D * H], { dtype })], 0);
  let h = stack(hN, 0), c = isLstm ? stack(cN, 0) : undefined;
  if (batched) {
    if (batchFirst) output = transpose(output, 0, 1);
  } else {
    output = reshape(output, [L, D * H]);
    h = reshape(h, [numLayers * D, H]);
    if (c) c = reshape(c, [numLayers * D, H]);
  }
  return c ? { output, h, c } : { output, h };
}
