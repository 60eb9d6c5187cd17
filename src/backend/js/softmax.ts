/**
 * Log-softmax and its gradient over x viewed as [outer, axisLength, inner] (contiguous) by their
 * definition, as reductions along the axis and element-wise kernels of `k`. The reference runs them
 * over the reference kernels (sums accumulated in float64); a backend without log-softmax kernels of
 * its own (wasm) runs them over its own.
 */
import { arrayLike, type TypedArray } from '../../dtype.js';
import type { Kernels } from '../backend.js';

/**
 * logSoftmax: out = x − m − log Σ exp(x − m) along the axis, m the largest value, as PyTorch
 * computes it: a column of −∞, or one holding +∞ (x − m is then NaN at the +∞), is NaN throughout,
 * and a NaN makes its whole column NaN.
 * logSoftmaxBackward: gx = g − exp(out)·Σ g along the axis, `out` being logSoftmax's output.
 */
export function logSoftmaxKernels(k: Pick<Kernels, 'unary' | 'binary' | 'reduce'>): Pick<Kernels, 'logSoftmax' | 'logSoftmaxBackward'> {
  return {
    logSoftmax(x, outer, axisLength, inner, out) {
      const shape = [outer, axisLength, inner], column = [outer, 1, inner];
      const m = arrayLike(x, outer * inner), shift = arrayLike(x, outer * inner);
      k.reduce('max', x, shape, [1], m);
      k.binary('sub', x, shape, m, column, out, shape);
      k.unary('exp', out, out, 0, 0);
      k.reduce('sum', out, shape, [1], shift);
      k.unary('log', shift, shift, 0, 0);
      k.binary('add', shift, column, m, column, shift, column);
      k.binary('sub', x, shape, shift, column, out, shape);
    },
    logSoftmaxBackward(g, out, outer, axisLength, inner, gx) {
      const shape = [outer, axisLength, inner], column = [outer, 1, inner];
      const sum = arrayLike(g, outer * inner);
      k.reduce('sum', g, shape, [1], sum);
      k.unary('exp', out, gx, 0, 0);
      k.binary('mul', gx, shape, sum, column, gx, shape);
      k.binary('sub', g, shape, gx, shape, gx, shape);
    },
  };
}
