/**
 * Recurrent layers with PyTorch's semantics, parameter names and initialisation, so that state
 * dicts carry over both ways: `RNN` (tanh or relu), `LSTM`, `GRU` over whole sequences, and the
 * cells `RNNCell`, `LSTMCell`, `GRUCell` for hand-written loops. The maths is composed from
 * differentiable ops (nn/functional/recurrent.ts), so backpropagation through time is autograd.
 *
 * Parameters of layer k (and `_reverse` for the backward direction of a bidirectional layer):
 * `weight_ih_l{k}` [G·H, in], `weight_hh_l{k}` [G·H, H], `bias_ih_l{k}` [G·H], `bias_hh_l{k}` [G·H],
 * with G = 1 (RNN), 3 (GRU: r, z, n) or 4 (LSTM: i, f, g, o); the cells call them `weight_ih`, ...
 * Every one starts uniform in ±1/√hiddenSize, as in PyTorch.
 */
import { ArgumentError, NotSupportedError } from '../../errors.js';
import { checkKeys } from '../../options.js';
import type { Generator } from '../../random.js';
import { empty, Tensor } from '../../tensor.js';
import {
  gateCount, gruCellImpl, lstmCellImpl, recurrent, rnnCellImpl, rnnMode, RNN_NONLINEARITIES,
  type RecurrentMode, type RecurrentResult, type RnnNonlinearity,
} from '../functional/recurrent.js';
import { uniform } from '../init.js';
import { Module } from '../module.js';
import { positiveInt } from './linear.js';

export type { RnnNonlinearity } from '../functional/recurrent.js';

export interface RecurrentLayerOptions {
  /** Stacked layers. Default 1. */
  numLayers?: number;
  /** Default true: b_ih and b_hh. */
  bias?: boolean;
  /** Input and output are [batch, seq, features] instead of [seq, batch, features] (states stay [layers·D, batch, H]). Default false. */
  batchFirst?: boolean;
  /** Dropout on the outputs of each layer but the last, in training mode. Default 0. */
  dropout?: number;
  /** A second layer of each pair reads the sequence backwards; outputs are concatenated (D = 2). Default false. */
  bidirectional?: boolean;
  /** Generator of the dropout masks (default: the global one). */
  generator?: Generator;
}

export interface RNNOptions extends RecurrentLayerOptions {
  /** Default 'tanh'. 'identity' is a pixelgrad extension (not in PyTorch). */
  nonlinearity?: RnnNonlinearity;
}

/** LSTM options; PyTorch's `projSize` (proj_size) is not supported. */
export type LSTMOptions = RecurrentLayerOptions;
export type GRUOptions = RecurrentLayerOptions;

export interface RecurrentForwardOptions {
  /**
   * True length of each sequence of the batch (any order; each in 1..seq), as PyTorch's
   * `pack_padded_sequence(x, lengths, enforce_sorted=False)` → layer → `pad_packed_sequence(...,
   * total_length=seq)`: padded steps affect no output, final state or gradient; outputs there are 0.
   */
  lengths?: readonly number[] | Tensor | null;
}

const LAYER_KEYS = ['numLayers', 'bias', 'batchFirst', 'dropout', 'bidirectional', 'generator'];
const UNSUPPORTED: Record<string, string> = {
  projSize: 'LSTMs with projections (proj_size) are not implemented',
  proj_size: 'LSTMs with projections (proj_size) are not implemented',
  device: 'pixelgrad tensors live in ordinary memory',
  dtype: 'parameters are float32; use the functional forms (nn/functional/recurrent) with float64 weights',
};

function checkOptions(layer: string, options: object, known: readonly string[]): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new ArgumentError(layer, `options must be an object, got ${String(options)}`);
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) {
    if (v === undefined) continue;
    const isProj = k === 'projSize' || k === 'proj_size';
    if (k in UNSUPPORTED && !(isProj && v === 0)) throw new NotSupportedError(layer, `option '${k}' is not supported (${UNSUPPORTED[k]})`);
    if (!isProj) rest[k] = v;
  }
  checkKeys(layer, rest, known);
}

