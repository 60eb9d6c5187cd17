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

/**
 * Splits so that every part has (as nearly as possible) the class proportions of the whole:
 * each class's samples are shuffled and divided by the fractions (largest remainder), and each
 * part keeps its indices in dataset order.
 */
export function stratifiedSplit<T>(dataset: Dataset<T>, labels: ArrayLike<number> | Tensor, fractions: readonly number[], options: { generator?: Generator } = {}): Subset<T>[] {
  const op = 'stratifiedSplit';
  const y = 'data' in labels ? labels.data : labels;
  if (y.length !== dataset.length) throw new ArgumentError(op, `got ${y.length} labels for a dataset of length ${dataset.length}`);
  const total = fractions.reduce((a, b) => a + b, 0);
  if (fractions.length === 0 || fractions.some((f) => !(f >= 0)) || Math.abs(total - 1) > 1e-9) throw new ArgumentError(op, `fractions must be non-negative and sum to 1, got ${JSON.stringify(fractions)}`);
  const g = options.generator ?? defaultGenerator;
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < y.length; i++) {
    const list = byClass.get(y[i]) ?? [];
    list.push(i);
    byClass.set(y[i], list);
  }
  const parts: number[][] = fractions.map(() => []);
  for (const cls of [...byClass.keys()].sort((a, b) => a - b)) {
    const members = byClass.get(cls)!;
    const order = shuffled(members.length, g).map((k) => members[k]);
    const exact = fractions.map((f) => f * members.length);
    const sizes = exact.map(Math.floor);
    const byRemainder = exact.map((e, i) => [e - Math.floor(e), i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    for (let r = members.length - sizes.reduce((a, b) => a + b, 0), k = 0; r > 0; r--, k++) sizes[byRemainder[k][1]]++;
    let start = 0;
    sizes.forEach((s, p) => parts[p].push(...order.slice(start, (start += s))));
  }
  return parts.map((idx) => new Subset(dataset, idx.sort((a, b) => a - b)));
}
