/**
 * `pixelgrad embed`: a 2-D map (t-SNE or PCA) of a trained checkpoint's features at any layer, for
 * a stratified sample of its dataset (training split, then test split), with how much of the
 * neighbourhood structure it keeps. Writes embedding.csv (x, y, label, index), embedding.svg/.png (a
 * scatter coloured by class with thumbnails), neighbors.png (test images beside their nearest
 * training images in pixel and in feature space; at most 10,000 training images are searched) and embedding.json (trustworthiness, k-NN accuracy
 * in feature, pixel and map space, KL for t-SNE); with --method pca also reconstructions.png (test images
 * rebuilt from the first k principal components of the sample's pixels).
 */
import { Option, type Command } from 'commander';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ArgumentError } from '../errors.js';
import { Tensor } from '../tensor.js';
import { Generator } from '../random.js';
import { stratifiedSample } from '../data/split.js';
import type { Dataset } from '../data/dataset.js';
import { writeFileAtomic } from '../io/files.js';
import { saveChart } from '../viz/render.js';
import { extractFeatures, findLayer, lastLinear } from '../embed/features.js';
import { kNeighbors } from '../embed/neighbors.js';
import { leaveOneOutAccuracy } from '../embed/classifier.js';
import { PCA } from '../embed/pca.js';
import { TSNE } from '../embed/tsne.js';
import { trustworthiness } from '../embed/quality.js';
import { CLASS_COLORS, embeddingMapSpec, neighborGallery, reconstructionGallery, tintImage } from '../embed/gallery.js';
import { stack } from '../ops/shape.js';
import { imageDataUrl, saveImageTiles } from '../embed/node/images.js';
import type { CheckpointModel } from './explain.js';
import { loadDataset, type Sample } from './data.js';
import { countProgress } from './progress.js';

export interface EmbedCliOptions {
  checkpoint: string;
  layer?: string;
  method: 'tsne' | 'pca';
  n: number;
  perplexity: number;
  seed: number;
  out?: string;
}

/** Neighbours used by trustworthiness and the k-NN accuracies (the W5 protocol's 10). */
const QUALITY_K = 10;
/** Test images in the neighbour gallery, and neighbours shown for each. */
const GALLERY_QUERIES = 8, GALLERY_K = 6;
/** Thumbnails drawn on the map. */
const THUMBNAILS = 150;
/** Components of the pixel-space reconstructions (--method pca). */
const RECONSTRUCTION_KS = [1, 2, 5, 10, 20, 50, 100];
/** Most training images searched for the gallery's neighbours (a stratified sample of larger splits). */
const GALLERY_REFERENCES = 10_000;

/** `name` (the module's output) or `name:input` (its input); default: the input of the last Linear. */
function parseLayer(spec: string | undefined, model: CheckpointModel['model']): { name: string; at: 'output' | 'input' } {
  if (spec === undefined) return { name: lastLinear(model), at: 'input' };
  const m = /^(.*?)(?::(input|output))?$/.exec(spec)!;
  findLayer(model, m[1]); // an unknown name fails here, before the dataset is read
  return { name: m[1], at: (m[2] as 'input' | 'output' | undefined) ?? 'output' };
}

/** Images of a dataset's items as one [n, D] matrix of pixels. */
function pixels(ds: Dataset<Sample>, indices: readonly number[]): Tensor {
  const first = ds.get(indices[0]).input, d = first.size;
  const out = new Float32Array(indices.length * d);
  indices.forEach((idx, i) => out.set(ds.get(idx).input.data, i * d));
  return new Tensor(out, [indices.length, d]);
}

const round = (v: number, digits = 4) => Number(v.toFixed(digits));