function checkBool(layer: string, name: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new ArgumentError(layer, `${name} must be true or false, got ${String(v)}`);
  return v;
}

function checkNonlinearity(layer: string, v: unknown): RnnNonlinearity {
  const n = v ?? 'tanh';
  if (!RNN_NONLINEARITIES.includes(n as RnnNonlinearity)) throw new ArgumentError(layer, `nonlinearity must be 'tanh', 'relu' or 'identity', got '${String(n)}'`);
  return n as RnnNonlinearity;
}

/** What RNN, LSTM and GRU share: configuration, parameters by PyTorch's names, the forward call. */
abstract class RecurrentBase<Hx, Out> extends Module<[Tensor, (Hx | null)?, RecurrentForwardOptions?], Out> {
  readonly numLayers: number;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;
  readonly generator: Generator | undefined;
  /** [weight_ih, weight_hh, bias_ih, bias_hh] (biases only with bias) of each layer and direction, in order l0, l0_reverse, l1, ... */
  readonly allWeights: Tensor[][] = [];

  protected constructor(
    protected readonly layerName: string,
    protected readonly mode: RecurrentMode,
    readonly inputSize: number,
    readonly hiddenSize: number,
    options: RecurrentLayerOptions,
    extraKeys: readonly string[],
  ) {
    super();
    checkOptions(layerName, options, [...LAYER_KEYS, ...extraKeys]);
    positiveInt(layerName, 'inputSize', inputSize);
    positiveInt(layerName, 'hiddenSize', hiddenSize);
    this.numLayers = positiveInt(layerName, 'numLayers', options.numLayers ?? 1);
    this.bias = checkBool(layerName, 'bias', options.bias, true);
    this.batchFirst = checkBool(layerName, 'batchFirst', options.batchFirst, false);
    this.bidirectional = checkBool(layerName, 'bidirectional', options.bidirectional, false);
    const p = options.dropout ?? 0;
    if (!(typeof p === 'number' && p >= 0 && p <= 1)) throw new ArgumentError(layerName, `dropout must be a number in [0, 1], got ${String(p)}`);
    this.dropout = p;
    this.generator = options.generator;
    const G = gateCount(mode), D = this.bidirectional ? 2 : 1;
    for (let layer = 0; layer < this.numLayers; layer++) {
      for (let dir = 0; dir < D; dir++) {
        const sfx = `_l${layer}${dir ? '_reverse' : ''}`;
        const inF = layer === 0 ? inputSize : D * hiddenSize;
        const ws = [
          this.registerParameter(`weight_ih${sfx}`, empty([G * hiddenSize, inF])),
          this.registerParameter(`weight_hh${sfx}`, empty([G * hiddenSize, hiddenSize])),
        ];
        if (this.bias) ws.push(this.registerParameter(`bias_ih${sfx}`, empty([G * hiddenSize])), this.registerParameter(`bias_hh${sfx}`, empty([G * hiddenSize])));
        this.allWeights.push(ws);
      }
    }
    this.resetParameters();
  }

  /** Every weight and bias uniform in ±1/√hiddenSize (PyTorch's default). */
  override resetParameters(): void {
    const k = 1 / Math.sqrt(this.hiddenSize);
    for (const ws of this.allWeights) for (const w of ws) uniform(w, -k, k);
  }

  protected run(input: Tensor, h0: Tensor | null, c0: Tensor | null, options: RecurrentForwardOptions = {}): RecurrentResult {
    if (options === null || typeof options !== 'object') throw new ArgumentError(this.layerName, `forward options must be an object, got ${String(options)}`);
    checkKeys(this.layerName, options, ['lengths']);
    return recurrent(input, this.allWeights, {
      mode: this.mode, numLayers: this.numLayers, bidirectional: this.bidirectional, batchFirst: this.batchFirst,
      dropout: this.dropout, training: this.training, generator: this.generator, h0, c0, lengths: options.lengths, op: this.layerName,
    });
  }

