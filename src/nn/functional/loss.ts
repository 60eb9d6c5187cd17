/**
 * Loss functions, functional form, with PyTorch's semantics (`torch.nn.functional.*_loss`).
 * Every loss is composed from differentiable ops (logSoftmax, gather, where, clamp, sum, ...), so
 * its gradient comes from autograd and works on any backend. Each takes an options object with
 * `reduction: 'mean' | 'sum' | 'none'` (default 'mean').
 *
 * Shapes and dtypes are checked up front; errors name the loss, the argument and the shapes, e.g.
 * `crossEntropy: target has shape [3] but input [4,5] needs [4]`.
 */
import { noGrad } from '../../autograd/grad-mode.js';
import { tensor } from '../../creation.js';
import { allocArray, isFloat } from '../../dtype.js';
import { ArgumentError, DTypeError, NotSupportedError, ShapeError, fmtShape } from '../../errors.js';
import {
  abs, add, clamp, div, exp, gather, gt, indexSelect, log, logSoftmax, lt, mean, mul, narrow, neg, relu,
  reshape, softmax, square, sub, sum, where,
} from '../../ops/index.js';
import { checkNonNegative, resolveOptions } from '../../options.js';
import { broadcastShapes, sameShape, sizeOf } from '../../shape.js';
import { Tensor } from '../../tensor.js';

/** How the per-element losses are combined: averaged (default), summed, or returned as they are. */
export type Reduction = 'mean' | 'sum' | 'none';

export interface ReductionOptions {
  /** 'mean' (default), 'sum' or 'none' (the unreduced per-element losses). */
  reduction?: Reduction;
}

export type MSELossOptions = ReductionOptions;
export type L1LossOptions = ReductionOptions;

export interface SmoothL1LossOptions extends ReductionOptions {
  /** Where the loss changes from quadratic to linear (default 1; 0 gives the L1 loss). */
  beta?: number;
}

export interface NLLLossOptions extends ReductionOptions {
  /** A manual rescaling weight per class: a 1-D float tensor of length C. */
  weight?: Tensor | null;
  /** Target value that is ignored and does not count towards the mean (default -100). */
  ignoreIndex?: number;
}

export interface CrossEntropyOptions extends NLLLossOptions {
  /** Amount of label smoothing in [0, 1] (default 0), as `torch.nn.functional.cross_entropy`. */
  labelSmoothing?: number;
  /**
   * A float weight per target element (the target's shape, e.g. [N,H,W]: the U-Net paper's
   * per-pixel weight map, see `unetWeightMap`), multiplied into the class weight. Index targets only.
   */
  weightMap?: Tensor | null;
}

export interface BCELossOptions extends ReductionOptions {
  /** A rescaling weight broadcastable to the input's shape. */
  weight?: Tensor | null;
}

export interface BCEWithLogitsOptions extends BCELossOptions {
  /** Weight of the positive examples, broadcastable to the input's shape (e.g. [C] for [N,C]). */
  posWeight?: Tensor | null;
}

export interface DiceLossOptions extends ReductionOptions {
  /** Added to numerator and denominator of every Dice coefficient (default 1). */
  smooth?: number;
  /** Target value whose pixels are left out of every sum (default: none). */
  ignoreIndex?: number | null;
  /** Average over every class (default true) or leave class 0, the background, out. */
  includeBackground?: boolean;
  /** Only the Dice of this class (e.g. 1: the foreground of a binary segmentation); default: all classes. */
  classIndex?: number | null;
  /** Sum over the whole batch, one Dice per class (default false: one per sample and class). */
  batch?: boolean;
}

/** The losses of this module, by function name. */
export type LossName =
  | 'mseLoss' | 'l1Loss' | 'smoothL1Loss' | 'crossEntropy' | 'nllLoss'
  | 'binaryCrossEntropy' | 'bceWithLogits' | 'diceLoss';