export async function runEmbed(o: EmbedCliOptions, loadModel: (path: string) => CheckpointModel, log: (line: string) => void = console.log): Promise<Record<string, unknown>> {
  const started = performance.now();
  const cm = loadModel(o.checkpoint);
  const { model, classes } = cm;
  const layer = parseLayer(o.layer, model);
  const data = await loadDataset(cm.config.dataset, { seed: cm.config.seed ?? 0, classes, inputShape: cm.inputShape });
  const train = data.train!, test = data.test;
  // The pool: the training split, then the test split (index = position in that order).
  const trainSize = train.dataset.length;
  const pool: Dataset<Sample> = { length: trainSize + test.dataset.length, get: (i) => (i < trainSize ? train.dataset.get(i) : test.dataset.get(i - trainSize)) };
  const poolTargets = new Int32Array(pool.length);
  poolTargets.set(train.targets);
  poolTargets.set(test.targets, trainSize);
  if (o.n > pool.length) throw new ArgumentError('embed', `--n ${o.n} is more than the ${pool.length} images of ${cm.config.dataset} (${trainSize} training + ${test.dataset.length} test)`);
  if (o.method === 'tsne' && o.perplexity >= o.n / 3) throw new ArgumentError('embed', `--perplexity ${o.perplexity} must be less than n/3 = ${round(o.n / 3, 2)} (each point needs 3·perplexity neighbours); lower it or raise --n`);
  const sample = stratifiedSample(pool, poolTargets, o.n, { generator: new Generator(o.seed) });
  const indices = sample.indices;
  const labels = Int32Array.from(indices, (i) => poolTargets[i]);
  const layerName = `${layer.name}${layer.at === 'input' ? ' (input)' : ''}`;
  log(`${o.n} images of ${data.description}; features of ${layerName}`);

  const { features } = extractFeatures(model, layer.name, sample, { at: layer.at, onBatch: countProgress('features', 'images') });
  const x = pixels(pool, indices);
  let map: Tensor, kl: number | null = null, explained: number[] | null = null;
  if (o.method === 'tsne') {
    const bar = countProgress('t-SNE', 'iterations');
    const tsne = new TSNE({ perplexity: o.perplexity, seed: o.seed, onIteration: (p) => bar(p.iteration, p.nIter) });
    map = tsne.fitTransform(features);
    bar(tsne.options.nIter, tsne.options.nIter);
    kl = tsne.klDivergence;
  } else {
    const pca = new PCA({ nComponents: 2, seed: o.seed });
    map = pca.fitTransform(features);
    explained = [...pca.explainedVarianceRatio.data].map((v) => round(v));
  }
  const k = Math.min(QUALITY_K, Math.floor((o.n - 1) / 2));
  const quality = {
    trustworthiness: round(trustworthiness(features, map, k)),
    knnAccuracy: {
      features: round(leaveOneOutAccuracy(features, labels, { nNeighbors: k })),
      pixels: round(leaveOneOutAccuracy(x, labels, { nNeighbors: k })),
      map: round(leaveOneOutAccuracy(map, labels, { nNeighbors: k })),
    },
  };

  const out = o.out ?? join('runs', `embed-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}`);
  mkdirSync(out, { recursive: true });
  const rows = ['x,y,label,index'];
  const quote = (v: string) => `"${v.replace(/"/g, '""')}"`;
  for (let i = 0; i < o.n; i++) rows.push(`${map.data[2 * i]},${map.data[2 * i + 1]},${quote(classes[labels[i]])},${indices[i]}`);
  writeFileAtomic(join(out, 'embedding.csv'), `${rows.join('\n')}\n`);

  // Thumbnails of evenly spaced sample points (the sample is in pool order, so every class appears), tinted by class.
  const step = Math.max(1, Math.floor(o.n / THUMBNAILS));
  const thumbs = [];
  for (let i = 0; i < o.n; i += step) {
    const image = pool.get(indices[i]).input;
    const tinted = classes.length <= CLASS_COLORS.length ? tintImage(image, CLASS_COLORS[labels[i]]) : image;
    thumbs.push({ x: map.data[2 * i], y: map.data[2 * i + 1], url: await imageDataUrl(tinted) });
  }
  const points = Array.from({ length: o.n }, (_, i) => ({ x: map.data[2 * i], y: map.data[2 * i + 1], label: classes[labels[i]] }));
  const title = `${o.method === 'tsne' ? 't-SNE' : 'PCA'} of ${layerName}: ${o.n} images, trustworthiness@${k} ${quality.trustworthiness.toFixed(3)}`;
  const axis = o.method === 'tsne' ? 't-SNE' : 'PC';
  const spec = embeddingMapSpec(points, thumbs, { title, classes, labelTitle: 'class', xTitle: `${axis} 1`, yTitle: `${axis} 2`, width: 640, height: 640, pointSize: 14 });
  await saveChart(spec, join(out, 'embedding.svg'));
  await saveChart(spec, join(out, 'embedding.png'));

  // Neighbour gallery: test images (one per class, in turn) and their nearest training images.
  const byClass: number[][] = classes.map(() => []);
  test.targets.forEach((t, i) => byClass[t].push(i));
  const queryIdx: number[] = [];
  for (let turn = 0; queryIdx.length < GALLERY_QUERIES && turn < GALLERY_QUERIES; turn++) {
    for (const items of byClass) if (turn < items.length && queryIdx.length < GALLERY_QUERIES) queryIdx.push(items[turn]);
  }
  const refs = trainSize > GALLERY_REFERENCES ? stratifiedSample(train.dataset, train.targets, GALLERY_REFERENCES, { generator: new Generator(o.seed) }).indices : Array.from({ length: trainSize }, (_, i) => i);
  const refSet: Dataset<Sample> = { length: refs.length, get: (i) => train.dataset.get(refs[i]) };
  const refFeatures = extractFeatures(model, layer.name, refSet, { at: layer.at, onBatch: countProgress('gallery features', 'images') }).features;
  const queryFeatures = extractFeatures(model, layer.name, { length: queryIdx.length, get: (i) => test.dataset.get(queryIdx[i]) }, { at: layer.at }).features;
  const gk = Math.min(GALLERY_K, refs.length);
  const gallery = neighborGallery({
    queries: queryIdx.map((i) => test.dataset.get(i).input),
    reference: (i) => refSet.get(i).input,
    panels: [
      { name: 'pixels', neighbors: kNeighbors(pixels(test.dataset, queryIdx), pixels(train.dataset, refs), gk) },
      { name: 'features', neighbors: kNeighbors(queryFeatures, refFeatures, gk) },
    ],
    queryLabels: queryIdx.map((i) => test.targets[i]),
    referenceLabels: Int32Array.from(refs, (i) => train.targets[i]),
    classNames: classes,
  });
  await saveImageTiles(gallery, join(out, 'neighbors.png'), { scale: 2 });
  const files = ['embedding.csv', 'embedding.svg', 'embedding.png', 'neighbors.png', 'embedding.json'];
  if (o.method === 'pca') {
    // PCA in pixel space too: the gallery's test images rebuilt from the first k components of the sample's images.
    const ks = RECONSTRUCTION_KS.filter((c) => c <= Math.min(o.n, x.shape[1]));
    const pixelPca = new PCA({ nComponents: ks[ks.length - 1], seed: o.seed }).fit(x);
    await saveImageTiles(reconstructionGallery(pixelPca, stack(queryIdx.map((i) => test.dataset.get(i).input), 0), ks), join(out, 'reconstructions.png'), { scale: 2 });
    files.push('reconstructions.png');
  }

  const summary = {
    checkpoint: o.checkpoint, dataset: cm.config.dataset, method: o.method, layer: layer.name, at: layer.at, n: o.n,
    features: features.shape[1], seed: o.seed, ...(o.method === 'tsne' ? { perplexity: o.perplexity } : {}),
    k, ...quality, kl: kl === null ? null : round(kl), ...(explained ? { explainedVarianceRatio: explained } : {}),
    galleryAgreement: Object.fromEntries(Object.entries(gallery.agreement).map(([name, v]) => [name, round(v)])),
    seconds: round((performance.now() - started) / 1000, 1),
  };
  writeFileAtomic(join(out, 'embedding.json'), `${JSON.stringify(summary, null, 2)}\n`);
  log(`trustworthiness@${k} ${summary.trustworthiness}, ${k}-NN accuracy: features ${quality.knnAccuracy.features}, pixels ${quality.knnAccuracy.pixels}, map ${quality.knnAccuracy.map}${kl === null ? '' : `, KL ${summary.kl}`}`);
  log(`wrote ${files.map((f) => join(out, f)).join(', ')}`);
  return summary;
}

