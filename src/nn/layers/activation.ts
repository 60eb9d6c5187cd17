/** Activation functions and other stateless layers as modules. */
import { elu, gelu, leakyRelu, relu, sigmoid, tanh } from '../../ops/elementwise.js';
import { logSoftmax, softmax } from '../../ops/reduce.js';
import { flatten } from '../../ops/shape.js';
import type { Tensor } from '../../tensor.js';
import { Module } from '../module.js';

export class ReLU extends Module {
  override forward(x: Tensor): Tensor { return relu(x); }
}

export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) { super(); }
  override forward(x: Tensor): Tensor { return leakyRelu(x, this.negativeSlope); }
  override extraRepr(): string { return `negativeSlope=${this.negativeSlope}`; }
}

export class ELU extends Module {
  constructor(readonly alpha = 1) { super(); }
  override forward(x: Tensor): Tensor { return elu(x, this.alpha); }
  override extraRepr(): string { return `alpha=${this.alpha}`; }
}

export class GELU extends Module {
  constructor(readonly approximate: 'none' | 'tanh' = 'none') { super(); }
  override forward(x: Tensor): Tensor { return gelu(x, { approximate: this.approximate }); }
  override extraRepr(): string { return `approximate='${this.approximate}'`; }
}

export class Sigmoid extends Module {
  override forward(x: Tensor): Tensor { return sigmoid(x); }
}

export class Tanh extends Module {
  override forward(x: Tensor): Tensor { return tanh(x); }
}

export class Softmax extends Module {
  constructor(readonly dim: number) { super(); }
  override forward(x: Tensor): Tensor { return softmax(x, this.dim); }
  override extraRepr(): string { return `dim=${this.dim}`; }
}

export class LogSoftmax extends Module {
  constructor(readonly dim: number) { super(); }
  override forward(x: Tensor): Tensor { return logSoftmax(x, this.dim); }
  override extraRepr(): string { return `dim=${this.dim}`; }
}

/** Flattens dims startDim..endDim (default: all but the batch dim). */
export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) { super(); }
  override forward(x: Tensor): Tensor { return flatten(x, this.startDim, this.endDim); }
  override extraRepr(): string { return `startDim=${this.startDim}, endDim=${this.endDim}`; }
}

export class Identity extends Module {
  override forward(x: Tensor): Tensor { return x; }
}
