/**
 * W5 of the shared benchmark (WORKLOADS.md): t-SNE of the first N rows of data/tsne_pca50 (MNIST,
 * PCA to 50 dimensions), 2 components, perplexity 30, 1000 iterations (early exaggeration 12 for
 * 250, then momentum 0.8), learning rate 200, N(0, 1e-4²) initialisation (seed 0), Barnes-Hut angle
 * 0.5 or the exact gradient. One run per case: the metric is the wall time of the fit (affinities
 * included); each embedding is written as float64 [N, 2] to results/embeddings/<peer>_<case>.f64
 * beside the data folder, where the runner's tools/eval_embedding.py scores it.
 * `--cases bh_2000,exact_500` picks cases (default: all five).
 */
import { join } from 'node:path';
import { makeFolder, writeFileAtomic } from '../src/io/files.js';
import { TSNE, type TSNEMethod } from '../src/embed/tsne.js';
import { Tensor } from '../src/tensor.js';
import { dataDir, readBundle } from './bundle.js';
import { emit, info, seconds } from './protocol.js';

export const W5_CASES: Readonly<Record<string, [TSNEMethod, number]>> = {
  bh_2000: ['barnesHut', 2000], bh_1000: ['barnesHut', 1000], bh_500: ['barnesHut', 500], exact_1000: ['exact', 1000], exact_500: ['exact', 500],
};

/** The cases named after `--cases` on the command line, else all. */
export function w5Cases(argv: readonly string[]): string[] {
  const at = argv.indexOf('--cases');
  return at >= 0 && argv[at + 1] ? argv[at + 1].split(',') : Object.keys(W5_CASES);
}

export function w5(cases: readonly string[] = w5Cases(process.argv)): void {
  const peer = process.env.PEER_ID ?? 'pixelgrad';
  const nIter = process.env.PEER_BENCH_QUICK === '1' ? 250 : 1000;
  let d: Record<string, Tensor> | null = null;
  for (const name of cases) {
    const caseName = `tsne_${name}`;
    try {
      if (!W5_CASES[name]) throw new Error(`unknown case '${name}' (known: ${Object.keys(W5_CASES).join(', ')})`);
      const [method, n] = W5_CASES[name];
      d ??= readBundle('tsne_pca50');
      const dims = d.x.shape[1];
      const x = new Tensor((d.x.data as Float64Array).slice(0, n * dims), [n, dims]);
      const tsne = new TSNE({ method, perplexity: 30, earlyExaggeration: 12, learningRate: 200, nIter, init: 'random', seed: 0, angle: 0.5 });
      const t0 = seconds();
      const y = tsne.fitTransform(x);
      const wall = seconds() - t0;
      const rel = join('results', 'embeddings', `${peer}_${name}.f64`);
      const bench = join(dataDir(), '..');
      makeFolder(join(bench, 'results', 'embeddings'));
      const z = y.data as Float64Array;
      writeFileAtomic(join(bench, rel), new Uint8Array(z.buffer, z.byteOffset, z.byteLength));
      emit({
        workload: 'W5', case: caseName, metric: 'seconds', unit: 's', value: wall, higher_is_better: false, n_points: n,
        kl_divergence_reported: tsne.klDivergence, n_iter_reported: tsne.nIterRun, embedding_path: rel,
        params: { method, perplexity: 30, n_iter: nIter, early_exaggeration: 12, exaggeration_iters: 250, learning_rate: 200, init: 'random N(0,1e-4)', seed: 0, angle: method === 'barnesHut' ? 0.5 : null },
        info: { ...info(), threads: 1 },
      });
    } catch (err) {
      emit({ workload: 'W5', case: caseName, error: String((err as Error).message ?? err) });
    }
  }
}