/** Options after validation, with defaults filled in. */
export interface ResolvedLossOptions {
  reduction: Reduction;
  weight: Tensor | null;
  posWeight: Tensor | null;
  ignoreIndex: number | null;
  labelSmoothing: number;
  beta: number;
  smooth: number;
  weightMap: Tensor | null;
  includeBackground: boolean;
  classIndex: number | null;
  batch: boolean;
}

const KNOWN: Record<LossName, readonly string[]> = {
  mseLoss: ['reduction'],
  l1Loss: ['reduction'],
  smoothL1Loss: ['reduction', 'beta'],
  crossEntropy: ['weight', 'ignoreIndex', 'reduction', 'labelSmoothing', 'weightMap'],
  nllLoss: ['weight', 'ignoreIndex', 'reduction'],
  binaryCrossEntropy: ['weight', 'reduction'],
  bceWithLogits: ['weight', 'posWeight', 'reduction'],
  diceLoss: ['smooth', 'reduction', 'ignoreIndex', 'includeBackground', 'classIndex', 'batch'],
};

/** torch options that pixelgrad knows about but does not implement. */
const UNSUPPORTED: Record<string, string> = {
  sizeAverage: "the deprecated size_average is not supported; use reduction: 'mean' or 'sum'",
  size_average: "the deprecated size_average is not supported; use reduction: 'mean' or 'sum'",
  reduce: "the deprecated reduce is not supported; use reduction: 'none'",
};

const camel = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * Checks the options of `loss` and fills in the defaults; `op` is the name used in error messages
 * (the loss function, or the module that takes the same options). Unknown option names are an
 * `ArgumentError`; torch's deprecated `size_average`/`reduce` a `NotSupportedError`. Shape checks
 * that need the input happen when the loss is computed.
 */
export function validateLossOptions(op: string, loss: LossName, options: object | undefined): ResolvedLossOptions {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object' || options instanceof Tensor) {
    throw new ArgumentError(op, `options must be an object, got ${options === null ? 'null' : options instanceof Tensor ? 'a Tensor' : typeof options}`);
  }
  const o = options as Record<string, unknown>;
  const known = KNOWN[loss];
  for (const key of Object.keys(o)) {
    if (o[key] === undefined || known.includes(key)) continue;
    if (key in UNSUPPORTED) throw new NotSupportedError(op, UNSUPPORTED[key]);
    if (known.includes(camel(key))) throw new ArgumentError(op, `unknown option '${key}'; did you mean '${camel(key)}'?`);
    throw new ArgumentError(op, `unknown option '${key}' (options: ${known.join(', ')})`);
  }
  const reduction = o.reduction ?? 'mean';
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') {
    throw new ArgumentError(op, `reduction must be 'mean', 'sum' or 'none', got ${describe(reduction)}`);
  }
  const tensorOpt = (name: string): Tensor | null => {
    const v = o[name];
    if (v === undefined || v === null) return null;
    if (!(v instanceof Tensor)) throw new DTypeError(op, `${name} must be a Tensor, got ${describe(v)}`);
    if (!isFloat(v.dtype)) throw new DTypeError(op, `${name} must be a float tensor, got ${v.dtype} with shape ${fmtShape(v.shape)}`);
    return v;
  };
  const weight = tensorOpt('weight');
  if (weight && (loss === 'crossEntropy' || loss === 'nllLoss') && weight.ndim !== 1) {
    throw new ShapeError(op, `weight must be 1-D (one value per class), got shape ${fmtShape(weight.shape)}`);
  }
  const posWeight = tensorOpt('posWeight');
  const number = (name: string, dflt: number, ok: (v: number) => boolean, what: string): number => {
    const v = o[name] ?? dflt;
    if (typeof v !== 'number' || !ok(v)) throw new ArgumentError(op, `${name} must be ${what}, got ${describe(v)}`);
    return v;
  };
  let ignoreIndex: number | null = null;
  if (loss === 'crossEntropy' || loss === 'nllLoss') ignoreIndex = number('ignoreIndex', -100, Number.isInteger, 'an integer');
  else if (loss === 'diceLoss' && o.ignoreIndex !== undefined && o.ignoreIndex !== null) ignoreIndex = number('ignoreIndex', 0, Number.isInteger, 'an integer');
  const labelSmoothing = number('labelSmoothing', 0, (v) => v >= 0 && v <= 1, 'between 0 and 1');
  const beta = number('beta', 1, (v) => v >= 0 && Number.isFinite(v), 'a finite number ≥ 0');
  const smooth = number('smooth', 1, (v) => v >= 0 && Number.isFinite(v), 'a finite number ≥ 0');
  const weightMap = tensorOpt('weightMap');
  const flag = (name: string, dflt: boolean): boolean => {
    const v = o[name] ?? dflt;
    if (typeof v !== 'boolean') throw new ArgumentError(op, `${name} must be true or false, got ${describe(v)}`);
    return v;
  };
  const includeBackground = flag('includeBackground', true), batch = flag('batch', false);
  const classIndex = o.classIndex === undefined || o.classIndex === null ? null : number('classIndex', 0, (v) => Number.isInteger(v) && v >= 0, 'an integer ≥ 0');
  if (classIndex !== null && o.includeBackground !== undefined) throw new ArgumentError(op, `classIndex ${classIndex} picks one class; includeBackground does not apply with it`);
  return { reduction, weight, posWeight, ignoreIndex, labelSmoothing, beta, smooth, weightMap, includeBackground, classIndex, batch };
}

