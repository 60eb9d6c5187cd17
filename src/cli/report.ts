/**
 * `pixelgrad report <run folder>`: the run as one self-contained HTML file (src/report/html.ts) —
 * configuration, learning curves, and for classification runs the confusion matrix and per-class
 * metrics of the last checkpoint on the test split, the misclassified images, and, computed on
 * demand from the checkpoint by the embed, explain and attack pipelines, the t-SNE map with its
 * neighbour gallery, Grad-CAM/guided-backprop rows, FGSM triptychs and the robust-accuracy curve;
 * segmentation runs show their summary, mask grid and IoU/Dice curves. Charts are rendered to SVG
 * here (src/viz/render.ts) and images inlined as data: URLs, so the page needs no network.
 */
import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataLoader } from '../data/dataloader.js';
import { ArgumentError } from '../errors.js';
import { writeFileAtomic } from '../io/files.js';
import { crossEntropy } from '../nn/functional/loss.js';
import { escapeHtml, htmlImage, htmlTable, inlineSvg, reportHtml, type ReportSection } from '../report/html.js';
import { evaluate, type Batch, type EpochRecord } from '../train/fit.js';
import { classificationReport } from '../train/metrics.js';
import { confusionMatrixSpec, learningCurvesSpec } from '../viz/charts.js';
import { renderSvg } from '../viz/render.js';
import { runAttackCommand } from './attack.js';
import { defaultCacheDir, loadDataset, type Sample } from './data.js';
import { runEmbed } from './embed.js';
import { runExplain } from './explain.js';
import { intOption } from './options.js';
import type { TrainConfig } from './train.js';
import { modelFromCheckpoint } from './transfer.js';

export interface ReportOptions {
  /** The HTML file (default <run>/report.html). */
  out?: string;
  /** Test images for the t-SNE map and the attacks (default 500). */
  samples?: number;
  /** Compute the embedding, explanation and attack sections (default true). */
  extras?: boolean;
  cache?: string | null;
  log?: (line: string) => void;
}

/** FGSM budgets of the robust-accuracy curve (pixels on a 0–1 scale), and the one shown as triptychs. */
const REPORT_EPS = [0, 0.05, 0.1, 0.15, 0.2, 0.3], TRIPTYCH_EPS = 0.1;
/** Test images in the Grad-CAM/guided-backprop rows. */
const EXPLAIN_ROWS = 6;

const pngUrl = (path: string) => `data:image/png;base64,${readFileSync(path).toString('base64')}`;
const svgFile = (path: string) => inlineSvg(readFileSync(path, 'utf8'));
const fmtCell = (v: unknown) => (typeof v === 'number' ? Number(v.toPrecision(6)) : typeof v === 'string' ? v : JSON.stringify(v));

