import { ArgumentError } from '../../errors.js';
import { empty, type Tensor } from '../../tensor.js';
import { linear, linearFused } from '../functional/linear.js';
import { relu } from '../../ops/elementwise.js';
import { uniform } from '../init.js';
import { Module } from '../module.js';
import { checkKeys } from '../../options.js';

export function positiveInt(layer: string, name: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0) throw new ArgumentError(layer, `${name} must be a positive integer, got ${v}`);
  return v;
}

/**
 * Fully connected layer y = x·Wᵀ + b, W: [outFeatures, inFeatures]. Initialised as PyTorch:
 * W and b uniform in ±1/√inFeatures (Kaiming-uniform with a = √5).
 */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, options: { bias?: boolean } = {}) {
    super();
    checkKeys('Linear', options, ['bias']);
    positiveInt('Linear', 'inFeatures', inFeatures);
    positiveInt('Linear', 'outFeatures', outFeatures);
    this.weight = this.registerParameter('weight', empty([outFeatures, inFeatures]));
    this.bias = this.registerParameter('bias', options.bias === false ? null : empty([outFeatures]));
    this.resetParameters();
  }

  override resetParameters(): void {
    const bound = 1 / Math.sqrt(this.inFeatures);
    uniform(this.weight, -bound, bound);
    if (this.bias) uniform(this.bias, -bound, bound);
  }

  override forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }

  /**
   * forward, then ReLU when `relu`, as one fused op (one kernel call when no gradient is recorded);
   * forward and relu as they are when hooks must see this layer's output.
   */
  forwardFused(x: Tensor, options: { relu?: boolean } = {}): Tensor {
    checkKeys('Linear.forwardFused', options, ['relu']);
    if (this.hasHooks()) return options.relu ? relu(this.forward(x)) : this.forward(x);
    return linearFused(x, this.weight, this.bias, options);
  }

  override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}
