import { ArgumentError } from '../../errors.js';
import { ones, zeros } from '../../creation.js';
import type { Tensor } from '../../tensor.js';
import { batchNorm, groupNorm, layerNorm } from '../functional/norm.js';
import { relu } from '../../ops/elementwise.js';
import { Module } from '../module.js';
import { positiveInt } from './linear.js';
import { checkKeys } from '../../options.js';
import { ShapeError, fmtShape } from '../../errors.js';

export interface BatchNormLayerOptions {
  eps?: number;
  /** Weight of each new batch in the running statistics; null = cumulative average. Default 0.1. */
  momentum?: number | null;
  /** Learnable per-channel scale γ and shift β. Default true. */
  affine?: boolean;
  /** Keep running statistics for evaluation. Default true. */
  trackRunningStats?: boolean;
}

/**
 * Batch normalisation (Ioffe & Szegedy) with PyTorch's semantics: batch statistics in training
 * (running mean/variance updated with the unbiased variance), running statistics in eval mode.
 */
export class BatchNorm extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly runningMean: Tensor | null;
  readonly runningVar: Tensor | null;
  readonly numBatchesTracked: Tensor | null;
  readonly eps: number;
  readonly momentum: number | null;

  constructor(private readonly layer: string, private readonly ranks: readonly number[], readonly numFeatures: number, options: BatchNormLayerOptions) {
    super();
    checkKeys(layer, options, ['eps', 'momentum', 'affine', 'trackRunningStats']);
    positiveInt(layer, 'numFeatures', numFeatures);
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum === undefined ? 0.1 : options.momentum;
    if (!(this.eps > 0)) throw new ArgumentError(layer, `eps must be positive, got ${this.eps}`);
    if (this.momentum !== null && !(this.momentum >= 0 && this.momentum <= 1)) throw new ArgumentError(layer, `momentum must be in [0, 1] or null, got ${this.momentum}`);
    const affine = options.affine ?? true, track = options.trackRunningStats ?? true;
    this.weight = this.registerParameter('weight', affine ? ones([numFeatures]) : null);
    this.bias = this.registerParameter('bias', affine ? zeros([numFeatures]) : null);
    this.runningMean = this.registerBuffer('running_mean', track ? zeros([numFeatures]) : null);
    this.runningVar = this.registerBuffer('running_var', track ? ones([numFeatures]) : null);
    this.numBatchesTracked = this.registerBuffer('num_batches_tracked', track ? zeros([], { dtype: 'int32' }) : null);
  }

  override resetParameters(): void {
    this.runningMean?.data.fill(0);
    this.runningVar?.data.fill(1);
    this.numBatchesTracked?.data.fill(0);
    this.weight?.data.fill(1);
    this.bias?.data.fill(0);
  }

  override forward(x: Tensor): Tensor {
    return this.normalize(x, false);
  }

  /**
   * relu(forward(x)) as one fused op (batchNorm's `relu` option); the two steps when hooks must see
   * this layer's output.
   * @example bn.forwardFused(x, { relu: true })
   */
  forwardFused(x: Tensor, options: { relu?: boolean } = {}): Tensor {
    checkKeys(`${this.layer}.forwardFused`, options, ['relu']);
    const withRelu = options.relu ?? false;
    if (this.hasHooks()) return withRelu ? relu(this.forward(x)) : this.forward(x);
    return this.normalize(x, withRelu);
  }

  private normalize(x: Tensor, withRelu: boolean): Tensor {
    if (!this.ranks.includes(x.ndim) || x.shape[1] !== this.numFeatures) {
      throw new ShapeError(this.layer, `expected input of rank ${this.ranks.join(' or ')} with ${this.numFeatures} channels in dim 1, got ${fmtShape(x.shape)}`);
    }
    const useBatchStats = this.training || !this.runningMean;
    if (this.training && this.numBatchesTracked) this.numBatchesTracked.data[0] += 1;
    return batchNorm(x, this.runningMean, this.runningVar, this.weight, this.bias, {
      training: useBatchStats, momentum: this.momentum, eps: this.eps,
      batchesTracked: this.numBatchesTracked ? this.numBatchesTracked.data[0] : 1, relu: withRelu,
    });
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.weight !== null}, trackRunningStats=${this.runningMean !== null}`;
  }
}

/** Batch normalisation of [N, C] or [N, C, L] input. */
export class BatchNorm1d extends BatchNorm {
  constructor(numFeatures: number, options: BatchNormLayerOptions = {}) { super('BatchNorm1d', [2, 3], numFeatures, options); }
}

/** Batch normalisation of [N, C, H, W] images, per channel. */
export class BatchNorm2d extends BatchNorm {
  constructor(numFeatures: number, options: BatchNormLayerOptions = {}) { super('BatchNorm2d', [4], numFeatures, options); }
}

/** Layer normalisation over the last dims (`normalizedShape`), with an element-wise affine map. */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;

  constructor(normalizedShape: number | readonly number[], readonly options: { eps?: number; elementwiseAffine?: boolean; bias?: boolean } = {}) {
    super();
    checkKeys('LayerNorm', options, ['eps', 'elementwiseAffine', 'bias']);
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    this.normalizedShape.forEach((d) => positiveInt('LayerNorm', 'normalizedShape', d));
    const affine = options.elementwiseAffine ?? true;
    this.weight = this.registerParameter('weight', affine ? ones(this.normalizedShape) : null);
    this.bias = this.registerParameter('bias', affine && options.bias !== false ? zeros(this.normalizedShape) : null);
  }

  override forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.options.eps ?? 1e-5);
  }

  override extraRepr(): string {
    return `[${this.normalizedShape}], eps=${this.options.eps ?? 1e-5}, elementwiseAffine=${this.weight !== null}`;
  }
}

/** Group normalisation: channels split into `numGroups` groups, each normalised per sample. */
export class GroupNorm extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;

  constructor(readonly numGroups: number, readonly numChannels: number, readonly options: { eps?: number; affine?: boolean } = {}) {
    super();
    checkKeys('GroupNorm', options, ['eps', 'affine']);
    positiveInt('GroupNorm', 'numGroups', numGroups);
    positiveInt('GroupNorm', 'numChannels', numChannels);
    if (numChannels % numGroups !== 0) throw new ArgumentError('GroupNorm', `numGroups=${numGroups} must divide numChannels=${numChannels}`);
    const affine = options.affine ?? true;
    this.weight = this.registerParameter('weight', affine ? ones([numChannels]) : null);
    this.bias = this.registerParameter('bias', affine ? zeros([numChannels]) : null);
  }

  override forward(x: Tensor): Tensor {
    if (x.ndim < 2 || x.shape[1] !== this.numChannels) throw new ShapeError('GroupNorm', `expected ${this.numChannels} channels in dim 1, got input ${fmtShape(x.shape)}`);
    return groupNorm(x, this.numGroups, this.weight, this.bias, this.options.eps ?? 1e-5);
  }

  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${this.options.eps ?? 1e-5}, affine=${this.weight !== null}`;
  }
}
