/**
 * Attribution methods with Captum's semantics (camelCase names): each takes a classifier, a batch
 * of inputs [N, ...] and one target class per input (or one for all), and returns a tensor of the
 * input's shape. The model runs in evaluation mode with its parameters frozen for the call; its
 * mode and every parameter's `.grad` are as they were afterwards. Methods that need many passes
 * (SmoothGrad, integrated gradients, occlusion) stack them into batches of `batchSize` images.
 */
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { noGrad } from '../autograd/grad-mode.js';
import { grad } from '../autograd/engine.js';
import { abs, add, mul, relu, sub, square } from '../ops/elementwise.js';
import { concat, expand, reshape } from '../ops/shape.js';
import { mean, sum } from '../ops/reduce.js';
import { matmul } from '../ops/matmul.js';
import { interpolate } from '../ops/pool.js';
import { full, randn, zeros } from '../creation.js';
import { defaultGenerator, type Generator } from '../random.js';
import { checkBoolean, checkNonNegative, checkOneOf, checkPositiveInt, resolveOptions } from '../options.js';
import { Tensor } from '../tensor.js';
import {
  DECONV_RELU, GUIDED_RELU, batchSize as batchOf, convLayerNames, findLayer, inputGradient, resolveTargets,
  targetScore, targetScores, withExplainScope, withLayerOutput, type Classifier, type Target,
} from './common.js';

// ------------------------------------------------------------------ gradients

export interface SaliencyOptions {
  /** |∂y_c/∂x| (Captum's default) instead of the signed gradient. Default true. */
  abs?: boolean;
}

/**
 * Saliency (Simonyan et al.): the gradient of each input's target score with respect to the input,
 * in absolute value by default. One forward and one backward pass for the batch.
 * @example const map = explain.saliency(model, images, [3, 7]); // [2, 1, 28, 28]
 */
export function saliency(model: Classifier, input: Tensor, target: Target, options: SaliencyOptions = {}): Tensor {
  const op = 'saliency';
  const o = resolveOptions<Required<SaliencyOptions>>(op, options, { abs: true }, ['abs']);
  checkBoolean(op, 'abs', o.abs);
  const targets = resolveTargets(op, target, batchOf(op, input));
  const g = withExplainScope(model, () => inputGradient(op, model, input, targets));
  return o.abs ? abs(g) : g;
}

/** Input × gradient: the first-order Taylor term of each input's target score. */
export function inputXGradient(model: Classifier, input: Tensor, target: Target): Tensor {
  const op = 'inputXGradient';
  const targets = resolveTargets(op, target, batchOf(op, input));
  return mul(input.detach(), withExplainScope(model, () => inputGradient(op, model, input, targets)));
}

/**
 * Guided backpropagation: the input gradient with every `relu` (layer or functional call) passing
 * only positive gradients where its input was positive. See `GUIDED_RELU` for what is covered.
 */
export function guidedBackprop(model: Classifier, input: Tensor, target: Target): Tensor {
  const op = 'guidedBackprop';
  const targets = resolveTargets(op, target, batchOf(op, input));
  return withExplainScope(model, () => inputGradient(op, model, input, targets, GUIDED_RELU));
}

/** Deconvolution (Zeiler & Fergus): the input gradient with every `relu` passing the positive part of its gradient. */
export function deconvolution(model: Classifier, input: Tensor, target: Target): Tensor {
  const op = 'deconvolution';
  const targets = resolveTargets(op, target, batchOf(op, input));
  return withExplainScope(model, () => inputGradient(op, model, input, targets, DECONV_RELU));
}

// ------------------------------------------------------------------ batched passes

/** The input gradients of many inputs [M, ...] with their targets, `size` images per pass. */
function chunkedGradients(op: string, model: Classifier, inputs: Tensor, targets: readonly number[], size: number): Tensor {
  const m = inputs.shape[0];
  if (m <= size) return inputGradient(op, model, inputs, targets);
  const parts: Tensor[] = [];
  for (let s = 0; s < m; s += size) {
    const len = Math.min(size, m - s);
    parts.push(inputGradient(op, model, inputs.narrow(0, s, len), targets.slice(s, s + len)));
  }
  return concat(parts, 0);
}

