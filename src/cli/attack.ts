/**
 * `pixelgrad attack`: attacks a trained checkpoint on test images of its dataset at one or more ε
 * and writes the numbers (attack.json, robust-accuracy.csv), the robust-accuracy curve
 * (robust-accuracy.svg/.png) and a grid of triptychs per ε (triptychs-eps<ε>.png).
 */
import { Option, type Command } from 'commander';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ArgumentError } from '../errors.js';
import { checkNonNegative, checkPositive } from '../options.js';
import { floatOption, intOption } from './options.js';
import { Generator } from '../random.js';
import { Tensor } from '../tensor.js';
import { stack } from '../ops/shape.js';
import { makeFolder, writeFileAtomic } from '../io/files.js';
import { saveChart } from '../viz/render.js';
import { saveImageGrid } from '../data/node/image-io.js';
import { attackBatched, attackStats, logitsOf, robustAccuracySpec, type RobustPoint } from '../attack/evaluate.js';
import { triptychs } from '../attack/triptych.js';
import type { AttackMethod } from '../attack/attacks.js';
import type { AdversarialConfig } from '../attack/training.js';
import { loadDataset } from './data.js';
import type { CheckpointModel } from './explain.js';

/** Command-line names of the attacks. */
const METHODS: Record<string, AttackMethod> = { fgsm: 'fgsm', bim: 'bim', pgd: 'pgd', 'pgd-l2': 'pgdL2' };
const TRIPTYCHS = 8;

export interface AttackCliOptions {
  checkpoint: string;
  method: string;
  eps: string;
  steps: number;
  alpha?: number;
  target?: string;
  samples: number;
  seed: number;
  batchSize: number;
  out?: string;
}

/** ε values from '0.1' or '0,0.05,0.1'. */
function parseEps(text: string): number[] {
  const values = String(text).split(',').map((s) => s.trim());
  return values.map((s) => {
    const v = Number(s);
    if (s === '' || !Number.isFinite(v)) throw new ArgumentError('attack', `--eps must be a number or a comma-separated list of numbers, got '${text}'`);
    return checkNonNegative('attack', '--eps', v);
  });
}

/** The checkpoint's model (eval mode), its classes and the first `samples` test images of its dataset with labels. */
async function checkpointAndImages(path: string, samples: number, loadModel: (path: string) => CheckpointModel) {
  if (!existsSync(path)) throw new ArgumentError('attack', `no checkpoint at ${path}`);
  const { config, classes, inputShape, model } = loadModel(path);
  const data = await loadDataset(config.dataset, { seed: config.seed ?? 0, classes, testOnly: true });
  if (data.inputShape.join() !== inputShape.join()) throw new ArgumentError('attack', `${config.dataset} holds ${data.inputShape.join('×')} images but the model takes ${inputShape.join('×')}`);
  model.eval();
  const n = Math.min(samples, data.test.dataset.length);
  if (n === 0) throw new ArgumentError('attack', `the test split of ${config.dataset} is empty`);
  const images = stack(Array.from({ length: n }, (_, i) => data.test.dataset.get(i).input), 0);
  const labels = new Tensor(Int32Array.from(data.test.targets.subarray(0, n)), [n]);
  return { model, classes, images, labels, dataset: config.dataset };
}

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;

