/**
 * `pixelgrad explain`: attribution maps of a trained checkpoint for image files or test images
 * (some misclassified among them), written as one captioned grid (image | one tile per method
 * per row: explain.png) and the raw maps (attributions.safetensors); with --filters also the
 * first layer's filters (filters.png) and each class by activation maximisation (classes.png).
 */
import { Option, type Command } from 'commander';
import { join } from 'node:path';
import { ArgumentError } from '../errors.js';
import type { Module } from '../nn/module.js';
import { Tensor } from '../tensor.js';
import { stack } from '../ops/shape.js';
import { argmax } from '../ops/reduce.js';
import { noGrad } from '../autograd/grad-mode.js';
import { Generator } from '../random.js';
import { readImage, saveImageGrid } from '../data/node/image-io.js';
import { saveSafetensors } from '../io/node.js';
import {
  saliency, inputXGradient, smoothGrad, integratedGradients, guidedBackprop, deconvolution, gradCam, guidedGradCam, occlusion,
} from '../explain/attribution.js';
import { convLayerNames, findLayer, type Classifier } from '../explain/common.js';
import { explanationFigure, METHOD_STYLES } from '../explain/figure.js';
import { activationMaximization, filterImages, firstConv } from '../explain/visualize.js';
import { loadDataset } from './data.js';

/** What the command needs from a checkpoint (main.ts's loader). */
export interface CheckpointModel {
  config: { dataset: string; seed?: number };
  classes: string[];
  inputShape: readonly number[];
  model: Module;
}

type Method = (model: Classifier, x: Tensor, targets: number[], o: { layer: string; seed: number; size: number }) => Tensor;

/** The methods by their API names; the figure shows them in the order given. */
const METHODS: Readonly<Record<string, Method>> = {
  saliency: (m, x, t) => saliency(m, x, t),
  inputXGradient: (m, x, t) => inputXGradient(m, x, t),
  smoothGrad: (m, x, t, o) => smoothGrad(m, x, t, { generator: new Generator(o.seed) }),
  integratedGradients: (m, x, t) => integratedGradients(m, x, t),
  guidedBackprop: (m, x, t) => guidedBackprop(m, x, t),
  deconvolution: (m, x, t) => deconvolution(m, x, t),
  gradCam: (m, x, t, o) => gradCam(m, x, t, { layer: o.layer }),
  guidedGradCam: (m, x, t, o) => guidedGradCam(m, x, t, { layer: o.layer }),
  // A patch about a seventh of the image, moved by half a patch.
  occlusion: (m, x, t, o) => {
    const window = Math.max(2, Math.round(o.size / 7));
    return occlusion(m, x, t, { window, stride: Math.max(1, Math.floor(window / 2)) });
  },
};
export const EXPLAIN_METHODS = Object.keys(METHODS);
const DEFAULT_METHODS = ['saliency', 'guidedBackprop', 'gradCam', 'guidedGradCam'];

/** Captions of the figure's columns. */
const TITLES: Readonly<Record<string, string>> = {
  saliency: 'saliency', inputXGradient: 'input×grad', smoothGrad: 'SmoothGrad', integratedGradients: 'int. gradients',
  guidedBackprop: 'guided backprop', deconvolution: 'deconvolution', gradCam: 'Grad-CAM', guidedGradCam: 'guided Grad-CAM', occlusion: 'occlusion',
};

/** Method names from '--method a,b' (repeatable; 'all' for every one); case and dashes are ignored ('grad-cam' = 'gradCam'). */
function parseMethods(values: readonly string[]): string[] {
  const key = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  const byKey = new Map(EXPLAIN_METHODS.map((m) => [key(m), m]));
  const out: string[] = [];
  for (const v of values.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean)) {
    if (v === 'all') return [...EXPLAIN_METHODS];
    const m = byKey.get(key(v));
    if (!m) throw new ArgumentError('explain', `unknown method '${v}' (methods: ${EXPLAIN_METHODS.join(', ')})`);
    if (!out.includes(m)) out.push(m);
  }
  return out;
}

/** The layer for Grad-CAM: the option or the last conv layer; it must exist and give [N, C, H, W]. */
function camLayer(model: Classifier, name: string | undefined, inputShape: readonly number[]): string {
  const convs = convLayerNames(model);
  const layer = name ?? convs[convs.length - 1];
  if (layer === undefined) throw new ArgumentError('explain', 'the model has no Conv2d layer for Grad-CAM; name a spatial layer with --layer');
  const module = findLayer('explain', model, layer);
  let shape: readonly number[] = [];
  const remove = module.registerForwardHook((_m, _i, out) => { shape = (out as Tensor).shape; });
  try {
    noGrad(() => model.forward(new Tensor(new Float32Array(inputShape.reduce((a, b) => a * b, 1)), [1, ...inputShape])));
  } finally {
    remove();
  }
  if (shape.length !== 4) throw new ArgumentError('explain', `layer '${layer}' is not spatial (output [${shape.join(',')}]); Grad-CAM needs a layer with [N, C, H, W] output, e.g. ${convs.join(', ')}`);
  return layer;
}

