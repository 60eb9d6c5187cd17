/**
 * The model zoo: networks trained by pixelgrad itself, whose weights ship with the package in its
 * `zoo/` folder (one safetensors state dict per model). Nothing is downloaded. Each file's SHA-256
 * is fixed here and checked before the weights are used: a changed file is refused.
 *
 * Browser-safe: the weights are bytes. Under Node, importing `pixelgrad/node` lets the core find
 * the files itself (`setZooReader`); in a browser, fetch the file and pass its bytes (`weights`).
 */
import { ArgumentError, NotSupportedError, PixelgradError, fmtText } from '../errors.js';
import { sha256Hex } from '../io/sha256.js';
import { parseSafetensors } from '../io/safetensors.js';
import type { Module } from '../nn/module.js';

export interface ZooEntry {
  /** The name `--from zoo:<name>` takes: `<architecture>-<dataset>`. */
  name: string;
  /** The `createModel` name of the architecture. */
  architecture: 'lenet5';
  /** The training data (`models.lenet5({ pretrained: dataset })`). */
  dataset: string;
  /** The file in the package's `zoo/` folder. */
  file: string;
  /** SHA-256 of the file, hex. */
  sha256: string;
  /** The classes in output order (the dataset's label values), and what they are. */
  classes: string[];
  classNames: string[];
  /** [C, H, W] of one input image (pixel values in [0, 1]). */
  inputShape: [number, number, number];
  /** Test accuracy of these weights on the dataset's test split. */
  testAccuracy: number;
  /** The command that trained it; `npx tsx tools/zoo-export.ts <run folder> <name>` then writes the file. */
  recipe: string;
}

const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** Every model of the zoo. */
export const ZOO: readonly ZooEntry[] = [
  {
    name: 'lenet5-mnist', architecture: 'lenet5', dataset: 'mnist', file: 'lenet5-mnist.safetensors',
    sha256: '2fd9b8918c55e6c5934164c96f4997e7da87417bc5c504e5be3dbd0ffc6bbfc5', classes: DIGITS, classNames: DIGITS, inputShape: [1, 28, 28], testAccuracy: 0.983,
    recipe: 'pixelgrad train --seed 0 --out runs/zoo-lenet5-mnist',
  },
  {
    name: 'lenet5-fashion-mnist', architecture: 'lenet5', dataset: 'fashion-mnist', file: 'lenet5-fashion-mnist.safetensors',
    sha256: '6799dab8daffad95d501b1f020546883bacfc76aa163bd6cbadbe9d33deafc23', classes: DIGITS,
    classNames: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
    inputShape: [1, 28, 28], testAccuracy: 0.8688,
    recipe: 'pixelgrad train --dataset /usr/share/datasets/fashion-mnist --epochs 6 --seed 0 --out runs/zoo-lenet5-fashion-mnist',
  },
];

/** A zoo file whose contents are not the ones shipped (wrong checksum) or that cannot be read. */
export class ZooError extends PixelgradError {}

/** The zoo entry called `name` (e.g. 'lenet5-mnist'). */
export function zooEntry(name: string, op = 'zoo'): ZooEntry {
  const entry = ZOO.find((e) => e.name === name);
  if (!entry) throw new ArgumentError(op, `no model ${fmtText(name)} in the zoo (it has: ${ZOO.map((e) => e.name).join(', ')})`);
  return entry;
}

/** Reads a zoo file's bytes; `pixelgrad/node` sets one that reads the package's `zoo/` folder. */
export type ZooReader = (entry: ZooEntry) => Uint8Array;
let reader: ZooReader | null = null;

/** Sets how the core finds zoo files when no bytes are given (null: never, bytes must be passed). */
export function setZooReader(read: ZooReader | null): void {
  reader = read;
}

/**
 * The state dict of a zoo model from its file's bytes (default: read by the zoo reader), after
 * checking the bytes against the SHA-256 fixed in `ZOO`.
 */
export function zooStateDict(entry: ZooEntry, bytes?: Uint8Array, op = 'zoo'): ReturnType<typeof parseSafetensors>['tensors'] {
  if (!bytes) {
    if (!reader) throw new NotSupportedError(op, `the weights of ${entry.name} must be given as bytes here (fetch ${entry.file} from the package's zoo/ folder and pass it as 'weights'); under Node, import 'pixelgrad/node' and they are read from the package`);
    bytes = reader(entry);
  }
  const digest = sha256Hex(bytes);
  if (digest !== entry.sha256) throw new ZooError(op, `${entry.file} is not the file shipped with pixelgrad (SHA-256 ${digest}, expected ${entry.sha256}); reinstall the package`);
  return parseSafetensors(bytes, entry.file).tensors;
}

/** Loads a zoo model's checked weights into `model` (of the entry's architecture and shape); returns it. */
export function loadPretrained<M extends Module<any, any>>(model: M, name: string, bytes?: Uint8Array, op = 'loadPretrained'): M {
  model.loadStateDict(zooStateDict(zooEntry(name, op), bytes, op));
  return model;
}

/** The options of a model factory that can return zoo weights, e.g. `models.lenet5({ pretrained: 'mnist' })`. */
export interface PretrainedOptions {
  /** The dataset of the zoo weights to load (e.g. 'mnist', 'fashion-mnist'). */
  pretrained?: string;
  /** The zoo file's bytes, where the core cannot read files (browsers). */
  weights?: Uint8Array;
}