function describe(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (v instanceof Tensor) return `a Tensor of shape ${fmtShape(v.shape)}`;
  if (v === null) return 'null';
  return typeof v === 'number' || typeof v === 'boolean' ? String(v) : typeof v;
}

function reduce(loss: Tensor, reduction: Reduction): Tensor {
  return reduction === 'none' ? loss : reduction === 'sum' ? sum(loss) : mean(loss);
}

function expectFloatTensor(op: string, arg: string, x: unknown): Tensor {
  if (!(x instanceof Tensor)) throw new DTypeError(op, `${arg} must be a Tensor, got ${describe(x)}`);
  if (!isFloat(x.dtype)) throw new DTypeError(op, `${arg} must be a float tensor, got ${x.dtype} with shape ${fmtShape(x.shape)}`);
  return x;
}

/** input and target of an element-wise loss: float tensors of the same shape. */
function checkPair(op: string, input: Tensor, target: Tensor): void {
  expectFloatTensor(op, 'input', input);
  expectFloatTensor(op, 'target', target);
  if (!sameShape(input.shape, target.shape)) {
    throw new ShapeError(op, `target has shape ${fmtShape(target.shape)} but input ${fmtShape(input.shape)} needs ${fmtShape(input.shape)}`);
  }
}

/** A tensor that must broadcast to the input's shape without changing it. */
function checkBroadcastTo(op: string, arg: string, t: Tensor | null, input: Tensor): void {
  if (!t) return;
  let ok = true;
  try { ok = sameShape(broadcastShapes(op, t.shape, input.shape), input.shape); } catch { ok = false; }
  if (!ok) throw new ShapeError(op, `${arg} has shape ${fmtShape(t.shape)}, which does not broadcast to input ${fmtShape(input.shape)}`);
}

// ---------------------------------------------------------------------------------------------
// Regression losses
// ---------------------------------------------------------------------------------------------

/**
 * Mean squared error: (input − target)², reduced. input and target must have the same shape.
 * @example mseLoss(pred, y) // scalar
 */
export function mseLoss(input: Tensor, target: Tensor, options: MSELossOptions = {}): Tensor {
  const { reduction } = validateLossOptions('mseLoss', 'mseLoss', options);
  checkPair('mseLoss', input, target);
  return reduce(square(sub(input, target)), reduction);
}