/** Image files as a batch, each checked against the model's channels and size. */
async function readInputs(paths: readonly string[], inputShape: readonly number[]): Promise<Tensor> {
  const [c, h, w] = inputShape;
  const images: Tensor[] = [];
  for (const path of paths) {
    const img = await readImage(path);
    const [ic, ih, iw] = img.shape;
    if (ic !== c) throw new ArgumentError('explain', `${path} has ${ic} channel${ic === 1 ? '' : 's'} but the model takes ${c} (${c === 1 ? 'grayscale' : 'RGB'})`);
    if (ih !== h || iw !== w) throw new ArgumentError('explain', `${path} is ${iw}×${ih} but the model takes ${w}×${h} images`);
    images.push(img);
  }
  return stack(images, 0);
}

/**
 * `n` test images: up to half of them misclassified (the first found), the rest correctly
 * classified, in test-split order, from the first 20·n test images.
 */
async function testSamples(cm: CheckpointModel, n: number): Promise<{ inputs: Tensor; labels: number[] }> {
  const data = await loadDataset(cm.config.dataset, { seed: cm.config.seed ?? 0, classes: cm.classes, testOnly: true });
  if (data.inputShape.join() !== cm.inputShape.join()) throw new ArgumentError('explain', `${cm.config.dataset} holds ${data.inputShape.join('×')} images but the model takes ${cm.inputShape.join('×')}`);
  const pool = Math.min(data.test.dataset.length, 20 * n);
  if (pool === 0) throw new ArgumentError('explain', `the test split of ${cm.config.dataset} is empty`);
  const items = Array.from({ length: pool }, (_, i) => data.test.dataset.get(i));
  const inputs = stack(items.map((s) => s.input), 0);
  const labels = Array.from(data.test.targets.subarray(0, pool));
  const predicted = noGrad(() => argmax(cm.model.forward(inputs), 1)).data;
  const wrong = labels.map((_, i) => i).filter((i) => predicted[i] !== labels[i]).slice(0, Math.floor(n / 2));
  const right = labels.map((_, i) => i).filter((i) => predicted[i] === labels[i]).slice(0, n - wrong.length);
  const chosen = [...wrong, ...right].sort((a, b) => a - b);
  return { inputs: stack(chosen.map((i) => items[i].input), 0), labels: chosen.map((i) => labels[i]) };
}

/** The target class per image from --target: predicted, true (test samples only), a class name or an index. */
function resolveTarget(spec: string, classes: readonly string[], predicted: readonly number[], labels: readonly number[] | null): number[] {
  if (spec === 'predicted') return [...predicted];
  if (spec === 'true') {
    if (!labels) throw new ArgumentError('explain', "--target true needs --samples (image files have no labels); use 'predicted' or a class");
    return [...labels];
  }
  let k = classes.indexOf(spec);
  if (k < 0 && /^\d+$/.test(spec) && Number(spec) < classes.length) k = Number(spec);
  if (k < 0) throw new ArgumentError('explain', `--target must be 'predicted', 'true' or a class (${classes.join(', ')}), got '${spec}'`);
  return predicted.map(() => k);
}

export interface ExplainCliOptions {
  checkpoint: string;
  method?: string[];
  layer?: string;
  target: string;
  samples?: number;
  filters?: boolean;
  seed: number;
  out?: string;
}