/** Writes the report of the run in `run`; returns the HTML file's path. */
export async function writeReport(run: string, options: ReportOptions = {}): Promise<string> {
  const log = options.log ?? ((s: string) => console.log(s));
  const samples = options.samples ?? 500;
  const file = (name: string) => join(run, name);
  for (const name of ['config.json', 'metrics.jsonl', 'last.safetensors']) {
    if (!existsSync(file(name))) throw new ArgumentError('report', `${run} has no ${name}: give a run folder written by 'pixelgrad train'`);
  }
  const config = JSON.parse(readFileSync(file('config.json'), 'utf8')) as TrainConfig;
  const history = readFileSync(file('metrics.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as EpochRecord);
  if (!history.length) throw new ArgumentError('report', `${file('metrics.jsonl')} holds no epochs: the run has not finished one`);
  const sections: ReportSection[] = [
    { id: 'configuration', title: 'Configuration', html: htmlTable(['setting', 'value'], Object.entries(config).map(([k, v]) => [k, String(fmtCell(v))])) },
    { id: 'learning-curves', title: 'Learning curves', html: inlineSvg(await renderSvg(learningCurvesSpec(history, { title: `${config.model} on ${config.dataset}` }))) },
  ];
  if (config.task === 'segment') sections.push(...segmentationSections(run));
  else sections.push(...await classificationSections(run, config, samples, options, log));
  const out = options.out ?? file('report.html');
  writeFileAtomic(out, reportHtml(`pixelgrad run: ${config.model} on ${config.dataset}`, sections));
  log(`report written to ${out}`);
  return out;
}

/** The files `--task segment` leaves at the end of a run. */
function segmentationSections(run: string): ReportSection[] {
  const summaryPath = join(run, 'summary.json');
  if (!existsSync(summaryPath)) throw new ArgumentError('report', `${run} has no summary.json: the segmentation run did not finish`);
  const summary = JSON.parse(readFileSync(summaryPath, 'utf8')) as Record<string, unknown>;
  const scalars = Object.entries(summary).filter(([, v]) => typeof v === 'number' || typeof v === 'string');
  const perClass = Array.isArray(summary.perClass) ? summary.perClass as Record<string, unknown>[] : [];
  const figure = (name: string, alt: string) => (existsSync(join(run, name)) ? htmlImage(pngUrl(join(run, name)), alt) : `<p class="note">no ${escapeHtml(name)} in the run folder</p>`);
  return [
    { id: 'metrics', title: 'Segmentation metrics', html: htmlTable(['metric', 'value'], scalars.map(([k, v]) => [k, String(fmtCell(v))]))
      + (perClass.length ? htmlTable(Object.keys(perClass[0]), perClass.map((r) => Object.values(r).map((v) => String(fmtCell(v))))) : '') },
    { id: 'masks', title: 'Masks: image, truth, prediction, overlay', html: figure('segmentation.png', 'mask grid') },
    { id: 'iou-curves', title: 'Validation IoU and Dice', html: existsSync(join(run, 'segmentation-curves.svg')) ? svgFile(join(run, 'segmentation-curves.svg')) : '<p class="note">no curves in the run folder</p>' },
  ];
}

async function classificationSections(run: string, config: TrainConfig, samples: number, options: ReportOptions, log: (line: string) => void): Promise<ReportSection[]> {
  const checkpoint = join(run, 'last.safetensors');
  const { classes, inputShape, model } = modelFromCheckpoint(checkpoint);
  const data = await loadDataset(config.dataset, { seed: config.seed ?? 0, classes, inputShape, testOnly: true, cache: options.cache ?? null });
  const result = evaluate(model, new DataLoader<Sample, Batch>(data.test.dataset, { batchSize: 500 }), { loss: crossEntropy, numClasses: classes.length });
  const rep = classificationReport(result.confusion!);
  const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
  const sections: ReportSection[] = [
    { id: 'confusion', title: 'Confusion matrix', html: `<p>${result.samples} test images, accuracy ${pct(rep.accuracy)}, macro F1 ${rep.macroF1.toFixed(4)} (last checkpoint)</p>`
      + inlineSvg(await renderSvg(confusionMatrixSpec(result.confusion!, classes, { title: 'Test confusion matrix' }))) },
    { id: 'per-class', title: 'Per-class metrics', html: htmlTable(['class', 'precision', 'recall', 'F1', 'support'], classes.map((c, i) => [c, rep.precision[i].toFixed(4), rep.recall[i].toFixed(4), rep.f1[i].toFixed(4), rep.support[i]])) },
    { id: 'misclassified', title: 'Misclassified test images (true→predicted)', html: existsSync(join(run, 'misclassified.png')) ? htmlImage(pngUrl(join(run, 'misclassified.png')), 'misclassified test images') : '<p class="note">no misclassified test images</p>' },
  ];
  if (existsSync(join(run, 'robust-accuracy.svg'))) sections.push({ id: 'adversarial-training', title: 'Adversarial training: robust accuracy per epoch', html: svgFile(join(run, 'robust-accuracy.svg')) });
  if (options.extras === false) return sections;

  // The pipelines of `embed`, `explain` and `attack`, run in process on the checkpoint; their files go to <run>/report/.
  const work = join(run, 'report');
  const n = Math.min(samples, data.test.dataset.length);
  log('report: t-SNE map and neighbour gallery');
  await runEmbed({ checkpoint, method: 'tsne', n, perplexity: Math.min(30, Math.floor((n - 1) / 3)), seed: 0, out: join(work, 'embed') }, modelFromCheckpoint, log);
  sections.push({ id: 'tsne', title: 't-SNE map of the last hidden layer (hover for the images)', html: svgFile(join(work, 'embed', 'embedding.svg')) });
  sections.push({ id: 'neighbors', title: 'Nearest training images: in pixels and in features', html: htmlImage(pngUrl(join(work, 'embed', 'neighbors.png')), 'neighbour gallery') });
  log('report: Grad-CAM and guided backpropagation');
  await runExplain([], { checkpoint, samples: EXPLAIN_ROWS, target: 'predicted', seed: 0, out: join(work, 'explain') }, modelFromCheckpoint);
  sections.push({ id: 'explanations', title: 'Saliency, guided backpropagation, Grad-CAM, guided Grad-CAM', html: htmlImage(pngUrl(join(work, 'explain', 'explain.png')), 'explanations') });
  log('report: FGSM attacks');
  await runAttackCommand({ checkpoint, method: 'fgsm', eps: REPORT_EPS.join(','), steps: 1, samples: n, seed: 0, batchSize: 100, out: join(work, 'attack') }, modelFromCheckpoint, log);
  sections.push({ id: 'robust-accuracy', title: 'Accuracy under FGSM against ε', html: svgFile(join(work, 'attack', 'robust-accuracy.svg')) });
  sections.push({ id: 'triptychs', title: `Adversarial triptychs at ε = ${TRIPTYCH_EPS}: image, perturbation, adversarial image`, html: htmlImage(pngUrl(join(work, 'attack', `triptychs-eps${TRIPTYCH_EPS}.png`)), 'adversarial triptychs') });
  return sections;
}

/** Registers `pixelgrad report` on the program. */
export function registerReportCommand(program: Command): void {
  program.command('report')
    .description('write one self-contained HTML report of a run folder: configuration, curves, confusion matrix, per-class metrics, misclassified images, t-SNE map, neighbours, explanations, attacks (segmentation: masks and IoU curves)')
    .argument('<run>', 'a run folder written by pixelgrad train')
    .option('--out <file>', 'the HTML file (default <run>/report.html)')
    .option('--samples <n>', 'test images for the t-SNE map and the attacks', intOption('--samples', 10, 100_000), 500)
    .option('--no-extras', 'leave out the sections computed from the checkpoint (t-SNE, neighbours, explanations, attacks)')
    .option('--cache <dir>', 'cache of decoded image folders', defaultCacheDir())
    .option('--no-cache', 'decode image folders without reading or writing the cache')
    .action(async (run: string, o) => {
      await writeReport(run, { out: o.out, samples: o.samples, extras: o.extras, cache: o.cache === false ? null : o.cache });
    });
}
