/**
 * Metrics for classification and segmentation, computed from logits (or predicted classes) and
 * int32 targets. Pixel-wise metrics take [N,C,H,W] logits and [N,H,W] targets.
 */
import { noGrad } from '../autograd/grad-mode.js';
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
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
