/**
 * Loss modules: the losses of `src/nn/functional/loss.ts` as `Module`s, like `torch.nn.MSELoss`.
 * Options are given to the constructor (and validated there); `forward(input, target)` calls the
 * functional form. A class weight (and BCEWithLogitsLoss's `posWeight`) is registered as a buffer,
 * as in torch, so it appears in `buffers()` and `stateDict()`.
 * @example const loss = new CrossEntropyLoss({ labelSmoothing: 0.1 }).forward(logits, labels);
 */
import { fmtShape } from '../../errors.js';
import type { Tensor } from '../../tensor.js';
import { Module } from '../module.js';
import {
  bceWithLogits, binaryCrossEntropy, crossEntropy, diceLoss, l1Loss, mseLoss, nllLoss, smoothL1Loss,
  validateLossOptions,
  type BCELossOptions, type BCEWithLogitsOptions, type CrossEntropyOptions, type DiceLossOptions,
  type L1LossOptions, type LossName, type MSELossOptions, type NLLLossOptions, type Reduction,
  type ResolvedLossOptions, type SmoothL1LossOptions,
} from '../functional/loss.js';

/** Shared plumbing: validated options, and the registered tensor buffers. */
abstract class LossModule extends Module<[Tensor, Tensor], Tensor> {
  readonly reduction: Reduction;

  protected constructor(loss: LossName, options: object | undefined, buffers: ('weight' | 'posWeight')[] = []) {
    super();
    this.resolved = validateLossOptions(new.target.name, loss, options);
    this.reduction = this.resolved.reduction;
    for (const name of buffers) this.registerBuffer(name, this.resolved[name]);
  }

  /** The validated constructor options, with defaults filled in. */
  protected readonly resolved: ResolvedLossOptions;

  /** The current value of a registered buffer (null when none was given). */
  protected buffer(name: string): Tensor | null {
    return this.namedBuffers({ recurse: false }).find(([n]) => n === name)?.[1] ?? null;
  }

  protected repr(extra: Record<string, string | number | Tensor | null>): string {
    const parts = [`reduction='${this.reduction}'`];
    for (const [k, v] of Object.entries(extra)) {
      if (v === null) continue;
      parts.push(`${k}=${typeof v === 'string' ? `'${v}'` : typeof v === 'number' ? v : `Tensor${fmtShape(v.shape)}`}`);
    }
    return parts.join(', ');
  }
}

/** Mean squared error (`torch.nn.MSELoss`); see `mseLoss`. */
export class MSELoss extends LossModule {
  constructor(options: MSELossOptions = {}) { super('mseLoss', options); }
  override forward(input: Tensor, target: Tensor): Tensor { return mseLoss(input, target, { reduction: this.reduction }); }
  override extraRepr(): string { return this.repr({}); }
}

/** Mean absolute error (`torch.nn.L1Loss`); see `l1Loss`. */
export class L1Loss extends LossModule {
  constructor(options: L1LossOptions = {}) { super('l1Loss', options); }
  override forward(input: Tensor, target: Tensor): Tensor { return l1Loss(input, target, { reduction: this.reduction }); }
  override extraRepr(): string { return this.repr({}); }
}

/** Smooth L1 loss (`torch.nn.SmoothL1Loss`); see `smoothL1Loss`. */
export class SmoothL1Loss extends LossModule {
  readonly beta: number;
  constructor(options: SmoothL1LossOptions = {}) { super('smoothL1Loss', options); this.beta = this.resolved.beta; }
  override forward(input: Tensor, target: Tensor): Tensor { return smoothL1Loss(input, target, { reduction: this.reduction, beta: this.beta }); }
  override extraRepr(): string { return this.repr({ beta: this.beta }); }
}

/** Cross entropy of logits (`torch.nn.CrossEntropyLoss`); see `crossEntropy`. `weight` is a buffer. */
export class CrossEntropyLoss extends LossModule {
  readonly ignoreIndex: number;
  readonly labelSmoothing: number;
  constructor(options: CrossEntropyOptions = {}) {
    super('crossEntropy', options, ['weight']);
    this.ignoreIndex = this.resolved.ignoreIndex ?? -100;
    this.labelSmoothing = this.resolved.labelSmoothing;
  }
  get weight(): Tensor | null { return this.buffer('weight'); }
  override forward(input: Tensor, target: Tensor): Tensor {
    return crossEntropy(input, target, { weight: this.weight, ignoreIndex: this.ignoreIndex, reduction: this.reduction, labelSmoothing: this.labelSmoothing });
  }
  override extraRepr(): string {
    return this.repr({ ignoreIndex: this.ignoreIndex, labelSmoothing: this.labelSmoothing, weight: this.weight });
  }
}

/** Negative log-likelihood of log-probabilities (`torch.nn.NLLLoss`); see `nllLoss`. `weight` is a buffer. */
export class NLLLoss extends LossModule {
  readonly ignoreIndex: number;
  constructor(options: NLLLossOptions = {}) {
    super('nllLoss', options, ['weight']);
    this.ignoreIndex = this.resolved.ignoreIndex ?? -100;
  }
  get weight(): Tensor | null { return this.buffer('weight'); }
  override forward(input: Tensor, target: Tensor): Tensor {
    return nllLoss(input, target, { weight: this.weight, ignoreIndex: this.ignoreIndex, reduction: this.reduction });
  }
  override extraRepr(): string { return this.repr({ ignoreIndex: this.ignoreIndex, weight: this.weight }); }
}

/** Binary cross entropy of probabilities (`torch.nn.BCELoss`); see `binaryCrossEntropy`. `weight` is a buffer. */
export class BCELoss extends LossModule {
  constructor(options: BCELossOptions = {}) { super('binaryCrossEntropy', options, ['weight']); }
  get weight(): Tensor | null { return this.buffer('weight'); }
  override forward(input: Tensor, target: Tensor): Tensor {
    return binaryCrossEntropy(input, target, { weight: this.weight, reduction: this.reduction });
  }
  override extraRepr(): string { return this.repr({ weight: this.weight }); }
}

/**
 * Binary cross entropy of logits (`torch.nn.BCEWithLogitsLoss`); see `bceWithLogits`. `weight` and
 * `posWeight` are buffers.
 */
export class BCEWithLogitsLoss extends LossModule {
  constructor(options: BCEWithLogitsOptions = {}) { super('bceWithLogits', options, ['weight', 'posWeight']); }
  get weight(): Tensor | null { return this.buffer('weight'); }
  get posWeight(): Tensor | null { return this.buffer('posWeight'); }
  override forward(input: Tensor, target: Tensor): Tensor {
    return bceWithLogits(input, target, { weight: this.weight, posWeight: this.posWeight, reduction: this.reduction });
  }
  override extraRepr(): string { return this.repr({ weight: this.weight, posWeight: this.posWeight }); }
}

/** Soft multi-class Dice loss of logits and int32 labels; see `diceLoss` for the formula. */
export class DiceLoss extends LossModule {
  readonly smooth: number;
  readonly ignoreIndex: number | null;
  constructor(options: DiceLossOptions = {}) {
    super('diceLoss', options);
    this.smooth = this.resolved.smooth;
    this.ignoreIndex = this.resolved.ignoreIndex;
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return diceLoss(input, target, { smooth: this.smooth, ignoreIndex: this.ignoreIndex, reduction: this.reduction });
  }
  override extraRepr(): string { return this.repr({ smooth: this.smooth, ignoreIndex: this.ignoreIndex }); }
}
