import { ShapeError, fmtShape } from '../../errors.js';
import { isFloat } from '../../dtype.js';
import { add, relu } from '../../ops/elementwise.js';
import { matmul } from '../../ops/matmul.js';
import { transpose } from '../../ops/shape.js';
import { allocUninitialized, kernels, recordsGrad } from '../../ops/util.js';
import type { Tensor } from '../../tensor.js';

/** y = x·Wᵀ + b, with W of shape [out, in] (PyTorch's layout). */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  return linearFused(x, weight, bias);
}

/**
 * linear, then ReLU when `relu`: one kernel call when no gradient is recorded (the weight read in
 * place, no transposed copy, no arrays between the stages), else the composed ops (the same values).
 */
export function linearFused(x: Tensor, weight: Tensor, bias: Tensor | null = null, options: { relu?: boolean } = {}): Tensor {
  if (weight.ndim !== 2) throw new ShapeError('linear', `weight must be 2-D [out, in], got ${fmtShape(weight.shape)}`);
  const [outF, inF] = weight.shape;
  if (x.ndim < 1 || x.shape[x.ndim - 1] !== inF) throw new ShapeError('linear', `input has ${x.shape[x.ndim - 1] ?? 0} features in its last dim but weight expects ${inF} (input ${fmtShape(x.shape)}, weight ${fmtShape(weight.shape)})`);
  // The kernel takes one float dtype and a [out] bias; anything else (and training) goes through the ops, which promote and broadcast.
  const plain = isFloat(x.dtype) && weight.dtype === x.dtype && (!bias || (bias.dtype === x.dtype && bias.ndim === 1 && bias.shape[0] === outF));
  if (!plain || recordsGrad(x, weight, bias)) {
    const y = matmul(x, transpose(weight, 0, 1));
    const z = bias ? add(y, bias) : y;
    return options.relu ? relu(z) : z;
  }
  const out = allocUninitialized('linear', x.dtype, [...x.shape.slice(0, -1), outF]);
  const rows = x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  kernels().linear(x.data, weight.data, bias ? bias.data : null, out.data, rows, inF, outF, options.relu ?? false);
  return out;
}
