/**
 * `pixelgrad train --task segment`: a U-Net on a segmentation folder (images and masks paired by
 * file name) or the synthetic shapes, trained on random crops with flips and elastic or affine
 * deformation, the U-Net weight map optional; validation by overlap-tile prediction of the whole
 * images each epoch (loss, pixel accuracy, mean IoU and Dice); at the end summary.json (per-class
 * IoU and Dice, V_rand for two classes), a grid of image | truth | prediction | overlay, the weight
 * map of one mask and the IoU/Dice curves. Also `pixelgrad predict` on a segmentation checkpoint.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { ArgumentError, ShapeError } from '../errors.js';
import { shapes } from '../data/shapes.js';
import { segmentationFolder } from '../data/node/folders.js';
import { readImage, saveImageGrid, writePng } from '../data/node/image-io.js';
import { DataLoader } from '../data/dataloader.js';
import type { Dataset } from '../data/dataset.js';
import { compose, elastic, randomAffine, randomCrop, randomHorizontalFlip, randomVerticalFlip, type PairTransform } from '../data/transforms/paired.js';
import { unetWeightMap } from '../data/transforms/weight-map.js';
import { createModel } from '../models/index.js';
import type { Module } from '../nn/module.js';
import { ceDiceLoss, crossEntropy, diceLoss } from '../nn/functional/loss.js';
import { concat } from '../ops/shape.js';
import { Generator } from '../random.js';
import { predictTiled } from '../segment/tile.js';
import { Tensor } from '../tensor.js';
import type { Batch, Callback, EpochRecord, LossFn } from '../train/fit.js';
import { addConfusion, confusionMatrix, randScores, segmentationScores } from '../train/metrics.js';
import { noGrad } from '../autograd/grad-mode.js';
import { writeFileAtomic, makeFolder } from '../io/files.js';
import { saveChart } from '../viz/render.js';
import { lineSpec } from '../viz/charts.js';
import { applyColormap } from '../viz/heatmap.js';
import type { TaskData, TaskGenerators, TaskRun, Task } from './tasks.js';
import type { TrainConfig } from './train.js';

/** One image and its mask of class indices 0..C−1 (and the file, for messages). */
interface Pair { image: Tensor; mask: Tensor; source: string }

export interface SegmentationData extends TaskData {
  train: Pair[];
  val: Pair[];
}

/** Most distinct mask values taken for classes without --classes (a photo given as masks has hundreds). */
const MAX_CLASSES = 64;

/**
 * The synthetic shapes (64×64, 4 classes): 1920 training and 120 validation images. Validation
 * takes samples 480–599, the same images as when the set held 600 (480 for training), so scores
 * compare with those runs.
 */
const SHAPES = { train: 1920, val: 120, valFrom: 480 };
function shapesData(seed: number): SegmentationData {
  const ds = shapes({ n: SHAPES.train + SHAPES.val, size: 64, seed });
  const pairs = Array.from({ length: ds.length }, (_, i) => ({ image: ds.get(i).input, mask: ds.get(i).target, source: `shapes[${i}]` }));
  const valEnd = SHAPES.valFrom + SHAPES.val;
  return {
    train: [...pairs.slice(0, SHAPES.valFrom), ...pairs.slice(valEnd)], val: pairs.slice(SHAPES.valFrom, valEnd), classes: [...ds.classes], inputShape: [1, 64, 64],
    description: 'synthetic shapes (64×64, 4 classes)',
  };
}

const IMAGE_DIRS = ['image', 'images', 'img', 'imgs'], MASK_DIRS = ['label', 'labels', 'mask', 'masks'];
const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();

/** The image and mask folders under `root`, or null. */
function pairDirs(root: string): [string, string] | null {
  const images = IMAGE_DIRS.map((d) => join(root, d)).find(isDir), masks = MASK_DIRS.map((d) => join(root, d)).find(isDir);
  return images && masks ? [images, masks] : null;
}

