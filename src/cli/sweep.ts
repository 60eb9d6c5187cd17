/**
 * `pixelgrad sweep`: under- and over-fitting against capacity. One classification run per value of
 * the swept variable — LeNet-5's width multiplier, the ResNet depth, the number of epochs or the
 * training-set size (--limit) — each a full run folder written by train's runTraining; then the
 * training and validation error of every run against the variable (capacitySweepSpec: the gap
 * shaded, the best value marked with under-fitting to its left and over-fitting to its right) and
 * the data behind it as sweep.csv.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArgumentError } from '../errors.js';
import { writeFileAtomic } from '../io/files.js';
import { createModel, MODEL_NAMES, SEGMENTATION_MODELS, type ModelName } from '../models/index.js';
import { capacitySweepSpec } from '../viz/charts.js';
import { saveChart } from '../viz/render.js';
import { defaultCacheDir } from './data.js';
import { floatOption, intOption } from './options.js';
import { countProgress, ProgressReporter } from './progress.js';
import { DEFAULT_CONFIG, runTraining, type TrainConfig } from './train.js';

export const SWEEP_VARIABLES = ['width', 'depth', 'epochs', 'limit'] as const;
export type SweepVariable = (typeof SWEEP_VARIABLES)[number];

/** One run of a sweep: its errors at the end of training. */
export interface SweepPoint {
  value: number;
  parameters: number;
  /** 1 − training accuracy over the last epoch's batches. */
  trainError: number;
  /** 1 − accuracy on the test split after the last epoch. */
  valError: number;
  trainLoss: number;
  valLoss: number;
  /** The run folder. */
  out: string;
}

export interface SweepOptions {
  out: string;
  log?: (line: string) => void;
  /** Show a progress bar per run (the CLI). */
  progress?: boolean;
  cache?: string | null;
}

const TITLES: Record<SweepVariable, string> = {
  width: 'LeNet-5 width multiplier', depth: 'ResNet depth (layers)', epochs: 'epochs of training', limit: 'training images',
};

/** The run configuration for one value of the swept variable. */
function configFor(base: TrainConfig, variable: SweepVariable, value: number): TrainConfig {
  if (variable === 'width') return { ...base, width: value };
  if (variable === 'depth') return { ...base, model: `resnet${value}` };
  if (variable === 'epochs') return { ...base, epochs: value };
  return { ...base, limit: value };
}

/** Checks the sweep before the first run, so a bad value does not fail after hours of training. */
function checkSweep(base: TrainConfig, variable: SweepVariable, values: readonly number[]): void {
  if (values.length < 2) throw new ArgumentError('sweep', `--${variable} needs at least two values to sweep, got ${values.join(',')}`);
  if (new Set(values).size !== values.length) throw new ArgumentError('sweep', `--${variable} lists a value twice: ${values.join(',')}`);
  if (SEGMENTATION_MODELS.includes(base.model as ModelName)) throw new ArgumentError('sweep', `sweeps train classifiers; --model ${base.model} segments images`);
  if (variable === 'width' && base.model !== 'lenet5') throw new ArgumentError('sweep', `--width applies to --model lenet5 (its width multiplier), got --model ${base.model}`);
  if (variable === 'depth') {
    const bad = values.filter((d) => !(MODEL_NAMES as readonly string[]).includes(`resnet${d}`));
    if (!/^resnet\d+$/.test(base.model)) throw new ArgumentError('sweep', `--depth applies to the ResNets (--model resnet20), got --model ${base.model}`);
    if (bad.length) throw new ArgumentError('sweep', `--depth ${bad.join(',')}: the ResNets have depths 20, 32, 44 and 56`);
  }
}

/**
 * Trains one model per value of `variable` into `<out>/<variable>-<value>/` and writes sweep.csv and
 * capacity-sweep.svg/.png in `out`.
 */
export async function runSweep(base: TrainConfig, variable: SweepVariable, values: readonly number[], options: SweepOptions): Promise<SweepPoint[]> {
  checkSweep(base, variable, values);
  const log = options.log ?? ((s: string) => process.stdout.write(s + '\n'));
  const points: SweepPoint[] = [];
  for (const value of [...values].sort((a, b) => a - b)) {
    const out = join(options.out, `${variable}-${value}`);
    log(`--- ${variable} ${value} ---`);
    const { history } = await runTraining(configFor(base, variable, value), {
      out, resume: false, log, cache: options.cache ?? null,
      ...(options.progress ? { progress: new ProgressReporter(), decodeProgress: (label: string) => countProgress(label, 'images') } : {}),
    });
    const last = history[history.length - 1];
    // The run records its classes and input shape: the parameter count comes from the same model.
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as TrainConfig;
    const [inChannels, inputSize] = config.inputShape!;
    const model = createModel(config.model, { inChannels, inputSize, numClasses: config.classes!.length, width: config.width });
    points.push({
      value, parameters: model.parameters().reduce((n, p) => n + p.size, 0),
      trainError: 1 - (last.trainAccuracy ?? 0), valError: 1 - (last.valAccuracy ?? 0),
      trainLoss: last.trainLoss, valLoss: last.valLoss ?? NaN, out,
    });
  }
  const header = `${variable},parameters,train_error,val_error,train_loss,val_loss,run\n`;
  writeFileAtomic(join(options.out, 'sweep.csv'), header + points.map((p) => [p.value, p.parameters, p.trainError, p.valError, p.trainLoss, p.valLoss, `${variable}-${p.value}`].join(',') + '\n').join(''));
  const spec = capacitySweepSpec(points.map((p) => ({ capacity: p.value, trainError: p.trainError, valError: p.valError })), {
    xTitle: TITLES[variable], logX: variable === 'width' || variable === 'limit',
    title: `${base.model} on ${base.dataset}: error against ${TITLES[variable]}`,
  });
  for (const ext of ['svg', 'png']) await saveChart(spec, join(options.out, `capacity-sweep.${ext}`));
  log(`sweep of ${variable} over ${values.join(', ')}: ${join(options.out, 'capacity-sweep.svg')} and sweep.csv`);
  return points;
}

