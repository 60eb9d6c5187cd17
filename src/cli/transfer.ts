/**
 * Transfer learning on the command line: `pixelgrad train --from <checkpoint|zoo:name>` starts from
 * another network's weights, `--replace-head` gives it a new classifier for the data's classes,
 * `--freeze` fixes layers and `--unfreeze-after` trains everything from a later epoch on. Also the
 * model a checkpoint holds, which every command that reads checkpoints uses.
 */
import { ArgumentError, ShapeError } from '../errors.js';
import { createModel, pretrainedModel } from '../models/index.js';
import { zooEntry } from '../models/zoo.js';
import { readZooFile } from '../models/node/zoo-files.js';
import { adaptInputChannels, replaceHead, type ChannelRule } from '../nn/transfer.js';
import type { Module } from '../nn/module.js';
import { loadCheckpoint, restoreCheckpoint } from '../train/checkpoint.js';
import type { Callback } from '../train/fit.js';
import type { TrainConfig } from './train.js';

/** How a run starts from another network (saved in its config.json and checkpoints). */
export interface TransferConfig {
  /** A checkpoint written by `pixelgrad train`, or `zoo:<name>`. */
  from: string;
  /** Module paths (e.g. conv1, fc1) whose parameters are not trained. */
  freeze: string[];
  /** A new, freshly initialised classifier head for the data's classes. */
  replaceHead: boolean;
  /** After this many epochs every layer is trained (null: the frozen ones stay frozen). */
  unfreezeAfter: number | null;
  /** How the first convolution's filters are adapted when the data has another number of channels. */
  channels: ChannelRule;
}

/** Restores a checkpoint's model; its architecture, classes and input shape come from the checkpoint alone (no dataset). */
export function modelFromCheckpoint(path: string) {
  const ckpt = loadCheckpoint(path);
  const config = ckpt.config as unknown as TrainConfig;
  if (!config || typeof config.model !== 'string') throw new ArgumentError('checkpoint', `${path} has no run configuration (was it written by 'pixelgrad train'?)`);
  const { classes, inputShape } = config;
  if (!Array.isArray(classes) || classes.length === 0 || !classes.every((c) => typeof c === 'string')
    || !Array.isArray(inputShape) || inputShape.length !== 3 || !inputShape.every((d) => Number.isSafeInteger(d) && d > 0)) {
    throw new ArgumentError('checkpoint', `${path} does not record its model's classes and input shape (it was written by an earlier pixelgrad); train the model again`);
  }
  const model = createModel(config.model, { inChannels: inputShape[0], numClasses: classes.length, inputSize: inputShape[1], unet: { depth: config.unetDepth, width: config.unetWidth }, width: config.width });
  restoreCheckpoint(ckpt, { model, defaultGenerator: false });
  return { config, classes, inputShape, model };
}

const ZOO_PREFIX = 'zoo:';

/** The network `--from` names, with its architecture, classes and input shape. */
function transferSource(from: string): { architecture: string; classes: string[]; inputShape: [number, number, number]; model: Module } {
  if (from.startsWith(ZOO_PREFIX)) {
    const entry = zooEntry(from.slice(ZOO_PREFIX.length), 'train --from');
    return { architecture: entry.architecture, classes: entry.classes, inputShape: entry.inputShape, model: pretrainedModel(entry.name, readZooFile(entry)) };
  }
  const { config, classes, inputShape, model } = modelFromCheckpoint(from);
  return { architecture: config.model, classes, inputShape, model };
}

/** The architecture of the `--from` network (read from the zoo table or the checkpoint's configuration). */
export function sourceArchitecture(from: string): string {
  if (from.startsWith(ZOO_PREFIX)) return zooEntry(from.slice(ZOO_PREFIX.length), 'train --from').architecture;
  const config = loadCheckpoint(from).config as unknown as Partial<TrainConfig> | null;
  if (!config || typeof config.model !== 'string') throw new ArgumentError('train', `--from ${from} has no run configuration (was it written by 'pixelgrad train'?)`);
  return config.model;
}

/** The options of `pixelgrad train` that define a transfer, as commander gives them. */
export interface TransferOptions {
  model: string;
  classes?: string[];
  from?: string;
  freeze?: string[];
  /** true, or the new head's classes. */
  replaceHead?: boolean | string[];
  unfreezeAfter?: number;
  adaptChannels?: ChannelRule;
}

/**
 * The transfer of a run from its command-line options (null without --from; the options that need
 * it are errors then), the model (the --from network's architecture) and the classes (--classes,
 * or the list given to --replace-head).
 */
