import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { narrow, permute, reshape } from '../ops/shape.js';
import type { Tensor } from '../tensor.js';
import { Linear, positiveInt } from '../nn/layers/linear.js';
import { GRU, LSTM, RNN } from '../nn/layers/recurrent.js';
import { Module } from '../nn/module.js';

export type RowRnnCell = 'lstm' | 'gru' | 'rnn';

export interface RowRnnOptions {
  /** The recurrent layer: 'lstm' (default), 'gru' or 'rnn' (tanh). */
  cell?: RowRnnCell;
  /** Default 128. */
  hiddenSize?: number;
  /** Stacked recurrent layers. Default 1. */
  numLayers?: number;
  /** Dropout between stacked layers (numLayers > 1). Default 0. */
  dropout?: number;
  inChannels?: number;
  numClasses?: number;
  /** Side of the square input images (28 for MNIST): the number of rows, and of pixels per row. */
  inputSize?: number;
}

/**
 * Images as sequences: each [C, S, S] image is read top to bottom as S rows of C·S features (for
 * MNIST, 28 rows of 28 pixels); the last layer's final hidden state → Linear → class logits.
 * Parameter names (rnn.weight_ih_l0, ..., fc.weight) match the PyTorch definition
 * `self.rnn = nn.LSTM(28, 128, batch_first=True); self.fc = nn.Linear(128, 10)`.
 */
export class RowRnn extends Module {
  readonly rnn: RNN | GRU | LSTM;
  readonly fc: Linear;
  readonly cell: RowRnnCell;
  readonly inChannels: number;
  readonly inputSize: number;

  constructor(options: RowRnnOptions = {}) {
    super();
    const cell = options.cell ?? 'lstm';
    if (!['lstm', 'gru', 'rnn'].includes(cell)) throw new ArgumentError('RowRnn', `cell must be 'lstm', 'gru' or 'rnn', got '${String(cell)}'`);
    this.cell = cell;
    this.inChannels = positiveInt('RowRnn', 'inChannels', options.inChannels ?? 1);
    this.inputSize = positiveInt('RowRnn', 'inputSize', options.inputSize ?? 28);
    const hidden = options.hiddenSize ?? 128;
    const rnnOptions = { numLayers: options.numLayers ?? 1, dropout: options.dropout ?? 0, batchFirst: true };
    const features = this.inChannels * this.inputSize;
    const Layer = cell === 'lstm' ? LSTM : cell === 'gru' ? GRU : RNN;
    this.rnn = this.registerModule('rnn', new Layer(features, hidden, rnnOptions));
    this.fc = this.registerModule('fc', new Linear(hidden, options.numClasses ?? 10));
  }

  /** [N, C, S, S] images (or [N, S, S·C] sequences) → [N, numClasses] logits. */
  override forward(x: Tensor): Tensor {
    const C = this.inChannels, S = this.inputSize;
    let seq: Tensor;
    if (x.ndim === 4 && x.shape[1] === C && x.shape[2] === S && x.shape[3] === S) {
      seq = C === 1 ? reshape(x, [x.shape[0], S, S]) : reshape(permute(x, [0, 2, 1, 3]), [x.shape[0], S, C * S]);
    } else if (x.ndim === 3 && x.shape[1] === S && x.shape[2] === C * S) {
      seq = x;
    } else {
      throw new ShapeError('RowRnn', `input must be [N, ${C}, ${S}, ${S}] images or [N, ${S}, ${C * S}] row sequences, got ${fmtShape(x.shape)}`);
    }
    const hN = this.rnn instanceof LSTM ? this.rnn.forward(seq)[1][0] : this.rnn.forward(seq)[1];
    const layers = this.rnn.numLayers, n = x.shape[0];
    const last = reshape(narrow(hN, 0, layers - 1, 1), [n, this.rnn.hiddenSize]);
    return this.fc.forward(last);
  }
}

/** models.rowRnn({ cell: 'lstm' | 'gru' | 'rnn', hiddenSize = 128, numLayers = 1 }). */
export const rowRnn = (options?: RowRnnOptions): RowRnn => new RowRnn(options);
