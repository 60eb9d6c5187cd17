/** Batches from a dataset: optionally shuffled (seeded), per-sample transforms, custom collation. */
import { ArgumentError } from '../errors.js';
import { defaultGenerator, type Generator } from '../random.js';
import { checkBoolean, checkKeys, fmtValue } from '../options.js';
import { checkDataset, collate as defaultCollate, type Collated, type Dataset } from './dataset.js';

export interface DataLoaderOptions<T, B> {
  batchSize?: number;
  /** A new random order each epoch, drawn from `generator`. */
  shuffle?: boolean;
  /** Drop the last batch when it is smaller than batchSize. */
  dropLast?: boolean;
  /** Applied to each sample before collation (e.g. augmentation). */
  transform?: (sample: T) => T;
  /** Makes a batch from a list of samples; default: `collate`. */
  collate?: (samples: T[]) => B;
  generator?: Generator;
}

/**
 * Iterates over a dataset in batches. Each `for ... of` (or `for await`) pass is one epoch; with
 * `shuffle`, every epoch draws a new permutation from the generator, so a seeded generator makes
 * the whole sequence of batches reproducible.
 * @example
 * const loader = new DataLoader(train, { batchSize: 64, shuffle: true, generator: new Generator(0) });
 * for (const { input, target } of loader) { ... }
 */
export class DataLoader<T, B = Collated<T>> implements Iterable<B>, AsyncIterable<B> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  private readonly options: DataLoaderOptions<T, B>;

  constructor(readonly dataset: Dataset<T>, options: DataLoaderOptions<T, B> = {}) {
    checkDataset('DataLoader', dataset);
    checkKeys('DataLoader', options, ['batchSize', 'shuffle', 'dropLast', 'transform', 'collate', 'generator']);
    this.batchSize = options.batchSize ?? 1;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new ArgumentError('DataLoader', `batchSize must be a positive integer, got ${options.batchSize}`);
    this.shuffle = checkBoolean('DataLoader', 'shuffle', options.shuffle ?? false);
    this.dropLast = checkBoolean('DataLoader', 'dropLast', options.dropLast ?? false);
    for (const key of ['transform', 'collate'] as const) {
      if (options[key] !== undefined && typeof options[key] !== 'function') throw new ArgumentError('DataLoader', `${key} must be a function, got ${fmtValue(options[key])}`);
    }
    this.options = options;
  }

  /** Batches per epoch. */
  get length(): number {
    const n = this.dataset.length / this.batchSize;
    return this.dropLast ? Math.floor(n) : Math.ceil(n);
  }

  /** The sample order of one epoch (advances the generator when shuffling). */
  epochOrder(): number[] {
    const n = this.dataset.length;
    const order = Array.from({ length: n }, (_, i) => i);
    if (this.shuffle) {
      const g = this.options.generator ?? defaultGenerator;
      for (let i = n - 1; i > 0; i--) {
        const j = g.integer(0, i + 1);
        [order[i], order[j]] = [order[j], order[i]];
      }
    }
    return order;
  }

  /** The batch made of the samples at `indices`. */
  batch(indices: readonly number[]): B {
    const { transform, collate } = this.options;
    if (!transform && !collate && this.dataset.getBatch) return this.dataset.getBatch(indices) as B;
    const samples = indices.map((i) => {
      const s = this.dataset.get(i);
      return transform ? transform(s) : s;
    });
    return collate ? collate(samples) : (defaultCollate(samples) as B);
  }

  *[Symbol.iterator](): Iterator<B> {
    const order = this.epochOrder();
    for (let start = 0; start < order.length; start += this.batchSize) {
      const indices = order.slice(start, start + this.batchSize);
      if (indices.length < this.batchSize && this.dropLast) return;
      yield this.batch(indices);
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<B> {
    for (const b of this) yield b;
  }
}
