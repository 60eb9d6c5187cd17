/** Copies and dtype conversions. */
import { record } from '../autograd/engine.js';
import { checkInt32Range, isFloat, resolveDType, type DTypeName } from '../dtype.js';
import type { Tensor } from '../tensor.js';
import { allocUninitialized, expectTensor } from './util.js';

/** A copy with its own data; gradients pass through unchanged. */
export function clone(x: Tensor): Tensor {
  expectTensor('clone', 'input', x);
  const out = allocUninitialized('clone', x.dtype, x.shape);
  out.data.set(x.data);
  return record(out, 'clone', [x], (g) => [g]);
}

/**
 * A copy converted to `dtype` (float → int truncates toward zero, and every value must fit in int32;
 * 'int64' is stored as int32). Differentiable between float types: the engine casts the gradient
 * back to the input's dtype.
 */
export function cast(x: Tensor, dtypeName: DTypeName): Tensor {
  expectTensor('cast', 'input', x);
  const dtype = resolveDType('cast', dtypeName);
  const out = allocUninitialized('cast', dtype, x.shape);
  if (dtype === 'int32' && isFloat(x.dtype)) {
    checkInt32Range('cast', dtypeName, x.data);
    for (let i = 0; i < x.size; i++) out.data[i] = Math.trunc(x.data[i]);
  } else out.data.set(x.data);
  if (!isFloat(dtype)) return out;
  return record(out, 'cast', [x], (g) => [g], { dtype });
}
