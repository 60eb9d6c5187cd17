/**
 * A synthetic segmentation dataset: circles, rectangles and triangles on noisy backgrounds, with
 * a per-pixel class mask (0 background, 1 circle, 2 rectangle, 3 triangle). Sample i is drawn
 * from its own generator seeded by (seed, i), so samples are reproducible in any order.
 */
import { ArgumentError } from '../errors.js';
import { Generator } from '../random.js';
import { Tensor } from '../tensor.js';
import { checkIndex, type Dataset } from './dataset.js';

export const SHAPE_CLASSES = ['background', 'circle', 'rectangle', 'triangle'] as const;

export interface ShapesOptions {
  /** Number of samples. */
  n: number;
  /** Side of the square images. Default 64. */
  size?: number;
  /** How many shape classes to use (1 = circles; 2 = + rectangles; 3 = + triangles). Default 3. */
  classes?: number;
  /** Shapes per image, at most. Default 3. */
  maxShapes?: number;
  /** Standard deviation of the background noise. Default 0.08. */
  noise?: number;
  /** 1 (grayscale) or 3 (each shape gets a colour). Default 1. */
  channels?: 1 | 3;
  seed?: number;
}

export class ShapesDataset implements Dataset<{ input: Tensor; target: Tensor }> {
  readonly classes: string[];
  private readonly o: Required<ShapesOptions>;

  constructor(options: ShapesOptions) {
    const o = { size: 64, classes: 3, maxShapes: 3, noise: 0.08, channels: 1 as const, seed: 0, ...options };
    const op = 'shapes';
    if (!Number.isInteger(o.n) || o.n < 0) throw new ArgumentError(op, `n must be a non-negative integer, got ${o.n}`);
    if (!Number.isInteger(o.size) || o.size < 8) throw new ArgumentError(op, `size must be an integer ≥ 8, got ${o.size}`);
    if (![1, 2, 3].includes(o.classes)) throw new ArgumentError(op, `classes must be 1, 2 or 3, got ${o.classes}`);
    if (!Number.isInteger(o.maxShapes) || o.maxShapes < 1) throw new ArgumentError(op, `maxShapes must be a positive integer, got ${o.maxShapes}`);
    if (o.channels !== 1 && o.channels !== 3) throw new ArgumentError(op, `channels must be 1 or 3, got ${o.channels}`);
    if (!(o.noise >= 0)) throw new ArgumentError(op, `noise must be ≥ 0, got ${o.noise}`);
    this.o = o;
    this.classes = SHAPE_CLASSES.slice(0, o.classes + 1) as unknown as string[];
  }

  get length(): number {
    return this.o.n;
  }

  get(index: number): { input: Tensor; target: Tensor } {
    checkIndex('shapes', index, this.o.n);
    const { size: S, channels: C } = this.o;
    const g = new Generator(this.o.seed * 2 ** 21 + index);
    const image = new Float32Array(C * S * S);
    const mask = new Int32Array(S * S);
    const background = Array.from({ length: C }, () => 0.1 + 0.3 * g.random());
    for (let c = 0; c < C; c++) image.fill(background[c], c * S * S, (c + 1) * S * S);
    const count = g.integer(1, this.o.maxShapes + 1);
    for (let k = 0; k < count; k++) {
      const cls = g.integer(1, this.o.classes + 1);
      const inside = this.drawShape(cls, g);
      const colour = Array.from({ length: C }, () => 0.6 + 0.4 * g.random());
      for (let y = 0; y < S; y++) {
        for (let x = 0; x < S; x++) {
          if (!inside(x + 0.5, y + 0.5)) continue;
          mask[y * S + x] = cls;
          for (let c = 0; c < C; c++) image[(c * S + y) * S + x] = colour[c];
        }
      }
    }
    for (let i = 0; i < image.length; i++) image[i] = Math.min(1, Math.max(0, image[i] + this.o.noise * g.normal()));
    return { input: new Tensor(image, [C, S, S]), target: new Tensor(mask, [S, S]) };
  }

  /** A random shape of class `cls` as an inside-test on pixel centres. */
  private drawShape(cls: number, g: Generator): (x: number, y: number) => boolean {
    const S = this.o.size;
    const r = S * (0.1 + 0.15 * g.random());
    const cx = r + g.random() * (S - 2 * r), cy = r + g.random() * (S - 2 * r);
    if (cls === 1) return (x, y) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
    if (cls === 2) {
      const hw = r * (0.6 + 0.4 * g.random()), hh = r * (0.6 + 0.4 * g.random());
      return (x, y) => Math.abs(x - cx) <= hw && Math.abs(y - cy) <= hh;
    }
    // An equilateral triangle inscribed in the circle of radius r, turned by a random angle.
    const turn = g.random() * 2 * Math.PI;
    const v = [0, 1, 2].map((i) => [cx + r * Math.cos(turn + (i * 2 * Math.PI) / 3), cy + r * Math.sin(turn + (i * 2 * Math.PI) / 3)]);
    const edge = (a: number[], b: number[], x: number, y: number) => (b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0]);
    return (x, y) => {
      const d0 = edge(v[0], v[1], x, y), d1 = edge(v[1], v[2], x, y), d2 = edge(v[2], v[0], x, y);
      return (d0 >= 0 && d1 >= 0 && d2 >= 0) || (d0 <= 0 && d1 <= 0 && d2 <= 0);
    };
  }
}

/**
 * The synthetic shapes segmentation dataset.
 * @example const ds = shapes({ n: 200, size: 64, seed: 1 }); const { input, target } = ds.get(0);
 */
export const shapes = (options: ShapesOptions): ShapesDataset => new ShapesDataset(options);
