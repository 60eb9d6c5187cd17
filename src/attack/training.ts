/**
 * Adversarial training: a batch transform for `fit` that replaces a fraction of each training
 * batch by adversarial versions of its images (crafted against the model as it is at that step),
 * and a callback that measures robust accuracy on held-out images after every epoch.
 */
import { ArgumentError } from '../errors.js';
import { concat } from '../ops/shape.js';
import { checkKeys, checkOneOf, checkPositive, checkPositiveInt, checkRange } from '../options.js';
import type { Generator } from '../random.js';
import type { Tensor } from '../tensor.js';
import type { Batch, Callback, EpochRecord } from '../train/fit.js';
import { lineSpec, type VegaLiteSpec } from '../viz/charts.js';
import { normalizationTensors, runAttack, type AttackMethod, type Classifier, type Normalization } from './attacks.js';
import { attackBatched, attackStats } from './evaluate.js';

export interface AdversarialOptions {
  /** The attack that makes the training examples: 'fgsm' or 'pgd' (also 'bim', 'pgdL2'). */
  method: AttackMethod;
  /** Radius in pixels. */
  eps: number;
  /** Step size of the iterative attacks. Default ε/4. */
  alpha?: number;
  /** Steps of the iterative attacks. Default 7. */
  steps?: number;
  /**
   * The fraction of each batch replaced by adversarial images (the first ⌈ratio·n⌉ of a shuffled
   * batch); 1 trains on adversarial images only (Madry et al.), 0.5 on an even mix. Default 1.
   */
  ratio?: number;
  /** Draws the random starts of pgd/pgdL2. */
  generator?: Generator;
  /**
   * The normalisation of the training batches (as after a Normalize transform): the attack works
   * on the pixels they came from and returns normalised images. Without it, batches are pixels.
   */
  normalize?: Normalization;
}

interface Resolved { method: AttackMethod; eps: number; alpha: number; steps: number; ratio: number; generator?: Generator; normalize?: Normalization }

function resolve(op: string, o: AdversarialOptions): Resolved {
  checkKeys(op, o, ['method', 'eps', 'alpha', 'steps', 'ratio', 'generator', 'normalize']);
  const method = checkOneOf(op, 'method', o.method, ['fgsm', 'bim', 'pgd', 'pgdL2']);
  const eps = checkPositive(op, 'eps', o.eps);
  const alpha = o.alpha === undefined ? eps / 4 : checkPositive(op, 'alpha', o.alpha);
  const steps = checkPositiveInt(op, 'steps', o.steps ?? 7);
  const ratio = checkRange(op, 'ratio', o.ratio ?? 1, 0, 1);
  if (ratio === 0) throw new ArgumentError(op, 'ratio must be above 0 (0 would be ordinary training)');
  return { method, eps, alpha, steps, ratio, generator: o.generator, normalize: o.normalize };
}

/** The options of `runAttack` for resolved adversarial options. */
function attackOptions(r: Resolved) {
  return {
    eps: r.eps, normalize: r.normalize,
    ...(r.method !== 'fgsm' ? { steps: r.steps, alpha: r.alpha } : {}),
    ...(r.method === 'pgd' || r.method === 'pgdL2' ? { generator: r.generator } : {}),
  };
}

/**
 * A `fit` batch transform for adversarial training: the first ⌈ratio·n⌉ images of each batch
 * become adversarial images of the current model (its mode and gradients are left alone).
 * @example await fit(model, { ..., transformBatch: attack.adversarialBatches(model, { method: 'pgd', eps: 0.1, steps: 7 }) });
 */
export function adversarialBatches(model: Classifier, options: AdversarialOptions): (batch: Batch) => Batch {
  const r = resolve('adversarialBatches', options);
  return ({ input, target }) => {
    const n = input.shape[0], k = Math.ceil(r.ratio * n);
    const norm = normalizationTensors('adversarialBatches', input, r.normalize);
    // Back to pixels (clamped: x·std + mean can round a hair outside [0, 1]), attacked, normalised again.
    const pixels = norm ? input.narrow(0, 0, k).mul(norm.std).add(norm.mean).clamp(0, 1) : input.narrow(0, 0, k);
    const adv = runAttack(r.method, model, pixels, target.narrow(0, 0, k), attackOptions(r));
    const advInput = norm ? adv.sub(norm.mean).div(norm.std) : adv;
    return { input: k === n ? advInput : concat([advInput, input.narrow(0, k, n - k)], 0), target };
  };
}

/**
 * A callback that adds `valRobustAccuracy` (accuracy under the given attack on `images`, pixels in
 * [0, 1], with `normalize` applied before the model) to each epoch's record; put it before the
 * callbacks that read the record (progress, checkpoints).
 */