async function loadFolder(images: string, masks: string, classes: readonly string[] | null): Promise<{ pairs: Pair[]; values: number[] }> {
  const lookup = classes ? classes.map((c) => Number(c)) : undefined;
  const folder = await segmentationFolder(images, masks, { allowMixedSizes: true, ...(lookup ? { classes: lookup } : {}) });
  const pairs: Pair[] = [];
  const values = new Set<number>();
  for (let i = 0; i < folder.length; i++) {
    const { input, target } = folder.get(i);
    if (!lookup) for (const v of target.data) values.add(v);
    pairs.push({ image: input, mask: target, source: folder.samples[i][0] });
  }
  if (pairs.some((p) => p.image.shape[0] !== pairs[0].image.shape[0])) {
    const odd = pairs.find((p) => p.image.shape[0] !== pairs[0].image.shape[0])!;
    throw new ShapeError('train', `'${odd.source}' has ${odd.image.shape[0]} channels but '${pairs[0].source}' has ${pairs[0].image.shape[0]}; convert the images to one mode`);
  }
  return { pairs, values: [...values].sort((a, b) => a - b) };
}

/** Loads and checks the segmentation data before the run folder is made. */
async function loadSegmentation(config: TrainConfig): Promise<SegmentationData> {
  const spec = config.dataset;
  const data = spec === 'shapes' ? shapesData(config.seed) : await loadFolderData(spec, config);
  checkSizes(config, data);
  return data;
}

async function loadFolderData(spec: string, config: TrainConfig): Promise<SegmentationData> {
  if (!isDir(spec)) throw new ArgumentError('train', `--dataset ${spec}: not a folder (a segmentation dataset is a folder with image/ and label/ (or masks/) subfolders, or 'shapes')`);
  const train = pairDirs(spec) ?? pairDirs(join(spec, 'train'));
  if (!train) throw new ArgumentError('train', `--dataset ${spec}: no image/ and label/ (or images/ and masks/) folders in it or in its train/ folder`);
  const valDirs = ['val', 'test'].map((d) => pairDirs(join(spec, d))).find((d) => d) ?? null;
  const t = await loadFolder(train[0], train[1], config.classes);
  const v = valDirs ? await loadFolder(valDirs[0], valDirs[1], config.classes) : null;
  let classes = config.classes;
  if (!classes) {
    const values = [...new Set([...t.values, ...(v?.values ?? [])])].sort((a, b) => a - b);
    if (values.length > MAX_CLASSES) throw new ArgumentError('train', `the masks in ${train[1]} hold ${values.length} distinct values; masks hold class values (at most ${MAX_CLASSES} without --classes)`);
    if (values.length < 2) throw new ArgumentError('train', `the masks in ${train[1]} hold only the value ${values[0]}; segmentation needs at least two classes`);
    classes = values.map(String);
    // Mask values → class indices, in increasing value order.
    const index = new Map(values.map((value, i) => [value, i]));
    for (const p of [...t.pairs, ...(v?.pairs ?? [])]) p.mask = new Tensor(Int32Array.from(p.mask.data, (x) => index.get(x)!), p.mask.shape);
  }
  let trainPairs = t.pairs, valPairs = v?.pairs ?? [];
  if (!v) {
    // A seeded 80/20 split by image.
    const order = trainPairs.map((_, i) => i), g = new Generator(config.seed);
    for (let i = order.length - 1; i > 0; i--) { const j = g.integer(0, i + 1); [order[i], order[j]] = [order[j], order[i]]; }
    const nVal = Math.max(1, Math.round(order.length / 5));
    if (order.length < 2) throw new ArgumentError('train', `--dataset ${spec} holds one image; a train/validation split needs at least two`);
    valPairs = order.slice(0, nVal).sort((a, b) => a - b).map((i) => t.pairs[i]);
    trainPairs = order.slice(nVal).sort((a, b) => a - b).map((i) => t.pairs[i]);
  }
  const [c, h, w] = trainPairs[0].image.shape;
  const split = v ? `${valDirs![0]}` : 'a seeded 80/20 split by image';
  return { train: trainPairs, val: valPairs, classes, inputShape: [c, config.crop ?? h, config.crop ?? w], description: `${spec} (${trainPairs.length} training, ${valPairs.length} validation images from ${split}; classes = mask values ${classes.join(', ')})` };
}

