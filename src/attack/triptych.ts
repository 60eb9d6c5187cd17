/**
 * The course's picture of an adversarial example: original (label, confidence) | perturbation
 * (scaled to be visible) | adversarial image (new label, confidence). Returns the tiles and their
 * captions; in Node, `saveImageGrid(t.images, path, { nrow: 3 * k, labels: t.labels })` from
 * `pixelgrad/node` draws k triptychs per row.
 */
import { ArgumentError } from '../errors.js';
import { Tensor } from '../tensor.js';
import type { Classifier, Normalization } from './attacks.js';
import { logitsOf } from './evaluate.js';

export interface Triptychs {
  /** 3 tiles [C,H,W] per example: original, perturbation, adversarial. */
  images: Tensor[];
  /** One caption per tile. */
  labels: string[];
  /** The perturbation's scale: grey is 0, white and black are ±scale. */
  scale: number;
}

export interface TriptychOptions {
  /** Class names for the captions (default the class indices). */
  classes?: readonly string[];
  normalize?: Normalization;
}

/**
 * Triptychs of `images` [N,C,H,W] and their adversarial versions. The perturbations of all
 * examples share one scale (the largest |δ|), mapped to 0.5 ± 0.5, so that they compare.
 * @example const t = attack.triptychs(model, images, adv, { classes: ['0', '1', ...] });
 */
export function triptychs(model: Classifier, images: Tensor, adversarial: Tensor, options: TriptychOptions = {}): Triptychs {
  const op = 'triptychs';
  if (images.ndim !== 4 || adversarial.shape.join() !== images.shape.join()) {
    throw new ArgumentError(op, `images must be [N,C,H,W] and adversarial the same shape, got ${JSON.stringify(images.shape)} and ${JSON.stringify(adversarial.shape)}`);
  }
  const [n, ...tile] = images.shape;
  const size = images.size / Math.max(n, 1);
  const describe = (logits: Tensor) => {
    const p = logits.softmax(1), k = p.shape[1];
    return Array.from({ length: n }, (_, i) => {
      const row = p.data.subarray(i * k, (i + 1) * k);
      const best = row.indexOf(Math.max(...row));
      return `${options.classes?.[best] ?? best} ${(100 * row[best]).toFixed(0)}%`;
    });
  };
  const before = describe(logitsOf(model, images, options.normalize)), after = describe(logitsOf(model, adversarial, options.normalize));
  const delta = adversarial.sub(images);
  let scale = 0;
  for (const v of delta.data) scale = Math.max(scale, Math.abs(v));
  const shown = delta.div(2 * Math.max(scale, 1e-12)).add(0.5);
  const out: Triptychs = { images: [], labels: [], scale };
  for (let i = 0; i < n; i++) {
    const at = (t: Tensor) => new Tensor(t.data.subarray(i * size, (i + 1) * size), tile);
    out.images.push(at(images), at(shown), at(adversarial));
    out.labels.push(before[i], `δ ±${scale.toPrecision(2)}`, after[i]);
  }
  return out;
}
