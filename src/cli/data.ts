/** Datasets for the command line: the bundled MNIST digits, an IDX folder, or an image folder. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ArgumentError } from '../errors.js';
import type { Dataset } from '../data/dataset.js';
import { mnist } from '../data/node/mnist.js';
import { idx } from '../data/node/idx-file.js';
import { imageFolder } from '../data/node/folders.js';
import { stratifiedSplit } from '../data/split.js';
import { Generator } from '../random.js';
import type { Tensor } from '../tensor.js';

export type Sample = { input: Tensor; target: number | Tensor };

export interface LoadedData {
  train: Dataset<Sample>;
  test: Dataset<Sample>;
  classes: string[];
  /** [channels, height, width] of one input. */
  inputShape: [number, number, number];
  /** What was loaded, for the run's config. */
  description: string;
}

const IDX_NAMES = [['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'], ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']];

function findIdx(dir: string, stem: string): string | null {
  for (const name of [stem, `${stem}.gz`]) if (existsSync(join(dir, name))) return join(dir, name);
  return null;
}

/**
 * `mnist` (the bundled digits), a folder with MNIST-style IDX files (train-/t10k- images and
 * labels, raw or .gz), or an image folder with train/ and test/ sub-folders of class folders (or
 * class folders only: then 20 % of each class is held out for testing, with `seed`).
 */
export async function loadDataset(spec: string, seed: number): Promise<LoadedData> {
  if (spec === 'mnist') {
    const train = mnist(), test = mnist({ train: false });
    return { train, test, classes: train.classes, inputShape: [1, 28, 28], description: 'mnist (bundled 8,000/2,000 split)' };
  }
  if (!existsSync(spec)) throw new ArgumentError('dataset', `'${spec}' is neither 'mnist' nor an existing folder`);
  if (!statSync(spec).isDirectory()) throw new ArgumentError('dataset', `'${spec}' is not a folder (give a folder of IDX files or of images)`);
  const [trainIdx, testIdx] = IDX_NAMES.map(([images, labels]) => [findIdx(spec, images), findIdx(spec, labels)] as const);
  if (trainIdx[0] && trainIdx[1]) {
    if (!testIdx[0] || !testIdx[1]) throw new ArgumentError('dataset', `${spec} has train-* IDX files but no t10k-images-idx3-ubyte / t10k-labels-idx1-ubyte`);
    const train = idx(trainIdx[0], trainIdx[1]), test = idx(testIdx[0], testIdx[1]);
    const classes = [...new Set(train.targets.data)].sort((a, b) => a - b).map(String);
    const [, , h, w] = train.inputs.shape;
    return { train, test, classes, inputShape: [1, h, w], description: `IDX files in ${spec}` };
  }
  const sub = readdirSync(spec);
  if (sub.includes('train') && sub.includes('test')) {
    const train = await imageFolder(join(spec, 'train')), test = await imageFolder(join(spec, 'test'));
    if (train.classes.join() !== test.classes.join()) throw new ArgumentError('dataset', `${spec}: train/ and test/ have different class folders`);
    return { train, test, classes: train.classes, inputShape: shapeOf(train.get(0).input), description: `image folders ${spec}/train and ${spec}/test` };
  }
  const all = await imageFolder(spec);
  const [train, test] = stratifiedSplit(all, all.targets, [0.8, 0.2], { generator: new Generator(seed) });
  return { train, test, classes: all.classes, inputShape: shapeOf(all.get(0).input), description: `image folder ${spec} (80/20 stratified split, seed ${seed})` };
}

function shapeOf(t: Tensor): [number, number, number] {
  const [c, h, w] = t.shape;
  if (t.ndim !== 3 || h !== w) throw new ArgumentError('dataset', `images must be square [C,H,W]; got ${JSON.stringify(t.shape)} (resize them first)`);
  return [c, h, w];
}
