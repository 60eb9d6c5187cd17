/** Copies and dtype conversions. */
import { record } from '../autograd/engine.js';
import { isFloat, type DType } from '../dtype.js';
import type { Tensor } from '../tensor.js';
import { alloc, expectTensor } from './util.js';

/** A copy with its own data; gradients pass through unchanged. */
export function clone(x: Tensor): Tensor {
  expectTensor('clone', 'input', x);
  const out = alloc(x.dtype, x.shape);
  out.data.set(x.data);
  return record(out, 'clone', [x], (g) => [g]);
}

/** A copy converted to `dtype` (float → int truncates toward zero). Differentiable between float types. */
export function cast(x: Tensor, dtype: DType): Tensor {
  expectTensor('cast', 'input', x);
  const out = alloc(dtype, x.shape);
  if (dtype === 'int32' && isFloat(x.dtype)) for (let i = 0; i < x.size; i++) out.data[i] = Math.trunc(x.data[i]);
  else out.data.set(x.data);
  if (!isFloat(dtype)) return out;
  return record(out, 'cast', [x], (g) => [cast(g, x.dtype)], { dtype });
}
