/**
 * Measuring attacks: robust accuracy against a list of ε (the curve of a model, or of several on
 * one chart), targeted success, perturbation norms, the confidence of the wrong answers, and
 * transfer of adversarial examples from one model to another. Attacks run in batches; the
 * predictions are made in eval mode without gradients.
 */
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { concat } from '../ops/shape.js';
import { checkKeys, checkPositiveInt } from '../options.js';
import { Tensor } from '../tensor.js';
import { predict } from '../train/fit.js';
import { lineSpec, type LineOptions, type VegaLiteSpec } from '../viz/charts.js';
import { inputNormalizer, runAttack, type AttackMethod, type Classifier, type Normalization, type PgdOptions } from './attacks.js';

/** The model's logits for pixels (normalised first when the model expects it). */
export function logitsOf(model: Classifier, images: Tensor, normalize?: Normalization): Tensor {
  return predict(model, inputNormalizer('logitsOf', images, normalize)(images));
}

/** Rows [start, end) of t along axis 0. */
const rows = (t: Tensor, start: number, end: number) => t.narrow(0, start, end - start);

/**
 * Attacks `images` in batches of `batchSize` (default 250) with `method` and its options; returns
 * the adversarial images. A tensor `target` is split with the images.
 */
export function attackBatched(method: AttackMethod, model: Classifier, images: Tensor, labels: Tensor, options: PgdOptions & { batchSize?: number } = {}): Tensor {
  const { batchSize = 250, ...attackOptions } = options;
  checkPositiveInt('attackBatched', 'batchSize', batchSize);
  const n = images.shape[0], out: Tensor[] = [];
  for (let i = 0; i < n; i += batchSize) {
    const end = Math.min(n, i + batchSize);
    const target = attackOptions.target instanceof Tensor ? rows(attackOptions.target, i, end) : attackOptions.target;
    out.push(runAttack(method, model, rows(images, i, end), rows(labels, i, end), { ...attackOptions, target }));
  }
  return n === 0 ? images : concat(out, 0);
}

export interface AttackStats {
  /** Images. */
  samples: number;
  /** Accuracy on the clean images. */
  cleanAccuracy: number;
  /** Accuracy on the adversarial images (robust accuracy). */
  accuracy: number;
  /**
   * Targeted: the fraction of images classified as their target. Untargeted: the fraction of the
   * images classified correctly when clean that the attack made wrong.
   */
  successRate: number;
  /** Per-image L∞ norm of the perturbation: mean and max. */
  linf: { mean: number; max: number };
  /** Per-image L2 norm of the perturbation: mean and max. */
  l2: { mean: number; max: number };
  /** Mean softmax probability of the predicted class over the adversarial images classified wrongly (null when none is). */
  wrongConfidence: number | null;
}

function checkPair(op: string, images: Tensor, adversarial: Tensor, labels: Tensor): void {
  if (fmtShape(images.shape) !== fmtShape(adversarial.shape)) throw new ShapeError(op, `adversarial ${fmtShape(adversarial.shape)} must have the shape of images ${fmtShape(images.shape)}`);
  if (labels.dtype !== 'int32' || labels.ndim !== 1 || labels.shape[0] !== images.shape[0]) {
    throw new ShapeError(op, `labels must be an int32 tensor [${images.shape[0]}], got ${labels.dtype} ${fmtShape(labels.shape)}`);
  }
}

/** Argmax per row and the softmax probability of that class. */
function predictions(logits: Tensor): { pred: Int32Array; confidence: Float32Array } {
  const probs = logits.softmax(1), [n, k] = probs.shape;
  const pred = new Int32Array(n), confidence = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (probs.data[i * k + j] > probs.data[i * k + best]) best = j;
    pred[i] = best;
    confidence[i] = probs.data[i * k + best];
  }
  return { pred, confidence };
}

/**
 * The numbers of an attack: clean and robust accuracy, success rate (targeted when `target` is
 * given), perturbation norms and the confidence of the wrong answers.
 * @example const stats = attack.attackStats(model, images, adv, labels);
 */
export function attackStats(model: Classifier, images: Tensor, adversarial: Tensor, labels: Tensor, options: { target?: number | Tensor; normalize?: Normalization } = {}): AttackStats {
  const op = 'attackStats';
  checkKeys(op, options, ['target', 'normalize']);
  checkPair(op, images, adversarial, labels);
  const n = images.shape[0];
  if (n === 0) throw new ArgumentError(op, 'no images');
  const clean = predictions(logitsOf(model, images, options.normalize)).pred;
  const { pred, confidence } = predictions(logitsOf(model, adversarial, options.normalize));
  const y = labels.data, t = options.target;
  const targetOf = (i: number) => (t === undefined ? -1 : typeof t === 'number' ? t : t.data[i]);
  let cleanRight = 0, right = 0, flipped = 0, hit = 0, wrong = 0, wrongConf = 0;
  for (let i = 0; i < n; i++) {
    if (clean[i] === y[i]) { cleanRight++; if (pred[i] !== y[i]) flipped++; }
    if (pred[i] === y[i]) right++;
    else { wrong++; wrongConf += confidence[i]; }
    if (pred[i] === targetOf(i)) hit++;
  }
  const size = images.size / n, delta = adversarial.sub(images).data;
  const linf: number[] = [], l2: number[] = [];
  for (let i = 0; i < n; i++) {
    let m = 0, s = 0;
    for (let j = i * size; j < (i + 1) * size; j++) { const a = Math.abs(delta[j]); if (a > m) m = a; s += a * a; }
    linf.push(m); l2.push(Math.sqrt(s));
  }
  const summary = (v: number[]) => ({ mean: v.reduce((a, b) => a + b, 0) / v.length, max: Math.max(...v) });
  return {
    samples: n, cleanAccuracy: cleanRight / n, accuracy: right / n,
    successRate: t === undefined ? (cleanRight ? flipped / cleanRight : 0) : hit / n,
    linf: summary(linf), l2: summary(l2), wrongConfidence: wrong ? wrongConf / wrong : null,
  };
}