/** Crops must fit every image; without crops every image must have one size that the U-Net takes. */
function checkSizes(config: TrainConfig, data: SegmentationData): void {
  const div = 2 ** ((config.unetDepth ?? 3) - 1);
  const all = [...data.train, ...data.val];
  if (config.crop) {
    if (config.crop % div) throw new ArgumentError('train', `--crop ${config.crop} must be divisible by ${div} for a U-Net of depth ${config.unetDepth ?? 3}`);
    const small = all.find((p) => p.image.shape[1] < config.crop! || p.image.shape[2] < config.crop!);
    if (small) throw new ShapeError('train', `--crop ${config.crop} is larger than '${small.source}' (${small.image.shape[1]}×${small.image.shape[2]})`);
    return;
  }
  const [, h, w] = all[0].image.shape;
  const odd = all.find((p) => p.image.shape[1] !== h || p.image.shape[2] !== w);
  if (odd) throw new ShapeError('train', `'${odd.source}' is ${odd.image.shape[1]}×${odd.image.shape[2]} but '${all[0].source}' is ${h}×${w}; pass --crop to train on crops of images of different sizes`);
  if (h % div || w % div) throw new ShapeError('train', `the images are ${h}×${w}, not divisible by ${div} for a U-Net of depth ${config.unetDepth ?? 3}; pass --crop`);
}

/** The U-Net's loss for --loss; the weight map of the batch multiplies the cross entropy. */
function lossFor(config: TrainConfig, classes: number): LossFn {
  // Two classes: the foreground's Dice; more: the mean over the classes but the background.
  const dice = classes === 2 ? { classIndex: 1 } : { includeBackground: false };
  const kind = config.loss ?? 'ce';
  return (output, target, batch) => {
    const ce = batch?.weight ? { weightMap: batch.weight } : {};
    if (kind === 'dice') return diceLoss(output, target, dice);
    if (kind === 'ce+dice') return ceDiceLoss(output, target, { crossEntropy: ce, dice });
    return crossEntropy(output, target, ce);
  };
}

/** The training pairs as a dataset of crops: each image gives about (area / crop²) random crops per epoch. */
class CropDataset implements Dataset<Batch> {
  readonly length: number;
  constructor(readonly pairs: Pair[], readonly weights: Tensor[] | null, readonly transform: PairTransform, readonly repeats: number) {
    this.length = pairs.length * repeats;
  }

  get(index: number): Batch {
    const p = this.pairs[index % this.pairs.length];
    const c = p.image.shape[0];
    // The weight map rides along as an extra image channel, so it is cropped and deformed with the image.
    const w = this.weights?.[index % this.pairs.length];
    const [input, mask] = this.transform(w ? concat([p.image, w.reshape(1, ...w.shape)], 0) : p.image, p.mask);
    if (!w) return { input, target: mask };
    return { input: input.narrow(0, 0, c), target: mask, weight: input.narrow(0, c, 1).reshape(mask.shape[0], mask.shape[1]) };
  }
}

const PALETTE: [number, number, number][] = [[0, 0, 0], [0.95, 0.9, 0.25], [0.2, 0.6, 1], [0.3, 0.85, 0.35], [0.9, 0.35, 0.9], [1, 0.55, 0.1], [0.55, 0.35, 0.2], [0.6, 0.6, 0.6]];
const colour = (k: number): [number, number, number] => PALETTE[k % PALETTE.length];

/** A mask of class indices [H,W] in colour [3,H,W]. */
function colourMask(mask: Tensor): Tensor {
  const [h, w] = mask.shape, out = new Float32Array(3 * h * w);
  for (let i = 0; i < h * w; i++) { const c = colour(mask.data[i]); for (let ch = 0; ch < 3; ch++) out[ch * h * w + i] = c[ch]; }
  return new Tensor(out, [3, h, w]);
}