/** Mean absolute error: |input − target|, reduced (the gradient at 0 is 0, as torch). */
export function l1Loss(input: Tensor, target: Tensor, options: L1LossOptions = {}): Tensor {
  const { reduction } = validateLossOptions('l1Loss', 'l1Loss', options);
  checkPair('l1Loss', input, target);
  return reduce(abs(sub(input, target)), reduction);
}

/**
 * Smooth L1 (Huber-like) loss, as `torch.nn.functional.smooth_l1_loss`: with d = input − target,
 * 0.5·d²/β where |d| < β and |d| − 0.5·β elsewhere; β = 0 is the L1 loss.
 */
export function smoothL1Loss(input: Tensor, target: Tensor, options: SmoothL1LossOptions = {}): Tensor {
  const { reduction, beta } = validateLossOptions('smoothL1Loss', 'smoothL1Loss', options);
  checkPair('smoothL1Loss', input, target);
  const d = sub(input, target);
  const ad = abs(d);
  if (beta === 0) return reduce(ad, reduction);
  return reduce(where(lt(ad, beta), div(mul(square(d), 0.5), beta), sub(ad, 0.5 * beta)), reduction);
}

// ---------------------------------------------------------------------------------------------
// Classification losses
// ---------------------------------------------------------------------------------------------

interface ClassTarget {
  classDim: number;
  classes: number;
  /** Shape of the per-element loss (the target's shape). */
  shape: number[];
  /** Target indices with ignored entries replaced by 0, unsqueezed at the class dim. */
  index: Tensor;
  /** int32 1 where the target counts, 0 where it equals ignoreIndex; the target's shape. */
  valid: Tensor;
}

/** The class dim and class count of logits / log-probabilities [C] or [N,C,d1,...]. */
function classDims(op: string, input: Tensor): { classDim: number; classes: number; indexShape: number[] } {
  expectFloatTensor(op, 'input', input);
  if (input.ndim === 0) throw new ShapeError(op, `input must have a class dim: [C], [N,C] or [N,C,d1,...], got shape []`);
  const classDim = input.ndim === 1 ? 0 : 1;
  return { classDim, classes: input.shape[classDim], indexShape: input.ndim === 1 ? [] : [input.shape[0], ...input.shape.slice(2)] };
}

function checkClassWeight(op: string, weight: Tensor | null, input: Tensor, classes: number): void {
  if (weight && !sameShape(weight.shape, [classes])) {
    throw new ShapeError(op, `weight has shape ${fmtShape(weight.shape)} but input ${fmtShape(input.shape)} has ${classes} classes, needs [${classes}]`);
  }
}

/** Checks an int32 class-index target and prepares the gather index and the valid mask. */
function classTarget(op: string, input: Tensor, target: Tensor, ignoreIndex: number | null, probsAllowed: boolean): ClassTarget {
  const { classDim, classes, indexShape } = classDims(op, input);
  if (!(target instanceof Tensor)) throw new DTypeError(op, `target must be a Tensor, got ${describe(target)}`);
  if (!sameShape(target.shape, indexShape)) {
    const alt = probsAllowed ? ` (int32 class indices) or ${fmtShape(input.shape)} (float class probabilities)` : '';
    throw new ShapeError(op, `target has shape ${fmtShape(target.shape)} but input ${fmtShape(input.shape)} needs ${fmtShape(indexShape)}${alt}`);
  }
  if (target.dtype !== 'int32') {
    const alt = probsAllowed ? `; class probabilities need the input's shape ${fmtShape(input.shape)}` : '';
    throw new DTypeError(op, `target of class indices must be int32, got ${target.dtype} with shape ${fmtShape(target.shape)} (input ${fmtShape(input.shape)})${alt}`);
  }
  const t = target.data as Int32Array;
  const safe = new Int32Array(t.length), valid = new Int32Array(t.length);
  for (let i = 0; i < t.length; i++) {
    const v = t[i];
    if (ignoreIndex !== null && v === ignoreIndex) continue;
    if (v < 0 || v >= classes) {
      const ign = ignoreIndex !== null ? `; only ignoreIndex ${ignoreIndex} may lie outside [0, ${classes})` : '';
      throw new ArgumentError(op, `target holds class index ${v} (flat position ${i}), out of range for ${classes} classes (input ${fmtShape(input.shape)})${ign}`);
    }
    safe[i] = v;
    valid[i] = 1;
  }
  const unsq = [...indexShape];
  unsq.splice(classDim, 0, 1);
  return {
    classDim, classes, shape: indexShape,
    index: tensor(safe, { shape: unsq }),
    valid: tensor(valid, { shape: indexShape }),
  };
}