/** A comma-separated list of numbers, each checked by `one` (commander parser). */
const listOption = (one: (v: string) => number) => (v: string): number[] => v.split(',').map((s) => one(s.trim()));

const positiveFloat = (name: string) => (v: string): number => {
  const n = floatOption(name)(v);
  if (!(n > 0)) throw new InvalidArgumentError(`${name} values must be positive, got '${v}'`);
  return n;
};

/** Registers `pixelgrad sweep` on the program. */
export function registerSweepCommand(program: Command): void {
  program.command('sweep')
    .description('train one model per value of a capacity variable and plot training and validation error against it (under- and over-fitting, the generalisation gap), with the data as CSV')
    .addOption(new Option('--model <name>', 'model').choices(MODEL_NAMES.filter((m) => !SEGMENTATION_MODELS.includes(m))).default(DEFAULT_CONFIG.model))
    .option('--width <list>', 'sweep LeNet-5\'s width multiplier, e.g. 0.25,0.5,1,2,4', listOption(positiveFloat('--width')))
    .option('--depth <list>', 'sweep the ResNet depth, e.g. 20,32,44,56', listOption(intOption('--depth', 1, 1000)))
    .option('--epochs <list>', 'epochs per run, or a list to sweep', listOption(intOption('--epochs', 1, 100_000)), [DEFAULT_CONFIG.epochs])
    .option('--limit <list>', 'training images per run (a stratified sample, and a quarter as many test images), or a list to sweep', listOption(intOption('--limit', 4)))
    .option('--dataset <mnist|path>', "'mnist', a folder of IDX files, or an image folder", DEFAULT_CONFIG.dataset)
    .option('--batch-size <n>', 'batch size', intOption('--batch-size', 1, 65_536), DEFAULT_CONFIG.batchSize)
    .option('--lr <x>', 'learning rate (the peak of the one-cycle schedule)', floatOption('--lr'), DEFAULT_CONFIG.lr)
    // No augmentation by default: it is a regulariser, and the sweep is there to show over-fitting.
    .addOption(new Option('--augment <name>', 'augmentation').choices(['affine', 'none']).default('none'))
    .option('--seed <n>', 'random seed (the same for every run)', intOption('--seed', 0, 2 ** 32 - 1), DEFAULT_CONFIG.seed)
    .option('--out <dir>', 'sweep folder (default runs/sweep-<variable>-<date>)')
    .option('--cache <dir>', 'cache of decoded image folders', defaultCacheDir())
    .option('--no-cache', 'decode image folders without reading or writing the cache')
    .action(async (o) => {
      const lists: Record<SweepVariable, number[] | undefined> = { width: o.width, depth: o.depth, epochs: o.epochs, limit: o.limit };
      const swept = SWEEP_VARIABLES.filter((v) => (v === 'width' || v === 'depth' ? lists[v] !== undefined : (lists[v]?.length ?? 0) > 1));
      if (swept.length !== 1) {
        throw new ArgumentError('sweep', swept.length ? `sweep one variable at a time, got ${swept.map((v) => `--${v}`).join(' and ')}` : 'give the variable to sweep: --width, --depth, or a list for --epochs or --limit (e.g. --width 0.25,0.5,1,2,4)');
      }
      const variable = swept[0];
      // --epochs and --limit hold one value each unless swept (two lists were refused above).
      const fixed = (v: 'epochs' | 'limit') => (variable === v ? undefined : lists[v]?.[0]);
      const base: TrainConfig = {
        ...DEFAULT_CONFIG, model: o.model, dataset: o.dataset, batchSize: o.batchSize, lr: o.lr,
        augment: o.augment, seed: o.seed, epochs: fixed('epochs') ?? DEFAULT_CONFIG.epochs, limit: fixed('limit') ?? null,
      };
      const out = o.out ?? join('runs', `sweep-${variable}-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}`);
      await runSweep(base, variable, lists[variable]!, { out, progress: true, cache: o.cache === false ? null : o.cache });
    });
}
