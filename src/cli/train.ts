/**
 * `pixelgrad train`: trains a model on a dataset and writes a run folder — checkpoints, metrics,
 * the configuration and pictures (learning curves, confusion matrix, misclassified test images).
 * With `resume`, it continues an interrupted run from its last checkpoint and ends with the same
 * weights as an uninterrupted run.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ArgumentError } from '../errors.js';
import { SEGMENTATION_MODELS, type ModelName } from '../models/index.js';
import type { Module } from '../nn/module.js';
import { SGD } from '../optim/sgd.js';
import { Adam, AdamW } from '../optim/adam.js';
import { CosineAnnealingLR, OneCycleLR, type LRScheduler } from '../optim/lr-scheduler.js';
import type { Optimizer } from '../optim/optimizer.js';
import { Generator, manualSeed } from '../random.js';
import { getBackend } from '../backend/backend.js';
import { adversarialTraining, checkAdversarialConfig, robustTrainingSpec, type AdversarialConfig } from '../attack/training.js';
import { makeFolder, removeStaleTempFiles, writeFileAtomic } from '../io/files.js';
import { applyTransfer, checkTransfer, type TransferConfig } from './transfer.js';
import { DivergenceError, fit, type Callback, type EpochRecord } from '../train/fit.js';
import { loadCheckpoint, restoreCheckpoint, saveCheckpoint } from '../train/checkpoint.js';
import { saveChart } from '../viz/render.js';
import { learningCurvesSpec } from '../viz/charts.js';
import { classificationTask } from './classify-task.js';
import { segmentationTask } from './segment-task.js';
import type { Task } from './tasks.js';

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
  /** Random affine; for segmentation also flips, or flips and elastic deformation ('elastic'). */
  augment: 'affine' | 'elastic' | 'none';
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
  /** Adversarial training (`--adversarial`, `--eps`, `--steps`, `--alpha`, `--adv-ratio`; attack/training.ts); null or absent: none. */
  adversarial?: AdversarialConfig | null;
  /** Start from another network's weights (`--from`, `--freeze`, `--replace-head`, `--unfreeze-after`); null: from scratch. */
  transfer?: TransferConfig | null;
  /** 'classify' (absent in runs of earlier versions) or 'segment': a U-Net on a segmentation folder or 'shapes'. */
  task?: 'classify' | 'segment';
  /** Segmentation: train on random crops of crop×crop pixels and predict by overlap-tile; null: whole images. */
  crop?: number | null;
  /** Segmentation loss: cross entropy (default), Dice, or their sum. */
  loss?: 'ce' | 'dice' | 'ce+dice';
  /** Segmentation: weight the cross entropy by the U-Net weight map of each mask (w0 = 10, σ = 5). */
  weightMap?: boolean;
  /** U-Net levels including the bottleneck (default 3) and channels of the first level (default 16). */
  unetDepth?: number;
  unetWidth?: number;
  /** LeNet-5's width multiplier (`pixelgrad sweep --width`); absent: 1. */
  width?: number;
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
  if (!['affine', 'elastic', 'none'].includes(c.augment)) throw new ArgumentError(op, `--augment must be affine, elastic or none, got '${c.augment}'`);
  const segment = c.task === 'segment', segModel = SEGMENTATION_MODELS.includes(c.model as ModelName);
  if (segment && !segModel) throw new ArgumentError(op, `--task segment needs a segmentation model (${SEGMENTATION_MODELS.join(', ')}), got --model ${c.model}`);
  if (!segment && segModel) throw new ArgumentError(op, `--model ${c.model} segments images; pass --task segment`);
  if (!segment) {
    const given = (['crop', 'weightMap', 'loss', 'unetDepth', 'unetWidth'] as const).filter((k) => c[k] !== undefined && c[k] !== null && c[k] !== false);
    if (given.length) throw new ArgumentError(op, `${given.map((k) => `--${kebab(k)}`).join(', ')} ${given.length > 1 ? 'apply' : 'applies'} to --task segment only`);
    if (c.augment === 'elastic') throw new ArgumentError(op, '--augment elastic applies to --task segment only');
  } else {
    if (c.limit !== null) throw new ArgumentError(op, '--limit applies to classification; a segmentation run uses every image');
    if (c.crop !== undefined && c.crop !== null && (!Number.isInteger(c.crop) || c.crop < 8)) throw new ArgumentError(op, `--crop must be an integer ≥ 8, got ${c.crop}`);
    if (c.loss !== undefined && !['ce', 'dice', 'ce+dice'].includes(c.loss)) throw new ArgumentError(op, `--loss must be ce, dice or ce+dice, got '${c.loss}'`);
    if (c.weightMap && c.loss === 'dice') throw new ArgumentError(op, '--weight-map weights the cross entropy; --loss dice has none');
    if (c.unetDepth !== undefined && (!Number.isInteger(c.unetDepth) || c.unetDepth < 2 || c.unetDepth > 6)) throw new ArgumentError(op, `--unet-depth must be an integer from 2 to 6, got ${c.unetDepth}`);
    if (c.unetWidth !== undefined && (!Number.isInteger(c.unetWidth) || c.unetWidth < 1 || c.unetWidth > 256)) throw new ArgumentError(op, `--unet-width must be an integer from 1 to 256, got ${c.unetWidth}`);
  }
  if (c.width !== undefined && (c.model !== 'lenet5' || !(c.width > 0))) throw new ArgumentError(op, `a width multiplier must be positive and applies to lenet5 only, got ${c.width} for ${c.model}`);
  if (c.nesterov && c.optimizer === 'sgd' && c.momentum === 0) throw new ArgumentError(op, '--nesterov needs --momentum > 0');
  if (c.transfer) checkTransfer(c.transfer, c.epochs);
  if (c.adversarial) checkAdversarialConfig(c.adversarial, c.task ?? 'classify');
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
  const task = (config.task === 'segment' ? segmentationTask : classificationTask) as Task;
  // The data is checked before anything is written: a bad --dataset leaves no run folder behind.
  const data = await task.load(config, options, log);
  config = { ...config, classes: data.classes, inputShape: data.inputShape };
  makeFolder(out);
  const stale = removeStaleTempFiles(out);
  if (stale.length) log(`removed ${stale.length} temporary file${stale.length > 1 ? 's' : ''} of interrupted writes: ${stale.join(', ')}`);
  writeFileAtomic(join(out, 'config.json'), JSON.stringify(config, null, 2) + '\n');

  // Separate generators, all saved in checkpoints: model init, shuffling, augmentation.
  manualSeed(config.seed);
  const dataGen = new Generator(config.seed + 1), augmentGen = new Generator(config.seed + 2);
  const run = task.build(config, data, { data: dataGen, augment: augmentGen, limit: new Generator(config.seed + 3) }, log);
  const { model, train: trainLoader } = run;
  const transferCallbacks = applyTransfer(model, config, ckpt ? ckpt.epoch : null, log);
  const optimizer = makeOptimizer(config, model);
  const scheduler = makeScheduler(config, optimizer, trainLoader.length);
  // Adversarial training's random starts draw from a generator of their own, saved with the others.
  const adversarialGen = new Generator(config.seed + 4);
  const adversarial = config.adversarial ? adversarialTraining(model, config.adversarial, run.val ?? [], adversarialGen, log) : null;
  const generators = { data: dataGen, augment: augmentGen, ...(adversarial ? { adversarial: adversarialGen } : {}) };
  let history: EpochRecord[] = [];
  if (ckpt) {
    restoreCheckpoint(ckpt, { model, optimizer, scheduler, generators });
    history = (ckpt.history as unknown as EpochRecord[]) ?? [];
    // The checkpoint is the truth: a kill between its rename and the metrics' leaves metrics.jsonl behind.
    writeMetrics(out, history);
    log(`resuming ${out} after epoch ${ckpt.epoch}`);
  }
  log(`training ${config.model} on ${data.description}: ${run.trainSize} training and ${run.testSize} test images, ${config.epochs} epochs, ${getBackend().name} backend`);

  let bestScore = Math.max(-Infinity, ...history.map(run.score));
  const checkpoints: Callback = {
    onEpochEnd(ctx, record) {
      const all = [...ctx.history];
      const save = (path: string) => saveCheckpoint(path, { model, optimizer, scheduler, epoch: record.epoch, generators, config, history: all });
      if (run.score(record) > bestScore) {
        bestScore = run.score(record);
        save(join(out, 'best.safetensors'));
      }
      save(last);
      writeMetrics(out, all);
    },
  };
  try {
    history = await fit(model, {
      train: trainLoader, ...(run.val ? { val: run.val } : {}), optimizer, scheduler, schedulerInterval: 'batch', loss: run.loss,
      epochs: config.epochs, startEpoch: ckpt?.epoch ?? 0, history, stopOnNonFinite: !options.allowNonFinite,
      transformBatch: adversarial?.transformBatch,
      callbacks: [...(adversarial ? [adversarial.callback] : []), ...(options.progress ? [options.progress] : []), ...run.callbacks, ...transferCallbacks, checkpoints],
    });
  } catch (err) {
    if (!(err instanceof DivergenceError)) throw err;
    const kept = err.history.length ? `${last} keeps epoch ${err.history[err.history.length - 1].epoch}, the last with finite weights` : 'no checkpoint was written';
    throw new ArgumentError('train', `${err.detail}; ${kept}. Lower --lr (it is ${config.lr}), or pass --allow-nonfinite to train on`);
  }

  const { line, testAccuracy } = await run.finish(out, history);
  for (const ext of ['svg', 'png']) await saveChart(learningCurvesSpec(history, { title: `${config.model} on ${config.dataset}` }), join(out, `learning-curves.${ext}`));
  if (adversarial) for (const ext of ['svg', 'png']) await saveChart(robustTrainingSpec(history, { attack: adversarial.name, title: `${config.model} trained on ${adversarial.name} images` }), join(out, `robust-accuracy.${ext}`));
  log(line);
  return { history, testAccuracy };
}

function writeMetrics(out: string, history: readonly EpochRecord[]): void {
  writeFileAtomic(join(out, 'metrics.jsonl'), history.map((r) => JSON.stringify(r) + '\n').join(''));
}
