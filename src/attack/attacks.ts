/**
 * Gradient attacks with torchattacks' semantics: FGSM, BIM (I-FGSM), PGD (L∞) and PGD-L2, each
 * untargeted (raise the loss of the true class) or targeted (lower the loss of a target class).
 *
 * Images are pixels in [0, 1] and the ε-ball is measured in pixels. A model that expects
 * normalised input gets `normalize: { mean, std }`: the attack normalises right before the model,
 * so the gradient flows back to pixel space (torchattacks' `set_normalization_used`).
 *
 * The model runs in eval mode during the attack (as torchattacks' default); every module's mode,
 * every parameter's `requiresGrad` and `.grad` are as before afterwards.
 */
import { enableGrad, noGrad } from '../autograd/grad-mode.js';
import { grad } from '../autograd/engine.js';
import { rand, randn, full } from '../creation.js';
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { isFloat } from '../dtype.js';
import { crossEntropy } from '../nn/functional/loss.js';
import type { Module } from '../nn/module.js';
import { checkKeys, checkNonNegative, checkPositive, checkPositiveInt, checkBoolean, fmtValue } from '../options.js';
import { defaultGenerator, Generator } from '../random.js';
import { Tensor } from '../tensor.js';
import { div, where } from '../ops/elementwise.js';

/** A classifier: images [N, ...] → logits [N, classes]. */
export type Classifier = Module<[Tensor], Tensor>;

/** The model's input normalisation, (pixel − mean) / std per channel (one value, or one per channel). */
export interface Normalization {
  mean: number | readonly number[];
  std: number | readonly number[];
}

export interface AttackOptions {
  /** Radius of the perturbation in pixels (L∞ for fgsm/bim/pgd, L2 per image for pgdL2). */
  eps?: number;
  /**
   * Targeted attack: the class each image is pushed towards (one for all, or an int32 tensor [N]);
   * the step descends that class's cross-entropy instead of ascending the true class's.
   */
  target?: number | Tensor;
  /** The model's input normalisation, applied between the pixels and the model. */
  normalize?: Normalization;
}

export interface IterativeOptions extends AttackOptions {
  /** Step size in pixels. */
  alpha?: number;
  /** Number of steps (≥ 1). */
  steps?: number;
}

export interface PgdOptions extends IterativeOptions {
  /** Start from a random point of the ε-ball (uniform in the L∞ cube; for L2, uniform radius along a Gaussian direction). */
  randomStart?: boolean;
  /** Draws the random start; the default generator otherwise (see `manualSeed`). */
  generator?: Generator;
}

export type AttackMethod = 'fgsm' | 'bim' | 'pgd' | 'pgdL2';
export const ATTACK_METHODS: readonly AttackMethod[] = ['fgsm', 'bim', 'pgd', 'pgdL2'];

/** torchattacks' defaults (8/255 and 2/255 for the L∞ attacks, 1.0 and 0.2 for L2), 10 steps. */
const DEFAULTS: Record<AttackMethod, { eps: number; alpha: number; steps: number; randomStart: boolean }> = {
  fgsm: { eps: 8 / 255, alpha: 8 / 255, steps: 1, randomStart: false },
  bim: { eps: 8 / 255, alpha: 2 / 255, steps: 10, randomStart: false },
  pgd: { eps: 8 / 255, alpha: 2 / 255, steps: 10, randomStart: true },
  pgdL2: { eps: 1, alpha: 0.2, steps: 10, randomStart: true },
};
const KNOWN: Record<AttackMethod, readonly string[]> = {
  fgsm: ['eps', 'target', 'normalize'],
  bim: ['eps', 'alpha', 'steps', 'target', 'normalize'],
  pgd: ['eps', 'alpha', 'steps', 'target', 'normalize', 'randomStart', 'generator'],
  pgdL2: ['eps', 'alpha', 'steps', 'target', 'normalize', 'randomStart', 'generator'],
};

/** The checked arguments of one attack run. */
interface Setup {
  op: string;
  norm: 'linf' | 'l2';
  eps: number;
  alpha: number;
  steps: number;
  randomStart: boolean;
  generator: Generator;
  images: Tensor;
  labels: Tensor;
  target: Tensor | null;
  toInput: (x: Tensor) => Tensor;
}

function channelValues(op: string, name: string, v: number | readonly number[], channels: number, positive: boolean): Tensor {
  const values = typeof v === 'number' ? [v] : Array.isArray(v) ? [...v] : null;
  if (!values || values.some((x) => !Number.isFinite(x) || (positive && x <= 0))) {
    throw new ArgumentError(op, `normalize.${name} must be ${positive ? 'a positive number' : 'a number'} or one per channel, got ${fmtValue(v)}`);
  }
  if (values.length !== 1 && values.length !== channels) {
    throw new ShapeError(op, `normalize.${name} has ${values.length} values but the images have ${channels} channels`);
  }
  // [C,1,1] broadcasts over [N,C,H,W]; one value broadcasts over anything.
  return values.length === 1 ? full([1], values[0]) : new Tensor(Float32Array.from(values), [channels, 1, 1]);
}