/** Σ_k w[k] · g[k] over the leading `k` blocks of g [k·N, ...], as [N, ...]. */
function weightedBlocks(g: Tensor, w: readonly number[], n: number): Tensor {
  const k = w.length;
  const rest = g.shape.slice(1);
  const flat = reshape(g, [k, g.size / k]);
  return reshape(matmul(new Tensor(g.dtype === 'float64' ? Float64Array.from(w) : Float32Array.from(w), [1, k]), flat), [n, ...rest]);
}

/** `value` (a number or a tensor broadcastable to the input) as a tensor of the input's shape. */
function broadcastTo(op: string, name: string, value: number | Tensor, input: Tensor): Tensor {
  if (typeof value === 'number') return full(input.shape, value, { dtype: input.dtype });
  if (!(value instanceof Tensor)) throw new ArgumentError(op, `${name} must be a number or a Tensor`);
  try {
    return expand(value.detach().to(input.dtype), input.shape);
  } catch {
    throw new ShapeError(op, `${name} of shape ${fmtShape(value.shape)} does not broadcast to the input's shape ${fmtShape(input.shape)}`);
  }
}

// ------------------------------------------------------------------ SmoothGrad

export interface SmoothGradOptions {
  /** Noisy copies per input. Default 50. */
  samples?: number;
  /** Noise σ as a fraction of each input's value range, max − min (the paper's "noise level"). Default 0.15. */
  noiseLevel?: number;
  /** Noise σ in input units (Captum's `stdevs`); overrides `noiseLevel`. */
  stdev?: number;
  /** Average squared gradients (SmoothGrad², Captum's 'smoothgrad_sq'). Default false. */
  squared?: boolean;
  /** Average |gradient| (as Captum's NoiseTunnel over Saliency). Default true; ignored when squared. */
  abs?: boolean;
  /** Images per forward/backward pass. Default 512. */
  batchSize?: number;
  generator?: Generator;
}

/**
 * SmoothGrad (Smilkov et al.): the gradient averaged over `samples` copies of each input with
 * Gaussian noise added; all copies go through in batches of `batchSize`, not one by one.
 */
export function smoothGrad(model: Classifier, input: Tensor, target: Target, options: SmoothGradOptions = {}): Tensor {
  const op = 'smoothGrad';
  const o = resolveOptions<SmoothGradOptions & { samples: number; noiseLevel: number; squared: boolean; abs: boolean; batchSize: number }>(op, options,
    { samples: 50, noiseLevel: 0.15, squared: false, abs: true, batchSize: 512 }, ['samples', 'noiseLevel', 'stdev', 'squared', 'abs', 'batchSize', 'generator']);
  const samples = checkPositiveInt(op, 'samples', o.samples);
  checkNonNegative(op, 'noiseLevel', o.noiseLevel);
  if (o.stdev !== undefined) checkNonNegative(op, 'stdev', o.stdev);
  checkBoolean(op, 'squared', o.squared);
  checkBoolean(op, 'abs', o.abs);
  const size = checkPositiveInt(op, 'batchSize', o.batchSize);
  const n = batchOf(op, input);
  const targets = resolveTargets(op, target, n);
  const x = input.detach();
  const per = x.size / n;
  // Sample-major copies: row i·S + s is input i with noise draw s.
  const noisy = randn([n * samples, ...x.shape.slice(1)], { dtype: x.dtype, generator: o.generator ?? defaultGenerator });
  const d = noisy.data, src = x.data;
  for (let i = 0; i < n; i++) {
    let sigma = o.stdev;
    if (sigma === undefined) {
      let lo = Infinity, hi = -Infinity;
      for (let j = i * per; j < (i + 1) * per; j++) { lo = Math.min(lo, src[j]); hi = Math.max(hi, src[j]); }
      sigma = o.noiseLevel * (hi - lo);
    }
    for (let s = 0; s < samples; s++) {
      const base = (i * samples + s) * per;
      for (let j = 0; j < per; j++) d[base + j] = src[i * per + j] + sigma * d[base + j];
    }
  }
  const copyTargets = targets.flatMap((t) => new Array<number>(samples).fill(t));
  let g = withExplainScope(model, () => chunkedGradients(op, model, noisy, copyTargets, size));
  g = o.squared ? square(g) : o.abs ? abs(g) : g;
  return mean(reshape(g, [n, samples, ...x.shape.slice(1)]), 1);
}

