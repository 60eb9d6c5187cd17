import type { Generator } from '../../random.js';
import type { Tensor } from '../../tensor.js';
import { checkDropoutP, dropout, dropout2d } from '../functional/dropout.js';
import { Module } from '../module.js';
import { checkKeys } from '../../options.js';

/**
 * Inverted dropout: in training each element is zeroed with probability p and the kept ones are
 * scaled by 1/(1 − p), so the expected output equals the input; in eval mode it is the identity.
 */
export class Dropout extends Module {
  constructor(readonly p = 0.5, readonly options: { generator?: Generator } = {}) {
    super();
    checkDropoutP('Dropout', p);
    checkKeys('Dropout', options, ['generator']);
  }
  override forward(x: Tensor): Tensor { return dropout(x, { p: this.p, training: this.training, generator: this.options.generator }); }
  override extraRepr(): string { return `p=${this.p}`; }
}

/** Dropout of whole channels of [N, C, H, W] feature maps. */
export class Dropout2d extends Module {
  constructor(readonly p = 0.5, readonly options: { generator?: Generator } = {}) {
    super();
    checkDropoutP('Dropout2d', p);
    checkKeys('Dropout2d', options, ['generator']);
  }
  override forward(x: Tensor): Tensor { return dropout2d(x, { p: this.p, training: this.training, generator: this.options.generator }); }
  override extraRepr(): string { return `p=${this.p}`; }
}