  override extraRepr(): string {
    const parts = [`${this.inputSize}`, `${this.hiddenSize}`];
    if (this.numLayers !== 1) parts.push(`numLayers=${this.numLayers}`);
    if (!this.bias) parts.push('bias=false');
    if (this.batchFirst) parts.push('batchFirst=true');
    if (this.dropout) parts.push(`dropout=${this.dropout}`);
    if (this.bidirectional) parts.push('bidirectional=true');
    return parts.join(', ');
  }
}

/**
 * Elman RNN, h_t = act(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh), act tanh (default) or relu, as
 * `torch.nn.RNN`. `forward(input, h0?, { lengths? })` returns `[output, hN]`:
 * input [seq, batch, inputSize] ([batch, seq, inputSize] with batchFirst; [seq, inputSize] unbatched),
 * h0 and hN [numLayers·D, batch, hiddenSize], output [seq, batch, D·hiddenSize] (D = 2 if bidirectional).
 * @example
 * const rnn = new nn.RNN(28, 64, { batchFirst: true });
 * const [out, hN] = rnn.forward(x); // x [N, 28, 28] → out [N, 28, 64], hN [1, N, 64]
 */
export class RNN extends RecurrentBase<Tensor, [Tensor, Tensor]> {
  readonly nonlinearity: RnnNonlinearity;

  constructor(inputSize: number, hiddenSize: number, options: RNNOptions = {}) {
    super('RNN', rnnMode(checkNonlinearity('RNN', options?.nonlinearity)), inputSize, hiddenSize, options, ['nonlinearity']);
    this.nonlinearity = options.nonlinearity ?? 'tanh';
  }

  override forward(input: Tensor, h0?: Tensor | null, options?: RecurrentForwardOptions): [Tensor, Tensor] {
    const r = this.run(input, h0 ?? null, null, options);
    return [r.output, r.h];
  }

  override extraRepr(): string {
    return super.extraRepr() + (this.nonlinearity !== 'tanh' ? `, nonlinearity=${this.nonlinearity}` : '');
  }
}

/**
 * Long short-term memory, as `torch.nn.LSTM` (gate order i, f, g, o).
 * `forward(input, [h0, c0]?, { lengths? })` returns `[output, [hN, cN]]`, shaped as for `RNN`.
 */
export class LSTM extends RecurrentBase<readonly [Tensor, Tensor], [Tensor, [Tensor, Tensor]]> {
  constructor(inputSize: number, hiddenSize: number, options: LSTMOptions = {}) {
    super('LSTM', 'lstm', inputSize, hiddenSize, options, []);
  }

  override forward(input: Tensor, hx?: readonly [Tensor, Tensor] | null, options?: RecurrentForwardOptions): [Tensor, [Tensor, Tensor]] {
    if (hx != null && (!Array.isArray(hx) || hx.length !== 2)) throw new ArgumentError('LSTM', 'hx must be a pair [h0, c0] of Tensors (or null for zeros)');
    const r = this.run(input, hx ? hx[0] : null, hx ? hx[1] : null, options);
    return [r.output, [r.h, r.c!]];
  }
}

/**
 * Gated recurrent unit, as `torch.nn.GRU` (gate order r, z, n; n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))).
 * `forward(input, h0?, { lengths? })` returns `[output, hN]`, shaped as for `RNN`.
 */
export class GRU extends RecurrentBase<Tensor, [Tensor, Tensor]> {
  constructor(inputSize: number, hiddenSize: number, options: GRUOptions = {}) {
    super('GRU', 'gru', inputSize, hiddenSize, options, []);
  }

  override forward(input: Tensor, h0?: Tensor | null, options?: RecurrentForwardOptions): [Tensor, Tensor] {
    const r = this.run(input, h0 ?? null, null, options);
    return [r.output, r.h];
  }
}

// ---------------------------------------------------------------------------------------------
// Cells.

/** What the cells share: weight_ih [G·H, in], weight_hh [G·H, H], bias_ih, bias_hh [G·H]. */
abstract class CellBase<Hx, Out> extends Module<[Tensor, (Hx | null)?], Out> {
  readonly weight_ih: Tensor;
  readonly weight_hh: Tensor;
  readonly bias_ih: Tensor | null;
  readonly bias_hh: Tensor | null;

