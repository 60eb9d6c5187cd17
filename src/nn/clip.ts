/** Gradient clipping, as `torch.nn.utils.clip_grad_norm_` and `clip_grad_value_`: gradients are changed in place. */
import { ArgumentError } from '../errors.js';
import { Tensor } from '../tensor.js';
import { checkBoolean, checkKeys, checkNonNegative, fmtValue } from '../options.js';

export interface ClipGradNormOptions {
  /** The p of the p-norm: any positive number, or Infinity for the max-norm (default 2). */
  normType?: number;
  /** Throw when the total norm is NaN or infinite, instead of scaling by it (default false). */
  errorIfNonfinite?: boolean;
}

function gradsOf(op: string, params: Tensor | readonly Tensor[]): Tensor[] {
  const list = params instanceof Tensor ? [params] : params;
  if (!Array.isArray(list)) throw new ArgumentError(op, `params must be a Tensor or an array of Tensors, got ${fmtValue(list)}`);
  const grads: Tensor[] = [];
  list.forEach((p, i) => {
    if (!(p instanceof Tensor)) throw new ArgumentError(op, `params[${i}] must be a Tensor, got ${fmtValue(p)}`);
    if (p.grad !== null) grads.push(p.grad);
  });
  return grads;
}

/**
 * Scales the gradients of `params` (those whose `grad` is not null) so that their total norm,
 * computed over all of them together as if concatenated into one vector, is at most `maxNorm`:
 *
 * ```text
 * total = (Σ_i |g_i|^p)^(1/p)      (max_i |g_i| for p = Infinity)
 * g ← g · min(1, maxNorm / (total + 1e-6))
 * ```
 * Returns the total norm before clipping (0 when no parameter has a gradient).
 * @example
 * loss.backward();
 * const norm = clipGradNorm(model.parameters(), 1.0);
 * opt.step();
 */
export function clipGradNorm(params: Tensor | readonly Tensor[], maxNorm: number, options: ClipGradNormOptions = {}): number {
  const op = 'clipGradNorm';
  checkKeys(op, options, ['normType', 'errorIfNonfinite']);
  checkNonNegative(op, 'maxNorm', maxNorm);
  const p = options.normType ?? 2;
  if (typeof p !== 'number' || !(p > 0)) throw new ArgumentError(op, `normType must be a positive number or Infinity, got ${fmtValue(p)}`);
  const errorIfNonfinite = checkBoolean(op, 'errorIfNonfinite', options.errorIfNonfinite ?? false);
  const grads = gradsOf(op, params);
  if (grads.length === 0) return 0;
  let total: number;
  if (p === Infinity) {
    total = 0; // NaN propagates, as torch's max
    for (const g of grads) for (const v of g.data) total = Math.max(total, Math.abs(v));
  } else {
    let acc = 0;
    for (const g of grads) {
      const d = g.data;
      if (p === 2) for (let i = 0; i < d.length; i++) acc += d[i] * d[i];
      else if (p === 1) for (let i = 0; i < d.length; i++) acc += Math.abs(d[i]);
      else for (let i = 0; i < d.length; i++) acc += Math.abs(d[i]) ** p;
    }
    total = p === 1 ? acc : p === 2 ? Math.sqrt(acc) : acc ** (1 / p);
  }
  if (errorIfNonfinite && !Number.isFinite(total)) {
    throw new ArgumentError(op, `the total norm of order ${p} of the gradients is ${total}, so they cannot be clipped; pass errorIfNonfinite: false to scale them by it anyway`);
  }
  const c = Math.min(maxNorm / (total + 1e-6), 1); // NaN stays NaN, as torch.clamp
  for (const g of grads) {
    const d = g.data;
    for (let i = 0; i < d.length; i++) d[i] *= c;
  }
  return total;
}

/**
 * Clamps every gradient element of `params` to [−clipValue, clipValue], in place.
 * @example
 * loss.backward();
 * clipGradValue(model.parameters(), 0.5);
 */
export function clipGradValue(params: Tensor | readonly Tensor[], clipValue: number): void {
  const op = 'clipGradValue';
  checkNonNegative(op, 'clipValue', clipValue);
  for (const g of gradsOf(op, params)) {
    const d = g.data;
    for (let i = 0; i < d.length; i++) {
      if (d[i] > clipValue) d[i] = clipValue;
      else if (d[i] < -clipValue) d[i] = -clipValue;
    }
  }
}