/** A 1-D per-class weight viewed so that it broadcasts along the class dim of `ndim`-dim tensors. */
function classView(weight: Tensor, ndim: number, classDim: number): Tensor {
  const shape = new Array<number>(ndim).fill(1);
  shape[classDim] = weight.shape[0];
  return reshape(weight, shape);
}

/**
 * The negative log-likelihood of log-probabilities `logp` at class-index targets, with torch's
 * weighting, ignoring and (for crossEntropy) label smoothing.
 */
function nllFromLogProbs(logp: Tensor, ct: ClassTarget, weight: Tensor | null, reduction: Reduction, labelSmoothing: number, weightMap: Tensor | null = null): Tensor {
  const { classDim, classes, shape, index, valid } = ct;
  const picked = reshape(gather(logp, classDim, index), shape);
  const validF = valid.to(logp.dtype);
  // w[target] (times the element's weight) where the target counts, 0 where it is ignored.
  let wT = weight ? mul(reshape(indexSelect(weight, 0, reshape(index, [index.size])), shape), validF) : validF;
  if (weightMap) wT = mul(wT, weightMap);
  let loss = where(valid, neg(mul(picked, wT)), 0);
  let smoothLoss: Tensor | null = null;
  if (labelSmoothing > 0) {
    const weighted = weight ? mul(logp, classView(weight, logp.ndim, classDim)) : logp;
    smoothLoss = where(valid, neg(sum(weighted, classDim)), 0);
    if (weightMap) smoothLoss = mul(smoothLoss, weightMap);
  }
  const combine = (nll: Tensor, smoothTerm: Tensor | null): Tensor =>
    smoothTerm ? add(mul(nll, 1 - labelSmoothing), mul(smoothTerm, labelSmoothing / classes)) : nll;
  if (reduction === 'none') return combine(loss, smoothLoss);
  loss = sum(loss);
  const smoothSum = smoothLoss ? sum(smoothLoss) : null;
  if (reduction === 'sum') return combine(loss, smoothSum);
  // Weighted mean: divided by the total weight of the targets that count, as torch.
  const total = sum(wT);
  return combine(div(loss, total), smoothSum ? div(smoothSum, total) : null);
}

/**
 * Negative log-likelihood loss, as `torch.nn.functional.nll_loss`. `logProbs` is [C], [N,C] or
 * [N,C,d1,...] (log-probabilities, e.g. from `logSoftmax(x, 1)`); `target` holds int32 class
 * indices of shape [] / [N] / [N,d1,...]. Element loss: −weight[t]·logProbs[n, t, ...], 0 where
 * t = ignoreIndex; 'mean' divides the sum by the total weight of the targets that are not ignored.
 */
export function nllLoss(logProbs: Tensor, target: Tensor, options: NLLLossOptions = {}): Tensor {
  const op = 'nllLoss';
  const o = validateLossOptions(op, 'nllLoss', options);
  const ct = classTarget(op, logProbs, target, o.ignoreIndex, false);
  checkClassWeight(op, o.weight, logProbs, ct.classes);
  return nllFromLogProbs(logProbs, ct, o.weight, o.reduction, 0);
}