export function robustAccuracyCallback(images: Tensor, labels: Tensor, options: AdversarialOptions & { batchSize?: number }): Callback {
  const { batchSize, ...rest } = options;
  const r = resolve('robustAccuracyCallback', rest);
  return {
    onEpochEnd(ctx, record) {
      const adv = attackBatched(r.method, ctx.model, images, labels, { ...attackOptions(r), batchSize });
      record.valRobustAccuracy = attackStats(ctx.model, images, adv, labels, { normalize: r.normalize }).accuracy;
    },
  };
}

/** Clean and robust validation accuracy (and training accuracy) per epoch, in percent. */
export function robustTrainingSpec(history: readonly EpochRecord[], options: { title?: string; attack?: string } = {}): VegaLiteSpec {
  const pick = (key: 'trainAccuracy' | 'valAccuracy' | 'valRobustAccuracy') => history.map((h) => 100 * (h[key] ?? NaN));
  const spec = lineSpec([
    { name: 'training (adversarial batches)', values: pick('trainAccuracy') },
    { name: 'test, clean', values: pick('valAccuracy') },
    { name: `test, ${options.attack ?? 'under attack'}`, values: pick('valRobustAccuracy') },
  ], { x: history.map((h) => h.epoch), xTitle: 'epoch', yTitle: 'accuracy (%)', title: options.title ?? 'Clean and robust accuracy', points: true });
  // Whole epochs on the axis (lineSpec labels a given x as continuous).
  (spec as { encoding: { x: { axis: object } } }).encoding.x.axis = { tickMinStep: 1, format: 'd' };
  return spec;
}

/** Adversarial training as a run records it (the command line's --adversarial, --eps, --steps, --alpha, --adv-ratio). */
export interface AdversarialConfig {
  method: 'fgsm' | 'pgd';
  eps: number;
  /** PGD steps (ignored by fgsm). */
  steps: number;
  /** PGD step size; null: ε/4. */
  alpha: number | null;
  /** Fraction of each batch made adversarial. */
  ratio: number;
}

/** Checks a run's adversarial configuration (errors name the command-line options); returns the options of adversarialBatches. */
export function checkAdversarialConfig(config: AdversarialConfig, task: 'classify' | 'segment' = 'classify'): AdversarialOptions {
  const op = 'train';
  if (task !== 'classify') throw new ArgumentError(op, '--adversarial trains classifiers (not --task segment)');
  checkKeys(op, config, ['method', 'eps', 'steps', 'alpha', 'ratio'], 'adversarial');
  const method = checkOneOf(op, '--adversarial', config.method, ['fgsm', 'pgd']);
  const eps = checkPositive(op, '--eps', config.eps);
  const steps = checkPositiveInt(op, '--steps', config.steps);
  const alpha = config.alpha === null ? undefined : checkPositive(op, '--alpha', config.alpha);
  if (alpha !== undefined && alpha > eps) throw new ArgumentError(op, `--alpha ${alpha} is larger than --eps ${eps}: a step would leave the ε-ball`);
  const ratio = checkRange(op, '--adv-ratio', config.ratio, 0, 1);
  if (ratio === 0) throw new ArgumentError(op, '--adv-ratio must be above 0 (0 is ordinary training)');
  return { method, eps, steps, alpha, ratio };
}

/** Test images on which a run measures robust accuracy after every epoch (the first of the split). */
export const ROBUST_EVAL_IMAGES = 500;

/**
 * What a training run needs for adversarial training: the batch transform, the per-epoch robust
 * accuracy callback on the first `ROBUST_EVAL_IMAGES` images of the validation batches (under the
 * training attack, so that the number is comparable across epochs; random starts from
 * `generator`), and a name for the attack in logs and charts.
 */
export function adversarialTraining(model: Classifier, config: AdversarialConfig, val: Iterable<Batch>, generator: Generator, log?: (line: string) => void) {
  const op = 'train';
  const options: AdversarialOptions = { ...checkAdversarialConfig(config), generator };
  const inputs: Tensor[] = [], targets: Tensor[] = [];
  let n = 0;
  for (const b of val) {
    if (n >= ROBUST_EVAL_IMAGES) break;
    const k = Math.min(b.input.shape[0], ROBUST_EVAL_IMAGES - n);
    inputs.push(b.input.narrow(0, 0, k));
    targets.push(b.target.narrow(0, 0, k));
    n += k;
  }
  if (n === 0) throw new ArgumentError(op, 'adversarial training needs test images to measure robust accuracy on');
  const name = options.method === 'fgsm' ? `FGSM ε = ${options.eps}` : `PGD-${options.steps} ε = ${options.eps}`;
  const robust = robustAccuracyCallback(concat(inputs, 0), concat(targets, 0), options);
  return {
    name,
    transformBatch: adversarialBatches(model, options),
    callback: {
      onEpochEnd(ctx, record) {
        robust.onEpochEnd!(ctx, record);
        log?.(`epoch ${record.epoch}: accuracy under ${name} on ${n} test images ${(100 * record.valRobustAccuracy!).toFixed(2)}%`);
      },
    } as Callback,
  };
}