export function transferFromOptions(o: TransferOptions, modelGiven: boolean): { transfer: TransferConfig | null; model: string; classes: string[] | null } {
  const op = 'train';
  if (o.from === undefined) {
    const orphan = ([['freeze', '--freeze'], ['replaceHead', '--replace-head'], ['unfreezeAfter', '--unfreeze-after'], ['adaptChannels', '--adapt-channels']] as const).find(([k]) => o[k] !== undefined);
    if (orphan) throw new ArgumentError(op, `${orphan[1]} needs --from <checkpoint|zoo:name>`);
    return { transfer: null, model: o.model, classes: o.classes ?? null };
  }
  const model = sourceArchitecture(o.from);
  if (modelGiven && o.model !== model) throw new ArgumentError(op, `--from ${o.from} is a ${model}; leave out --model ${o.model}`);
  const headClasses = Array.isArray(o.replaceHead) ? o.replaceHead : null;
  if (headClasses && o.classes && headClasses.join(',') !== o.classes.join(',')) throw new ArgumentError(op, `--replace-head ${headClasses.join(',')} and --classes ${o.classes.join(',')} differ; give the classes once`);
  const transfer = { from: o.from, freeze: o.freeze ?? [], replaceHead: o.replaceHead !== undefined, unfreezeAfter: o.unfreezeAfter ?? null, channels: o.adaptChannels ?? 'average' };
  return { transfer, model, classes: o.classes ?? headClasses };
}

/** Checks a transfer against the run's epochs. */
export function checkTransfer(t: TransferConfig, epochs: number): void {
  if (t.unfreezeAfter === null) return;
  if (!t.freeze.length) throw new ArgumentError('train', '--unfreeze-after needs --freeze (there is nothing to unfreeze)');
  if (!Number.isInteger(t.unfreezeAfter) || t.unfreezeAfter < 1 || t.unfreezeAfter >= epochs) {
    throw new ArgumentError('train', `--unfreeze-after must be an integer from 1 to ${epochs - 1} (less than --epochs ${epochs}), got ${t.unfreezeAfter}`);
  }
}

/**
 * Starts a run's freshly built `model` from the `--from` network (unless resuming: the checkpoint
 * has the weights): its weights, adapted to the data's channels and classes; then freezes the
 * `--freeze` layers until `--unfreeze-after`. Returns the callbacks that unfreeze them.
 */
export function applyTransfer(model: Module, config: TrainConfig, resumeEpoch: number | null, log: (line: string) => void): Callback[] {
  const t = config.transfer;
  if (!t) return [];
  if (resumeEpoch === null) {
    const [inChannels, height, width] = config.inputShape!, numClasses = config.classes!.length;
    const source = transferSource(t.from);
    const [c, h, w] = source.inputShape;
    if (source.architecture !== config.model) throw new ArgumentError('train', `--from ${t.from} is a ${source.architecture}, not a ${config.model}`);
    if (h !== height || w !== width) throw new ShapeError('train', `--from ${t.from} takes ${h}×${w} images, the data has ${height}×${width}`);
    if (c !== inChannels) {
      adaptInputChannels(source.model, inChannels, { rule: t.channels });
      log(`first convolution adapted from ${c} to ${inChannels} input channels (${t.channels} rule)`);
    }
    if (t.replaceHead) replaceHead(source.model, numClasses);
    else if (source.classes.length !== numClasses) {
      throw new ArgumentError('train', `--from ${t.from} has ${source.classes.length} classes, the data ${numClasses}: pass --replace-head for a new classifier`);
    }
    model.loadStateDict(source.model.stateDict());
    log(`weights from ${t.from}${t.replaceHead ? ', with a new classifier head' : ''}`);
  }
  const frozen = t.freeze.length > 0 && (t.unfreezeAfter === null || (resumeEpoch ?? 0) < t.unfreezeAfter);
  if (!frozen) return [];
  model.freeze(t.freeze);
  log(`frozen: ${t.freeze.join(', ')}${t.unfreezeAfter === null ? '' : ` (until epoch ${t.unfreezeAfter})`}`);
  if (t.unfreezeAfter === null) return [];
  const after = t.unfreezeAfter;
  return [{
    onEpochBegin(_ctx, epoch) {
      if (epoch !== after + 1) return;
      model.unfreeze();
      log(`epoch ${epoch}: every layer trains from now on`);
    },
  }];
}