/**
 * Cross entropy of logits, as `torch.nn.functional.cross_entropy` (torch 1.13): `input` holds
 * logits [C], [N,C] or [N,C,d1,...] (e.g. [N,C,H,W] for pixel-wise segmentation), normalised by a
 * stable `logSoftmax` over the class dim (dim 1, or 0 for [C]).
 *
 * `target` is either int32 class indices ([] / [N] / [N,d1,...]) or float class probabilities of
 * the input's shape.
 * - Indices: loss = −w[t]·log p_t, 0 where t = ignoreIndex; 'mean' divides by the total weight
 *   of the targets that are not ignored. With label smoothing ε the loss is
 *   (1 − ε)·nll + ε/C · Σ_c −w_c·log p_c, the second term reduced with the same denominator.
 * - Probabilities q (smoothed to q·(1 − ε) + ε/C): loss = −Σ_c w_c·q_c·log p_c; 'mean' divides by
 *   the number of elements N·d1·… (not by weights); ignoreIndex must stay negative.
 *
 * `weightMap` (index targets only, the target's shape) multiplies each element's class weight:
 * loss = −w[t]·m·log p_t, and 'mean' divides by Σ w[t]·m over the elements that count (with
 * no class weights and m ≡ 1 this is plain cross entropy).
 */
export function crossEntropy(input: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const op = 'crossEntropy';
  const o = validateLossOptions(op, 'crossEntropy', options);
  const { classDim, classes } = classDims(op, input);
  checkClassWeight(op, o.weight, input, classes);
  if (target instanceof Tensor && sameShape(target.shape, input.shape)) {
    // Class probabilities.
    if (o.weightMap) throw new NotSupportedError(op, `weightMap needs class-index targets; the target of shape ${fmtShape(target.shape)} holds class probabilities`);
    if (!isFloat(target.dtype)) {
      throw new DTypeError(op, `target of the input's shape ${fmtShape(input.shape)} holds class probabilities and must be a float tensor, got ${target.dtype}`);
    }
    if (o.ignoreIndex !== null && o.ignoreIndex >= 0) {
      throw new ArgumentError(op, `ignoreIndex ${o.ignoreIndex} cannot be used with class-probability targets (shape ${fmtShape(target.shape)}); it must stay negative`);
    }
    const logp = logSoftmax(input, classDim);
    const ls = o.labelSmoothing;
    const q = ls > 0 ? add(mul(target, 1 - ls), ls / classes) : target;
    let prod = mul(logp, q);
    if (o.weight) prod = mul(prod, classView(o.weight, input.ndim, classDim));
    const loss = neg(sum(prod, classDim));
    if (o.reduction === 'none') return loss;
    if (o.reduction === 'sum') return sum(loss);
    return div(sum(loss), input.size / classes);
  }
  const ct = classTarget(op, input, target, o.ignoreIndex, true);
  if (o.weightMap && !sameShape(o.weightMap.shape, ct.shape)) {
    throw new ShapeError(op, `weightMap has shape ${fmtShape(o.weightMap.shape)} but the target is ${fmtShape(ct.shape)} (input ${fmtShape(input.shape)}); it needs the target's shape`);
  }
  return nllFromLogProbs(logSoftmax(input, classDim), ct, o.weight, o.reduction, o.labelSmoothing, o.weightMap);
}

/** log(x) clamped below at −100 as torch's binary_cross_entropy; no NaN gradient at x = 0. */
function clampedLog(x: Tensor): Tensor {
  const pos = gt(x, 0);
  return where(pos, clamp(log(where(pos, x, 1)), -100), -100);
}

/**
 * Binary cross entropy of probabilities, as `torch.nn.functional.binary_cross_entropy`:
 * −w·(t·log p + (1 − t)·log(1 − p)), each log clamped at −100 (so p = 0 or 1 gives 100, not ∞).
 * `probs` must lie in [0, 1] and have the target's shape; `weight` broadcasts to it.
 * For p·(1 − p) < 1e-12 torch's backward clamps its denominator; here the gradient is the exact
 * derivative of the clamped formula instead (only the gradient differs, and only there).
 */