/** The image in gray, tinted by the predicted classes; with a truth, its wrong pixels in red. */
function overlay(image: Tensor, predicted: Tensor, truth: Tensor | null): Tensor {
  const [c, h, w] = image.shape, out = new Float32Array(3 * h * w);
  for (let i = 0; i < h * w; i++) {
    let g = 0;
    for (let ch = 0; ch < c; ch++) g += image.data[ch * h * w + i] / c;
    const wrong = truth !== null && truth.data[i] !== predicted.data[i];
    const tint = wrong ? [1, 0, 0] : colour(predicted.data[i]);
    const a = wrong ? 0.75 : predicted.data[i] === 0 ? 0 : 0.35;
    for (let ch = 0; ch < 3; ch++) out[ch * h * w + i] = (1 - a) * g + a * tint[ch];
  }
  return new Tensor(out, [3, h, w]);
}

const rgb = (image: Tensor): Tensor => (image.shape[0] === 3 ? image : concat([image.narrow(0, 0, 1), image.narrow(0, 0, 1), image.narrow(0, 0, 1)], 0));

/** Overlap-tile settings for a run: the training crop with a quarter of it as context, or whole images. */
function tileOf(config: Pick<TrainConfig, 'crop'>): { tile: number; margin: number } | null {
  return config.crop ? { tile: config.crop, margin: config.crop / 4 } : null;
}

/** Logits [K,H,W] of one image: overlap-tile with the run's crops, or the whole image. */
function segmentImage(model: Module, image: Tensor, tile: { tile: number; margin: number } | null): Tensor {
  if (tile) return predictTiled(model, image, tile);
  return noGrad(() => { model.eval(); return model.forward(image.reshape(1, ...image.shape)).reshape(-1, image.shape[1], image.shape[2]); });
}

interface Validation { loss: number; confusion: number[][]; predictions: Tensor[] }

function validate(model: Module, pairs: Pair[], weights: Tensor[] | null, loss: LossFn, classes: number, tile: { tile: number; margin: number } | null): Validation {
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(() => {
      let lossSum = 0, confusion: number[][] | null = null;
      const predictions: Tensor[] = [];
      pairs.forEach((p, i) => {
        const logits = segmentImage(model, p.image, tile).reshape(1, classes, p.mask.shape[0], p.mask.shape[1]);
        const target = p.mask.reshape(1, ...p.mask.shape);
        const w = weights?.[i];
        lossSum += loss(logits, target, { input: p.image, target, ...(w ? { weight: w.reshape(1, ...w.shape) } : {}) }).item();
        const m = confusionMatrix(logits, target, classes);
        confusion = confusion ? addConfusion(confusion, m) : m;
        predictions.push(logits.argmax(1).reshape(...p.mask.shape));
      });
      return { loss: lossSum / pairs.length, confusion: confusion!, predictions };
    });
  } finally {
    model.train(wasTraining);
  }
}