// ------------------------------------------------------------------ integrated gradients

export const INTEGRATION_METHODS = ['riemannLeft', 'riemannRight', 'riemannMiddle', 'riemannTrapezoid', 'gaussLegendre'] as const;
export type IntegrationMethod = (typeof INTEGRATION_METHODS)[number];

/**
 * The points α_k in [0, 1] and weights w_k of a quadrature rule for ∫₀¹ f(α) dα ≈ Σ w_k f(α_k),
 * as Captum's approximation_methods (Gauss–Legendre nodes by Newton's method on P_n).
 */
export function integrationRule(method: IntegrationMethod, steps: number): { alphas: number[]; weights: number[] } {
  const op = 'integrationRule';
  checkOneOf(op, 'method', method, INTEGRATION_METHODS);
  checkPositiveInt(op, 'steps', steps);
  const n = steps;
  const range = (f: (k: number) => number) => Array.from({ length: n }, (_, k) => f(k));
  switch (method) {
    case 'riemannLeft': return { alphas: range((k) => k / n), weights: range(() => 1 / n) };
    case 'riemannRight': return { alphas: range((k) => (k + 1) / n), weights: range(() => 1 / n) };
    case 'riemannMiddle': return { alphas: range((k) => (k + 0.5) / n), weights: range(() => 1 / n) };
    case 'riemannTrapezoid': {
      if (n < 2) throw new ArgumentError(op, `the trapezoid rule needs at least 2 steps, got ${n}`);
      return { alphas: range((k) => k / (n - 1)), weights: range((k) => (k === 0 || k === n - 1 ? 0.5 : 1) / (n - 1)) };
    }
    case 'gaussLegendre': {
      const alphas: number[] = [], weights: number[] = [];
      for (let i = 0; i < n; i++) {
        let z = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5)), dp = 0;
        for (let it = 0; it < 100; it++) {
          // P_n(z) by the three-term recurrence, and its derivative.
          let p0 = 1, p1 = z;
          for (let j = 2; j <= n; j++) [p0, p1] = [p1, ((2 * j - 1) * z * p1 - (j - 1) * p0) / j];
          dp = (n * (z * p1 - p0)) / (z * z - 1);
          const dz = p1 / dp;
          z -= dz;
          if (Math.abs(dz) < 1e-15) break;
        }
        alphas.push((1 - z) / 2);
        weights.push(1 / ((1 - z * z) * dp * dp));
      }
      return { alphas, weights };
    }
  }
}

export interface IntegratedGradientsOptions {
  /** The reference input: a number or a tensor broadcastable to the input. Default 0. */
  baseline?: number | Tensor;
  /** Points on the path. Default 50. */
  steps?: number;
  /** Quadrature rule. Default 'gaussLegendre' (as Captum). */
  method?: IntegrationMethod;
  /** Images per forward/backward pass. Default 512. */
  batchSize?: number;
  /** Also return the completeness residual Σ attributions − (f(x) − f(baseline)) per input. */
  returnConvergenceDelta?: boolean;
}

