import { ArgumentError } from '../../errors.js';
import { conv1d, conv2d, conv2dFused, convTranspose2d, type Conv2dFusedOptions } from '../../ops/conv.js';
import { relu } from '../../ops/elementwise.js';
import { maxPool2d } from '../../ops/pool.js';
import { pad } from '../../ops/shape.js';
import { pair, type Pair } from '../../ops/util.js';
import type { PadMode } from '../../ops/shape.js';
import { empty, type Tensor } from '../../tensor.js';
import { uniform } from '../init.js';
import { Module } from '../module.js';
import { positiveInt } from './linear.js';
import { checkKeys } from '../../options.js';

export interface Conv2dLayerOptions {
  stride?: Pair;
  /** Padding on each side ([h, w]), or 'same' / 'valid'. */
  padding?: Pair | 'same' | 'valid';
  dilation?: Pair;
  /** Channel groups; groups = inChannels gives a depthwise convolution. */
  groups?: number;
  bias?: boolean;
  /** How the border is padded: zeros (default), or by reflecting, replicating or wrapping the image. */
  paddingMode?: 'zeros' | 'reflect' | 'replicate' | 'circular';
}

/** Checks channels against groups and initialises weight and bias uniformly in ±1/√fanIn, as PyTorch. */
function initConv(layer: string, inChannels: number, outChannels: number, groups: number): void {
  positiveInt(layer, 'inChannels', inChannels);
  positiveInt(layer, 'outChannels', outChannels);
  positiveInt(layer, 'groups', groups);
  if (inChannels % groups !== 0 || outChannels % groups !== 0) {
    throw new ArgumentError(layer, `groups=${groups} must divide inChannels=${inChannels} and outChannels=${outChannels}`);
  }
}

function resetUniform(weight: Tensor, bias: Tensor | null): void {
  const fanIn = weight.shape.slice(1).reduce((a, b) => a * b, 1);
  const bound = 1 / Math.sqrt(fanIn);
  uniform(weight, -bound, bound);
  if (bias) uniform(bias, -bound, bound);
}

/**
 * 2-D convolution layer over NCHW images, weight [outChannels, inChannels/groups, kH, kW].
 * Parameter count: outChannels·(inChannels/groups)·kH·kW (+ outChannels for the bias) — independent
 * of the image size, unlike a dense layer.
 */
export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number] | 'same' | 'valid';
  readonly dilation: [number, number];
  readonly groups: number;
  readonly paddingMode: NonNullable<Conv2dLayerOptions['paddingMode']>;

  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Pair, options: Conv2dLayerOptions = {}) {
    super();
    const L = 'Conv2d';
    checkKeys(L, options, ['stride', 'padding', 'dilation', 'groups', 'bias', 'paddingMode']);
    this.groups = options.groups ?? 1;
    initConv(L, inChannels, outChannels, this.groups);
    this.kernelSize = pair(L, 'kernelSize', kernelSize, 1);
    this.stride = pair(L, 'stride', options.stride ?? 1, 1);
    this.dilation = pair(L, 'dilation', options.dilation ?? 1, 1);
    const p = options.padding ?? 0;
    this.padding = p === 'same' || p === 'valid' ? p : pair(L, 'padding', p, 0);
    if (p === 'same' && (this.stride[0] !== 1 || this.stride[1] !== 1)) throw new ArgumentError(L, `padding='same' needs stride 1, got stride ${this.stride}`);
    this.paddingMode = options.paddingMode ?? 'zeros';
    if (!['zeros', 'reflect', 'replicate', 'circular'].includes(this.paddingMode)) throw new ArgumentError(L, `paddingMode must be 'zeros', 'reflect', 'replicate' or 'circular', got '${this.paddingMode}'`);
    if (this.paddingMode !== 'zeros' && typeof this.padding === 'string') throw new ArgumentError(L, `paddingMode '${this.paddingMode}' needs numeric padding`);
    this.weight = this.registerParameter('weight', empty([outChannels, inChannels / this.groups, ...this.kernelSize]));
    this.bias = this.registerParameter('bias', options.bias === false ? null : empty([outChannels]));
    this.resetParameters();
  }

  override resetParameters(): void {
    resetUniform(this.weight, this.bias);
  }

  override forward(x: Tensor): Tensor {
    const o = { stride: this.stride, dilation: this.dilation, groups: this.groups };
    if (this.paddingMode === 'zeros') return conv2d(x, this.weight, this.bias, { ...o, padding: this.padding });
    const [ph, pw] = this.padding as [number, number];
    return conv2d(pad(x, [pw, pw, ph, ph], this.paddingMode as PadMode), this.weight, this.bias, { ...o, padding: 0 });
  }

  /**
   * maxPool2d(relu(forward(x))), the ReLU and the pooling optional, as one fused op (one kernel call
   * when no gradient is recorded); the stages one by one when hooks must see this layer's output or
   * the padding is not zeros.
   * @example conv.forwardFused(x, { relu: true, maxPool: { kernelSize: 2 } })
   */
  forwardFused(x: Tensor, options: Pick<Conv2dFusedOptions, 'relu' | 'maxPool'> = {}): Tensor {
    checkKeys('Conv2d.forwardFused', options, ['relu', 'maxPool']);
    const { relu: withRelu, maxPool } = options;
    if (this.hasHooks() || this.paddingMode !== 'zeros') {
      const y = withRelu ? relu(this.forward(x)) : this.forward(x);
      if (!maxPool) return y;
      const { kernelSize, ...poolOptions } = maxPool;
      return maxPool2d(y, kernelSize, poolOptions);
    }
    return conv2dFused(x, this.weight, this.bias, { stride: this.stride, dilation: this.dilation, groups: this.groups, padding: this.padding, relu: withRelu, maxPool });
  }

  override extraRepr(): string {
    const extras = [
      `stride=[${this.stride}]`, `padding=${typeof this.padding === 'string' ? `'${this.padding}'` : `[${this.padding}]`}`,
      ...(this.dilation.some((d) => d !== 1) ? [`dilation=[${this.dilation}]`] : []),
      ...(this.groups !== 1 ? [`groups=${this.groups}`] : []),
      ...(this.bias ? [] : ['bias=false']),
      ...(this.paddingMode !== 'zeros' ? [`paddingMode='${this.paddingMode}'`] : []),
    ];
    return `${this.inChannels}, ${this.outChannels}, kernelSize=[${this.kernelSize}], ${extras.join(', ')}`;
  }
}

