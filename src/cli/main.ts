#!/usr/bin/env node
/**
 * The `pixelgrad` command: train, eval, predict, summary. Errors print one line and exit with
 * status 1 (set PIXELGRAD_DEBUG=1 for the stack trace).
 */
import { Command, Option } from 'commander';
import { join } from 'node:path';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { PixelgradError, ArgumentError } from '../errors.js';
import { createModel, MODEL_NAMES } from '../models/index.js';
import { summary } from '../nn/summary.js';
import { DataLoader } from '../data/dataloader.js';
import { evaluate, predict, type Batch } from '../train/fit.js';
import { classificationReport } from '../train/metrics.js';
import { crossEntropy } from '../nn/functional/loss.js';
import { readImage } from '../data/node/image-io.js';
import { stack } from '../ops/shape.js';
import { DEFAULT_CONFIG, runTraining, type TrainConfig } from './train.js';
import { defaultCacheDir, loadDataset, type Sample } from './data.js';
import { ProgressReporter, countProgress } from './progress.js';
import { adversarialConfig, ADVERSARIAL_LR, registerAttackCommand } from './attack.js';
import { registerExplainCommand } from './explain.js';
import { registerEmbedCommand } from './embed.js';
import { registerSweepCommand } from './sweep.js';
import { registerReportCommand, writeReport } from './report.js';
import { registerExportCommand } from './export.js';
import { modelFromCheckpoint, transferFromOptions } from './transfer.js';
import { evaluateSegmentation, predictSegmentation } from './segment-task.js';
import { selectDefaultBackend } from '../backend/select.js';
import { packageVersion } from './version.js';
import { floatOption, intOption } from './options.js';
import { fmtBytes, readMemorySettings } from '../dtype.js';

const version = packageVersion();

/** Images classified per batch by `predict`. */
const PREDICT_BATCH = 256;
/** Most values an input image may have in `summary` (16M: e.g. 4×2048×2048). */
const MAX_INPUT_VALUES = 2 ** 24;


/** A comma-separated list of class names (commander parser). */
const nameList = (v: string): string[] => v.split(',').map((c) => c.trim());

/** The decoded-image cache folder from --cache / --no-cache. */
const cacheOption = (o: { cache: string | false }): string | null => (o.cache === false ? null : o.cache);

