/** Matrix products with torch.matmul's rules for 1-D operands and broadcast batch dims. */
import { record } from '../autograd/engine.js';
import { promote } from '../dtype.js';
import { ShapeError, fmtShape } from '../errors.js';
import { broadcastShapes } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { reshape, transpose, unsqueeze } from './shape.js';
import { allocUninitialized, expectTensor, kernels } from './util.js';
import { cast } from './convert.js';

/**
 * Matrix product. 1-D × 1-D is a dot product; a 1-D left operand is a row vector and a 1-D right
 * operand a column vector (the added dim is removed again); batch dims broadcast.
 * @example matmul(randn([8, 3, 4]), randn([4, 5])).shape // [8, 3, 5]
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  expectTensor('matmul', 'input', a);
  expectTensor('matmul', 'other', b);
  if (a.ndim === 0 || b.ndim === 0) throw new ShapeError('matmul', `both operands need at least 1 dim, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  const a2 = a.ndim === 1 ? unsqueeze(a, 0) : a;
  const b2 = b.ndim === 1 ? unsqueeze(b, 1) : b;
  const out = matmulNd(a2, b2, a, b);
  if (a.ndim > 1 && b.ndim > 1) return out;
  const n = out.ndim;
  return reshape(out, out.shape.filter((_, i) => !(a.ndim === 1 && i === n - 2) && !(b.ndim === 1 && i === n - 1)));
}

/**
 * a·b for a 2-D b whose transpose bT the caller already holds (a weight kept as [out, in] and
 * transposed once for many products, as a recurrent layer's): the same product as matmul, but the
 * gradient of a is g·bT instead of a product with a fresh transposed copy of b.
 */
export function matmulWithTranspose(a: Tensor, b: Tensor, bT: Tensor): Tensor {
  expectTensor('matmulWithTranspose', 'input', a);
  expectTensor('matmulWithTranspose', 'other', b);
  expectTensor('matmulWithTranspose', 'otherT', bT);
  if (a.ndim < 2 || b.ndim !== 2 || bT.ndim !== 2 || bT.shape[0] !== b.shape[1] || bT.shape[1] !== b.shape[0]) {
    throw new ShapeError('matmulWithTranspose', `needs input with ≥ 2 dims, a 2-D other and its transpose as otherT, got ${fmtShape(a.shape)}, ${fmtShape(b.shape)} and ${fmtShape(bT.shape)}`);
  }
  return matmulNd(a, b, a, b, bT);
}

/** The primitive: both operands have ≥ 2 dims; bT, when given, is b's transpose (see matmulWithTranspose). */
function matmulNd(a: Tensor, b: Tensor, origA: Tensor, origB: Tensor, bT: Tensor | null = null): Tensor {
  const K = a.shape[a.ndim - 1];
  if (b.shape[b.ndim - 2] !== K) {
    throw new ShapeError('matmul', `inner dimensions differ: ${K} vs ${b.shape[b.ndim - 2]} (a ${fmtShape(origA.shape)}, b ${fmtShape(origB.shape)})`);
  }
  const batch = broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  const shape = [...batch, a.shape[a.ndim - 2], b.shape[b.ndim - 1]];
  const dtype = promote(a.dtype, b.dtype);
  const ac = a.dtype === dtype ? a : cast(a, dtype), bc = b.dtype === dtype ? b : cast(b, dtype);
  const out = allocUninitialized('matmul', dtype, shape);
  kernels().matmul(ac.data, ac.shape, bc.data, bc.shape, out.data, shape);
  return record(out, 'matmul', [ac, bc], (g, needs) => [
    needs[0] ? matmulNd(g, bT?.dtype === dtype ? bT : transpose(bc, -1, -2), g, bc) : null,
    needs[1] ? matmulNd(transpose(ac, -1, -2), g, ac, g) : null,
  ]);
}