export interface RobustPoint extends AttackStats {
  eps: number;
}

export interface RobustAccuracyOptions extends Omit<PgdOptions, 'eps'> {
  /** The radii to attack with (ε = 0 gives the clean accuracy). */
  eps: readonly number[];
  /** α as a fraction of each ε (e.g. 0.25: α = ε/4), instead of a fixed `alpha`. */
  alphaRatio?: number;
  /** Images per attack batch. Default 250. */
  batchSize?: number;
}

/**
 * Robust accuracy against each ε of a list: the attack's numbers at every radius, in order.
 * @example const curve = attack.robustAccuracy(model, images, labels, 'pgd', { eps: [0, 0.05, 0.1, 0.2], steps: 20, alphaRatio: 0.25 });
 */
export function robustAccuracy(model: Classifier, images: Tensor, labels: Tensor, method: AttackMethod, options: RobustAccuracyOptions): RobustPoint[] {
  const op = 'robustAccuracy';
  const { eps, alphaRatio, ...rest } = options;
  if (!eps?.length) throw new ArgumentError(op, `eps must be a non-empty array of radii, got ${JSON.stringify(eps)}`);
  if (alphaRatio !== undefined && rest.alpha !== undefined) throw new ArgumentError(op, 'give alpha or alphaRatio, not both');
  if (alphaRatio !== undefined && !(alphaRatio > 0)) throw new ArgumentError(op, `alphaRatio must be positive, got ${alphaRatio}`);
  return eps.map((e) => {
    const alpha = alphaRatio !== undefined && method !== 'fgsm' ? e * alphaRatio : rest.alpha;
    // ε = 0 leaves every image as it is (the attacks return their input): no attack needs to run.
    const adv = e === 0 ? images : attackBatched(method, model, images, labels, { ...rest, eps: e, alpha });
    return { eps: e, ...attackStats(model, images, adv, labels, { target: rest.target, normalize: rest.normalize }) };
  });
}

export interface TransferResult {
  /** Accuracy of the source model on its own adversarial images (white-box). */
  sourceAccuracy: number;
  /** Accuracy of the target model on the clean images. */
  targetCleanAccuracy: number;
  /** Accuracy of the target model on the source's adversarial images (black-box transfer). */
  targetAccuracy: number;
}

/**
 * Crafts adversarial images on `source` and measures them on `target` (a transfer attack).
 * @example const t = attack.transfer(lenetA, lenetB, images, labels, 'pgd', { eps: 0.1, steps: 20, alpha: 0.025 });
 */
export function transfer(source: Classifier, target: Classifier, images: Tensor, labels: Tensor, method: AttackMethod, options: PgdOptions & { batchSize?: number } = {}): TransferResult {
  const adv = attackBatched(method, source, images, labels, options);
  const s = attackStats(source, images, adv, labels, { normalize: options.normalize });
  const t = attackStats(target, images, adv, labels, { normalize: options.normalize });
  return { sourceAccuracy: s.accuracy, targetCleanAccuracy: t.cleanAccuracy, targetAccuracy: t.accuracy };
}

/** One model's robust-accuracy curve, for `robustAccuracySpec`. */
export interface RobustCurve {
  name: string;
  points: readonly { eps: number; accuracy: number }[];
}

/**
 * The robust-accuracy curve (accuracy against ε) of one model or several on one chart; every
 * curve must be measured at the same ε.
 */
export function robustAccuracySpec(curves: readonly RobustCurve[], options: Omit<LineOptions, 'x'> = {}): VegaLiteSpec {
  const op = 'robustAccuracySpec';
  if (!curves?.length) throw new ArgumentError(op, 'curves must be a non-empty array of {name, points}');
  const x = curves[0].points.map((p) => p.eps);
  curves.forEach((c) => {
    if (c.points.map((p) => p.eps).join() !== x.join()) throw new ArgumentError(op, `curve '${c.name}' is measured at ε ${JSON.stringify(c.points.map((p) => p.eps))}, not at ${JSON.stringify(x)} like '${curves[0].name}'`);
  });
  return lineSpec(curves.map((c) => ({ name: c.name, values: c.points.map((p) => 100 * p.accuracy) })), {
    xTitle: 'ε (pixels, 0–1 scale)', yTitle: 'accuracy (%)', title: 'Robust accuracy', points: true, ...options, x,
  });
}
