/**
 * `pixelgrad train` for classification (the default task): MNIST, IDX folders or image folders,
 * an optional stratified --limit, random affine augmentation; at the end of the run one pass over
 * the test split gives summary.json, the confusion matrix and the gallery of misclassified images.
 */
import { join } from 'node:path';
import { DataLoader } from '../data/dataloader.js';
import { randomAffine } from '../data/transforms/random.js';
import { saveImageGrid } from '../data/node/image-io.js';
import { createModel } from '../models/index.js';
import { crossEntropy } from '../nn/functional/loss.js';
import { concat } from '../ops/shape.js';
import { Tensor } from '../tensor.js';
import { writeFileAtomic } from '../io/files.js';
import { evaluate, type Batch, type EpochRecord } from '../train/fit.js';
import { classificationReport } from '../train/metrics.js';
import { saveChart } from '../viz/render.js';
import { confusionMatrixSpec } from '../viz/charts.js';
import { classBalance, limitSplit, loadDataset, type LoadedData, type Sample } from './data.js';
import type { Task } from './tasks.js';

export const classificationTask: Task<LoadedData> = {
  load: (config, options, log) => loadDataset(config.dataset, {
    seed: config.seed, classes: config.classes ?? null, inputShape: config.inputShape, cache: options.cache ?? null, progress: options.decodeProgress, log,
  }),

  build(config, data, gens, log) {
    const [channels, size] = data.inputShape;
    // --limit's stratified samples draw from their own generator, so the other streams do not depend on it.
    const trainSplit = limitSplit(data.train!, config.limit, gens.limit), testSplit = limitSplit(data.test, config.limit === null ? null : Math.max(1, config.limit >> 2), gens.limit);
    log(`training images: ${classBalance(data.classes, trainSplit.targets)}`);
    log(`test images: ${classBalance(data.classes, testSplit.targets)}`);
    const train = trainSplit.dataset, test = testSplit.dataset;
    const model = createModel(config.model, { inChannels: channels, numClasses: data.classes.length, inputSize: size, width: config.width });
    const augment = config.augment === 'affine' ? randomAffine({ degrees: 10, translate: [0.1, 0.1], scale: [0.9, 1.1], interpolation: 'bilinear', generator: gens.augment }) : null;
    const trainLoader = new DataLoader<Sample, Batch>(train, {
      batchSize: config.batchSize, shuffle: true, generator: gens.data,
      ...(augment ? { transform: (s: Sample) => ({ ...s, input: augment(s.input) }) } : {}),
    });
    const testLoader = new DataLoader<Sample, Batch>(test, { batchSize: 500 });
    return {
      model, train: trainLoader, val: testLoader, loss: crossEntropy, callbacks: [], trainSize: train.length, testSize: test.length,
      score: (r: EpochRecord) => r.valAccuracy ?? -1,
      async finish(out: string, history: EpochRecord[]) {
        // One pass over the test split, batch by batch, gives the summary, the confusion matrix and the
        // misclassified gallery (only the images it shows are kept).
        const wrong: Misclassified[] = [];
        const result = evaluate(model, testLoader, {
          loss: crossEntropy, numClasses: data.classes.length,
          onBatch: (batch, output) => { if (wrong.length < GALLERY_SIZE) wrong.push(misclassified(batch, output, GALLERY_SIZE - wrong.length)); },
        });
        const testLoss = result.loss, confusion = result.confusion!;
        const report = classificationReport(confusion);
        writeFileAtomic(join(out, 'summary.json'), JSON.stringify({
          testLoss, testAccuracy: report.accuracy, perClass: data.classes.map((name, i) => ({ class: name, precision: report.precision[i], recall: report.recall[i], f1: report.f1[i], support: report.support[i] })),
          macroF1: report.macroF1, epochs: history.length, trainImagesPerSecond: history.map((r) => r.imagesPerSecond),
        }, null, 2) + '\n');
        for (const ext of ['svg', 'png']) await saveChart(confusionMatrixSpec(confusion, data.classes, { title: 'Test confusion matrix' }), join(out, `confusion-matrix.${ext}`));
        await saveMisclassified(wrong, data.classes, join(out, 'misclassified.png'));
        return { line: `test accuracy ${(100 * report.accuracy).toFixed(2)}% (loss ${testLoss.toFixed(4)}); run folder ${out}`, testAccuracy: report.accuracy };
      },
    };
  },
};

const GALLERY_SIZE = 64;

/** Misclassified images of one batch: the images, and their true and predicted classes. */
interface Misclassified { inputs: Tensor; truth: number[]; predicted: number[] }

/** Up to `max` misclassified images of a test batch. */
function misclassified({ input, target }: Batch, logits: Tensor, max: number): Misclassified {
  const predicted = logits.argmax(1).data, rows: number[] = [];
  for (let i = 0; i < target.size && rows.length < max; i++) if (predicted[i] !== target.data[i]) rows.push(i);
  const index = new Tensor(Int32Array.from(rows), [rows.length]);
  return { inputs: input.indexSelect(0, index), truth: rows.map((i) => target.data[i]), predicted: rows.map((i) => predicted[i]) };
}

/** A gallery of the misclassified test images, captioned "true→predicted". */
async function saveMisclassified(parts: Misclassified[], classes: string[], path: string): Promise<void> {
  const labels = parts.flatMap((p) => p.truth.map((t, i) => `${classes[t]}→${classes[p.predicted[i]]}`));
  if (!labels.length) return;
  await saveImageGrid(concat(parts.map((p) => p.inputs), 0), path, { nrow: 8, labels, scale: 2 });
}
