/**
 * The training loop: epochs of forward, loss, backward and optimiser steps over a loader, with
 * validation, metrics, learning-rate scheduling and callbacks (early stopping, checkpoints,
 * logging, progress). `fit` returns the per-epoch history.
 */
import { noGrad } from '../autograd/grad-mode.js';
import { ArgumentError, PixelgradError } from '../errors.js';
import { concat } from '../ops/shape.js';
import { clipGradNorm } from '../nn/clip.js';
import type { Module } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';
import { ReduceLROnPlateau, type LRScheduler } from '../optim/lr-scheduler.js';
import type { Tensor } from '../tensor.js';
import { accuracy, addConfusion, confusionMatrix } from './metrics.js';

export interface Batch {
  input: Tensor;
  target: Tensor;
  /** Per-element loss weights, e.g. the U-Net weight maps [N,H,W] of segmentation masks. */
  weight?: Tensor;
}

/**
 * A loss of the model's output and the batch's target. A batch with a `weight` is passed too, as
 * the third argument; other losses are called with two, so the `nn.functional` losses (whose third
 * argument is their options) can be passed as they are.
 */
export type LossFn = (output: Tensor, target: Tensor, batch?: Batch) => Tensor;

const lossOf = (loss: LossFn, output: Tensor, batch: Batch): Tensor => (batch.weight === undefined ? loss(output, batch.target) : loss(output, batch.target, batch));

/** One epoch's numbers. Accuracies are present for class-index targets. */
export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  trainAccuracy?: number;
  valLoss?: number;
  valAccuracy?: number;
  /** Validation accuracy under an attack (set by attack.robustAccuracyCallback in adversarial training). */
  valRobustAccuracy?: number;
  /** Segmentation: mean IoU and mean Dice over the classes on the validation images. */
  valMeanIoU?: number;
  valMeanDice?: number;
  /** Learning rate of the first parameter group during the epoch. */
  lr: number;
  seconds: number;
  imagesPerSecond: number;
}

export interface BatchInfo {
  epoch: number;
  /** 0-based index of the batch within the epoch. */
  batch: number;
  batches: number;
  loss: number;
  accuracy?: number;
  /** Training throughput so far in this epoch. */
  imagesPerSecond: number;
}

/** What callbacks see; setting `stop` ends training after the current epoch. */
export interface TrainContext {
  model: Module;
  optimizer: Optimizer;
  scheduler?: LRScheduler | ReduceLROnPlateau;
  history: EpochRecord[];
  epochs: number;
  stop: boolean;
}

export interface Callback {
  onTrainBegin?(ctx: TrainContext): void | Promise<void>;
  onEpochBegin?(ctx: TrainContext, epoch: number): void | Promise<void>;
  onBatchEnd?(ctx: TrainContext, info: BatchInfo): void | Promise<void>;
  onEpochEnd?(ctx: TrainContext, record: EpochRecord): void | Promise<void>;
  onTrainEnd?(ctx: TrainContext): void | Promise<void>;
}

export interface FitOptions {
  train: Iterable<Batch> & { length?: number };
  val?: Iterable<Batch>;
  optimizer: Optimizer;
  loss: LossFn;
  epochs: number;
  scheduler?: LRScheduler | ReduceLROnPlateau;
  /** When to step the scheduler: after every epoch (default) or every batch (e.g. OneCycleLR). ReduceLROnPlateau steps per epoch on the validation loss (training loss without validation). */
  schedulerInterval?: 'epoch' | 'batch';
  callbacks?: Callback[];
  /** Clip the gradients' total 2-norm to this before each step. */
  clipGradNorm?: number;
  /** Epochs already done (to resume); training runs epochs startEpoch+1 .. epochs. */
  startEpoch?: number;
  /** History of the epochs already done (to resume). */
  history?: EpochRecord[];
  /** Replaces each training batch before its step, e.g. `attack.adversarialBatches` for adversarial training. */
  transformBatch?: (batch: Batch) => Batch;
  /**
   * Stop with a DivergenceError when a batch's loss, or a parameter at the end of an epoch, is
   * NaN or infinite (default true); false trains on regardless.
   */
  stopOnNonFinite?: boolean;
}

/**
 * Training diverged: a batch's loss (or, at the end of an epoch, a parameter) was NaN or infinite.
 * Thrown before that batch's step, so the model holds the weights from before it (after an
 * epoch, no epoch-end callback, e.g. a checkpoint, has seen the non-finite weights).
 */
export class DivergenceError extends PixelgradError {
  /** What happened, without the function's name and the hint (for callers that give their own). */
  readonly detail: string;

