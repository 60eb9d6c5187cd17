/**
 * `pixelgrad train`: trains a model on a dataset and writes a run folder — checkpoints, metrics,
 * the configuration and pictures (learning curves, confusion matrix, misclassified test images).
 * With `resume`, it continues an interrupted run from its last checkpoint and ends with the same
 * weights as an uninterrupted run.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ArgumentError } from '../errors.js';
import { DataLoader } from '../data/dataloader.js';
import { randomAffine } from '../data/transforms/random.js';
import { createModel } from '../models/index.js';
import { crossEntropy } from '../nn/functional/loss.js';
import type { Module } from '../nn/module.js';
import { SGD } from '../optim/sgd.js';
import { Adam, AdamW } from '../optim/adam.js';
import { CosineAnnealingLR, OneCycleLR, type LRScheduler } from '../optim/lr-scheduler.js';
import type { Optimizer } from '../optim/optimizer.js';
import { Generator, manualSeed } from '../random.js';
import { getBackend } from '../backend/backend.js';
import { makeFolder, removeStaleTempFiles, writeFileAtomic } from '../io/files.js';
import { DivergenceError, evaluate, fit, type Batch, type Callback, type EpochRecord } from '../train/fit.js';
import { classificationReport } from '../train/metrics.js';
import { loadCheckpoint, restoreCheckpoint, saveCheckpoint } from '../train/checkpoint.js';
import { saveChart } from '../viz/render.js';
import { confusionMatrixSpec, learningCurvesSpec } from '../viz/charts.js';
import { saveImageGrid } from '../data/node/image-io.js';
import { classBalance, limitSplit, loadDataset, type Sample } from './data.js';
import { Tensor } from '../tensor.js';
import { concat } from '../ops/shape.js';

/** Everything that defines a run; saved as config.json and inside every checkpoint. */
export interface TrainConfig {
  model: string;
  dataset: string;
  epochs: number;
  batchSize: number;
  optimizer: 'sgd' | 'adam' | 'adamw';
  lr: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  schedule: 'onecycle' | 'cosine' | 'none';
  augment: 'affine' | 'none';
  seed: number;
  /** Use only N training samples (and N/4 test samples), a stratified seeded sample: for quick trials. */
  limit: number | null;
  /**
   * The classes in index order (IDX label values or class folder names; others are left out);
   * null: every label of the training split. A run records the list it chose.
   */
  classes: string[] | null;
  /** [C,H,W] of one input, recorded by the run from its data (so predict needs no dataset). */
  inputShape?: [number, number, number];
}

export const DEFAULT_CONFIG: TrainConfig = {
  model: 'lenet5', dataset: 'mnist', epochs: 12, batchSize: 64, optimizer: 'sgd', lr: 0.1, momentum: 0.9, nesterov: true,
  weightDecay: 0, schedule: 'onecycle', augment: 'affine', seed: 0, limit: null, classes: null,
};

export interface TrainRunOptions {
  out: string;
  /** Continue the run in `out` with its saved configuration. */
  resume: boolean;
  /** With resume: a new total number of epochs (only without a learning-rate schedule, which is fixed by the total). */
  epochs?: number;
  log?: (line: string) => void;
  /** Progress callback (the CLI passes a ProgressReporter). */
  progress?: Callback;
  /** A folder for the cache of decoded image folders (default: none). */
  cache?: string | null;
  /** Progress of decoding an image folder (the CLI passes a bar). */
  decodeProgress?: (label: string) => (done: number, total: number) => void;
  /** Train on when a loss is NaN or infinite (default: stop with an error, keeping the last finite checkpoint). */
  allowNonFinite?: boolean;
}

export function checkConfig(c: TrainConfig): void {
  const op = 'train';
  const posInt = (name: keyof TrainConfig) => { const v = c[name]; if (!Number.isInteger(v) || (v as number) < 1) throw new ArgumentError(op, `--${kebab(name)} must be a positive integer, got ${v}`); };
  posInt('epochs');
  posInt('batchSize');
  if (!(c.lr > 0)) throw new ArgumentError(op, `--lr must be positive, got ${c.lr}`);
  if (!(c.momentum >= 0 && c.momentum < 1)) throw new ArgumentError(op, `--momentum must be in [0, 1), got ${c.momentum}`);
  if (!(c.weightDecay >= 0)) throw new ArgumentError(op, `--weight-decay must be ≥ 0, got ${c.weightDecay}`);
  if (!['sgd', 'adam', 'adamw'].includes(c.optimizer)) throw new ArgumentError(op, `--optimizer must be sgd, adam or adamw, got '${c.optimizer}'`);
  if (!['onecycle', 'cosine', 'none'].includes(c.schedule)) throw new ArgumentError(op, `--schedule must be onecycle, cosine or none, got '${c.schedule}'`);
  if (!['affine', 'none'].includes(c.augment)) throw new ArgumentError(op, `--augment must be affine or none, got '${c.augment}'`);
  if (c.nesterov && c.optimizer === 'sgd' && c.momentum === 0) throw new ArgumentError(op, '--nesterov needs --momentum > 0');
  if (c.limit !== null && (!Number.isInteger(c.limit) || c.limit < 4)) throw new ArgumentError(op, `--limit must be an integer ≥ 4, got ${c.limit}`);
}