const integer = (name: string, min: number, max: number) => (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < min || n > max) throw new ArgumentError('embed', `${name} must be an integer from ${min} to ${max}, got '${v}'`);
  return n;
};

export function registerEmbedCommand(program: Command, loadModel: (path: string) => CheckpointModel): void {
  program.command('embed')
    .description('a t-SNE or PCA map of a checkpoint\'s features (any layer) with thumbnails, neighbour galleries in pixel and feature space, trustworthiness and k-NN accuracies')
    .requiredOption('--checkpoint <file>', 'a checkpoint written by train')
    .option('--layer <name>', "a module's dotted name (its output), or name:input (its input); default: the input of the last Linear")
    .addOption(new Option('--method <name>', 'map').choices(['tsne', 'pca']).default('tsne'))
    .option('--n <points>', 'images in the map (a stratified sample of the training and test splits)', integer('--n', 4, 1_000_000), 2000)
    .option('--perplexity <x>', 't-SNE perplexity (less than n/3)', (v: string) => {
      const p = Number(v);
      if (!(Number.isFinite(p) && p > 0)) throw new ArgumentError('embed', `--perplexity must be a positive number, got '${v}'`);
      return p;
    }, 30)
    .option('--seed <n>', 'seed of the sample and of the map', integer('--seed', 0, 2 ** 31 - 1), 0)
    .option('--out <dir>', 'output folder (default runs/embed-<date>)')
    .action(async (o: EmbedCliOptions, cmd: Command) => {
      if (o.method !== 'tsne' && cmd.getOptionValueSource('perplexity') === 'cli') throw new ArgumentError('embed', '--perplexity applies to --method tsne only');
      await runEmbed(o, loadModel);
    });
}
