/**
 * Images as sequences: the row LSTM (models.rowRnn) reads each bundled MNIST digit as 28 rows of
 * 28 pixels and classifies it from its last hidden state. Trained with `train.fit`: Adam (lr 5e-3,
 * cosine schedule over the epochs), gradient clipping (`clipGradNorm: 1`, the total gradient norm
 * clipped before each step — backpropagation through 28 steps can give large gradients), batch 64,
 * random affine augmentation (±10°, ±10 % shift and scale). Prints one line per epoch and writes
 * the history, learning curves and the trained weights. Runs on the WebAssembly SIMD backend when
 * available (PIXELGRAD_BACKEND=js for the JS reference).
 *
 *   npx tsx examples/row-rnn.ts [--cell lstm|gru|rnn] [--epochs 12] [--limit N] [--out runs/row-rnn]
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { DataLoader } from '../src/data/dataloader.js';
import { Subset, type Dataset, type Sample } from '../src/data/dataset.js';
import { mnist } from '../src/data/node/mnist.js';
import { randomAffine } from '../src/data/transforms/random.js';
import { saveModel } from '../src/io/node.js';
import { writeFileAtomic } from '../src/io/files.js';
import { RowRnn, type RowRnnCell } from '../src/models/row-rnn.js';
import { crossEntropy } from '../src/nn/functional/loss.js';
import { Adam } from '../src/optim/adam.js';
import { CosineAnnealingLR } from '../src/optim/lr-scheduler.js';
import { Generator, manualSeed } from '../src/random.js';
import { selectDefaultBackend } from '../src/backend/select.js';
import { fit, type Batch, type EpochRecord } from '../src/train/fit.js';
import { learningCurvesSpec } from '../src/viz/charts.js';
import { saveChart } from '../src/viz/render.js';

export interface RowRnnRunOptions {
  cell?: RowRnnCell;
  epochs?: number;
  hiddenSize?: number;
  lr?: number;
  batchSize?: number;
  /** Use only the first n training and n/4 test digits (quick trials). */
  limit?: number | null;
  augment?: boolean;
  clipGradNorm?: number;
  seed?: number;
  log?: (line: string) => void;
}

export interface RowRnnRunResult {
  model: RowRnn;
  history: EpochRecord[];
  testAccuracy: number;
  /** First epoch whose test accuracy reached 97 % (null if none). */
  epochTo97: number | null;
  /** Wall time of the training (all epochs, evaluation included). */
  seconds: number;
}

const limited = <T,>(ds: Dataset<T>, n: number | null | undefined): Dataset<T> =>
  n == null || n >= ds.length ? ds : new Subset(ds, Array.from({ length: n }, (_, i) => i));

export async function trainRowRnn(options: RowRnnRunOptions = {}): Promise<RowRnnRunResult> {
  const { cell = 'lstm', epochs = 12, hiddenSize = 128, lr = 5e-3, batchSize = 64, limit = null, augment = true, clipGradNorm = 1, seed = 0 } = options;
  const log = options.log ?? (() => {});
  manualSeed(seed);
  const dataGen = new Generator(seed + 1), augmentGen = new Generator(seed + 2);
  const train = limited<Sample>(mnist(), limit), test = limited<Sample>(mnist({ train: false }), limit == null ? null : Math.max(1, limit >> 2));
  const model = new RowRnn({ cell, hiddenSize });
  const affine = augment ? randomAffine({ degrees: 10, translate: [0.1, 0.1], scale: [0.9, 1.1], interpolation: 'bilinear', generator: augmentGen }) : null;
  const trainLoader = new DataLoader<Sample, Batch>(train, {
    batchSize, shuffle: true, generator: dataGen,
    ...(affine ? { transform: (s: Sample) => ({ ...s, input: affine(s.input) }) } : {}),
  });
  const testLoader = new DataLoader<Sample, Batch>(test, { batchSize: 500 });
  const optimizer = new Adam(model.parameters(), { lr });
  const scheduler = new CosineAnnealingLR(optimizer, { tMax: epochs });
  log(`row ${cell.toUpperCase()} (hidden ${hiddenSize}, ${model.parameters().reduce((s, p) => s + p.size, 0)} parameters) on ${train.length} training / ${test.length} test digits, ${epochs} epochs`);
  const start = performance.now();
  const history = await fit(model, {
    train: trainLoader, val: testLoader, optimizer, scheduler, loss: crossEntropy, epochs, clipGradNorm,
    callbacks: [{
      onEpochEnd: (_ctx, r) => log(`epoch ${String(r.epoch).padStart(2)}  loss ${r.trainLoss.toFixed(4)}  train acc ${((r.trainAccuracy ?? 0) * 100).toFixed(2)} %  ` +
        `test loss ${(r.valLoss ?? NaN).toFixed(4)}  test acc ${((r.valAccuracy ?? 0) * 100).toFixed(2)} %  lr ${r.lr.toExponential(2)}  ` +
        `${r.seconds.toFixed(0)} s (${r.imagesPerSecond.toFixed(0)} img/s)  [${((performance.now() - start) / 60000).toFixed(1)} min]`),
    }],
  });
  const seconds = (performance.now() - start) / 1000;
  const reached = history.find((r) => (r.valAccuracy ?? 0) >= 0.97);
  return { model, history, testAccuracy: history[history.length - 1]?.valAccuracy ?? NaN, epochTo97: reached ? reached.epoch : null, seconds };
}

async function main(): Promise<void> {
  // The fastest backend, as the command line (PIXELGRAD_BACKEND=js for the JS reference).
  const { backend, threads } = await selectDefaultBackend();
  console.log(`backend: ${backend} (${threads} thread${threads > 1 ? 's' : ''})`);
  const { values } = parseArgs({
    options: {
      cell: { type: 'string', default: 'lstm' }, epochs: { type: 'string', default: '12' }, limit: { type: 'string' },
      out: { type: 'string', default: join('runs', 'row-rnn') }, 'no-augment': { type: 'boolean', default: false },
    },
  });
  const r = await trainRowRnn({
    cell: values.cell as RowRnnCell, epochs: Number(values.epochs), limit: values.limit ? Number(values.limit) : null,
    augment: !values['no-augment'], log: (l) => console.log(l),
  });
  console.log(`test accuracy ${(r.testAccuracy * 100).toFixed(2)} % after ${r.history.length} epochs in ${(r.seconds / 60).toFixed(1)} min; ` +
    (r.epochTo97 ? `≥ 97 % first at epoch ${r.epochTo97} (${(r.history.slice(0, r.epochTo97).reduce((s, e) => s + e.seconds, 0) / 60).toFixed(1)} min of training)` : 'did not reach 97 %'));
  const out = values.out!;
  mkdirSync(out, { recursive: true });
  writeFileAtomic(join(out, 'history.json'), JSON.stringify({ cell: values.cell, testAccuracy: r.testAccuracy, epochTo97: r.epochTo97, seconds: r.seconds, history: r.history }, null, 2) + '\n');
  saveModel(r.model, join(out, `row-${values.cell}.safetensors`));
  await saveChart(learningCurvesSpec(r.history, { title: `row ${values.cell} on MNIST` }), join(out, 'learning-curves.svg'));
  await saveChart(learningCurvesSpec(r.history, { title: `row ${values.cell} on MNIST` }), join(out, 'learning-curves.png'));
  console.log(`wrote ${join(out, 'history.json')}, row-${values.cell}.safetensors and learning-curves.svg/.png`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