  constructor(readonly epoch: number, readonly batch: number | null, readonly value: number,
    /** The epochs completed before the divergence. */
    readonly history: EpochRecord[]) {
    const detail = batch === null
      ? `a parameter became ${value} in epoch ${epoch}; training stopped before the epoch's end`
      : `the loss is ${value} at epoch ${epoch}, batch ${batch + 1}; training stopped before that batch's step`;
    super('fit', `${detail} (lower the learning rate)`);
    this.detail = detail;
  }
}

/** The first non-finite value among the parameters' elements, or null. */
function nonFiniteParameter(model: Module): number | null {
  for (const p of model.parameters()) {
    const d = p.data;
    for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) return Number(d[i]);
  }
  return null;
}

const hasClassTargets = (output: Tensor, target: Tensor) => target.dtype === 'int32' && output.ndim === target.ndim + 1;

/** Lets timers (progress bars, UIs) run between batches without slowing training down. */
function yieldEvery(ms: number): () => Promise<void> {
  let last = Date.now();
  return async () => {
    if (Date.now() - last < ms) return;
    await new Promise((r) => setTimeout(r, 0));
    last = Date.now();
  };
}

/**
 * Trains `model` and returns the history of all epochs (including resumed ones).
 * @example
 * const history = await fit(model, { train, val, optimizer, loss: nn.functional.crossEntropy, epochs: 10 });
 */
export async function fit(model: Module, options: FitOptions): Promise<EpochRecord[]> {
  const { optimizer, scheduler, epochs } = options;
  if (!Number.isInteger(epochs) || epochs < 0) throw new ArgumentError('fit', `epochs must be a non-negative integer, got ${epochs}`);
  const interval = options.schedulerInterval ?? 'epoch';
  const stopOnNonFinite = options.stopOnNonFinite ?? true;
  if (typeof stopOnNonFinite !== 'boolean') throw new ArgumentError('fit', `stopOnNonFinite must be a boolean, got ${String(stopOnNonFinite)}`);
  if (interval !== 'epoch' && interval !== 'batch') throw new ArgumentError('fit', `schedulerInterval must be 'epoch' or 'batch', got '${interval}'`);
  if (scheduler instanceof ReduceLROnPlateau && interval === 'batch') throw new ArgumentError('fit', 'ReduceLROnPlateau steps once per epoch on a metric; use schedulerInterval: epoch');
  const callbacks = options.callbacks ?? [];
  const ctx: TrainContext = { model, optimizer, scheduler, history: [...(options.history ?? [])], epochs, stop: false };
  const pause = yieldEvery(50);
  for (const c of callbacks) await c.onTrainBegin?.(ctx);
  for (let epoch = (options.startEpoch ?? 0) + 1; epoch <= epochs && !ctx.stop; epoch++) {
    for (const c of callbacks) await c.onEpochBegin?.(ctx, epoch);
    model.train();
    const lr = optimizer.paramGroups[0].lr;
    const start = performance.now();
    let seen = 0, lossSum = 0, correct = 0, counted = 0, batch = 0;
    const batches = options.train.length ?? NaN;
    for (const raw of options.train) {
      const b = options.transformBatch ? options.transformBatch(raw) : raw;
      const { input, target } = b;
      const output = model.forward(input);
      const loss = lossOf(options.loss, output, b);
      const l = loss.item();
      if (stopOnNonFinite && !Number.isFinite(l)) throw new DivergenceError(epoch, batch, l, [...ctx.history]);
      optimizer.zeroGrad();
      loss.backward();
      if (options.clipGradNorm !== undefined) clipGradNorm(optimizer.paramGroups.flatMap((g) => g.params), options.clipGradNorm);
      optimizer.step();
      if (scheduler && interval === 'batch' && !(scheduler instanceof ReduceLROnPlateau)) scheduler.step();
      const n = input.shape[0];
      seen += n;
      lossSum += l * n;
      let acc: number | undefined;
      if (hasClassTargets(output, target)) {
        acc = accuracy(output, target);
        correct += acc * target.size;
        counted += target.size;
      }
      const info: BatchInfo = { epoch, batch, batches, loss: l, accuracy: acc, imagesPerSecond: seen / ((performance.now() - start) / 1000) };
      for (const c of callbacks) await c.onBatchEnd?.(ctx, info);
      batch++;
      await pause();
    }
    if (seen === 0) throw new ArgumentError('fit', 'the training loader gave no batches');
    // A finite last loss can still be followed by a step that overflows the weights.
    const bad = stopOnNonFinite ? nonFiniteParameter(model) : null;
    if (bad !== null) throw new DivergenceError(epoch, null, bad, [...ctx.history]);
    const seconds = (performance.now() - start) / 1000;
    const record: EpochRecord = { epoch, trainLoss: lossSum / seen, lr, seconds, imagesPerSecond: seen / seconds };
    if (counted) record.trainAccuracy = correct / counted;
    if (options.val) {
      const v = evaluate(model, options.val, { loss: options.loss });
      record.valLoss = v.loss;
      if (v.accuracy !== undefined) record.valAccuracy = v.accuracy;
    }
    if (scheduler && interval === 'epoch') {
      if (scheduler instanceof ReduceLROnPlateau) scheduler.step(record.valLoss ?? record.trainLoss);
      else scheduler.step();
    }
    ctx.history.push(record);
    for (const c of callbacks) await c.onEpochEnd?.(ctx, record);
  }
  for (const c of callbacks) await c.onTrainEnd?.(ctx);
  return ctx.history;
}

