/**
 * Matrices for the embedding algorithms: checking a [N, D] input, and products on the backend's
 * GEMM (float32 goes through the fast kernels; float64 stays exact for the fixtures).
 */
import { ArgumentError, DTypeError, ShapeError, fmtShape } from '../errors.js';
import type { DType, FloatArray, TypedArray } from '../dtype.js';
import { Tensor } from '../tensor.js';
import { matmul } from '../ops/matmul.js';
import { transpose } from '../ops/shape.js';
import { noGrad } from '../autograd/grad-mode.js';
import { cholesky, gramSchmidtColumns, invertUpper } from './linalg.js';

/** A row-major float matrix. */
export interface Matrix {
  data: FloatArray;
  rows: number;
  cols: number;
}

/** Checks that `x` is a finite, non-empty 2-D float tensor ([N, D]) and returns it as a matrix. */
export function asMatrix(op: string, arg: string, x: unknown): Matrix {
  if (!(x instanceof Tensor)) throw new ArgumentError(op, `${arg} must be a Tensor, got ${typeof x}`);
  if (x.ndim !== 2) throw new ShapeError(op, `${arg} must be 2-D [N, D], got shape ${fmtShape(x.shape)}`);
  if (x.dtype === 'int32') throw new DTypeError(op, `${arg} must be float32 or float64, got int32`);
  const [rows, cols] = x.shape;
  if (rows === 0 || cols === 0) throw new ShapeError(op, `${arg} is empty (shape ${fmtShape(x.shape)})`);
  const data = x.data as FloatArray;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) throw new ArgumentError(op, `${arg} has a non-finite value at row ${Math.floor(i / cols)}, column ${i % cols}`);
  return { data, rows, cols };
}

/** The values of `data` in an array of `dtype` (the same array when it already is one). */
export function asDType(data: TypedArray, dtype: DType): FloatArray {
  if (dtype === 'float64') return data instanceof Float64Array ? data : Float64Array.from(data);
  return data instanceof Float32Array ? data : Float32Array.from(data);
}

/**
 * `a · b` (or `a · bᵀ` with `transposeB`, or `aᵀ · b` with `transposeA`) for row-major matrices, on
 * the backend's GEMM in `dtype`; the result is a fresh array of that dtype.
 */
export function gemm(a: TypedArray, aShape: [number, number], b: TypedArray, bShape: [number, number], dtype: DType, options: { transposeA?: boolean; transposeB?: boolean } = {}): FloatArray {
  return noGrad(() => {
    let ta = new Tensor(asDType(a, dtype), aShape), tb = new Tensor(asDType(b, dtype), bShape);
    if (options.transposeA) ta = transpose(ta, 0, 1);
    if (options.transposeB) tb = transpose(tb, 0, 1);
    return matmul(ta, tb).data as FloatArray;
  });
}

/** The cols×rows transpose of a row-major rows×cols matrix (on the backend's strided copy). */
export function transposeMatrix(a: FloatArray, rows: number, cols: number): FloatArray {
  return noGrad(() => transpose(new Tensor(a, [rows, cols]), 0, 1).data as FloatArray);
}

/**
 * An orthonormal basis of the columns of the rows×cols matrix `a` (rows ≥ cols), by CholeskyQR
 * (R from the Cholesky factor of aᵀa, then a·R⁻¹) `passes` times, the products in `dtype`: the
 * O(rows·cols²) work runs as GEMMs. One float32 pass is enough to keep power iterations well
 * conditioned; two float64 passes (CholeskyQR2) are orthonormal to rounding. A numerically
 * rank-deficient `a` falls back to Gram–Schmidt.
 */
export function orthonormalColumns(a: Float64Array, rows: number, cols: number, dtype: DType = 'float64', passes = 2): Float64Array {
  let q = a;
  for (let pass = 0; pass < passes; pass++) {
    const r = cholesky(Float64Array.from(gemm(q, [rows, cols], q, [rows, cols], dtype, { transposeA: true })), cols);
    if (!r) return gramSchmidtColumns(a, rows, cols);
    q = Float64Array.from(gemm(q, [rows, cols], invertUpper(r, cols), [cols, cols], dtype));
  }
  return q;
}

/** The rows of m scaled to unit L2 norm (zero rows stay zero, as sklearn's `normalize`), in m's float type. */
export function unitRows(m: Matrix): FloatArray {
  const out = m.data instanceof Float64Array ? new Float64Array(m.data.length) : new Float32Array(m.data.length);
  for (let i = 0; i < m.rows; i++) {
    let s = 0;
    for (let j = 0; j < m.cols; j++) s += m.data[i * m.cols + j] ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < m.cols; j++) out[i * m.cols + j] = m.data[i * m.cols + j] * inv;
  }
  return out;
}

/** The dtype the products of a matrix are computed in: float64 stays float64, anything else float32. */
export const computeDType = (data: TypedArray): DType => (data instanceof Float64Array ? 'float64' : 'float32');