/**
 * Integrated gradients (Sundararajan et al.): (x − x′) · ∫₀¹ ∂y_c/∂x (x′ + α(x − x′)) dα by the
 * chosen rule; every path point of every input goes through in batches. With
 * `returnConvergenceDelta`, also the residual of completeness per input (Captum's delta).
 * @example const { attributions, delta } = explain.integratedGradients(model, x, 3, { returnConvergenceDelta: true });
 */
export function integratedGradients(model: Classifier, input: Tensor, target: Target, options: IntegratedGradientsOptions & { returnConvergenceDelta: true }): { attributions: Tensor; delta: Tensor };
export function integratedGradients(model: Classifier, input: Tensor, target: Target, options?: IntegratedGradientsOptions): Tensor;
export function integratedGradients(model: Classifier, input: Tensor, target: Target, options: IntegratedGradientsOptions = {}): Tensor | { attributions: Tensor; delta: Tensor } {
  const op = 'integratedGradients';
  const o = resolveOptions<Required<IntegratedGradientsOptions>>(op, options, { baseline: 0, steps: 50, method: 'gaussLegendre', batchSize: 512, returnConvergenceDelta: false },
    ['baseline', 'steps', 'method', 'batchSize', 'returnConvergenceDelta']);
  const steps = checkPositiveInt(op, 'steps', o.steps);
  const method = checkOneOf(op, 'method', o.method, INTEGRATION_METHODS);
  const size = checkPositiveInt(op, 'batchSize', o.batchSize);
  checkBoolean(op, 'returnConvergenceDelta', o.returnConvergenceDelta);
  const n = batchOf(op, input);
  const targets = resolveTargets(op, target, n);
  const x = input.detach();
  const base = broadcastTo(op, 'baseline', o.baseline, x);
  const diff = sub(x, base);
  const { alphas, weights } = integrationRule(method, steps);
  // Whole steps per pass (each pass holds every input at k path points).
  const perPass = Math.max(1, Math.floor(size / n));
  const { attributions, delta } = withExplainScope(model, () => {
    let total: Tensor | null = null;
    for (let s = 0; s < steps; s += perPass) {
      const a = alphas.slice(s, s + perPass), w = weights.slice(s, s + perPass);
      const points = concat(a.map((alpha) => add(base, mul(diff, alpha))), 0);
      const g = inputGradient(op, model, points, a.flatMap(() => targets));
      const part = weightedBlocks(g, w, n);
      total = total ? add(total, part) : part;
    }
    const attr = mul(total!, diff);
    if (!o.returnConvergenceDelta) return { attributions: attr, delta: null };
    const scores = noGrad(() => targetScores(op, model.forward(concat([x, base], 0)), [...targets, ...targets]));
    const gap = sub(scores.narrow(0, 0, n), scores.narrow(0, n, n));
    return { attributions: attr, delta: sub(sum(reshape(attr, [n, -1]), 1), gap) };
  });
  return delta ? { attributions, delta } : attributions;
}

// ------------------------------------------------------------------ Grad-CAM

export interface GradCamOptions {
  /** The layer (a dotted module name, e.g. 'conv2' or 'features.3'). Default: the last Conv2d. */
  layer?: string;
  /** ReLU of the weighted sum (Grad-CAM as published; Captum's `relu_attributions`). Default true. */
  relu?: boolean;
  /**
   * Resize the map bilinearly to the input's height and width and repeat it over the input's
   * channels, giving the input's shape. Default true; false gives the layer's map [N, 1, h, w].
   */
  upsample?: boolean;
}

/** The layer named in the options, or the model's last convolution. */
function camLayer(op: string, model: Classifier, layer: string | undefined): string {
  if (layer !== undefined) return layer;
  const convs = convLayerNames(model);
  if (!convs.length) throw new ArgumentError(op, 'the model has no Conv2d layer; name a spatial layer with the layer option');
  return convs[convs.length - 1];
}