export function buildProgram(): Command {
  const program = new Command('pixelgrad').description('Deep learning for image analysis: train, evaluate and inspect models.').version(version);

  program.command('train')
    .description('train a model; with no options, LeNet-5 on the bundled MNIST digits (about 98% test accuracy after its 12 epochs)')
    .addOption(new Option('--model <name>', 'model').choices([...MODEL_NAMES]).default(DEFAULT_CONFIG.model))
    .option('--dataset <mnist|path>', "'mnist', a folder of IDX files, or an image folder", DEFAULT_CONFIG.dataset)
    .option('--epochs <n>', 'epochs', intOption('--epochs', 1, 100_000), DEFAULT_CONFIG.epochs)
    .option('--batch-size <n>', 'batch size', intOption('--batch-size', 1, 65_536), DEFAULT_CONFIG.batchSize)
    .option('--lr <x>', 'learning rate (the peak of the one-cycle schedule)', floatOption('--lr'), DEFAULT_CONFIG.lr)
    .addOption(new Option('--optimizer <name>', 'optimiser').choices(['sgd', 'adam', 'adamw']).default(DEFAULT_CONFIG.optimizer))
    .option('--momentum <x>', 'SGD momentum', floatOption('--momentum'), DEFAULT_CONFIG.momentum)
    .option('--no-nesterov', 'plain instead of Nesterov momentum')
    .option('--weight-decay <x>', 'weight decay', floatOption('--weight-decay'), DEFAULT_CONFIG.weightDecay)
    .addOption(new Option('--schedule <name>', 'learning-rate schedule').choices(['onecycle', 'cosine', 'none']).default(DEFAULT_CONFIG.schedule))
    .addOption(new Option('--augment <name>', 'augmentation: random affine (±10°, ±10% shift and scale) or none; segmentation also flips, and elastic deforms').choices(['affine', 'elastic', 'none']).default(DEFAULT_CONFIG.augment))
    .option('--seed <n>', 'random seed', intOption('--seed', 0, 2 ** 32 - 1), DEFAULT_CONFIG.seed)
    .option('--limit <n>', 'use a stratified random sample of n training (and n/4 test) images, for quick trials', intOption('--limit', 4))
    .option('--classes <list>', 'comma-separated classes in index order: IDX label values or class folder names (images of other classes are left out; default: every label of the training split)', nameList)
    .option('--cache <dir>', 'cache of decoded image folders', defaultCacheDir())
    .option('--no-cache', 'decode image folders without reading or writing the cache')
    .addOption(new Option('--task <name>', "classify, or segment (--model unet on a folder with image/ and label/ subfolders, or 'shapes')").choices(['classify', 'segment']).default('classify'))
    .option('--crop <n>', 'segmentation: train on random n×n crops, predict by overlap-tile', intOption('--crop', 8, 65_536))
    .addOption(new Option('--loss <name>', 'segmentation loss').choices(['ce', 'dice', 'ce+dice']))
    .option('--weight-map', 'segmentation: weight the cross entropy by the U-Net weight map of each mask')
    .option('--unet-depth <n>', 'U-Net levels including the bottleneck (default 3)', intOption('--unet-depth', 2, 6))
    .option('--unet-width <n>', 'channels of the first U-Net level, doubling per level (default 16)', intOption('--unet-width', 1, 256))
    .option('--out <dir>', 'run folder (default runs/<model>-<date>)')
    .option('--resume', 'continue the run in --out from its last checkpoint, with its saved configuration')
    .option('--allow-nonfinite', 'train on when the loss becomes NaN or infinite (default: stop with an error, keeping the last finite checkpoint)')
    .addOption(new Option('--adversarial <attack>', `adversarial training on FGSM or PGD images of each batch, robust accuracy logged per epoch (SGD's default --lr becomes ${ADVERSARIAL_LR})`).choices(['fgsm', 'pgd']))
    .option('--eps <x>', 'adversarial training: ε in pixels (0–1 scale)', floatOption('--eps'))
    .option('--steps <n>', 'adversarial training: PGD steps (default 7)', intOption('--steps', 1, 1000))
    .option('--alpha <x>', 'adversarial training: PGD step size (default ε/4)', floatOption('--alpha'))
    .option('--adv-ratio <r>', 'adversarial training: the fraction of each batch made adversarial (default 1)', floatOption('--adv-ratio'))
    .option('--from <checkpoint|zoo:name>', 'start from the weights of a checkpoint written by train, or of a zoo model (zoo:lenet5-mnist, zoo:lenet5-fashion-mnist); the model is its architecture')
    .option('--freeze <modules>', 'comma-separated module names (e.g. conv1,conv2,fc1,fc2) whose weights are not trained', nameList)
    .option('--replace-head [classes]', 'a new classifier head for the data\'s classes (optionally the comma-separated classes, as --classes)', nameList)
    .option('--unfreeze-after <epochs>', 'train every layer after this many epochs', intOption('--unfreeze-after', 1, 100_000))
    .addOption(new Option('--adapt-channels <rule>', 'when the data has another number of channels than --from: the first filters averaged or replicated (scaled to keep the activations)').choices(['average', 'replicate']))
    .option('--report', 'write report.html (pixelgrad report) in the run folder at the end')
    .action(async (o, cmd: Command) => {
      if (o.resume && !o.out) throw new ArgumentError('train', '--resume needs --out <run folder>');
      const out = o.out ?? join('runs', `${o.model}-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}`);
      const { transfer, model, classes } = transferFromOptions(o, cmd.getOptionValueSource('model') === 'cli');
      const config: TrainConfig = {
        adversarial: adversarialConfig(o),
        model, dataset: o.dataset, epochs: o.epochs, batchSize: o.batchSize, optimizer: o.optimizer, lr: o.lr,
        momentum: o.momentum, nesterov: o.nesterov, weightDecay: o.weightDecay, schedule: o.schedule, augment: o.augment,
        seed: o.seed, limit: o.limit ?? null, classes, transfer,
        ...(o.task === 'segment' ? { task: 'segment', crop: o.crop ?? null, loss: o.loss ?? 'ce', weightMap: Boolean(o.weightMap), unetDepth: o.unetDepth ?? 3, unetWidth: o.unetWidth ?? 16 }
          : { crop: o.crop, loss: o.loss, weightMap: o.weightMap, unetDepth: o.unetDepth, unetWidth: o.unetWidth }),
      };
      if (o.optimizer !== 'sgd' && o.lr === DEFAULT_CONFIG.lr) config.lr = 0.003;
      if (config.adversarial && o.optimizer === 'sgd' && cmd.getOptionValueSource('lr') !== 'cli') config.lr = ADVERSARIAL_LR;
      const epochsGiven = cmd.getOptionValueSource('epochs') === 'cli';
      await runTraining(config, { out, resume: Boolean(o.resume), epochs: epochsGiven ? o.epochs : undefined, progress: new ProgressReporter(),
        cache: cacheOption(o), decodeProgress: (label) => countProgress(label, 'images'), allowNonFinite: Boolean(o.allowNonfinite) });
      if (o.report) await writeReport(out, { cache: cacheOption(o) });
    });

  program.command('eval')
    .description('evaluate a checkpoint on its dataset\'s test split (or another dataset)')
    .requiredOption('--checkpoint <file>', 'a checkpoint written by train (e.g. runs/x/best.safetensors)')
    .option('--dataset <mnist|path>', 'dataset (default: the one it was trained on); images of classes the model does not know are left out')
    .option('--cache <dir>', 'cache of decoded image folders', defaultCacheDir())
    .option('--no-cache', 'decode image folders without reading or writing the cache')
    .action(async (o) => {
      const { config, classes, inputShape, model } = modelFromCheckpoint(o.checkpoint);
      if (config.task === 'segment') return evaluateSegmentation(model, config, o.dataset, (line) => console.log(line));
      const data = await loadDataset(o.dataset ?? config.dataset, {
        seed: config.seed ?? 0, classes, inputShape, testOnly: true, cache: cacheOption(o),
        progress: (label) => countProgress(label, 'images', process.stderr), log: (line) => console.error(line),
      });
      const r = evaluate(model, new DataLoader<Sample, Batch>(data.test.dataset, { batchSize: 500 }), { loss: crossEntropy, numClasses: classes.length });
      const rep = classificationReport(r.confusion!);
      console.log(`${r.samples} test images: accuracy ${(100 * (r.accuracy ?? 0)).toFixed(2)}%, loss ${r.loss.toFixed(4)}, macro F1 ${rep.macroF1.toFixed(4)}`);
      console.log('class  precision  recall  f1      support');
      classes.forEach((c, i) => console.log(`${c.padEnd(6)} ${rep.precision[i].toFixed(4).padStart(9)}  ${rep.recall[i].toFixed(4)}  ${rep.f1[i].toFixed(4)}  ${rep.support[i]}`));
    });

  program.command('predict')
    .description('classify image files with a checkpoint (a segmentation checkpoint writes their masks and overlays)')
    .requiredOption('--checkpoint <file>', 'a checkpoint written by train')
    .option('--top <k>', 'show the k most likely classes', intOption('--top'), 3)
    .option('--out <dir>', 'segmentation checkpoints: folder for each image\'s mask, coloured mask and overlay PNGs', '.')
    .argument('<images...>', 'PNG or JPEG files')
    .action(async (images: string[], o) => {
      const { config, classes, inputShape: [c, size], model } = modelFromCheckpoint(o.checkpoint);
      if (config.task === 'segment') return predictSegmentation(model, config, classes, images, o.out, (line) => console.log(line));
      const k = Math.min(o.top, classes.length);
      // A batch of images at a time: any number of files, in bounded memory.
      for (let start = 0; start < images.length; start += PREDICT_BATCH) {
        const paths = images.slice(start, start + PREDICT_BATCH), inputs = [];
        for (const path of paths) {
          const img = await readImage(path, { mode: c === 1 ? 'gray' : 'rgb' });
          if (img.shape[1] !== size || img.shape[2] !== size) throw new ArgumentError('predict', `${path} is ${img.shape[2]}×${img.shape[1]} but the model expects ${size}×${size} images`);
          inputs.push(img);
        }
        const probs = predict(model, stack(inputs, 0)).softmax(1);
        paths.forEach((path, i) => {
          const row = [...probs.data.subarray(i * classes.length, (i + 1) * classes.length)];
          const best = row.map((p, j) => [p, j]).sort((a, b) => b[0] - a[0]).slice(0, k);
          console.log(`${path}: ${best.map(([p, j]) => `${classes[j]} (${(100 * p).toFixed(1)}%)`).join(', ')}`);
        });
      }
    });

  registerAttackCommand(program, modelFromCheckpoint);
  registerExplainCommand(program, modelFromCheckpoint);
  registerEmbedCommand(program, modelFromCheckpoint);
  registerSweepCommand(program);
  registerReportCommand(program);
  registerExportCommand(program, modelFromCheckpoint);

  // Commands that compute use the fastest backend, as the package entry does (PIXELGRAD_BACKEND=js
  // keeps the reference); every command checks the memory settings before it writes anything.
  for (const cmd of program.commands) {
    cmd.hook('preAction', async () => {
      readMemorySettings();
      if (cmd.name() !== 'summary') await selectDefaultBackend();
    });
  }

  program.command('summary')
    .description('print a model\'s layers with output shapes and parameter counts')
    .addOption(new Option('--model <name>', 'model').choices([...MODEL_NAMES]).default('lenet5'))
    .option('--input-shape <c,h,w>', 'input shape', '1,28,28')
    .option('--classes <n>', 'number of classes', intOption('--classes', 1, 100_000), 10)
    .action((o) => {
      const shape = String(o.inputShape).split(',').map(Number);
      if (shape.length !== 3 || shape.some((d) => !Number.isInteger(d) || d < 1)) throw new ArgumentError('summary', `--input-shape must be c,h,w (positive integers), got '${o.inputShape}'`);
      const values = shape[0] * shape[1] * shape[2];
      if (values > MAX_INPUT_VALUES) throw new ArgumentError('summary', `--input-shape ${o.inputShape} is too large: ${values.toLocaleString('en')} values per image (${fmtBytes(4 * values)} as float32), at most ${MAX_INPUT_VALUES.toLocaleString('en')}`);
      const model = createModel(o.model, { inChannels: shape[0], numClasses: o.classes, inputSize: shape[1] });
      console.log(summary(model, [1, ...shape]).toString());
    });
  return program;
}

