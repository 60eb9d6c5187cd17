/** Splitting a dataset into parts: at random, or stratified by class. */
import { ArgumentError } from '../errors.js';
import { defaultGenerator, type Generator } from '../random.js';
import type { Tensor } from '../tensor.js';
import { Subset, type Dataset } from './dataset.js';

/** Sizes from counts (which must sum to n) or fractions (which must sum to 1; remainders go to the first parts). */
function partSizes(op: string, n: number, parts: readonly number[]): number[] {
  if (parts.length === 0 || parts.some((p) => !(p >= 0))) throw new ArgumentError(op, `lengths must be non-negative numbers, got ${JSON.stringify(parts)}`);
  const total = parts.reduce((a, b) => a + b, 0);
  if (parts.every(Number.isInteger) && total === n) return [...parts];
  if (Math.abs(total - 1) > 1e-9) throw new ArgumentError(op, `lengths ${JSON.stringify(parts)} must be counts summing to ${n} or fractions summing to 1`);
  const sizes = parts.map((f) => Math.floor(f * n));
  for (let i = 0, rest = n - sizes.reduce((a, b) => a + b, 0); rest > 0; i = (i + 1) % sizes.length, rest--) sizes[i]++;
  return sizes;
}

function shuffled(n: number, g: Generator): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = g.integer(0, i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/**
 * Random non-overlapping subsets of the given sizes (like `torch.utils.data.random_split`).
 * @example const [train, val] = randomSplit(ds, [0.9, 0.1], { generator: new Generator(0) });
 */
export function randomSplit<T>(dataset: Dataset<T>, lengths: readonly number[], options: { generator?: Generator } = {}): Subset<T>[] {
  const sizes = partSizes('randomSplit', dataset.length, lengths);
  const order = shuffled(dataset.length, options.generator ?? defaultGenerator);
  let start = 0;
  return sizes.map((s) => new Subset(dataset, order.slice(start, (start += s))));
}

/** Sample indices grouped by label, labels ascending. */
function byLabel(y: ArrayLike<number>): [number, number[]][] {
  const groups = new Map<number, number[]>();
  for (let i = 0; i < y.length; i++) {
    const list = groups.get(y[i]);
    if (list) list.push(i);
    else groups.set(y[i], [i]);
  }
  return [...groups].sort((a, b) => a[0] - b[0]);
}

function labelArray(op: string, dataset: { length: number }, labels: ArrayLike<number> | Tensor): ArrayLike<number> {
  const y = 'data' in labels ? labels.data : labels;
  if (y.length !== dataset.length) throw new ArgumentError(op, `got ${y.length} labels for a dataset of length ${dataset.length}`);
  return y;
}

/**
 * Largest-remainder apportionment of `total` to parts of the given sizes (in proportion to them);
 * ties go to the lower part.
 * @example apportion([50, 30, 20], 7) // [4, 2, 1]
 */
export function apportion(sizes: readonly number[], total: number): number[] {
  const all = sizes.reduce((a, b) => a + b, 0);
  const exact = sizes.map((s) => (s * total) / all);
  const out = exact.map(Math.floor);
  const order = exact.map((e, c) => [e - Math.floor(e), c]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0, rest = total - out.reduce((a, b) => a + b, 0); rest > 0; k++, rest--) out[order[k][1]]++;
  return out;
}

/**
 * Splits so that every part has (as nearly as possible) the class proportions of the whole:
 * each class's samples are shuffled and divided by the fractions (largest remainder), and each
 * part keeps its indices in dataset order.
 */
export function stratifiedSplit<T>(dataset: Dataset<T>, labels: ArrayLike<number> | Tensor, fractions: readonly number[], options: { generator?: Generator } = {}): Subset<T>[] {
  const op = 'stratifiedSplit';
  const y = labelArray(op, dataset, labels);
  const total = fractions.reduce((a, b) => a + b, 0);
  if (fractions.length === 0 || fractions.some((f) => !(f >= 0)) || Math.abs(total - 1) > 1e-9) throw new ArgumentError(op, `fractions must be non-negative and sum to 1, got ${JSON.stringify(fractions)}`);
  const g = options.generator ?? defaultGenerator;
  const parts: number[][] = fractions.map(() => []);
  for (const [, members] of byLabel(y)) {
    const order = shuffled(members.length, g).map((k) => members[k]);
    const sizes = apportion(fractions, members.length);
    let start = 0;
    sizes.forEach((s, p) => parts[p].push(...order.slice(start, (start += s))));
  }
  return parts.map((idx) => new Subset(dataset, idx.sort((a, b) => a - b)));
}

/**
 * A random sample of `n` items in which every class keeps its share of the whole (the counts per
 * class are apportioned by largest remainder, ties to the lower label), in dataset order. Unlike
 * the first n items, it holds every class of a dataset sorted by class.
 * @example const small = stratifiedSample(train, train.targets, 1000, { generator: new Generator(0) });
 */
export function stratifiedSample<T>(dataset: Dataset<T>, labels: ArrayLike<number> | Tensor, n: number, options: { generator?: Generator } = {}): Subset<T> {
  const op = 'stratifiedSample';
  const y = labelArray(op, dataset, labels);
  if (!Number.isInteger(n) || n < 0 || n > y.length) throw new ArgumentError(op, `n must be an integer in [0, ${y.length}] (the dataset's length), got ${n}`);
  const g = options.generator ?? defaultGenerator;
  const groups = byLabel(y);
  const counts = apportion(groups.map(([, members]) => members.length), n);
  const picked: number[] = [];
  groups.forEach(([, members], c) => picked.push(...shuffled(members.length, g).slice(0, counts[c]).map((k) => members[k])));
  return new Subset(dataset, picked.sort((a, b) => a - b));
}
