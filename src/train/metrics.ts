/**
 * Metrics for classification and segmentation, computed from logits (or predicted classes) and
 * int32 targets. Pixel-wise metrics take [N,C,H,W] logits and [N,H,W] targets.
 */
import { noGrad } from '../autograd/grad-mode.js';
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { connectedComponents } from '../segment/morphology.js';
import type { Tensor } from '../tensor.js';

/** Predicted classes: argmax over dim 1 of logits, or the tensor itself if it is already int32 classes. */
function predictions(op: string, output: Tensor, target: Tensor): Int32Array {
  if (target.dtype !== 'int32') throw new ArgumentError(op, `target must hold int32 class indices, got ${target.dtype}`);
  const pred = output.dtype === 'int32' ? output : noGrad(() => output.argmax(1));
  if (pred.size !== target.size || fmtShape(pred.shape) !== fmtShape(target.shape)) {
    throw new ShapeError(op, `predictions ${fmtShape(pred.shape)} (from output ${fmtShape(output.shape)}) do not match target ${fmtShape(target.shape)}`);
  }
  return pred.data as Int32Array;
}

/** Fraction of correct predictions (pixels, for segmentation). */
export function accuracy(output: Tensor, target: Tensor): number {
  const p = predictions('accuracy', output, target), t = target.data;
  let correct = 0;
  for (let i = 0; i < p.length; i++) if (p[i] === t[i]) correct++;
  return p.length ? correct / p.length : 0;
}

/** Fraction of samples whose target is among the k largest logits ([N, C] output). */
export function topKAccuracy(output: Tensor, target: Tensor, k: number): number {
  if (output.ndim !== 2 || target.ndim !== 1 || output.shape[0] !== target.shape[0]) {
    throw new ShapeError('topKAccuracy', `expects output [N, C] and target [N], got ${fmtShape(output.shape)} and ${fmtShape(target.shape)}`);
  }
  const [n, c] = output.shape;
  if (!Number.isInteger(k) || k < 1 || k > c) throw new ArgumentError('topKAccuracy', `k must be in 1..${c}, got ${k}`);
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const row = output.data.subarray(i * c, (i + 1) * c);
    const score = row[target.data[i]];
    let larger = 0;
    for (let j = 0; j < c; j++) if (row[j] > score) larger++;
    if (larger < k) hits++;
  }
  return n ? hits / n : 0;
}

/** counts[t][p]: how often class t was predicted as p. */
export function confusionMatrix(output: Tensor, target: Tensor, numClasses: number): number[][] {
  const p = predictions('confusionMatrix', output, target), t = target.data;
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < p.length; i++) {
    if (t[i] < 0 || t[i] >= numClasses || p[i] < 0 || p[i] >= numClasses) {
      throw new ArgumentError('confusionMatrix', `class ${t[i] < 0 || t[i] >= numClasses ? t[i] : p[i]} at position ${i} is outside 0..${numClasses - 1}`);
    }
    m[t[i]][p[i]]++;
  }
  return m;
}

/** Adds one confusion matrix into another (for accumulating over batches). */
export function addConfusion(into: number[][], m: number[][]): number[][] {
  m.forEach((row, i) => row.forEach((v, j) => { into[i][j] += v; }));
  return into;
}

export interface ClassReport {
  precision: number[];
  recall: number[];
  f1: number[];
  support: number[];
  accuracy: number;
  macroF1: number;
}

/** Per-class precision, recall and F1 from a confusion matrix (0 where undefined, as scikit-learn's zero_division=0). */
export function classificationReport(matrix: number[][]): ClassReport {
  const c = matrix.length;
  const col = (j: number) => matrix.reduce((s, row) => s + row[j], 0);
  const precision: number[] = [], recall: number[] = [], f1: number[] = [], support: number[] = [];
  let diag = 0, total = 0;
  for (let i = 0; i < c; i++) {
    const tp = matrix[i][i], rowSum = matrix[i].reduce((a, b) => a + b, 0), colSum = col(i);
    diag += tp;
    total += rowSum;
    precision.push(colSum ? tp / colSum : 0);
    recall.push(rowSum ? tp / rowSum : 0);
    f1.push(precision[i] + recall[i] ? (2 * precision[i] * recall[i]) / (precision[i] + recall[i]) : 0);
    support.push(rowSum);
  }
  return { precision, recall, f1, support, accuracy: total ? diag / total : 0, macroF1: f1.reduce((a, b) => a + b, 0) / c };
}

