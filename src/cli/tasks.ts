/**
 * What `pixelgrad train` does differently per task. The run itself (resume, run folder, seeds,
 * optimiser and schedule, checkpoints, divergence, learning curves) is the same for every task and
 * lives in train.ts; a task loads its data, builds the model, loaders and loss, scores the epochs
 * and writes the end-of-run summary and pictures.
 */
import type { Generator } from '../random.js';
import type { Module } from '../nn/module.js';
import type { Batch, Callback, EpochRecord, LossFn } from '../train/fit.js';
import type { TrainConfig, TrainRunOptions } from './train.js';

/** The data of a run, as far as the run needs it. */
export interface TaskData {
  /** Class names in index order (recorded in the run's config and checkpoints). */
  classes: string[];
  /** [C,H,W] of one model input. */
  inputShape: [number, number, number];
  /** What was loaded, for the run's log. */
  description: string;
}

/** The run's seeded generators (all saved in checkpoints but `limit`). */
export interface TaskGenerators { data: Generator; augment: Generator; limit: Generator }

export interface TaskRun {
  model: Module;
  train: Iterable<Batch> & { length: number };
  /** Evaluated by fit after every epoch (loss, accuracy); null when a callback scores the epoch instead. */
  val: Iterable<Batch> | null;
  loss: LossFn;
  /** Run before the checkpoint callback, so what they add to an epoch's record is saved with it. */
  callbacks: Callback[];
  trainSize: number;
  testSize: number;
  /** The number that picks best.safetensors: higher is better. */
  score(record: EpochRecord): number;
  /** Writes summary.json and the task's pictures into `out`; returns the run's last log line and its test accuracy. */
  finish(out: string, history: EpochRecord[]): Promise<{ line: string; testAccuracy?: number }>;
}

export interface Task<D extends TaskData = TaskData> {
  /** Loads and checks the data; called before the run folder is made, so bad data leaves none behind. */
  load(config: TrainConfig, options: TrainRunOptions, log: (line: string) => void): Promise<D>;
  /** After the seeds are set: the model, the loaders, the loss and the scoring. */
  build(config: TrainConfig, data: D, generators: TaskGenerators, log: (line: string) => void): TaskRun;
}