/**
 * Grad-CAM (Selvaraju et al.): the layer's activation maps A_k weighted by the spatial mean of
 * ∂y_c/∂A_k, summed over k, through a ReLU, then upsampled bilinearly to the input (Captum's
 * LayerGradCam + LayerAttribution.interpolate). The backward pass stops at the layer.
 */
export function gradCam(model: Classifier, input: Tensor, target: Target, options: GradCamOptions = {}): Tensor {
  const op = 'gradCam';
  const o = resolveOptions<GradCamOptions & { relu: boolean; upsample: boolean }>(op, options, { relu: true, upsample: true }, ['layer', 'relu', 'upsample']);
  checkBoolean(op, 'relu', o.relu);
  checkBoolean(op, 'upsample', o.upsample);
  const n = batchOf(op, input);
  const targets = resolveTargets(op, target, n);
  const name = camLayer(op, model, o.layer);
  const layer = findLayer(op, model, name);
  const cam = withExplainScope(model, () => withLayerOutput(op, layer, true, (take) => {
    const out = model.forward(input.detach());
    const a = take();
    if (a.ndim !== 4) throw new ShapeError(op, `layer '${name}' is not spatial: its output has shape ${fmtShape(a.shape)}, Grad-CAM needs [N, C, H, W]`);
    const [g] = grad(targetScore(op, out, targets), [a], { allowUnused: true });
    const alpha = g ? mean(g, [2, 3], true) : zeros([n, a.shape[1], 1, 1], { dtype: a.dtype });
    const map = sum(mul(a.detach(), alpha), 1, true);
    return o.relu ? relu(map) : map;
  }));
  if (!o.upsample) return cam;
  if (input.ndim !== 4) throw new ShapeError(op, `upsampling needs images [N, C, H, W], got input shape ${fmtShape(input.shape)}; pass upsample: false for the layer's map`);
  const [, c, h, w] = input.shape;
  const up = interpolate(cam, { size: [h, w], mode: 'bilinear' });
  return c === 1 ? up : expand(up, input.shape);
}

/**
 * Guided Grad-CAM: guided backpropagation times the (ReLU'd, bilinearly upsampled) Grad-CAM map,
 * as Captum's GuidedGradCam (which upsamples with 'nearest' by default).
 */
export function guidedGradCam(model: Classifier, input: Tensor, target: Target, options: { layer?: string } = {}): Tensor {
  const op = 'guidedGradCam';
  const o = resolveOptions<{ layer?: string }>(op, options, {}, ['layer']);
  batchOf(op, input);
  if (input.ndim !== 4) throw new ShapeError(op, `input must be images [N, C, H, W], got shape ${fmtShape(input.shape)}`);
  const cam = gradCam(model, input, target, { layer: o.layer, upsample: false });
  const [, , h, w] = input.shape;
  return mul(guidedBackprop(model, input, target), interpolate(cam, { size: [h, w], mode: 'bilinear' }));
}

// ------------------------------------------------------------------ occlusion

export interface OcclusionOptions {
  /**
   * The occluding patch over one input's dims ([C, H, W] for images). Shorter lists cover the
   * trailing dims and span the leading ones whole: 4 or [4, 4] is a 4×4 patch over all channels.
   */
  window: number | readonly number[];
  /** The patch's step, per dim (same rules; leading dims get 1). Default 1. */
  stride?: number | readonly number[];
  /** The value put in the patch: a number or a tensor broadcastable to the input. Default 0. */
  baseline?: number | Tensor;
  /** Images per forward pass. Default 256. */
  batchSize?: number;
}

/** A per-dim list of `rank` values from a number or a list for the trailing dims. */
function perDim(op: string, name: string, v: number | readonly number[], rank: number, lead: (d: number) => number): number[] {
  const list = typeof v === 'number' ? new Array<number>(name === 'window' ? Math.min(2, rank) : rank).fill(v) : Array.isArray(v) ? [...v] : [];
  if (list.length > rank || list.length === 0) throw new ArgumentError(op, `${name} must be a number or 1 to ${rank} numbers, got ${JSON.stringify(v)}`);
  const full = [...Array.from({ length: rank - Math.min(list.length, rank) }, (_, d) => lead(d)), ...list.slice(-rank)];
  full.forEach((k) => checkPositiveInt(op, name, k));
  return full;
}