export interface ConvTranspose2dLayerOptions {
  stride?: Pair;
  padding?: Pair;
  outputPadding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

/** 2-D transposed convolution layer (upsampling by a learned kernel), weight [inChannels, outChannels/groups, kH, kW]. */
export class ConvTranspose2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly kernelSize: [number, number];
  readonly options: { stride: [number, number]; padding: [number, number]; outputPadding: [number, number]; dilation: [number, number]; groups: number };

  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Pair, options: ConvTranspose2dLayerOptions = {}) {
    super();
    const L = 'ConvTranspose2d';
    checkKeys(L, options, ['stride', 'padding', 'outputPadding', 'dilation', 'groups', 'bias']);
    const groups = options.groups ?? 1;
    initConv(L, inChannels, outChannels, groups);
    this.kernelSize = pair(L, 'kernelSize', kernelSize, 1);
    const stride = pair(L, 'stride', options.stride ?? 1, 1), dilation = pair(L, 'dilation', options.dilation ?? 1, 1);
    const outputPadding = pair(L, 'outputPadding', options.outputPadding ?? 0, 0);
    if (outputPadding.some((p, i) => p >= Math.max(stride[i], dilation[i]))) throw new ArgumentError(L, `outputPadding [${outputPadding}] must be smaller than stride or dilation`);
    this.options = { stride, padding: pair(L, 'padding', options.padding ?? 0, 0), outputPadding, dilation, groups };
    this.weight = this.registerParameter('weight', empty([inChannels, outChannels / groups, ...this.kernelSize]));
    this.bias = this.registerParameter('bias', options.bias === false ? null : empty([outChannels]));
    this.resetParameters();
  }

  override resetParameters(): void {
    resetUniform(this.weight, this.bias);
  }

  override forward(x: Tensor): Tensor {
    return convTranspose2d(x, this.weight, this.bias, this.options);
  }

  override extraRepr(): string {
    const o = this.options;
    return `${this.inChannels}, ${this.outChannels}, kernelSize=[${this.kernelSize}], stride=[${o.stride}], padding=[${o.padding}]` +
      `${o.outputPadding.some((p) => p) ? `, outputPadding=[${o.outputPadding}]` : ''}${o.groups !== 1 ? `, groups=${o.groups}` : ''}${this.bias ? '' : ', bias=false'}`;
  }
}

/** 1-D convolution layer over [N, C, L] sequences, weight [outChannels, inChannels/groups, kernelSize]. */
export class Conv1d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly options: { stride: number; padding: number | 'same' | 'valid'; dilation: number; groups: number };

  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernelSize: number, options: { stride?: number; padding?: number | 'same' | 'valid'; dilation?: number; groups?: number; bias?: boolean } = {}) {
    super();
    const L = 'Conv1d';
    checkKeys(L, options, ['stride', 'padding', 'dilation', 'groups', 'bias']);
    const groups = options.groups ?? 1;
    initConv(L, inChannels, outChannels, groups);
    positiveInt(L, 'kernelSize', kernelSize);
    this.options = { stride: options.stride ?? 1, padding: options.padding ?? 0, dilation: options.dilation ?? 1, groups };
    pair(L, 'stride', this.options.stride, 1);
    pair(L, 'dilation', this.options.dilation, 1);
    if (typeof this.options.padding === 'number') pair(L, 'padding', this.options.padding, 0);
    this.weight = this.registerParameter('weight', empty([outChannels, inChannels / groups, kernelSize]));
    this.bias = this.registerParameter('bias', options.bias === false ? null : empty([outChannels]));
    this.resetParameters();
  }

  override resetParameters(): void {
    resetUniform(this.weight, this.bias);
  }

  override forward(x: Tensor): Tensor {
    return conv1d(x, this.weight, this.bias, this.options);
  }

  override extraRepr(): string {
    const o = this.options;
    return `${this.inChannels}, ${this.outChannels}, kernelSize=${this.kernelSize}, stride=${o.stride}, padding=${typeof o.padding === 'string' ? `'${o.padding}'` : o.padding}`;
  }
}
