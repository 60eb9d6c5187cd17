/**
 * The training loop: epochs of forward, loss, backward and optimiser steps over a loader, with
 * validation, metrics, learning-rate scheduling and callbacks (early stopping, checkpoints,
 * logging, progress). `fit` returns the per-epoch history.
 */
import { noGrad } from '../autograd/grad-mode.js';
import { ArgumentError } from '../errors.js';
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
}

export type LossFn = (output: Tensor, target: Tensor) => Tensor;

/** One epoch's numbers. Accuracies are present for class-index targets. */
export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  trainAccuracy?: number;
  valLoss?: number;
  valAccuracy?: number;
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
    for (const { input, target } of options.train) {
      const output = model.forward(input);
      const loss = options.loss(output, target);
      optimizer.zeroGrad();
      loss.backward();
      if (options.clipGradNorm !== undefined) clipGradNorm(optimizer.paramGroups.flatMap((g) => g.params), options.clipGradNorm);
      optimizer.step();
      if (scheduler && interval === 'batch' && !(scheduler instanceof ReduceLROnPlateau)) scheduler.step();
      const n = input.shape[0];
      const l = loss.item();
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

/** Loss (and accuracy, confusion matrix) of `model` in eval mode over a loader, without gradients. */
export function evaluate(model: Module, loader: Iterable<Batch>, options: { loss: LossFn; numClasses?: number }): EvaluateResult {
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(() => {
      let seen = 0, lossSum = 0, correct = 0, counted = 0;
      let confusion: number[][] | undefined;
      for (const { input, target } of loader) {
        const output = model.forward(input);
        const n = input.shape[0];
        seen += n;
        lossSum += options.loss(output, target).item() * n;
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

/** The model's outputs (e.g. logits) for every batch of inputs, concatenated, in eval mode without gradients. */
export function predict(model: Module, inputs: Tensor | Iterable<Batch | Tensor>): Tensor {
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(() => {
      if ('shape' in inputs) return model.forward(inputs);
      const outs: Tensor[] = [];
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