/**
 * The per-channel mean and std of `normalize` as tensors that broadcast over `images` (channels
 * on axis 1), checked against them; null without `normalize`.
 */
export function normalizationTensors(op: string, images: Tensor, normalize?: Normalization): { mean: Tensor; std: Tensor } | null {
  if (normalize === undefined) return null;
  checkKeys(op, normalize, ['mean', 'std'], 'normalize');
  const channels = images.ndim >= 4 ? images.shape[1] : 1;
  return { mean: channelValues(op, 'mean', normalize.mean, channels, false), std: channelValues(op, 'std', normalize.std, channels, true) };
}

/** The map from pixels to the model's input: (x − mean) / std per channel, or the identity without `normalize`. */
export function inputNormalizer(op: string, images: Tensor, normalize?: Normalization): (x: Tensor) => Tensor {
  const n = normalizationTensors(op, images, normalize);
  return n ? (x) => x.sub(n.mean).div(n.std) : (x) => x;
}

function checkLabels(op: string, name: string, t: Tensor, n: number): void {
  if (!(t instanceof Tensor) || t.dtype !== 'int32' || t.ndim !== 1 || t.shape[0] !== n) {
    throw new ShapeError(op, `${name} must be an int32 tensor [${n}] (one class per image), got ${t instanceof Tensor ? `${t.dtype} ${fmtShape(t.shape)}` : fmtValue(t)}`);
  }
}

function setup(method: AttackMethod, images: Tensor, labels: Tensor, options: PgdOptions): Setup {
  const op = method;
  checkKeys(op, options ?? {}, KNOWN[method]);
  const d = DEFAULTS[method];
  const eps = checkNonNegative(op, 'eps', options.eps ?? d.eps);
  const alpha = method === 'fgsm' ? eps : checkPositive(op, 'alpha', options.alpha ?? d.alpha);
  const steps = method === 'fgsm' ? 1 : checkPositiveInt(op, 'steps', options.steps ?? d.steps);
  const randomStart = checkBoolean(op, 'randomStart', options.randomStart ?? d.randomStart);
  const generator = options.generator ?? defaultGenerator;
  if (!(generator instanceof Generator)) throw new ArgumentError(op, `generator must be a Generator, got ${fmtValue(generator)}`);
  if (!(images instanceof Tensor) || !isFloat(images.dtype) || images.ndim < 2) {
    throw new ShapeError(op, `images must be a float tensor [N, ...], got ${images instanceof Tensor ? `${images.dtype} ${fmtShape(images.shape)}` : fmtValue(images)}`);
  }
  const n = images.shape[0];
  checkLabels(op, 'labels', labels, n);
  let lo = Infinity, hi = -Infinity;
  for (const v of images.data) { if (v < lo) lo = v; if (v > hi) hi = v; }
  if (!(lo >= 0 && hi <= 1)) {
    throw new ArgumentError(op, `images must be pixels in [0, 1], got values from ${lo} to ${hi} (for a model that expects normalised input, pass pixels and options.normalize)`);
  }
  let target: Tensor | null = null;
  if (options.target !== undefined) {
    if (typeof options.target === 'number') {
      if (!Number.isInteger(options.target) || options.target < 0) throw new ArgumentError(op, `target must be a class index (a non-negative integer), got ${options.target}`);
      target = new Tensor(new Int32Array(n).fill(options.target), [n]);
    } else {
      checkLabels(op, 'target', options.target, n);
      target = options.target;
    }
  }
  const toInput = inputNormalizer(op, images, options.normalize);
  return { op, norm: method === 'pgdL2' ? 'l2' : 'linf', eps, alpha, steps, randomStart, generator, images, labels, target, toInput };
}

/** Runs `fn` with the model in eval mode and its parameters frozen, then restores both exactly. */
function withModelUntouched<T>(model: Classifier, fn: () => T): T {
  const modules = model.modules(), params = model.parameters();
  const modes = modules.map((m) => m.training), flags = params.map((p) => p.requiresGrad);
  model.eval();
  // Frozen parameters keep the graph to the input's path: no weight gradients are computed, and
  // grad() (not backward()) leaves every .grad as it was.
  for (const p of params) p.requiresGrad = false;
  try {
    return fn();
  } finally {
    modules.forEach((m, i) => { m.training = modes[i]; });
    params.forEach((p, i) => { p.requiresGrad = flags[i]; });
  }
}

/** The gradient of the attack loss with respect to the pixels `x`. */
function lossGradient(model: Classifier, s: Setup, x: Tensor): Tensor {
  return enableGrad(() => {
    const leaf = new Tensor(x.data, x.shape).setRequiresGrad(true);
    const logits = model.forward(s.toInput(leaf));
    if (logits.ndim !== 2 || logits.shape[0] !== x.shape[0]) {
      throw new ShapeError(s.op, `the model must return logits [N, classes] for ${x.shape[0]} images, got ${fmtShape(logits.shape)}`);
    }
    const classes = logits.shape[1];
    for (const [name, t] of [['labels', s.labels], ['target', s.target]] as const) {
      if (!t) continue;
      const bad = t.data.find((c) => c < 0 || c >= classes);
      if (bad !== undefined) throw new ArgumentError(s.op, `${name} holds class ${bad}, out of range for a model with ${classes} classes`);
    }
    // Targeted: descend the target's loss (torchattacks: cost = -loss(outputs, target_labels)).
    const loss = s.target ? crossEntropy(logits, s.target).neg() : crossEntropy(logits, s.labels);
    return grad(loss, [leaf])[0]!;
  });
}

