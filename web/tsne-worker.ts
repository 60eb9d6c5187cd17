/**
 * The t-SNE of the workbench, off the page's thread: receives { points: Float32Array (n × d), d },
 * posts { embedding: Float32Array (n × 2), iteration, done } every few steps, so the page can draw
 * the map as it forms. Imports only the embedding code (the JS backend is enough here).
 */
import { TSNE } from '../src/embed/tsne.js';
import { Tensor } from '../src/tensor.js';

const EVERY = 10;

onmessage = (event: MessageEvent<{ points: Float32Array; d: number; nIter: number }>) => {
  const { points, d, nIter } = event.data;
  const n = points.length / d;
  const post = (embedding: Float64Array | Float32Array, iteration: number, done: boolean, kl: number | null) =>
    postMessage({ embedding: Float32Array.from(embedding), iteration, done, kl });
  try {
    const tsne = new TSNE({ perplexity: 30, nIter, seed: 0, onIteration: (p) => { if (p.iteration % EVERY === 0) post(p.embedding, p.iteration, false, p.kl); } });
    const y = tsne.fitTransform(new Tensor(points, [n, d]));
    post(y.data as Float64Array, nIter, true, tsne.klDivergence);
  } catch (err) {
    postMessage({ error: (err as Error).message });
  }
};
