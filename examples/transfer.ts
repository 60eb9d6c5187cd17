/**
 * Where transfer pays: MNIST from a few labelled digits (a stratified sample of the 8,000 bundled
 * training digits, `perClass` per class on average), learned three ways —
 * from scratch; with the zoo's Fashion-MNIST LeNet-5 as frozen features (only a new head trains);
 * and fine-tuned from it (every layer, the features at a tenth of the head's learning rate).
 * Test accuracy on the 2,000 bundled test digits after each epoch, for 100 digits per class, as
 * one chart; and the final accuracies for 10 and 100 digits per class.
 *
 *   npx tsx examples/transfer.ts   # writes runs/transfer/: learning-curves-10 and -100 (.png, .svg), results.json (the curves)
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Generator, manualSeed, models, nn, optim, type Tensor } from '../src/index.js';
import { loadZooModel, makeFolder, saveChart, writeFileAtomic } from '../src/node.js';
import { mnist } from '../src/data/node/mnist.js';
import { DataLoader } from '../src/data/dataloader.js';
import { Subset } from '../src/data/dataset.js';
import { stratifiedSample } from '../src/data/split.js';
import { fit, type Batch } from '../src/train/fit.js';
import { lineSpec } from '../src/viz/charts.js';

export const VARIANTS = ['from scratch', 'frozen Fashion-MNIST convolutions', 'fine-tuned from Fashion-MNIST'] as const;
export type Variant = (typeof VARIANTS)[number];
const LR = 2e-3;

/** The model and optimiser of a variant (the zoo's network gets a new 10-class head). */
function setup(variant: Variant): { model: nn.Module; optimizer: optim.Adam } {
  if (variant === 'from scratch') {
    const model = new models.LeNet5();
    return { model, optimizer: new optim.Adam(model.parameters(), { lr: LR }) };
  }
  const model = nn.replaceHead(loadZooModel('lenet5-fashion-mnist'), 10);
  if (variant === 'frozen Fashion-MNIST convolutions') {
    model.freeze(['conv1', 'conv2']);
    return { model, optimizer: new optim.Adam(model.parameters(), { lr: LR }) };
  }
  return { model, optimizer: new optim.Adam(nn.parameterGroups(model, [{ modules: ['conv1', 'conv2'], lr: LR / 10 }]), { lr: LR }) };
}

/** Test accuracy after each epoch, per variant. */
export async function transferExperiment(perClass: number, epochs: number, options: { seed?: number; testLimit?: number } = {}): Promise<Record<Variant, number[]>> {
  const seed = options.seed ?? 0;
  const all = mnist();
  const train = stratifiedSample(all, all.targets, perClass * all.classes.length, { generator: new Generator(seed) }), testSet = mnist({ train: false });
  const test = options.testLimit ? new Subset(testSet, Array.from({ length: options.testLimit }, (_, i) => i)) : testSet;
  const out = {} as Record<Variant, number[]>;
  for (const variant of VARIANTS) {
    manualSeed(seed);
    const { model, optimizer } = setup(variant);
    const history = await fit(model, {
      train: new DataLoader<{ input: Tensor; target: Tensor | number }, Batch>(train, { batchSize: Math.min(32, train.length), shuffle: true, generator: new Generator(seed + 1) }),
      val: new DataLoader<{ input: Tensor; target: Tensor | number }, Batch>(test, { batchSize: 500 }),
      optimizer, loss: nn.functional.crossEntropy, epochs,
    });
    out[variant] = history.map((r) => r.valAccuracy ?? NaN);
  }
  return out;
}

async function main(): Promise<void> {
  const dir = join('runs', 'transfer');
  makeFolder(dir);
  const results: Record<string, Record<Variant, number[]>> = {};
  for (const [perClass, epochs] of [[10, 30], [100, 15]] as const) {
    const curves = await transferExperiment(perClass, epochs);
    results[`${perClass} per class`] = curves;
    const pct = (a: number) => `${(100 * a).toFixed(2)}%`;
    for (const v of VARIANTS) console.log(`${perClass} digits per class, ${v}: ${pct(curves[v][2])} after 3 epochs, ${pct(curves[v][epochs - 1])} after ${epochs}`);
    const spec = lineSpec(VARIANTS.map((v) => ({ name: v, values: curves[v].map((a) => 100 * a) })), {
      title: `MNIST from ${perClass * 10} labelled digits (${perClass} per class)`, xTitle: 'epoch', yTitle: 'test accuracy (%)',
      x: Array.from({ length: epochs }, (_, i) => i + 1),
    });
    for (const ext of ['png', 'svg']) await saveChart(spec, join(dir, `learning-curves-${perClass}.${ext}`));
  }
  writeFileAtomic(join(dir, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  console.log(`charts and results.json in ${dir}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
