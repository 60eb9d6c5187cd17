import { ShapeError, fmtShape } from '../../errors.js';
import { isFloat } from '../../dtype.js';
import { add, relu } from '../../ops/elementwise.js';
import { matmul } from '../../ops/matmul.js';
import { reshape, transpose } from '../../ops/shape.js';
import { sum } from '../../ops/reduce.js';
import { record } from '../../autograd/engine.js';
import { allocUninitialized, kernels, recordsGrad } from '../../ops/util.js';
import type { Tensor } from '../../tensor.js';

/** y = x·Wᵀ + b, with W of shape [out, in] (PyTorch's layout). */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  return linearFused(x, weight, bias);
}

/**
 * linear, then ReLU when `relu`: one kernel call reading the weight in place (no transposed copy,
 * the bias added in the same pass); without a recorded gradient the ReLU too. Other dtypes and bias
 * shapes go through the ops, which promote and broadcast (the same values).
 */
export function linearFused(x: Tensor, weight: Tensor, bias: Tensor | null = null, options: { relu?: boolean } = {}): Tensor {
  if (weight.ndim !== 2) throw new ShapeError('linear', `weight must be 2-D [out, in], got ${fmtShape(weight.shape)}`);
  const [outF, inF] = weight.shape;
  if (x.ndim < 1 || x.shape[x.ndim - 1] !== inF) throw new ShapeError('linear', `input has ${x.shape[x.ndim - 1] ?? 0} features in its last dim but weight expects ${inF} (input ${fmtShape(x.shape)}, weight ${fmtShape(weight.shape)})`);
  const plain = isFloat(x.dtype) && weight.dtype === x.dtype && (!bias || (bias.dtype === x.dtype && bias.ndim === 1 && bias.shape[0] === outF));
  if (!plain) {
    const y = matmul(x, transpose(weight, 0, 1));
    const z = bias ? add(y, bias) : y;
    return options.relu ? relu(z) : z;
  }
  const recorded = recordsGrad(x, weight, bias);
  const out = allocUninitialized('linear', x.dtype, [...x.shape.slice(0, -1), outF]);
  const rows = x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  kernels().linear(x.data, weight.data, bias ? bias.data : null, out.data, rows, inF, outF, !recorded && (options.relu ?? false));
  if (!recorded) return out;
  const inputs = bias ? [x, weight, bias] : [x, weight];
  // With g [rows, out]: dx = g·W, dW = gᵀ·x, db = Σ_rows g — products of the stored layouts.
  const y = record(out, 'linear', inputs, (g, needs) => {
    const g2 = reshape(g, [rows, outF]);
    return [
      needs[0] ? matmul(g, weight) : null,
      needs[1] ? matmul(transpose(g2, 0, 1), reshape(x, [rows, inF])) : null,
      ...(bias ? [needs[2] ? sum(g2, 0) : null] : []),
    ];
  });
  return options.relu ? relu(y) : y;
}
