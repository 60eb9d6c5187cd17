/**
 * Datasets: anything with a length and random access to samples. Samples are usually
 * `{ input, target }` objects; `collate` stacks a list of them into one batch.
 */
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { indexSelect, stack } from '../ops/shape.js';
import { expectTensor } from '../ops/util.js';
import { fmtValue } from '../options.js';
import { Tensor } from '../tensor.js';
import { tensor } from '../creation.js';

export interface Dataset<T> {
  readonly length: number;
  get(index: number): T;
  /** Optional fast path: the collated batch of these samples (used by DataLoader when there is no per-sample transform). */
  getBatch?(indices: readonly number[]): unknown;
}

/** A classification or segmentation sample. */
export interface Sample {
  input: Tensor;
  target: Tensor | number;
}

/** Throws unless `dataset` looks like a Dataset: a non-negative integer `length` and a `get` method. */
export function checkDataset(op: string, dataset: unknown): void {
  const d = dataset as Partial<Dataset<unknown>> | null;
  if (d === null || typeof d !== 'object' || !Number.isInteger(d.length) || (d.length as number) < 0 || typeof d.get !== 'function') {
    throw new ArgumentError(op, `dataset must be a Dataset (an object with a length and get(index)), got ${fmtValue(dataset)}`);
  }
}

/** Throws unless `index` is an integer in [0, length). */
export function checkIndex(name: string, index: number, length: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= length) throw new ArgumentError(name, `index ${index} is out of range for a dataset of length ${length}`);
}

/**
 * Samples from tensors that share their first dim: sample i is `{ input: inputs[i], target: targets[i] }`
 * (a number when targets is 1-D). Batches come straight from `indexSelect`, without stacking.
 */
export class TensorDataset implements Dataset<{ input: Tensor; target: Tensor | number }> {
  constructor(readonly inputs: Tensor, readonly targets: Tensor) {
    expectTensor('TensorDataset', 'inputs', inputs);
    expectTensor('TensorDataset', 'targets', targets);
    if (inputs.ndim === 0 || targets.ndim === 0 || inputs.shape[0] !== targets.shape[0]) {
      throw new ShapeError('TensorDataset', `inputs ${fmtShape(inputs.shape)} and targets ${fmtShape(targets.shape)} must have the same first dim`);
    }
  }

  get length(): number {
    return this.inputs.shape[0];
  }

  get(index: number): { input: Tensor; target: Tensor | number } {
    checkIndex('TensorDataset', index, this.length);
    return { input: row(this.inputs, index), target: this.targets.ndim === 1 ? this.targets.data[index] : row(this.targets, index) };
  }

  getBatch(indices: readonly number[]): { input: Tensor; target: Tensor } {
    indices.forEach((i) => checkIndex('TensorDataset', i, this.length));
    const idx = tensor(Int32Array.from(indices));
    return { input: indexSelect(this.inputs, 0, idx), target: indexSelect(this.targets, 0, idx) };
  }
}

/** t[i] as a new tensor (a copy of one slice along the first dim). */
function row(t: Tensor, i: number): Tensor {
  const n = t.size / t.shape[0];
  return new Tensor(t.data.slice(i * n, (i + 1) * n), t.shape.slice(1));
}

/** The samples of `dataset` at `indices`, in that order. */
export class Subset<T> implements Dataset<T> {
  readonly indices: number[];
  constructor(readonly dataset: Dataset<T>, indices: Iterable<number>) {
    checkDataset('Subset', dataset);
    if (indices === null || typeof (indices as Partial<Iterable<number>>)?.[Symbol.iterator] !== 'function') throw new ArgumentError('Subset', `indices must be an iterable of integers, got ${fmtValue(indices)}`);
    this.indices = [...indices];
    this.indices.forEach((i) => checkIndex('Subset', i, dataset.length));
  }

  get length(): number {
    return this.indices.length;
  }

  get(index: number): T {
    checkIndex('Subset', index, this.length);
    return this.dataset.get(this.indices[index]);
  }

  getBatch(indices: readonly number[]): unknown {
    indices.forEach((i) => checkIndex('Subset', i, this.length));
    const inner = indices.map((i) => this.indices[i]);
    return this.dataset.getBatch ? this.dataset.getBatch(inner) : collate(inner.map((i) => this.dataset.get(i)));
  }
}

/** A dataset whose samples are `fn(sample)` of another's (e.g. to apply transforms). */
export class MappedDataset<T, U> implements Dataset<U> {
  constructor(readonly dataset: Dataset<T>, readonly fn: (sample: T, index: number) => U) {
    checkDataset('MappedDataset', dataset);
    if (typeof fn !== 'function') throw new ArgumentError('MappedDataset', `fn must be a function (sample, index) => sample, got ${fmtValue(fn)}`);
  }
  get length(): number {
    return this.dataset.length;
  }
  get(index: number): U {
    return this.fn(this.dataset.get(index), index);
  }
}

/** The batch type `collate` makes from samples of type T. */
export type Collated<T> = T extends Tensor ? Tensor
  : T extends number ? Tensor
  : T extends string ? string[]
  : T extends readonly unknown[] ? { [K in keyof T]: Collated<T[K]> }
  : T extends object ? { [K in keyof T]: Collated<T[K]> }
  : T[];

/**
 * Stacks samples into a batch, field by field (like PyTorch's default_collate): tensors are
 * stacked on a new first dim, numbers become a tensor (int32 when all are integers, else float32),
 * strings a list; objects and arrays are collated per key.
 */
export function collate<T>(samples: readonly T[]): Collated<T> {
  if (!Array.isArray(samples)) throw new ArgumentError('collate', `samples must be an array, got ${fmtValue(samples)}`);
  if (samples.length === 0) throw new ArgumentError('collate', 'cannot collate an empty list of samples');
  const first = samples[0] as unknown;
  if (first instanceof Tensor) {
    const ts = samples as unknown as Tensor[];
    ts.forEach((t, i) => {
      if (!(t instanceof Tensor) || fmtShape(t.shape) !== fmtShape(first.shape)) {
        throw new ShapeError('collate', `sample ${i} has shape ${t instanceof Tensor ? fmtShape(t.shape) : typeof t} but sample 0 has ${fmtShape(first.shape)}; resize or crop the inputs to one size`);
      }
    });
    return stack(ts, 0) as Collated<T>;
  }
  if (typeof first === 'number') {
    const nums = samples as unknown as number[];
    const ints = nums.every(Number.isInteger);
    return tensor(ints ? Int32Array.from(nums) : Float32Array.from(nums)) as Collated<T>;
  }
  if (typeof first === 'string') return [...samples] as Collated<T>;
  if (Array.isArray(first)) {
    return first.map((_, k) => collate(samples.map((s) => (s as unknown as unknown[])[k]))) as Collated<T>;
  }
  if (first !== null && typeof first === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(first)) out[key] = collate(samples.map((s) => (s as Record<string, unknown>)[key]));
    return out as Collated<T>;
  }
  throw new ArgumentError('collate', `cannot collate samples of type ${first === null ? 'null' : typeof first}; pass a custom collate function`);
}