/** Runs `pixelgrad explain`; returns what was computed and the files written. */
export async function runExplain(images: readonly string[], o: ExplainCliOptions, loadModel: (path: string) => CheckpointModel): Promise<{ files: string[]; methods: string[]; layer: string; count: number }> {
  const methods = o.method?.length ? parseMethods(o.method) : DEFAULT_METHODS;
  if (!methods.length) throw new ArgumentError('explain', `--method is empty (methods: ${EXPLAIN_METHODS.join(', ')})`);
  if (images.length && o.samples !== undefined) throw new ArgumentError('explain', 'give image files or --samples, not both');
  const attribute = images.length > 0 || o.samples !== undefined;
  if (!attribute && (o.layer !== undefined || o.method !== undefined)) throw new ArgumentError('explain', '--method and --layer need image files or --samples');
  if (!attribute && !o.filters) throw new ArgumentError('explain', 'give image files, --samples <n> (test images of the checkpoint\'s dataset) or --filters');
  const cm = loadModel(o.checkpoint);
  const model = cm.model as Classifier;
  model.eval();
  if (cm.inputShape[0] !== 1 && cm.inputShape[0] !== 3) throw new ArgumentError('explain', `the model takes ${cm.inputShape[0]}-channel images; pictures need 1 or 3 channels`);
  const out = o.out ?? join('runs', `explain-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}`);
  const scale = Math.max(1, Math.floor(96 / Math.max(cm.inputShape[1], cm.inputShape[2])));
  const files: string[] = [];
  let layer = '', count = 0;
  if (attribute) {
    const needsLayer = methods.includes('gradCam') || methods.includes('guidedGradCam');
    if (o.layer !== undefined && !needsLayer) throw new ArgumentError('explain', '--layer applies to gradCam and guidedGradCam; add one of them to --method');
    layer = needsLayer ? camLayer(model, o.layer, cm.inputShape) : '';
    const { inputs, labels } = images.length ? { inputs: await readInputs(images, cm.inputShape), labels: null } : await testSamples(cm, o.samples!);
    const predicted = [...noGrad(() => argmax(model.forward(inputs), 1)).data];
    const targets = resolveTarget(o.target, cm.classes, predicted, labels);
    count = targets.length;
    const maps: Record<string, Tensor> = {};
    for (const m of methods) maps[m] = METHODS[m](model, inputs, targets, { layer, seed: o.seed, size: cm.inputShape[1] });
    const name = (k: number) => cm.classes[k];
    const rowLabels = predicted.map((p, i) => (labels ? `${name(labels[i])}→${name(p)}` : `pred ${name(p)}`) + (targets[i] !== p ? ` (${name(targets[i])})` : ''));
    const figure = explanationFigure(inputs, methods.map((m) => ({ title: TITLES[m], attributions: maps[m], style: METHOD_STYLES[m] })), { rowLabels });
    const grid = join(out, 'explain.png'), tensors = join(out, 'attributions.safetensors');
    await saveImageGrid(figure.tiles, grid, { nrow: figure.nrow, labels: figure.captions, scale, background: 1, fontSize: Math.min(12, 5 + 2 * scale) });
    const int = (v: readonly number[]) => new Tensor(Int32Array.from(v), [v.length]);
    saveSafetensors(tensors, { input: inputs, target: int(targets), predicted: int(predicted), ...(labels ? { label: int(labels) } : {}), ...maps }, {
      methods: methods.join(','), layer, classes: JSON.stringify(cm.classes), target: o.target,
    });
    files.push(grid, tensors);
  }
  if (o.filters) {
    // The first layer's filters, and per class the input that maximises its logit.
    const filters = join(out, 'filters.png'), classes = join(out, 'classes.png');
    const conv = firstConv(model);
    await saveImageGrid(filterImages(conv), filters, { nrow: conv.inChannels === 1 || conv.inChannels === 3 ? 8 : conv.inChannels, scale: 8, background: 1 });
    const shape = [...cm.inputShape];
    const dreams = cm.classes.map((_, k) => activationMaximization(model, { shape, target: k, seed: o.seed }).image.reshape(shape));
    await saveImageGrid(dreams, classes, { nrow: Math.min(10, dreams.length), scale, labels: cm.classes, background: 1 });
    files.push(filters, classes);
  }
  return { files, methods: attribute ? methods : [], layer, count };
}

export function registerExplainCommand(program: Command, loadModel: (path: string) => CheckpointModel): void {
  program.command('explain')
    .description('attribution maps of a checkpoint (saliency, guided backprop, Grad-CAM, ...) for image files or test images: a captioned grid and the raw maps')
    .requiredOption('--checkpoint <file>', 'a checkpoint written by train')
    .option('--method <names>', `methods, comma-separated or repeated (${EXPLAIN_METHODS.join(', ')}, or all; default ${DEFAULT_METHODS.join(',')})`, (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
    .option('--layer <name>', 'the layer for Grad-CAM (default: the last conv layer)')
    .option('--target <which>', "the class explained: 'predicted', 'true' (with --samples) or a class name", 'predicted')
    .option('--samples <n>', 'explain n test images of the checkpoint\'s dataset (up to half of them misclassified)', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 256) throw new ArgumentError('explain', `--samples must be an integer from 1 to 256, got '${v}'`);
      return n;
    })
    .addOption(new Option('--seed <n>', "seed of SmoothGrad's noise and of activation maximisation").default(0).argParser((v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new ArgumentError('explain', `--seed must be a non-negative integer, got '${v}'`);
      return n;
    }))
    .option('--filters', "also draw the first layer's filters (filters.png) and each class by activation maximisation (classes.png)")
    .option('--out <dir>', 'output folder (default runs/explain-<date>)')
    .argument('[images...]', 'PNG or JPEG files of the model\'s size and channels')
    .action(async (images: string[], o: ExplainCliOptions) => {
      const r = await runExplain(images, o, loadModel);
      const what = r.count ? `${r.methods.join(', ')}${r.layer ? ` (Grad-CAM on ${r.layer})` : ''} for ${r.count} image${r.count === 1 ? '' : 's'}` : 'filters and classes';
      console.log(`${what}: wrote ${r.files.join(', ')}`);
    });
}