export function binaryCrossEntropy(probs: Tensor, target: Tensor, options: BCELossOptions = {}): Tensor {
  const op = 'binaryCrossEntropy';
  const o = validateLossOptions(op, 'binaryCrossEntropy', options);
  checkPair(op, probs, target);
  checkBroadcastTo(op, 'weight', o.weight, probs);
  for (let i = 0; i < probs.size; i++) {
    const v = probs.data[i];
    if (!(v >= 0 && v <= 1)) throw new ArgumentError(op, `input holds ${v} at flat position ${i}; probabilities must lie in [0, 1] (use bceWithLogits for logits)`);
  }
  let loss = neg(add(mul(target, clampedLog(probs)), mul(sub(1, target), clampedLog(sub(1, probs)))));
  if (o.weight) loss = mul(loss, o.weight);
  return reduce(loss, o.reduction);
}

/**
 * Binary cross entropy of logits x, as `torch.nn.functional.binary_cross_entropy_with_logits`:
 * w·[(1 − t)·x + (1 + (posWeight − 1)·t)·softplus(−x)], where softplus(−x) = −log σ(x) is computed
 * as m + log(e^(−m) + e^(−x−m)) with m = max(−x, 0): no overflow for any |x|.
 */
export function bceWithLogits(logits: Tensor, target: Tensor, options: BCEWithLogitsOptions = {}): Tensor {
  const op = 'bceWithLogits';
  const o = validateLossOptions(op, 'bceWithLogits', options);
  checkPair(op, logits, target);
  checkBroadcastTo(op, 'weight', o.weight, logits);
  checkBroadcastTo(op, 'posWeight', o.posWeight, logits);
  const x = logits;
  const m = noGrad(() => relu(neg(x))); // a constant shift: its gradient contributions cancel
  const softplusNeg = add(log(add(exp(neg(m)), exp(sub(neg(x), m)))), m);
  const logWeight = o.posWeight ? add(mul(sub(o.posWeight, 1), target), 1) : null;
  let loss = add(mul(sub(1, target), x), logWeight ? mul(logWeight, softplusNeg) : softplusNeg);
  if (o.weight) loss = mul(loss, o.weight);
  return reduce(loss, o.reduction);
}

// ---------------------------------------------------------------------------------------------
// Segmentation
// ---------------------------------------------------------------------------------------------

/**
 * Soft multi-class Dice loss for segmentation. `logits` is [N,C,d1,...] (e.g. [N,C,H,W]);
 * `target` holds int32 class indices [N,d1,...]. With p = softmax(logits, dim 1), t the one-hot
 * encoding of the target and S the spatial dims (d1,...; none for [N,C]), for every sample n and
 * class c:
 *
 *     dice[n,c] = (2·Σ_S p·t + smooth) / (Σ_S p + Σ_S t + smooth)
 *     loss[n]   = 1 − (1/C)·Σ_c dice[n,c]
 *
 * Pixels whose target equals `ignoreIndex` (if given) are left out of all three sums. 'none'
 * returns loss [N]; 'mean' and 'sum' reduce it over N.
 *
 * Variants: `includeBackground: false` averages over classes 1..C−1 only; `classIndex: k` takes
 * class k's Dice alone (`classIndex: 1` on two logits is the binary foreground Dice);
 * `batch: true` sums over the batch as well (dice[c] over N and S), giving one scalar
 * 1 − mean_c dice[c] whatever the reduction.
 */
