/**
 * The crowding problem, shown. The same MNIST digits (the first N bundled training digits, raw
 * pixels) are embedded twice with the same affinities P, optimiser and start: once with a Gaussian
 * in the map (symmetric SNE) and once with t-SNE's Student-t. In 2-D there is not enough room at a
 * moderate distance for all of a point's moderately near neighbours of 784-D space; a Gaussian,
 * whose similarity falls off fast, can only fit them by crushing everything towards the centre, so
 * the classes overlap in one blob. The heavy tail of the Student-t lets dissimilar points sit far
 * apart at little cost, and the classes separate. The figure puts both maps side by side; the
 * numbers are the leave-one-out 5-NN accuracy of each map and the spread of the class centres
 * relative to the spread within classes.
 *
 *   npx tsx examples/crowding.ts [output folder, default runs/crowding] [N, default 1000]
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { leaveOneOutAccuracy } from '../src/embed/classifier.js';
import { TSNE, type TSNEKernel } from '../src/embed/tsne.js';
import { mnist } from '../src/data/node/mnist.js';
import { Tensor } from '../src/tensor.js';
import { scatterSpec, type VegaLiteSpec } from '../src/viz/charts.js';
import { saveChart } from '../src/viz/render.js';

export interface CrowdingMap {
  kernel: TSNEKernel;
  embedding: Tensor;
  /** Leave-one-out 5-NN accuracy of the digit classes in the map. */
  knnAccuracy: number;
  /** Mean distance of the class centres from their mean over the mean distance of points from their class centre. */
  separation: number;
}

/** Embeds the first n training digits with both kernels (exact gradient, same P, start and schedule, learning rate 10). */
export function crowding(n = 1000, nIter = 1000): { labels: Int32Array; maps: CrowdingMap[] } {
  const train = mnist();
  const x = new Tensor((train.inputs.data as Float32Array).slice(0, n * 784), [n, 784]);
  const labels = Int32Array.from((train.targets.data as Int32Array).subarray(0, n));
  const maps = (['gaussian', 'studentT'] as const).map((kernel) => {
    const embedding = new TSNE({ method: 'exact', kernel, perplexity: 30, nIter, learningRate: 10, init: 'pca', seed: 0 }).fitTransform(x);
    return { kernel, embedding, knnAccuracy: leaveOneOutAccuracy(embedding, labels, { nNeighbors: 5 }), separation: separation(embedding.data as Float64Array, labels) };
  });
  return { labels, maps };
}

function separation(y: Float64Array, labels: Int32Array): number {
  const classes = Math.max(...labels) + 1, n = labels.length;
  const cx = new Float64Array(classes), cy = new Float64Array(classes), count = new Float64Array(classes);
  for (let i = 0; i < n; i++) { cx[labels[i]] += y[2 * i]; cy[labels[i]] += y[2 * i + 1]; count[labels[i]]++; }
  for (let c = 0; c < classes; c++) { cx[c] /= count[c]; cy[c] /= count[c]; }
  let mx = 0, my = 0, between = 0, within = 0;
  for (let c = 0; c < classes; c++) { mx += cx[c] / classes; my += cy[c] / classes; }
  for (let c = 0; c < classes; c++) between += Math.hypot(cx[c] - mx, cy[c] - my) / classes;
  for (let i = 0; i < n; i++) within += Math.hypot(y[2 * i] - cx[labels[i]], y[2 * i + 1] - cy[labels[i]]) / n;
  return between / within;
}

const TITLES: Record<TSNEKernel, string> = { gaussian: 'Gaussian in the map (symmetric SNE)', studentT: 'Student-t in the map (t-SNE)' };

/** One figure: the two maps side by side, coloured by digit, each titled with its kernel and numbers. */
export function crowdingFigure(labels: Int32Array, maps: readonly CrowdingMap[]): VegaLiteSpec {
  const panels = maps.map((m): Record<string, unknown> => {
    const y = m.embedding.data as Float64Array;
    const points = Array.from(labels, (label, i) => ({ x: y[2 * i], y: y[2 * i + 1], label }));
    const spec = scatterSpec(points, { hideAxes: true, labelTitle: 'digit', pointSize: 14, xTitle: '', yTitle: '' }) as unknown as Record<string, unknown>;
    return { ...spec, title: [TITLES[m.kernel], `5-NN accuracy ${m.knnAccuracy.toFixed(3)}, class separation ${m.separation.toFixed(2)}`] };
  });
  // Each panel names its own dataset: scatterSpec calls its rows 'points', and a concatenation shares one datasets table.
  const datasets: Record<string, unknown> = {};
  const hconcat = panels.map((p, i) => {
    const { $schema: _s, config: _c, datasets: d, ...rest } = p;
    datasets[`map${i}`] = (d as Record<string, unknown>).points;
    return { ...rest, data: { name: `map${i}` } };
  });
  return { $schema: panels[0].$schema, config: panels[0].config, title: 'The crowding problem: the same digits, the same P', datasets, hconcat } as unknown as VegaLiteSpec;
}

async function main(): Promise<void> {
  const outDir = process.argv[2] ?? join('runs', 'crowding');
  const n = Number(process.argv[3] ?? 1000);
  const { labels, maps } = crowding(n);
  for (const m of maps) console.log(`${m.kernel}: 5-NN accuracy ${m.knnAccuracy.toFixed(3)}, class separation ${m.separation.toFixed(2)}`);
  await saveChart(crowdingFigure(labels, maps), join(outDir, 'crowding.png'));
  console.log(`wrote ${join(outDir, 'crowding.png')}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