export interface EvaluateResult {
  loss: number;
  accuracy?: number;
  /** counts[true][predicted], when numClasses is given and targets are class indices. */
  confusion?: number[][];
  samples: number;
}

export interface EvaluateOptions {
  loss: LossFn;
  /** Also count a confusion matrix over this many classes (class-index targets). */
  numClasses?: number;
  /** Sees each batch with the model's output, e.g. to keep the misclassified samples (the batches are not kept). */
  onBatch?: (batch: Batch, output: Tensor) => void;
}

/** Loss (and accuracy, confusion matrix) of `model` in eval mode over a loader, one batch at a time, without gradients. */
export function evaluate(model: Module, loader: Iterable<Batch>, options: EvaluateOptions): EvaluateResult {
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(() => {
      let seen = 0, lossSum = 0, correct = 0, counted = 0;
      let confusion: number[][] | undefined;
      for (const batch of loader) {
        const { input, target } = batch;
        const output = model.forward(input);
        options.onBatch?.(batch, output);
        const n = input.shape[0];
        seen += n;
        lossSum += lossOf(options.loss, output, batch).item() * n;
        if (hasClassTargets(output, target)) {
          correct += accuracy(output, target) * target.size;
          counted += target.size;
          if (options.numClasses) {
            const m = confusionMatrix(output, target, options.numClasses);
            confusion = confusion ? addConfusion(confusion, m) : m;
          }
        }
      }
      if (seen === 0) throw new ArgumentError('evaluate', 'the loader gave no batches');
      return { loss: lossSum / seen, accuracy: counted ? correct / counted : undefined, confusion, samples: seen };
    });
  } finally {
    model.train(wasTraining);
  }
}

/**
 * The model's outputs (e.g. logits) for every batch of inputs, concatenated, in eval mode without
 * gradients. A tensor of inputs is run `batchSize` samples at a time (default 256), so a whole
 * test split does not become one batch.
 */
export function predict(model: Module, inputs: Tensor | Iterable<Batch | Tensor>, options: { batchSize?: number } = {}): Tensor {
  const batchSize = options.batchSize ?? 256;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ArgumentError('predict', `batchSize must be a positive integer, got ${batchSize}`);
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(() => {
      const outs: Tensor[] = [];
      if ('shape' in inputs) {
        const n = inputs.shape[0];
        if (inputs.ndim === 0 || n <= batchSize) return model.forward(inputs);
        for (let i = 0; i < n; i += batchSize) outs.push(model.forward(inputs.narrow(0, i, Math.min(batchSize, n - i))));
        return concat(outs, 0);
      }
      for (const b of inputs) outs.push(model.forward('input' in b ? b.input : b));
      if (!outs.length) throw new ArgumentError('predict', 'no inputs');
      return concat(outs, 0);
    });
  } finally {
    model.train(wasTraining);
  }
}

/** Stops training after `patience` epochs in a row without improvement of a monitored number (as Keras). */
export class EarlyStopping implements Callback {
  private best = Infinity;
  private wait = 0;
  /** The epoch with the best value so far. */
  bestEpoch = 0;

  constructor(readonly options: { monitor?: keyof EpochRecord; mode?: 'min' | 'max'; patience?: number; minDelta?: number } = {}) {
    const p = options.patience ?? 5;
    if (!Number.isInteger(p) || p < 0) throw new ArgumentError('EarlyStopping', `patience must be a non-negative integer, got ${p}`);
  }

  onEpochEnd(ctx: TrainContext, record: EpochRecord): void {
    const { monitor = 'valLoss', mode = 'min', patience = 5, minDelta = 0 } = this.options;
    const raw = record[monitor];
    if (typeof raw !== 'number') throw new ArgumentError('EarlyStopping', `the epoch record has no '${String(monitor)}' (pass a val loader, or monitor trainLoss)`);
    const value = mode === 'min' ? raw : -raw;
    if (value < this.best - minDelta) {
      this.best = value;
      this.bestEpoch = record.epoch;
      this.wait = 0;
    } else if (++this.wait >= patience) {
      ctx.stop = true;
    }
  }
}