const kebab = (s: string) => s.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`);

function makeOptimizer(c: TrainConfig, model: Module): Optimizer<any, any> {
  const params = model.parameters();
  if (c.optimizer === 'sgd') return new SGD(params, { lr: c.lr, momentum: c.momentum, nesterov: c.nesterov, weightDecay: c.weightDecay });
  return new (c.optimizer === 'adam' ? Adam : AdamW)(params, { lr: c.lr, weightDecay: c.weightDecay });
}

function makeScheduler(c: TrainConfig, opt: Optimizer<any, any>, batchesPerEpoch: number): LRScheduler | undefined {
  if (c.schedule === 'onecycle') return new OneCycleLR(opt, { maxLr: c.lr, epochs: c.epochs, stepsPerEpoch: batchesPerEpoch });
  if (c.schedule === 'cosine') return new CosineAnnealingLR(opt, { tMax: c.epochs * batchesPerEpoch });
  return undefined;
}

/** Trains per `config` into `options.out`; returns the final test metrics. */
export async function runTraining(config: TrainConfig, options: TrainRunOptions): Promise<{ history: EpochRecord[]; testAccuracy: number | undefined }> {
  const log = options.log ?? ((s: string) => process.stdout.write(s + '\n'));
  const out = options.out;
  const last = join(out, 'last.safetensors');
  let ckpt = null;
  if (options.resume) {
    if (!existsSync(last)) throw new ArgumentError('train', `--resume: no checkpoint at ${last}`);
    ckpt = loadCheckpoint(last);
    const saved = ckpt.config as unknown as TrainConfig;
    if (options.epochs !== undefined && options.epochs !== saved.epochs && saved.schedule !== 'none') {
      throw new ArgumentError('train', `the run in ${out} uses the ${saved.schedule} schedule over ${saved.epochs} epochs; resuming cannot change --epochs`);
    }
    config = { ...saved, epochs: options.epochs ?? saved.epochs };
  } else if (existsSync(last)) {
    throw new ArgumentError('train', `${out} already holds a run (last.safetensors); pass --resume to continue it or choose another --out`);
  }
  checkConfig(config);
  // The data is checked before anything is written: a bad --dataset leaves no run folder behind.
  const data = await loadDataset(config.dataset, {
    seed: config.seed, classes: config.classes ?? null, inputShape: config.inputShape, cache: options.cache ?? null, progress: options.decodeProgress, log,
  });
  config = { ...config, classes: data.classes, inputShape: data.inputShape };
  makeFolder(out);
  const stale = removeStaleTempFiles(out);
  if (stale.length) log(`removed ${stale.length} temporary file${stale.length > 1 ? 's' : ''} of interrupted writes: ${stale.join(', ')}`);
  writeFileAtomic(join(out, 'config.json'), JSON.stringify(config, null, 2) + '\n');

  // Separate generators, all saved in checkpoints: model init, shuffling, augmentation.
  manualSeed(config.seed);
  const dataGen = new Generator(config.seed + 1), augmentGen = new Generator(config.seed + 2);
  const [channels, size] = data.inputShape;
  // --limit's stratified samples draw from their own generator, so the other streams do not depend on it.
  const limitGen = new Generator(config.seed + 3);
  const trainSplit = limitSplit(data.train!, config.limit, limitGen), testSplit = limitSplit(data.test, config.limit === null ? null : Math.max(1, config.limit >> 2), limitGen);
  log(`training images: ${classBalance(data.classes, trainSplit.targets)}`);
  log(`test images: ${classBalance(data.classes, testSplit.targets)}`);
  const train = trainSplit.dataset, test = testSplit.dataset;
  const model = createModel(config.model, { inChannels: channels, numClasses: data.classes.length, inputSize: size });
  const augment = config.augment === 'affine' ? randomAffine({ degrees: 10, translate: [0.1, 0.1], scale: [0.9, 1.1], interpolation: 'bilinear', generator: augmentGen }) : null;
  const trainLoader = new DataLoader<Sample, Batch>(train, {
    batchSize: config.batchSize, shuffle: true, generator: dataGen,
    ...(augment ? { transform: (s: Sample) => ({ ...s, input: augment(s.input) }) } : {}),
  });
  const testLoader = new DataLoader<Sample, Batch>(test, { batchSize: 500 });
  const optimizer = makeOptimizer(config, model);
  const scheduler = makeScheduler(config, optimizer, trainLoader.length);
  const generators = { data: dataGen, augment: augmentGen };
  let history: EpochRecord[] = [];
  if (ckpt) {
    restoreCheckpoint(ckpt, { model, optimizer, scheduler, generators });
    history = (ckpt.history as unknown as EpochRecord[]) ?? [];
    // The checkpoint is the truth: a kill between its rename and the metrics' leaves metrics.jsonl behind.
    writeMetrics(out, history);
    log(`resuming ${out} after epoch ${ckpt.epoch}`);
  }
  log(`training ${config.model} on ${data.description}: ${train.length} training and ${test.length} test images, ${config.epochs} epochs, ${getBackend().name} backend`);

  let bestAccuracy = Math.max(-1, ...history.map((r) => r.valAccuracy ?? -1));
  const checkpoints: Callback = {
    onEpochEnd(ctx, record) {
      const all = [...ctx.history];
      const save = (path: string) => saveCheckpoint(path, { model, optimizer, scheduler, epoch: record.epoch, generators, config, history: all });
      if ((record.valAccuracy ?? -1) > bestAccuracy) {
        bestAccuracy = record.valAccuracy ?? -1;
        save(join(out, 'best.safetensors'));
      }
      save(last);
      writeMetrics(out, all);
    },
  };
  try {
    history = await fit(model, {
      train: trainLoader, val: testLoader, optimizer, scheduler, schedulerInterval: 'batch', loss: crossEntropy,
      epochs: config.epochs, startEpoch: ckpt?.epoch ?? 0, history, stopOnNonFinite: !options.allowNonFinite,
      callbacks: [...(options.progress ? [options.progress] : []), checkpoints],
    });
  } catch (err) {
    if (!(err instanceof DivergenceError)) throw err;
    const kept = err.history.length ? `${last} keeps epoch ${err.history[err.history.length - 1].epoch}, the last with finite weights` : 'no checkpoint was written';
    throw new ArgumentError('train', `${err.detail}; ${kept}. Lower --lr (it is ${config.lr}), or pass --allow-nonfinite to train on`);
  }

  // One pass over the test split, batch by batch, gives the summary, the confusion matrix and the
  // misclassified gallery (only the images it shows are kept).
  const wrong: Misclassified[] = [];
  const result = evaluate(model, testLoader, {
    loss: crossEntropy, numClasses: data.classes.length,
    onBatch: (batch, output) => { if (wrong.length < GALLERY_SIZE) wrong.push(misclassified(batch, output, GALLERY_SIZE - wrong.length)); },
  });
  const testLoss = result.loss, confusion = result.confusion!;
  const report = classificationReport(confusion);
  writeFileAtomic(join(out, 'summary.json'), JSON.stringify({
    testLoss, testAccuracy: report.accuracy, perClass: data.classes.map((name, i) => ({ class: name, precision: report.precision[i], recall: report.recall[i], f1: report.f1[i], support: report.support[i] })),
    macroF1: report.macroF1, epochs: history.length, trainImagesPerSecond: history.map((r) => r.imagesPerSecond),
  }, null, 2) + '\n');
  for (const ext of ['svg', 'png']) {
    await saveChart(learningCurvesSpec(history, { title: `${config.model} on ${config.dataset}` }), join(out, `learning-curves.${ext}`));
    await saveChart(confusionMatrixSpec(confusion, data.classes, { title: 'Test confusion matrix' }), join(out, `confusion-matrix.${ext}`));
  }
  await saveMisclassified(wrong, data.classes, join(out, 'misclassified.png'));
  log(`test accuracy ${(100 * report.accuracy).toFixed(2)}% (loss ${testLoss.toFixed(4)}); run folder ${out}`);
  return { history, testAccuracy: report.accuracy };
}

function writeMetrics(out: string, history: readonly EpochRecord[]): void {
  writeFileAtomic(join(out, 'metrics.jsonl'), history.map((r) => JSON.stringify(r) + '\n').join(''));
}

const GALLERY_SIZE = 64;

/** Misclassified images of one batch: the images, and their true and predicted classes. */
interface Misclassified { inputs: Tensor; truth: number[]; predicted: number[] }

/** Up to `max` misclassified images of a test batch. */
function misclassified({ input, target }: Batch, logits: Tensor, max: number): Misclassified {
  const predicted = logits.argmax(1).data, rows: number[] = [];
  for (let i = 0; i < target.size && rows.length < max; i++) if (predicted[i] !== target.data[i]) rows.push(i);
  const index = new Tensor(Int32Array.from(rows), [rows.length]);
  return { inputs: input.indexSelect(0, index), truth: rows.map((i) => target.data[i]), predicted: rows.map((i) => predicted[i]) };
}

/** A gallery of the misclassified test images, captioned "true→predicted". */
async function saveMisclassified(parts: Misclassified[], classes: string[], path: string): Promise<void> {
  const labels = parts.flatMap((p) => p.truth.map((t, i) => `${classes[t]}→${classes[p.predicted[i]]}`));
  if (!labels.length) return;
  await saveImageGrid(concat(parts.map((p) => p.inputs), 0), path, { nrow: 8, labels, scale: 2 });
}