export const segmentationTask: Task<SegmentationData> = {
  load: (config) => loadSegmentation(config),

  build(config, data, gens: TaskGenerators, log): TaskRun {
    const classes = data.classes.length;
    const model = createModel(config.model, { inChannels: data.inputShape[0], numClasses: classes, inputSize: data.inputShape[1], unet: { depth: config.unetDepth, width: config.unetWidth } });
    const weightOptions = { background: 0 };
    const trainWeights = config.weightMap ? data.train.map((p) => unetWeightMap(p.mask, weightOptions)) : null;
    const valWeights = config.weightMap ? data.val.map((p) => unetWeightMap(p.mask, weightOptions)) : null;
    const g = gens.augment;
    const steps: PairTransform[] = [];
    if (config.crop) steps.push(randomCrop(config.crop, { generator: g }));
    if (config.augment !== 'none') steps.push(randomHorizontalFlip({ generator: g }), randomVerticalFlip({ generator: g }));
    if (config.augment === 'elastic') steps.push(elastic({ sigma: 10, grid: 3, generator: g }));
    if (config.augment === 'affine') steps.push(randomAffine({ degrees: 10, translate: [0.05, 0.05], scale: [0.9, 1.1], interpolation: 'bilinear', generator: g }));
    const [, h, w] = data.train[0].image.shape;
    const repeats = config.crop ? Math.max(1, Math.round((h * w) / config.crop ** 2)) : 1;
    const train = new DataLoader<Batch, Batch>(new CropDataset(data.train, trainWeights, compose(steps), repeats), { batchSize: config.batchSize, shuffle: true, generator: gens.data });
    const loss = lossFor(config, classes);
    const tile = tileOf(config);
    log(`training on ${config.crop ? `${repeats} random ${config.crop}×${config.crop} crop${repeats > 1 ? 's' : ''} per image and epoch` : 'whole images'}; loss ${config.loss ?? 'ce'}${config.weightMap ? ' with the U-Net weight map' : ''}; augmentation ${config.augment}`);
    let last: Validation | null = null;
    const scores: Callback = {
      onEpochEnd(_ctx, record) {
        last = validate(model, data.val, valWeights, loss, classes, tile);
        const s = segmentationScores(last.confusion);
        Object.assign(record, { valLoss: last.loss, valAccuracy: s.pixelAccuracy, valMeanIoU: s.meanIoU, valMeanDice: s.meanDice });
        log(`epoch ${record.epoch}: validation mean IoU ${s.meanIoU.toFixed(4)}, mean Dice ${s.meanDice.toFixed(4)}, pixel accuracy ${s.pixelAccuracy.toFixed(4)}`);
      },
    };
    return {
      model, train, val: null, loss, callbacks: [scores], trainSize: train.dataset.length, testSize: data.val.length,
      score: (r: EpochRecord) => r.valMeanIoU ?? -1,
      async finish(out: string, history: EpochRecord[]) {
        const v = last ?? validate(model, data.val, valWeights, loss, classes, tile);
        const s = segmentationScores(v.confusion);
        const binary = classes === 2;
        const rand = binary ? randScores(concat(v.predictions.map((p) => p.reshape(1, ...p.shape)), 0), concat(data.val.map((p) => p.mask.reshape(1, ...p.mask.shape)), 0)) : null;
        writeFileAtomic(join(out, 'summary.json'), JSON.stringify({
          task: 'segment', valLoss: v.loss, pixelAccuracy: s.pixelAccuracy, meanIoU: s.meanIoU, meanDice: s.meanDice,
          perClass: data.classes.map((name, i) => ({ class: name, iou: s.iou[i], dice: s.dice[i] })),
          ...(binary ? { foregroundDice: s.dice[1], vRand: rand!.vRand, vRandSplit: rand!.split, vRandMerge: rand!.merge } : {}),
          validationImages: data.val.length, epochs: history.length, trainImagesPerSecond: history.map((r) => r.imagesPerSecond),
          // The split by file, so another implementation can train and score on the same images.
          split: { train: data.train.map((p) => basename(p.source)), validation: data.val.map((p) => basename(p.source)) },
        }, null, 2) + '\n');
        const shown = data.val.slice(0, 6);
        const tiles = shown.flatMap((p, i) => [rgb(p.image), colourMask(p.mask), colourMask(v.predictions[i]), overlay(p.image, v.predictions[i], p.mask)]);
        const scale = h <= 128 ? 2 : 1;
        await saveImageGrid(tiles, join(out, 'segmentation.png'), { nrow: 4, scale, labels: shown.flatMap((p) => [basename(p.source), 'truth', 'prediction', 'overlay (errors red)']) });
        const wmap = trainWeights?.[0] ?? unetWeightMap(data.train[0].mask, weightOptions);
        // A loop, not Math.min(...data): spreading a 512×512 map overflows the stack.
        let lo = Infinity, hi = -Infinity;
        for (const x of wmap.data) { lo = Math.min(lo, x); hi = Math.max(hi, x); }
        await saveImageGrid([rgb(data.train[0].image), applyColormap(wmap.sub(lo).div(hi - lo || 1).reshape(1, ...wmap.shape), 'viridis')], join(out, 'weight-map.png'),
          { nrow: 2, scale, labels: [basename(data.train[0].source), `U-Net weight map ${lo.toFixed(2)}–${hi.toFixed(2)}`] });
        const curves = [
          { name: 'mean IoU', values: history.map((r) => r.valMeanIoU ?? NaN) },
          { name: 'mean Dice', values: history.map((r) => r.valMeanDice ?? NaN) },
        ];
        for (const ext of ['svg', 'png']) await saveChart(lineSpec(curves, { title: 'Validation IoU and Dice', xTitle: 'epoch', yTitle: 'score', x: history.map((r) => r.epoch) }), join(out, `segmentation-curves.${ext}`));
        const extra = binary ? `, foreground Dice ${s.dice[1].toFixed(4)}, V_rand ${rand!.vRand.toFixed(4)}` : '';
        return { line: `validation mean IoU ${s.meanIoU.toFixed(4)}, mean Dice ${s.meanDice.toFixed(4)}, pixel accuracy ${s.pixelAccuracy.toFixed(4)}${extra}; run folder ${out}`, testAccuracy: s.pixelAccuracy };
      },
    };
  },
};

