import { ShapeError, fmtShape } from '../../errors.js';
import { add } from '../../ops/elementwise.js';
import { matmul } from '../../ops/matmul.js';
import { transpose } from '../../ops/shape.js';
import type { Tensor } from '../../tensor.js';

/** y = x·Wᵀ + b, with W of shape [out, in] (PyTorch's layout). */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  if (weight.ndim !== 2) throw new ShapeError('linear', `weight must be 2-D [out, in], got ${fmtShape(weight.shape)}`);
  const inF = weight.shape[1];
  if (x.ndim < 1 || x.shape[x.ndim - 1] !== inF) throw new ShapeError('linear', `input has ${x.shape[x.ndim - 1] ?? 0} features in its last dim but weight expects ${inF} (input ${fmtShape(x.shape)}, weight ${fmtShape(weight.shape)})`);
  const y = matmul(x, transpose(weight, 0, 1));
  return bias ? add(y, bias) : y;
}