export interface SegmentationScores {
  /** Intersection over union per class (NaN for a class absent from both prediction and target). */
  iou: number[];
  dice: number[];
  meanIoU: number;
  meanDice: number;
  pixelAccuracy: number;
}

/** IoU = TP/(TP+FP+FN) and Dice = 2TP/(2TP+FP+FN) per class from a pixel confusion matrix; means skip absent classes. */
export function segmentationScores(matrix: number[][]): SegmentationScores {
  const c = matrix.length;
  const iou: number[] = [], dice: number[] = [];
  let diag = 0, total = 0;
  for (let k = 0; k < c; k++) {
    const tp = matrix[k][k];
    const fn = matrix[k].reduce((a, b) => a + b, 0) - tp;
    const fp = matrix.reduce((s, row) => s + row[k], 0) - tp;
    iou.push(tp + fp + fn ? tp / (tp + fp + fn) : NaN);
    dice.push(tp + fp + fn ? (2 * tp) / (2 * tp + fp + fn) : NaN);
    diag += tp;
    total += tp + fn;
  }
  const mean = (v: number[]) => { const ok = v.filter((x) => !Number.isNaN(x)); return ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : NaN; };
  return { iou, dice, meanIoU: mean(iou), meanDice: mean(dice), pixelAccuracy: total ? diag / total : 0 };
}

export interface RandScores {
  /** The foreground-restricted Rand F-score (V_rand of the ISBI 2012 challenge): higher is better. */
  vRand: number;
  /** Σ n_ij² / Σ t_j²: the share of pairs in one true segment that the prediction keeps together (splitting a cell lowers it). */
  split: number;
  /** Σ n_ij² / Σ s_i²: the share of pairs in one predicted segment that the truth also puts together (merging cells lowers it). */
  merge: number;
}

/**
 * The Rand scores of the ISBI 2012 challenge (Arganda-Carreras et al. 2015) between a predicted
 * and a true segmentation, each an int32 [H,W] mask (or [N,H,W], each image on its own, the
 * pair counts added). Segments are the 4-connected components of the pixels whose class is not
 * `background` (0 by default: in a binary membrane mask, the cells); only pixels that are
 * foreground in the truth count, and predicted background among them forms one segment of its
 * own. With n_ij the pixel counts of predicted segment i and true segment j,
 * V_rand = Σ n_ij² / (½ Σ_i s_i² + ½ Σ_j t_j²), s_i and t_j the row and column sums.
 */
export function randScores(predicted: Tensor, truth: Tensor, options: { background?: number } = {}): RandScores {
  const op = 'randScores';
  const bg = options.background ?? 0;
  for (const [name, t] of [['predicted', predicted], ['truth', truth]] as const) {
    if (t.dtype !== 'int32') throw new ArgumentError(op, `${name} must hold int32 class ids, got ${t.dtype}`);
    if (t.ndim !== 2 && t.ndim !== 3) throw new ShapeError(op, `${name} must be [H,W] or [N,H,W], got ${fmtShape(t.shape)}`);
  }
  if (fmtShape(predicted.shape) !== fmtShape(truth.shape)) throw new ShapeError(op, `predicted ${fmtShape(predicted.shape)} and truth ${fmtShape(truth.shape)} differ`);
  const [h, w] = truth.shape.slice(-2), n = truth.ndim === 3 ? truth.shape[0] : 1;
  let sumP = 0, sumS = 0, sumT = 0;
  for (let k = 0; k < n; k++) {
    const pv = predicted.data.subarray(k * h * w, (k + 1) * h * w), tv = truth.data.subarray(k * h * w, (k + 1) * h * w);
    const ps = connectedComponents(h, w, (i) => pv[i] !== bg).labels, ts = connectedComponents(h, w, (i) => tv[i] !== bg).labels;
    const pairs = new Map<number, number>(), rows = new Map<number, number>(), cols = new Map<number, number>();
    const bump = (m: Map<number, number>, key: number) => m.set(key, (m.get(key) ?? 0) + 1);
    for (let i = 0; i < h * w; i++) {
      if (!ts[i]) continue;
      bump(pairs, ps[i] * (h * w + 1) + ts[i]);
      bump(rows, ps[i]);
      bump(cols, ts[i]);
    }
    const squares = (m: Map<number, number>) => { let s = 0; for (const v of m.values()) s += v * v; return s; };
    sumP += squares(pairs);
    sumS += squares(rows);
    sumT += squares(cols);
  }
  if (sumT === 0) return { vRand: NaN, split: NaN, merge: NaN };
  return { vRand: sumP / (0.5 * sumS + 0.5 * sumT), split: sumP / sumT, merge: sumP / sumS };
}