/**
 * Occlusion (Zeiler & Fergus; Captum's Occlusion): slide a patch of `baseline` values over each
 * input; every position covered gets f(x) − f(x with the patch) for the target class, averaged
 * over the patches that covered it (positions no patch covers get 0). Forward passes only.
 */
export function occlusion(model: Classifier, input: Tensor, target: Target, options: OcclusionOptions): Tensor {
  const op = 'occlusion';
  const o = resolveOptions<OcclusionOptions & { stride: number | number[]; baseline: number | Tensor; batchSize: number }>(op, options,
    { stride: 1, baseline: 0, batchSize: 256 }, ['window', 'stride', 'baseline', 'batchSize']);
  if (o.window === undefined) throw new ArgumentError(op, 'window is required (e.g. { window: [4, 4] })');
  const n = batchOf(op, input);
  const targets = resolveTargets(op, target, n);
  const dims = input.shape.slice(1), rank = dims.length;
  const window = perDim(op, 'window', o.window, rank, (d) => dims[d]);
  const stride = perDim(op, 'stride', o.stride, rank, () => 1);
  const size = checkPositiveInt(op, 'batchSize', o.batchSize);
  window.forEach((k, d) => { if (k > dims[d]) throw new ShapeError(op, `window ${JSON.stringify(window)} is larger than the input ${fmtShape(dims)} in dim ${d + 1}`); });
  const x = input.detach();
  const base = broadcastTo(op, 'baseline', o.baseline, x).data;
  const counts = window.map((k, d) => Math.floor((dims[d] - k) / stride[d]) + 1);
  const positions = counts.reduce((a, b) => a * b, 1);
  const per = x.size / n;
  const strides = dims.map((_, d) => dims.slice(d + 1).reduce((a, b) => a * b, 1));
  // The flat offsets (within one input) of the patch at position p.
  const patch = (p: number): number[] => {
    const start = counts.map(() => 0);
    for (let d = rank - 1, q = p; d >= 0; d--) { start[d] = (q % counts[d]) * stride[d]; q = Math.floor(q / counts[d]); }
    let offs = [0];
    for (let d = 0; d < rank; d++) {
      const next: number[] = [];
      for (const off of offs) for (let j = 0; j < window[d]; j++) next.push(off + (start[d] + j) * strides[d]);
      offs = next;
    }
    return offs;
  };
  const total = new Float64Array(x.size), covered = new Float64Array(x.size);
  withExplainScope(model, () => noGrad(() => {
    const full = targetScores(op, model.forward(x), targets).data;
    const jobs: [number, number][] = [];
    for (let p = 0; p < positions; p++) for (let i = 0; i < n; i++) jobs.push([i, p]);
    for (let s = 0; s < jobs.length; s += size) {
      const chunk = jobs.slice(s, s + size);
      const batch = zeros([chunk.length, ...dims], { dtype: x.dtype });
      const offsets = chunk.map(([, p]) => patch(p));
      chunk.forEach(([i], k) => {
        batch.data.set(x.data.subarray(i * per, (i + 1) * per), k * per);
        for (const off of offsets[k]) batch.data[k * per + off] = base[i * per + off];
      });
      const scores = targetScores(op, model.forward(batch), chunk.map(([i]) => targets[i])).data;
      chunk.forEach(([i], k) => {
        const drop = full[i] - scores[k];
        for (const off of offsets[k]) { total[i * per + off] += drop; covered[i * per + off] += 1; }
      });
    }
  }));
  const out = zeros(x.shape, { dtype: x.dtype });
  for (let j = 0; j < x.size; j++) out.data[j] = covered[j] ? total[j] / covered[j] : 0;
  return out;
}
