/**
 * What one filter or class responds to: guided backprop from the strongest activation of a
 * channel, activation maximisation (regularised gradient ascent on the input, seeded), and the
 * first layer's filters as images.
 */
import { grad, withGradientRules } from '../autograd/engine.js';
import { ArgumentError, NotSupportedError, ShapeError, fmtShape } from '../errors.js';
import { Conv2d } from '../nn/layers/conv.js';
import { mean } from '../ops/reduce.js';
import { gather, reshape } from '../ops/shape.js';
import { rand } from '../creation.js';
import { Generator } from '../random.js';
import { blurWith } from '../data/transforms/kernels.js';
import { checkNonNegative, checkPositive, checkPositiveInt, resolveOptions } from '../options.js';
import { Tensor } from '../tensor.js';
import { GUIDED_RELU, batchSize as batchOf, findLayer, leafOf, targetScore, withExplainScope, withLayerOutput, type Classifier } from './common.js';

/**
 * The filters of a Conv2d (or a weight [O, I, kh, kw]) as O images [I, kh, kw] for I = 1 or 3
 * (gray or RGB), scaled together so that 0 is mid-grey: 0.5 + w / (2·max|w|). Other I: one
 * gray tile per (filter, input channel), filter-major.
 */
export function filterImages(convOrWeight: Conv2d | Tensor): Tensor[] {
  const op = 'filterImages';
  const w = convOrWeight instanceof Conv2d ? convOrWeight.weight.detach() : convOrWeight;
  if (!(w instanceof Tensor) || w.ndim !== 4) throw new ShapeError(op, `expected a Conv2d or a weight [O, I, kh, kw], got ${w instanceof Tensor ? fmtShape(w.shape) : typeof w}`);
  const [o, i, kh, kw] = w.shape;
  let peak = 0;
  for (const v of w.data) peak = Math.max(peak, Math.abs(v));
  const scaled = w.detach().mul(peak > 0 ? 0.5 / peak : 0).add(0.5);
  if (i === 1 || i === 3) return Array.from({ length: o }, (_, k) => scaled.narrow(0, k, 1).reshape(i, kh, kw));
  return Array.from({ length: o * i }, (_, k) => scaled.reshape(o * i, 1, kh, kw).narrow(0, k, 1).reshape(1, kh, kw));
}

/** The first Conv2d of a model (in `namedModules` order). */
export function firstConv(model: Classifier): Conv2d {
  const conv = model.modules().find((m): m is Conv2d => m instanceof Conv2d);
  if (!conv) throw new ArgumentError('firstConv', 'the model has no Conv2d layer');
  return conv;
}

/**
 * Guided backprop from one channel of a layer, as in the course's filter visualisation: for each
 * input, the channel (`channel`, or the one with the largest activation anywhere) at its strongest
 * position; the gradient of that one activation with respect to the input under guided relu.
 * One forward and one backward pass for the batch.
 */
export function channelGuidedBackprop(model: Classifier, input: Tensor, options: { layer: string; channel?: number }): { attributions: Tensor; channels: number[] } {
  const op = 'channelGuidedBackprop';
  const o = resolveOptions<{ layer: string; channel?: number }>(op, options, {}, ['layer', 'channel']);
  const n = batchOf(op, input);
  const layer = findLayer(op, model, o.layer);
  return withExplainScope(model, () => withLayerOutput(op, layer, false, (take) => withGradientRules(GUIDED_RELU, () => {
    const x = leafOf(input);
    model.forward(x);
    const a = take();
    if (a.ndim !== 4) throw new ShapeError(op, `layer '${o.layer}' is not spatial: its output has shape ${fmtShape(a.shape)}`);
    const [, c, h, w] = a.shape, plane = h * w;
    if (o.channel !== undefined && (!Number.isInteger(o.channel) || o.channel < 0 || o.channel >= c)) {
      throw new ArgumentError(op, `channel must be an integer in [0, ${c}) for layer '${o.layer}', got ${o.channel}`);
    }
    // Per input: the channel and the flat index of the strongest activation.
    const picks: number[] = [], channels: number[] = [];
    for (let i = 0; i < n; i++) {
      let best = -Infinity, at = 0, ch = 0;
      for (let k = o.channel ?? 0; k < (o.channel === undefined ? c : o.channel + 1); k++) {
        for (let j = 0; j < plane; j++) {
          const v = a.data[(i * c + k) * plane + j];
          if (v > best) { best = v; at = k * plane + j; ch = k; }
        }
      }
      picks.push(at);
      channels.push(ch);
    }
    const chosen = gather(reshape(a, [n, c * plane]), 1, new Tensor(Int32Array.from(picks), [n, 1]));
    const [g] = grad(chosen.sum(), [x], { allowUnused: true });
    return { attributions: g ?? x.detach().mul(0), channels };
  })));
}

export interface ActivationMaximizationOptions {
  /** One input's shape [C, H, W]. */
  shape: readonly number[];
  /** Maximise this class's logit... */
  target?: number;
  /** ...or the mean activation of `channel` in `layer`. */
  layer?: string;
  channel?: number;
  /** Ascent steps. Default 100. */
  steps?: number;
  /** Step size, in units of the input range per step (the gradient is scaled to max |g| = 1). Default 0.05. */
  lr?: number;
  /** L2 decay: x ← (1 − l2Decay)·x after each step. Default 0.01. */
  l2Decay?: number;
  /** Random shift of up to ± this many pixels (wrapping round) before each step. Default 1. */
  jitter?: number;
  /** Gaussian blur every this many steps (0: never). Default 4. */
  blurEvery?: number;
  /** The blur's sigma in pixels. Default 0.5. */
  blurSigma?: number;
  /** Values are clipped to this range after each step. Default [0, 1]. */
  range?: readonly [number, number];
  /** Seed of the starting noise and the jitter. Default 0. */
  seed?: number;
}