export function diceLoss(logits: Tensor, target: Tensor, options: DiceLossOptions = {}): Tensor {
  const op = 'diceLoss';
  const o = validateLossOptions(op, 'diceLoss', options);
  expectFloatTensor(op, 'input', logits);
  if (logits.ndim < 2) throw new ShapeError(op, `input must be logits [N,C] or [N,C,d1,...], got shape ${fmtShape(logits.shape)}`);
  const ct = classTarget(op, logits, target, o.ignoreIndex, false);
  const [N, C] = logits.shape;
  const inner = sizeOf(logits.shape.slice(2));
  // One-hot target (0 at ignored pixels) and the mask of counted pixels, as constants.
  const oneHot = allocArray(op, logits.dtype, logits.shape);
  const t = target.data as Int32Array, valid = ct.valid.data;
  for (let n = 0; n < N; n++) {
    for (let s = 0; s < inner; s++) {
      const k = n * inner + s;
      if (valid[k]) oneHot[(n * C + t[k]) * inner + s] = 1;
    }
  }
  const tOne = tensor(oneHot, { shape: logits.shape });
  let p = softmax(logits, 1);
  if (o.ignoreIndex !== null && ct.valid.data.some((v) => v === 0)) {
    const maskShape = [...logits.shape];
    maskShape[1] = 1;
    p = mul(p, reshape(ct.valid.to(logits.dtype), maskShape));
  }
  // Sums over the spatial dims, and over the batch too with `batch`: dice is [N,C] or [C].
  const dims = [...Array(logits.ndim).keys()].filter((d) => d !== 1 && (o.batch || d !== 0));
  const spatial = (x: Tensor) => (dims.length ? sum(x, dims) : x);
  const intersection = spatial(mul(p, tOne));
  const denominator = add(add(spatial(p), spatial(tOne)), o.smooth);
  const dice = div(add(mul(intersection, 2), o.smooth), denominator);
  const classAxis = o.batch ? 0 : 1;
  let counted = dice;
  if (o.classIndex !== null) {
    if (o.classIndex >= C) throw new ArgumentError(op, `classIndex ${o.classIndex} is out of range for ${C} classes (input ${fmtShape(logits.shape)})`);
    counted = narrow(dice, classAxis, o.classIndex, 1);
  } else if (!o.includeBackground) {
    if (C < 2) throw new ArgumentError(op, `includeBackground: false leaves no class of the input's ${C} (input ${fmtShape(logits.shape)})`);
    counted = narrow(dice, classAxis, 1, C - 1);
  }
  const loss = sub(1, mean(counted, classAxis));
  return o.batch ? loss : reduce(loss, o.reduction);
}

export interface CEDiceLossOptions {
  /** Factor of the cross-entropy term (default 1). */
  ceWeight?: number;
  /** Factor of the Dice term (default 1). */
  diceWeight?: number;
  /** Options of the cross-entropy term (class weights, weightMap, ignoreIndex, ...); reduction 'mean' or 'sum'. */
  crossEntropy?: CrossEntropyOptions;
  /** Options of the Dice term (smooth, includeBackground, classIndex, batch, ...); reduction 'mean' or 'sum'. */
  dice?: DiceLossOptions;
}

/**
 * Cross entropy plus Dice, a common segmentation loss (CE for per-pixel calibration, Dice for
 * the overlap of small structures): ceWeight·crossEntropy(logits, target) + diceWeight·diceLoss(logits,
 * target), each with its own options. Both terms must reduce to a scalar.
 * @example ceDiceLoss(logits, masks, { dice: { includeBackground: false } })
 */
export function ceDiceLoss(logits: Tensor, target: Tensor, options: CEDiceLossOptions = {}): Tensor {
  const op = 'ceDiceLoss';
  const o = resolveOptions<Required<CEDiceLossOptions>>(op, options, { ceWeight: 1, diceWeight: 1, crossEntropy: {}, dice: {} }, ['ceWeight', 'diceWeight', 'crossEntropy', 'dice']);
  const ceWeight = checkNonNegative(op, 'ceWeight', o.ceWeight), diceWeight = checkNonNegative(op, 'diceWeight', o.diceWeight);
  for (const key of ['crossEntropy', 'dice'] as const) {
    if ((o[key] as ReductionOptions | undefined)?.reduction === 'none') throw new ArgumentError(op, `${key}.reduction must be 'mean' or 'sum': the two terms are added as scalars`);
  }
  return add(mul(crossEntropy(logits, target, o.crossEntropy), ceWeight), mul(diceLoss(logits, target, o.dice), diceWeight));
}