  protected constructor(layer: string, gates: number, readonly inputSize: number, readonly hiddenSize: number, options: { bias?: boolean }, known: readonly string[]) {
    super();
    checkOptions(layer, options, ['bias', ...known]);
    positiveInt(layer, 'inputSize', inputSize);
    positiveInt(layer, 'hiddenSize', hiddenSize);
    const bias = checkBool(layer, 'bias', options.bias, true);
    this.weight_ih = this.registerParameter('weight_ih', empty([gates * hiddenSize, inputSize]));
    this.weight_hh = this.registerParameter('weight_hh', empty([gates * hiddenSize, hiddenSize]));
    this.bias_ih = this.registerParameter('bias_ih', bias ? empty([gates * hiddenSize]) : null);
    this.bias_hh = this.registerParameter('bias_hh', bias ? empty([gates * hiddenSize]) : null);
    this.resetParameters();
  }

  /** Every weight and bias uniform in ±1/√hiddenSize (PyTorch's default). */
  override resetParameters(): void {
    const k = 1 / Math.sqrt(this.hiddenSize);
    for (const w of [this.weight_ih, this.weight_hh, this.bias_ih, this.bias_hh]) if (w) uniform(w, -k, k);
  }

  override extraRepr(): string {
    return `${this.inputSize}, ${this.hiddenSize}${this.bias_ih ? '' : ', bias=false'}`;
  }
}

/**
 * One step of an Elman RNN, as `torch.nn.RNNCell`: `forward(x, h?)` → h', with x [batch, inputSize]
 * (or [inputSize]) and h [batch, hiddenSize] (zeros when left out).
 * `nonlinearity: 'identity'` (h' = W_ih x + b_ih + W_hh h + b_hh) is a pixelgrad extension for
 * worked examples; PyTorch offers only 'tanh' and 'relu'.
 */
export class RNNCell extends CellBase<Tensor, Tensor> {
  readonly nonlinearity: RnnNonlinearity;

  constructor(inputSize: number, hiddenSize: number, options: { bias?: boolean; nonlinearity?: RnnNonlinearity } = {}) {
    super('RNNCell', 1, inputSize, hiddenSize, options, ['nonlinearity']);
    this.nonlinearity = checkNonlinearity('RNNCell', options.nonlinearity);
  }

  override forward(input: Tensor, hx?: Tensor | null): Tensor {
    return rnnCellImpl('RNNCell', input, hx ?? null, this.weight_ih, this.weight_hh, this.bias_ih, this.bias_hh, this.nonlinearity);
  }

  override extraRepr(): string {
    return super.extraRepr() + (this.nonlinearity !== 'tanh' ? `, nonlinearity=${this.nonlinearity}` : '');
  }
}

/** One LSTM step, as `torch.nn.LSTMCell`: `forward(x, [h, c]?)` → [h', c'] (zeros when hx is left out). */
export class LSTMCell extends CellBase<readonly [Tensor, Tensor], [Tensor, Tensor]> {
  constructor(inputSize: number, hiddenSize: number, options: { bias?: boolean } = {}) {
    super('LSTMCell', 4, inputSize, hiddenSize, options, []);
  }

  override forward(input: Tensor, hx?: readonly [Tensor, Tensor] | null): [Tensor, Tensor] {
    return lstmCellImpl('LSTMCell', input, hx ?? null, this.weight_ih, this.weight_hh, this.bias_ih, this.bias_hh);
  }
}

/** One GRU step, as `torch.nn.GRUCell`: `forward(x, h?)` → h'. */
export class GRUCell extends CellBase<Tensor, Tensor> {
  constructor(inputSize: number, hiddenSize: number, options: { bias?: boolean } = {}) {
    super('GRUCell', 3, inputSize, hiddenSize, options, []);
  }

  override forward(input: Tensor, hx?: Tensor | null): Tensor {
    return gruCellImpl('GRUCell', input, hx ?? null, this.weight_ih, this.weight_hh, this.bias_ih, this.bias_hh);
  }
}
