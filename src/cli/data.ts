/**
 * Datasets for the command line: the bundled MNIST digits, an IDX folder, or an image folder.
 *
 * The class list is decided once: the labels of the training split (IDX label values in numeric
 * order, class folders in code-point order), or an explicit list (`--classes`, or a checkpoint's).
 * Targets are then mapped to class indices 0..C−1, so labels that start at 1 (EMNIST letters),
 * have gaps or are a subset all train. With an explicit list, samples of other labels are left out
 * of both splits; without one, a test label unseen in training is an error, raised before training.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ArgumentError } from '../errors.js';
import { MappedDataset, Subset, TensorDataset, type Dataset } from '../data/dataset.js';
import { mnist } from '../data/node/mnist.js';
import { idx } from '../data/node/idx-file.js';
import { imageFolder } from '../data/node/folders.js';
import { stratifiedSample, stratifiedSplit } from '../data/split.js';
import { Generator } from '../random.js';
import { Tensor } from '../tensor.js';
import { indexSelect } from '../ops/shape.js';

export type Sample = { input: Tensor; target: number | Tensor };

/** One split whose targets are class indices 0..C−1, with those indices. */
export interface LabelledSplit {
  dataset: Dataset<Sample>;
  targets: Int32Array;
}

export interface LoadedData {
  /** Null when only the test split was asked for. */
  train: LabelledSplit | null;
  test: LabelledSplit;
  /** Class names in index order: IDX label values as text, or class folder names. */
  classes: string[];
  /** [channels, height, width] of one input. */
  inputShape: [number, number, number];
  /** What was loaded, for the run's log. */
  description: string;
}

export interface LoadOptions {
  /** Seeds the 80/20 split of a folder without train/ and test/. */
  seed: number;
  /** The classes in index order (label values or folder names); null: every label of the training split (with testOnly: of the test split). */
  classes?: readonly string[] | null;
  /** Only the test split is needed (eval): the training files of IDX sets and train/ folders are not read. */
  testOnly?: boolean;
  /** [C,H,W] that a model takes: a dataset of other images is an error. */
  inputShape?: readonly number[];
  /** A folder for the cache of decoded image folders; null for none. */
  cache?: string | null;
  /** A progress callback for decoding the folder described by `label`. */
  progress?: (label: string) => (done: number, total: number) => void;
  /** Notes (what was decoded or read from the cache, samples left out); warnings start with "warning: ". */
  log?: (line: string) => void;
}

/** The default folder of the decoded-image cache: $XDG_CACHE_HOME/pixelgrad, or ~/.cache/pixelgrad. */
export function defaultCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'pixelgrad');
}

/** A split before the classes are chosen: raw labels (IDX label values, class folder indices) and their names. */
interface RawSplit {
  dataset: Dataset<Sample>;
  labels: ArrayLike<number>;
  name: (label: number) => string;
  /** The file or folder, for error messages. */
  source: string;
  /** What a label is, for error messages. */
  kind: 'label' | 'class folder';
}