/**
 * Activation maximisation (Erhan et al.; Yosinski et al.'s regularisers): gradient ascent on one
 * input for a class logit or a channel's mean activation, starting from low-contrast noise, with
 * L2 decay, jitter, periodic blur and clipping. Deterministic for a seed. Returns the image
 * [1, C, H, W] and the objective at each step (before that step's update).
 */
export function activationMaximization(model: Classifier, options: ActivationMaximizationOptions): { image: Tensor; objective: number[] } {
  const op = 'activationMaximization';
  const o = resolveOptions<ActivationMaximizationOptions & Required<Pick<ActivationMaximizationOptions, 'steps' | 'lr' | 'l2Decay' | 'jitter' | 'blurEvery' | 'blurSigma' | 'range' | 'seed'>>>(op, options,
    { steps: 100, lr: 0.05, l2Decay: 0.01, jitter: 1, blurEvery: 4, blurSigma: 0.5, range: [0, 1], seed: 0 },
    ['shape', 'target', 'layer', 'channel', 'steps', 'lr', 'l2Decay', 'jitter', 'blurEvery', 'blurSigma', 'range', 'seed']);
  if (!Array.isArray(o.shape) || o.shape.length !== 3 || !o.shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new ArgumentError(op, `shape must be [C, H, W] of positive integers, got ${JSON.stringify(o.shape)}`);
  }
  if ((o.target === undefined) === (o.layer === undefined)) throw new ArgumentError(op, 'give either target (a class) or layer and channel');
  if (o.layer !== undefined && !Number.isInteger(o.channel)) throw new ArgumentError(op, `channel must be an integer with layer, got ${o.channel}`);
  const steps = checkPositiveInt(op, 'steps', o.steps);
  checkPositive(op, 'lr', o.lr);
  checkNonNegative(op, 'l2Decay', o.l2Decay);
  checkNonNegative(op, 'blurEvery', o.blurEvery);
  checkPositive(op, 'blurSigma', o.blurSigma);
  if (!Number.isInteger(o.jitter) || o.jitter < 0) throw new ArgumentError(op, `jitter must be a non-negative integer, got ${o.jitter}`);
  const [lo, hi] = o.range;
  if (!(lo < hi)) throw new ArgumentError(op, `range must be [low, high] with low < high, got ${JSON.stringify(o.range)}`);
  const [c, h, w] = o.shape;
  const gen = new Generator(o.seed);
  // Low-contrast noise around the middle of the range.
  let x = rand([1, c, h, w], { generator: gen }).sub(0.5).mul(0.2 * (hi - lo)).add((lo + hi) / 2);
  const blurSize = 2 * Math.ceil(2 * o.blurSigma) + 1;
  const objective: number[] = [];
  const layer = o.layer === undefined ? null : findLayer(op, model, o.layer);
  const score = (input: Tensor, take: (() => Tensor) | null): Tensor => {
    const out = model.forward(input);
    if (!take) return targetScore(op, out, [o.target!]);
    const a = take();
    if (a.ndim < 2 || o.channel! < 0 || o.channel! >= a.shape[1]) throw new ArgumentError(op, `channel ${o.channel} is out of range for layer '${o.layer}' with output ${fmtShape(a.shape)}`);
    return mean(a.narrow(1, o.channel!, 1));
  };
  const ascend = (take: (() => Tensor) | null) => {
    for (let s = 0; s < steps; s++) {
      const dy = o.jitter ? gen.integer(-o.jitter, o.jitter + 1) : 0, dx = o.jitter ? gen.integer(-o.jitter, o.jitter + 1) : 0;
      const shifted = leafOf(roll(x, dy, dx));
      const y = score(shifted, take);
      objective.push(y.item());
      const [g] = grad(y, [shifted], { allowUnused: true });
      if (!g) throw new NotSupportedError(op, 'the objective does not depend on the input');
      let peak = 0;
      for (const v of g.data) peak = Math.max(peak, Math.abs(v));
      let next = shifted.detach().add(g.mul(peak > 0 ? o.lr * (hi - lo) / peak : 0)).mul(1 - o.l2Decay);
      next = roll(next, -dy, -dx);
      if (o.blurEvery && (s + 1) % o.blurEvery === 0 && Math.min(h, w) > blurSize / 2) next = blurWith(op, next, blurSize, o.blurSigma);
      x = next.clamp(lo, hi);
    }
  };
  withExplainScope(model, () => (layer ? withLayerOutput(op, layer, false, (take) => ascend(take)) : ascend(null)));
  return { image: x, objective };
}

/** x [1, C, H, W] shifted by (dy, dx) pixels with wrap-around. */
function roll(x: Tensor, dy: number, dx: number): Tensor {
  if (!dy && !dx) return x;
  const [, c, h, w] = x.shape;
  const out = new Float32Array(x.size);
  for (let k = 0; k < c; k++) {
    for (let i = 0; i < h; i++) {
      const si = (((i - dy) % h) + h) % h;
      for (let j = 0; j < w; j++) out[(k * h + i) * w + j] = x.data[(k * h + si) * w + ((((j - dx) % w) + w) % w)];
    }
  }
  return new Tensor(out, x.shape);
}