/** Runs `pixelgrad attack`; returns the points of the robust-accuracy curve. */
export async function runAttackCommand(o: AttackCliOptions, loadModel: (path: string) => CheckpointModel, log: (line: string) => void = console.log): Promise<RobustPoint[]> {
  const op = 'attack';
  const method = METHODS[o.method];
  if (!method) throw new ArgumentError(op, `--method must be one of ${Object.keys(METHODS).join(', ')}, got '${o.method}'`);
  const eps = parseEps(o.eps);
  if (o.alpha !== undefined) {
    checkPositive(op, '--alpha', o.alpha);
    const over = eps.find((e) => e > 0 && o.alpha! > e);
    if (method !== 'fgsm' && over !== undefined) throw new ArgumentError(op, `--alpha ${o.alpha} is larger than ε = ${over}: a step would leave the ε-ball`);
  }
  const { model, classes, images: allImages, labels: allLabels, dataset } = await checkpointAndImages(o.checkpoint, o.samples, loadModel);
  let target: number | undefined;
  let images = allImages, labels = allLabels;
  if (o.target !== undefined) {
    target = classes.indexOf(String(o.target));
    if (target < 0) {
      const k = Number(o.target);
      if (!Number.isInteger(k) || k < 0 || k >= classes.length) throw new ArgumentError(op, `--target '${o.target}' is neither a class name nor a class index 0..${classes.length - 1} (classes: ${classes.join(', ')})`);
      target = k;
    }
    // Images already of the target class say nothing about a targeted attack.
    const keep = [...allLabels.data.keys()].filter((i) => allLabels.data[i] !== target);
    if (!keep.length) throw new ArgumentError(op, `every sampled image is of the target class '${classes[target]}'`);
    const index = new Tensor(Int32Array.from(keep), [keep.length]);
    images = allImages.indexSelect(0, index);
    labels = allLabels.indexSelect(0, index);
  }
  const out = o.out ?? join(dirname(o.checkpoint), `attack-${o.method}${target !== undefined ? `-to-${classes[target]}` : ''}`);
  const iterative = method !== 'fgsm';
  const generator = new Generator(o.seed);
  // α = ε/4 unless given (the recipe of the issue's calibration); the random starts share one seeded generator.
  const optionsAt = (e: number) => ({
    eps: e, batchSize: o.batchSize,
    ...(iterative ? { steps: o.steps, alpha: o.alpha ?? e / 4 } : {}),
    ...(method === 'pgd' || method === 'pgdL2' ? { generator } : {}),
    ...(target !== undefined ? { target } : {}),
  });
  const recipe = `${o.method}${iterative ? `, ${o.steps} steps, α = ${o.alpha ?? 'ε/4'}${method.startsWith('pgd') ? ', random start' : ''}` : ''}${target !== undefined ? `, targeted at '${classes[target]}'` : ''}`;
  log(`attacking ${labels.size} test images of ${dataset} (${recipe})`);
  makeFolder(out);
  const clean = logitsOf(model, images).argmax(1).data;
  const start = performance.now();
  const points: RobustPoint[] = [];
  for (const e of eps) {
    const t0 = performance.now();
    // ε = 0 leaves every image as it is: the clean numbers, without running the attack.
    const adv = e === 0 ? images : attackBatched(method, model, images, labels, optionsAt(e));
    const p = { eps: e, ...attackStats(model, images, adv, labels, target !== undefined ? { target } : {}) };
    points.push(p);
    log(`ε = ${e}: accuracy ${pct(p.accuracy)} (clean ${pct(p.cleanAccuracy)}), ${target !== undefined ? 'targeted ' : ''}success ${pct(p.successRate)}, mean L∞ ${p.linf.mean.toFixed(4)}, mean L2 ${p.l2.mean.toFixed(4)}, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    if (e === 0) continue;
    // Triptychs of the first images the attack turned from right to wrong (else of the first images).
    const after = logitsOf(model, adv).argmax(1).data, y = labels.data;
    const all = [...y.keys()], flipped = all.filter((i) => clean[i] === y[i] && after[i] !== y[i]);
    const chosen = (flipped.length ? flipped : all).slice(0, TRIPTYCHS);
    const index = new Tensor(Int32Array.from(chosen), [chosen.length]);
    const t = triptychs(model, images.indexSelect(0, index), adv.indexSelect(0, index), { classes });
    await saveImageGrid(t.images, join(out, `triptychs-eps${e}.png`), { nrow: 6, scale: 3, padding: 4, background: 1, labels: t.labels });
  }
  const seconds = (performance.now() - start) / 1000;

  writeFileAtomic(join(out, 'attack.json'), JSON.stringify({
    checkpoint: o.checkpoint, dataset, method: o.method, steps: iterative ? o.steps : 1, alpha: iterative ? (o.alpha ?? 'eps/4') : null,
    randomStart: method === 'pgd' || method === 'pgdL2', seed: o.seed, target: target !== undefined ? classes[target] : null,
    samples: labels.size, seconds, points,
  }, null, 2) + '\n');
  writeFileAtomic(join(out, 'robust-accuracy.csv'), ['eps,accuracy,clean_accuracy,success_rate,linf_mean,linf_max,l2_mean,l2_max,wrong_confidence',
    ...points.map((p) => [p.eps, p.accuracy, p.cleanAccuracy, p.successRate, p.linf.mean, p.linf.max, p.l2.mean, p.l2.max, p.wrongConfidence ?? ''].join(','))].join('\n') + '\n');
  // The curve starts at the clean accuracy (ε = 0) even when ε = 0 was not asked for.
  const curve = eps.includes(0) ? points : [{ eps: 0, accuracy: points[0].cleanAccuracy }, ...points];
  const spec = robustAccuracySpec([{ name: o.method, points: curve }], { title: `Robust accuracy under ${recipe}` });
  for (const ext of ['svg', 'png']) await saveChart(spec, join(out, `robust-accuracy.${ext}`));
  log(`${points.length} ε in ${seconds.toFixed(1)} s; wrote attack.json, robust-accuracy.csv/.svg/.png and triptychs to ${out}`);
  return points;
}

/** Adds `pixelgrad attack` to the program. */
export function registerAttackCommand(program: Command, loadModel: (path: string) => CheckpointModel): void {
  program.command('attack')
    .description('attack a checkpoint with adversarial images (FGSM, BIM, PGD in L∞ or L2): robust accuracy per ε, chart, triptychs')
    .requiredOption('--checkpoint <file>', 'a checkpoint written by train (e.g. runs/x/best.safetensors)')
    .addOption(new Option('--method <name>', 'attack').choices(Object.keys(METHODS)).default('pgd'))
    .option('--eps <list>', 'radius or comma-separated radii in pixels (0–1 scale; L2 per image for pgd-l2)', '0.05,0.1,0.2,0.3')
    .option('--steps <n>', 'steps of the iterative attacks', intOption('--steps', 1, 10_000), 20)
    .option('--alpha <x>', 'step size in pixels (default ε/4)', floatOption('--alpha'))
    .option('--target <class>', 'targeted attack: push every image towards this class (name or index)')
    .option('--samples <n>', 'attack the first n test images', intOption('--samples'), 1000)
    .option('--seed <n>', 'seed of the random starts', intOption('--seed', 0, 2 ** 32 - 1), 0)
    .option('--batch-size <n>', 'images per attack batch', intOption('--batch-size', 1, 65_536), 250)
    .option('--out <dir>', 'output folder (default: attack-<method> beside the checkpoint)')
    .action(async (o: AttackCliOptions) => { await runAttackCommand(o, loadModel); });
}

/** The peak learning rate of adversarial training with SGD unless --lr is given: one-cycle 0.1 collapses PGD training of LeNet-5 to a constant prediction, 0.02 does not. */
export const ADVERSARIAL_LR = 0.02;

/** The run's adversarial training from those options; null without --adversarial (then the others are errors). */
export function adversarialConfig(o: { adversarial?: 'fgsm' | 'pgd'; eps?: number; steps?: number; alpha?: number; advRatio?: number }): AdversarialConfig | null {
  if (!o.adversarial) {
    const stray = (['eps', 'steps', 'alpha', 'advRatio'] as const).find((k) => o[k] !== undefined);
    if (stray) throw new ArgumentError('train', `--${stray === 'advRatio' ? 'adv-ratio' : stray} is an option of adversarial training: add --adversarial fgsm|pgd`);
    return null;
  }
  if (o.eps === undefined) throw new ArgumentError('train', '--adversarial needs --eps <x> (e.g. 0.1 for digits)');
  return { method: o.adversarial, eps: o.eps, steps: o.steps ?? 7, alpha: o.alpha ?? null, ratio: o.advRatio ?? 1 };
}
