/** Ready-made networks. */
import { ArgumentError, NotSupportedError } from '../errors.js';
import type { Module } from '../nn/module.js';
import { LeNet5 } from './lenet.js';
import { ResNet } from './resnet.js';
import { SmallVgg } from './vgg.js';
import { RowRnn, type RowRnnCell } from './row-rnn.js';
import { UNet } from './unet.js';
import { loadPretrained, zooEntry } from './zoo.js';
export { LeNet5, lenet5, type LeNet5Options } from './lenet.js';
export { ResNet, BasicBlock, resnet, type ResNetOptions, type ShortcutKind } from './resnet.js';
export { SmallVgg, smallVgg, type VggOptions } from './vgg.js';
export { UNet, unet, type UNetOptions } from './unet.js';
export { RowRnn, rowRnn, type RowRnnOptions, type RowRnnCell } from './row-rnn.js';
export { ZOO, ZooError, zooEntry, zooStateDict, loadPretrained, setZooReader, type ZooEntry, type ZooReader, type PretrainedOptions } from './zoo.js';

/** The names `createModel` (and the command line's --model) accepts. */
export const MODEL_NAMES = ['lenet5', 'resnet20', 'resnet32', 'resnet44', 'resnet56', 'smallvgg', 'rowlstm', 'rowgru', 'rowrnn', 'unet'] as const;
/** The models that give one logit per class and pixel (`--task segment`). */
export const SEGMENTATION_MODELS: readonly ModelName[] = ['unet'];
export type ModelName = (typeof MODEL_NAMES)[number];

export interface ModelShape {
  inChannels: number;
  numClasses: number;
  /** Side of the square input images. */
  inputSize: number;
  /** U-Net levels including the bottleneck (default 3) and channels of the first (default 16, doubling per level). */
  unet?: { depth?: number; width?: number };
  /** LeNet-5's width multiplier (LeNet5Options.width; default 1). */
  width?: number;
}

/** A model by name for inputs of the given shape, e.g. createModel('resnet20', { inChannels: 1, numClasses: 10, inputSize: 28 }). */
export function createModel(name: string, shape: ModelShape): Module {
  const { inChannels, numClasses, inputSize, width } = shape;
  if (name === 'lenet5') return new LeNet5({ inChannels, numClasses, inputSize, width });
  if (width !== undefined && width !== 1) throw new NotSupportedError('createModel', `a width multiplier is implemented for lenet5 only, not '${name}'`);
  const depth = /^resnet(\d+)$/.exec(name);
  if (depth && (MODEL_NAMES as readonly string[]).includes(name)) return new ResNet({ depth: Number(depth[1]), inChannels, numClasses });
  if (name === 'smallvgg') return new SmallVgg({ inChannels, numClasses, inputSize });
  const row = /^row(lstm|gru|rnn)$/.exec(name);
  if (row) return new RowRnn({ cell: row[1] as RowRnnCell, inChannels, numClasses, inputSize });
  if (name === 'unet') {
    const { depth = 3, width = 16 } = shape.unet ?? {};
    // Batch norm after every convolution: without it the deep levels of a U-Net start with tiny
    // activations (PyTorch's default init) and learn slowly, so the net segments by local texture only.
    return new UNet({ inChannels, numClasses, widths: Array.from({ length: depth }, (_, i) => width * 2 ** i), batchNorm: true });
  }
  throw new ArgumentError('createModel', `unknown model '${name}' (known: ${MODEL_NAMES.join(', ')})`);
}

/** A zoo model by name ('lenet5-mnist', ...), its weights checked and loaded (`bytes`: the file, where files cannot be read). */
export function pretrainedModel(name: string, bytes?: Uint8Array): Module {
  const entry = zooEntry(name, 'pretrainedModel');
  const [inChannels, inputSize] = entry.inputShape;
  return loadPretrained(createModel(entry.architecture, { inChannels, numClasses: entry.classes.length, inputSize }), name, bytes, 'pretrainedModel');
}
