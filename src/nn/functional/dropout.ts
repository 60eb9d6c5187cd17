/** Inverted dropout: in training, zero each unit with probability p and scale the rest by 1/(1 − p). */
import { ArgumentError, ShapeError, fmtShape } from '../../errors.js';
import { defaultGenerator, type Generator } from '../../random.js';
import { mul } from '../../ops/elementwise.js';
import { alloc } from '../../ops/util.js';
import type { Tensor } from '../../tensor.js';

export interface DropoutOptions {
  p?: number;
  /** Identity when false (evaluation). Default true. */
  training?: boolean;
  generator?: Generator;
}

export function checkDropoutP(op: string, p: number): void {
  if (!(p >= 0 && p <= 1)) throw new ArgumentError(op, `p must be a probability in [0, 1], got ${p}`);
}

/** A mask of `shape` with entries 0 (probability p) or 1/(1 − p). */
function mask(x: Tensor, shape: readonly number[], p: number, g: Generator): Tensor {
  const m = alloc('dropout', x.dtype, shape);
  const keep = p < 1 ? 1 / (1 - p) : 0;
  for (let i = 0; i < m.size; i++) m.data[i] = g.random() < p ? 0 : keep;
  return m;
}

/** Element-wise dropout (`torch.nn.functional.dropout`). */
export function dropout(x: Tensor, options: DropoutOptions = {}): Tensor {
  const p = options.p ?? 0.5;
  checkDropoutP('dropout', p);
  if (options.training === false || p === 0) return x;
  return mul(x, mask(x, x.shape, p, options.generator ?? defaultGenerator));
}

/** Channel dropout (`dropout2d`): whole feature maps of [N, C, H, W] (or [C, H, W]) are dropped together. */
export function dropout2d(x: Tensor, options: DropoutOptions = {}): Tensor {
  const p = options.p ?? 0.5;
  checkDropoutP('dropout2d', p);
  if (x.ndim !== 4 && x.ndim !== 3) throw new ShapeError('dropout2d', `input must be [N,C,H,W] or [C,H,W], got ${fmtShape(x.shape)}`);
  if (options.training === false || p === 0) return x;
  const shape = x.shape.map((d, i) => (i < x.ndim - 2 ? d : 1));
  return mul(x, mask(x, shape, p, options.generator ?? defaultGenerator));
}