/** Runs the command line; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  // Subcommands were made before this and do not inherit it: without it, their option errors exit the process.
  for (const cmd of [program, ...program.commands]) cmd.exitOverride();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    const e = err as Error & { code?: string; exitCode?: number };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
    if (e.code?.startsWith('commander.')) return e.exitCode ?? 1;
    if (process.env.PIXELGRAD_DEBUG) console.error(e.stack);
    const known = e instanceof PixelgradError || (e as NodeJS.ErrnoException).code !== undefined;
    // An allocation that failed outside pixelgrad's own checks (the engine's heap, a typed array).
    const memory = e instanceof RangeError && /allocation failed|Invalid typed array length|Array buffer/i.test(e.message);
    console.error(`pixelgrad: ${known ? e.message : memory ? `out of memory (${e.message}): use smaller batches, images or models` : `unexpected error: ${e.message}`}`);
    return 1;
  }
}

const invokedDirectly = process.argv[1] !== undefined && existsSync(process.argv[1]) && pathToFileURL(realpathSync(process.argv[1])).href === import.meta.url;
if (invokedDirectly) {
  // A reader that stops early (`pixelgrad eval ... | head -1`) closes the pipe: end quietly, as
  // Unix tools do, instead of an EPIPE stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      process.exit(process.exitCode ?? 0);
    });
  }
  process.exitCode = await main(process.argv.slice(2));
}