/** `pixelgrad predict` with a segmentation checkpoint: mask, coloured mask and overlay PNGs per image. */
export async function predictSegmentation(model: Module, config: TrainConfig, classes: string[], images: string[], outDir: string, log: (line: string) => void): Promise<void> {
  makeFolder(outDir);
  const channels = config.inputShape![0];
  for (const path of images) {
    const image = await readImage(path, { mode: channels === 1 ? 'gray' : 'rgb' });
    // Runs on whole images have no crop size: tiles of the training images' height, a quarter of it context.
    const size = config.inputShape![1];
    const logits = segmentImage(model, image, tileOf(config) ?? { tile: size, margin: Math.floor(size / 4) });
    const mask = logits.argmax(0);
    const stem = join(outDir, basename(path, extname(path)));
    await writePng(mask, `${stem}-mask.png`);
    await writePng(colourMask(mask), `${stem}-mask-colour.png`);
    await writePng(overlay(image, mask, null), `${stem}-overlay.png`);
    const counts = new Array<number>(classes.length).fill(0);
    for (const v of mask.data) counts[v] += 1 / mask.size;
    log(`${path}: ${classes.map((c, k) => `${c} ${(100 * counts[k]).toFixed(1)}%`).join(', ')}; wrote ${stem}-mask.png, -mask-colour.png, -overlay.png`);
  }
}

/** `pixelgrad eval` with a segmentation checkpoint: the scores of its validation images (or of another folder's). */
export async function evaluateSegmentation(model: Module, config: TrainConfig, dataset: string | undefined, log: (line: string) => void): Promise<void> {
  const data = await loadSegmentation({ ...config, dataset: dataset ?? config.dataset });
  const classes = data.classes.length;
  const weights = config.weightMap ? data.val.map((p) => unetWeightMap(p.mask, { background: 0 })) : null;
  const v = validate(model, data.val, weights, lossFor(config, classes), classes, tileOf(config));
  const s = segmentationScores(v.confusion);
  const rand = classes === 2 ? randScores(concat(v.predictions.map((p) => p.reshape(1, ...p.shape)), 0), concat(data.val.map((p) => p.mask.reshape(1, ...p.mask.shape)), 0)) : null;
  log(`${data.val.length} validation images: mean IoU ${s.meanIoU.toFixed(4)}, mean Dice ${s.meanDice.toFixed(4)}, pixel accuracy ${s.pixelAccuracy.toFixed(4)}, loss ${v.loss.toFixed(4)}${rand ? `, V_rand ${rand.vRand.toFixed(4)}` : ''}`);
  log('class       IoU     Dice');
  data.classes.forEach((c, i) => log(`${c.padEnd(10)}  ${s.iou[i].toFixed(4)}  ${s.dice[i].toFixed(4)}`));
}