const IDX_NAMES = [['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'], ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']];

function findIdx(dir: string, stem: string): string | null {
  for (const name of [stem, `${stem}.gz`]) if (existsSync(join(dir, name))) return join(dir, name);
  return null;
}

const quoteList = (names: readonly string[], max = 10) => names.slice(0, max).map((n) => `'${n}'`).join(', ') + (names.length > max ? ` and ${names.length - max} more` : '');

/**
 * `mnist` (the bundled digits), a folder with MNIST-style IDX files (train-/t10k- images and
 * labels, raw or .gz), or an image folder with train/ and test/ sub-folders of class folders (or
 * class folders only: then 20 % of each class is held out for testing, with `seed`). Everything is
 * checked before it returns: a missing or unreadable dataset, an empty one, non-square or
 * mixed-size images, unknown classes; errors name the file.
 */
export async function loadDataset(spec: string, options: LoadOptions): Promise<LoadedData> {
  const log = options.log ?? (() => {});
  const notes: string[] = []; // logged once everything is checked
  const requested = options.classes ?? null;
  if (requested) checkClassList(requested);
  const load = async (): Promise<{ train: RawSplit | null; test: RawSplit; description: string; flat?: boolean }> => {
    if (spec === 'mnist') {
      const source = 'the bundled MNIST digits';
      const raw = (train: boolean): RawSplit => {
        const ds = mnist({ train });
        return { dataset: ds, labels: ds.targets.data, name: String, source, kind: 'label' };
      };
      return { train: options.testOnly ? null : raw(true), test: raw(false), description: 'mnist (bundled 8,000/2,000 split)' };
    }
    if (!existsSync(spec)) throw new ArgumentError('dataset', `'${spec}' is neither 'mnist' nor an existing folder`);
    if (!statSync(spec).isDirectory()) throw new ArgumentError('dataset', `'${spec}' is not a folder (give a folder of IDX files or of images)`);
    const [trainIdx, testIdx] = IDX_NAMES.map(([images, labels]) => [findIdx(spec, images), findIdx(spec, labels)] as const);
    if (trainIdx[0] || trainIdx[1] || testIdx[0] || testIdx[1]) {
      const missing = (options.testOnly ? IDX_NAMES[1] : IDX_NAMES.flat()).filter((stem) => !findIdx(spec, stem));
      if (missing.length) throw new ArgumentError('dataset', `${spec} has IDX files but not ${missing.join(', ')} (raw or .gz)`);
      return { train: options.testOnly ? null : idxSplit(trainIdx[0]!, trainIdx[1]!), test: idxSplit(testIdx[0]!, testIdx[1]!), description: `IDX files in ${spec}` };
    }
    let sub: string[];
    try {
      sub = readdirSync(spec);
    } catch (err) {
      throw new ArgumentError('dataset', `cannot read the folder ${spec}: ${(err as Error).message}`);
    }
    if (sub.includes('train') !== sub.includes('test')) throw new ArgumentError('dataset', `${spec} has a ${sub.includes('train') ? 'train' : 'test'}/ folder but no ${sub.includes('train') ? 'test' : 'train'}/ folder`);
    if (sub.includes('train')) {
      const train = options.testOnly ? null : await folderSplit(join(spec, 'train'), options, log);
      return { train, test: await folderSplit(join(spec, 'test'), options, log), description: `image folders ${join(spec, 'train')} and ${join(spec, 'test')}` };
    }
    const all = await folderSplit(spec, options, log);
    return { train: all, test: all, flat: true, description: `image folder ${spec} (80/20 stratified split, seed ${options.seed})` };
  };
  const raw = await load();

  const classes = requested ? [...requested] : classesOf(raw.train ?? raw.test);
  if (requested && raw.train) {
    const present = new Set(Array.from(raw.train.labels, raw.train.name));
    const absent = requested.filter((c) => !present.has(c));
    if (absent.length) {
      throw new ArgumentError('dataset', `${raw.train.source} has no training images of the class${absent.length > 1 ? 'es' : ''} ${quoteList(absent)} (its ${raw.train.kind}s: ${quoteList(classesOf(raw.train), 30)})`);
    }
  }
  // Without an explicit list, every label must be known: a test label unseen in training is an error now, not after an epoch.
  const strictTest = requested === null ? raw.train : null;
  let train: LabelledSplit | null, test: LabelledSplit;
  if (raw.flat) {
    const all = relabel(raw.test, classes, null, notes);
    const [a, b] = stratifiedSplit(all.dataset, all.targets, [0.8, 0.2], { generator: new Generator(options.seed) });
    train = options.testOnly ? null : subsetOf(all, a.indices);
    test = subsetOf(all, b.indices);
  } else {
    train = raw.train && relabel(raw.train, classes, null, notes);
    test = relabel(raw.test, classes, strictTest, notes);
  }
  for (const [what, split, from] of [['training', train, raw.train], ['test', test, raw.test]] as const) {
    if (split && split.targets.length === 0) throw new ArgumentError('dataset', `${from!.source} has no ${what} images${requested ? ` of the classes ${quoteList(classes)}` : ''}`);
  }
  const inputShape = shapeOf((train ?? test).dataset.get(0).input, (raw.train ?? raw.test).source);
  if (options.inputShape && options.inputShape.join() !== inputShape.join()) {
    throw new ArgumentError('dataset', `${spec} holds ${inputShape.join('×')} images but the model takes ${options.inputShape.join('×')} (C×H×W)`);
  }
  notes.forEach(log);
  return { train, test, classes, inputShape, description: raw.description };
}

function checkClassList(classes: readonly string[]): void {
  if (!Array.isArray(classes) || classes.length === 0 || classes.some((c) => typeof c !== 'string' || c === '')) throw new ArgumentError('dataset', `the class list must be non-empty names, got ${JSON.stringify(classes)}`);
  const twice = classes.find((c, i) => classes.indexOf(c) !== i);
  if (twice !== undefined) throw new ArgumentError('dataset', `the class list names '${twice}' twice`);
}

/** The labels present in a split, in ascending order, by name. */
function classesOf(split: RawSplit): string[] {
  return [...new Set(Array.from(split.labels))].sort((a, b) => a - b).map(split.name);
}

/**
 * The samples of `split` whose label is one of `classes`, with targets mapped to class indices.
 * A label not in `classes` is left out (and counted in `notes`), or, when `strictAgainst` is given,
 * an error naming the label, the file and the training file it is missing from.
 */
function relabel(split: RawSplit, classes: readonly string[], strictAgainst: RawSplit | null, notes: string[]): LabelledSplit {
  const index = new Map(classes.map((c, i) => [c, i]));
  const byLabel = new Map<number, number>();
  const kept: number[] = [], targets: number[] = [];
  const omitted = new Map<number, number>();
  for (let i = 0; i < split.labels.length; i++) {
    const label = split.labels[i];
    let k = byLabel.get(label);
    if (k === undefined) byLabel.set(label, (k = index.get(split.name(label)) ?? -1));
    if (k >= 0) {
      kept.push(i);
      targets.push(k);
    } else {
      omitted.set(label, (omitted.get(label) ?? 0) + 1);
    }
  }
  if (omitted.size > 0) {
    const [label, count] = [...omitted].sort((a, b) => a[0] - b[0])[0];
    if (strictAgainst) {
      throw new ArgumentError('dataset', `${split.source}: test ${split.kind} '${split.name(label)}' (${count} image${count > 1 ? 's' : ''}) does not occur in the training data ${strictAgainst.source}, whose classes are ${quoteList(classes, 30)}; pass --classes to choose the classes (images of other labels are then left out)`);
    }
    const n = split.labels.length - kept.length;
    notes.push(`left out ${n.toLocaleString('en-US')} images of ${split.source} whose ${split.kind}s are not among the classes (${quoteList([...omitted.keys()].sort((a, b) => a - b).map(split.name))})`);
  }
  const t = Int32Array.from(targets);
  const ds = split.dataset;
  const all = kept.length === split.labels.length;
  // Tensor datasets stay tensor datasets, so batches are still gathered in one indexSelect.
  const dataset: Dataset<Sample> = ds instanceof TensorDataset
    ? new TensorDataset(all ? ds.inputs : indexSelect(ds.inputs, 0, new Tensor(Int32Array.from(kept), [kept.length])), new Tensor(t, [t.length]))
    : new MappedDataset(all ? ds : new Subset(ds, kept), (s, i) => ({ input: s.input, target: t[i] }));
  return { dataset, targets: t };
}

/** The samples at `indices` of a labelled split. */
function subsetOf(split: LabelledSplit, indices: readonly number[]): LabelledSplit {
  return { dataset: new Subset(split.dataset, indices), targets: Int32Array.from(indices, (i) => split.targets[i]) };
}

/** A split from IDX images and labels (which `idx` checks), of square images. */
function idxSplit(imagesPath: string, labelsPath: string): RawSplit {
  const ds = idx(imagesPath, labelsPath);
  const [, , h, w] = ds.inputs.shape;
  if (h !== w) throw new ArgumentError('dataset', `${imagesPath}: the images are ${h}×${w} (H×W) but the models take square images`);
  return { dataset: ds, labels: ds.targets.data, name: String, source: labelsPath, kind: 'label' };
}

/** A split from a folder of class folders, decoded with progress and through the cache; logs where the pixels came from. */
async function folderSplit(root: string, options: LoadOptions, log: (line: string) => void): Promise<RawSplit> {
  const started = performance.now();
  const folder = await imageFolder(root, {
    ...(options.cache ? { cache: options.cache } : {}),
    ...(options.progress ? { onProgress: options.progress(`decoding ${root}`) } : {}),
    onWarning: (m) => log(`warning: ${m}`),
  });
  const n = folder.length.toLocaleString('en-US'), seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (folder.cache?.hit) log(`read ${n} decoded images of ${root} from the cache ${folder.cache.file} in ${seconds} s`);
  else log(`decoded ${n} images of ${root} in ${seconds} s${folder.cache ? ` (cached in ${folder.cache.file})` : ''}`);
  return { dataset: folder, labels: folder.targets, name: (i) => folder.classes[i], source: root, kind: 'class folder' };
}

function shapeOf(t: Tensor, source: string): [number, number, number] {
  const [c, h, w] = t.shape;
  if (t.ndim !== 3 || h !== w) throw new ArgumentError('dataset', `${source}: images must be square [C,H,W]; got ${JSON.stringify(t.shape)} (resize them first)`);
  return [c, h, w];
}

/**
 * A stratified, seeded sample of `n` samples of a split (every class keeps its share), or the split
 * itself when `n` is null or not smaller.
 */
export function limitSplit(split: LabelledSplit, n: number | null, generator: Generator): LabelledSplit {
  if (n === null || n >= split.targets.length) return split;
  return subsetOf(split, stratifiedSample(split.dataset, split.targets, n, { generator }).indices);
}

/**
 * Which classes a split holds and how many of each, e.g. "all 3 classes (cat 5, dog 4, fox 4)";
 * for more than 12 classes a range ("26 classes, 37–39 each"), and the classes missing.
 */
export function classBalance(classes: readonly string[], targets: ArrayLike<number>): string {
  const counts = new Array<number>(classes.length).fill(0);
  for (let i = 0; i < targets.length; i++) counts[targets[i]]++;
  const present = counts.filter((c) => c > 0);
  const missing = classes.filter((_, i) => counts[i] === 0);
  const head = missing.length === 0 ? `all ${classes.length} classes` : `${present.length} of ${classes.length} classes`;
  const lo = Math.min(...present), hi = Math.max(...present);
  const detail = classes.length <= 12
    ? ` (${classes.map((c, i) => [c, counts[i]] as const).filter(([, k]) => k > 0).map(([c, k]) => `${c} ${k}`).join(', ')})`
    : `, ${lo === hi ? lo : `${lo}–${hi}`} each`;
  return head + detail + (missing.length ? `; none of ${quoteList(missing)}` : '');
}