/** Per-image L2 norms of t [N, ...] as [N, 1, ...] (broadcasts back over t). */
function imageNorms(t: Tensor): Tensor {
  const keep = [t.shape[0], ...t.shape.slice(1).map(() => 1)];
  return t.reshape(t.shape[0], -1).square().sum(1).sqrt().reshape(keep);
}

/** Projects onto the ε-ball around the clean images and the [0, 1] box. */
function project(s: Setup, adv: Tensor): Tensor {
  let delta = adv.sub(s.images);
  if (s.norm === 'linf') {
    delta = delta.clamp(-s.eps, s.eps);
  } else {
    // torchattacks: delta *= min(eps / ‖delta‖, 1), written so that a zero delta at ε = 0 stays zero (not 0/0).
    const norms = imageNorms(delta);
    delta = delta.mul(where(norms.gt(s.eps), div(s.eps, norms), 1));
  }
  return s.images.add(delta).clamp(0, 1);
}

function randomStart(s: Setup): Tensor {
  const shape = s.images.shape;
  if (s.norm === 'linf') return s.images.add(rand(shape, { generator: s.generator }).mul(2).sub(1).mul(s.eps)).clamp(0, 1);
  // A Gaussian direction scaled to a radius r·ε with r uniform in [0, 1) per image (torchattacks' PGDL2).
  const direction = randn(shape, { generator: s.generator });
  const radius = rand([shape[0], ...shape.slice(1).map(() => 1)], { generator: s.generator });
  return s.images.add(direction.div(imageNorms(direction)).mul(radius).mul(s.eps)).clamp(0, 1);
}

function run(method: AttackMethod, model: Classifier, images: Tensor, labels: Tensor, options: PgdOptions): Tensor {
  const s = setup(method, images, labels, options);
  return withModelUntouched(model, () => noGrad(() => {
    let adv = s.randomStart ? randomStart(s) : s.images;
    for (let k = 0; k < s.steps; k++) {
      const g = lossGradient(model, s, adv);
      // L∞: a step along the gradient's sign; L2: along the gradient scaled to unit norm per image.
      const step = s.norm === 'linf' ? g.sign() : g.div(imageNorms(g).add(1e-10));
      adv = project(s, adv.add(step.mul(s.alpha)));
    }
    return adv;
  }));
}

/**
 * Fast gradient sign method: x + ε·sign(∇ₓ loss), clamped to [0, 1] (targeted: x − ε·sign(∇ₓ loss of the target)).
 * @example const adv = attack.fgsm(model, images, labels, { eps: 0.1 });
 */
export function fgsm(model: Classifier, images: Tensor, labels: Tensor, options: AttackOptions = {}): Tensor {
  return run('fgsm', model, images, labels, options);
}

/**
 * Basic iterative method (I-FGSM): `steps` FGSM steps of size α, each projected back onto the
 * L∞ ε-ball and [0, 1]; no random start.
 * @example const adv = attack.bim(model, images, labels, { eps: 0.1, alpha: 0.01, steps: 10 });
 */
export function bim(model: Classifier, images: Tensor, labels: Tensor, options: IterativeOptions = {}): Tensor {
  return run('bim', model, images, labels, options);
}

/**
 * Projected gradient descent in L∞ (Madry et al.): BIM from a uniform random start in the ε-ball.
 * @example const adv = attack.pgd(model, images, labels, { eps: 0.1, alpha: 0.025, steps: 20, generator: new Generator(0) });
 */
export function pgd(model: Classifier, images: Tensor, labels: Tensor, options: PgdOptions = {}): Tensor {
  return run('pgd', model, images, labels, options);
}

/**
 * Projected gradient descent in L2: steps of length α along the normalised gradient, each
 * projected onto the L2 ε-ball of each image and [0, 1].
 * @example const adv = attack.pgdL2(model, images, labels, { eps: 1.5, alpha: 0.3, steps: 20 });
 */
export function pgdL2(model: Classifier, images: Tensor, labels: Tensor, options: PgdOptions = {}): Tensor {
  return run('pgdL2', model, images, labels, options);
}

const BY_NAME: Record<AttackMethod, (model: Classifier, images: Tensor, labels: Tensor, options: PgdOptions) => Tensor> = { fgsm, bim, pgd, pgdL2 };

/** Runs the attack named `method` (its own options are checked as by the named function). */
export function runAttack(method: AttackMethod, model: Classifier, images: Tensor, labels: Tensor, options: PgdOptions = {}): Tensor {
  const fn = BY_NAME[method];
  if (!fn) throw new ArgumentError('runAttack', `method must be one of ${ATTACK_METHODS.map((m) => `'${m}'`).join(', ')}, got ${fmtValue(method)}`);
  return fn(model, images, labels, options);
}
