/**
 * Dense float64 linear algebra for the embedding algorithms (browser-safe, no tensors): a symmetric
 * eigensolver (Householder tridiagonalisation, then the implicit QL algorithm with Wilkinson shifts),
 * Cholesky factors, triangular inverses and Gram–Schmidt. Matrices are flat row-major Float64Arrays.
 */
import { ArgumentError } from '../errors.js';

export interface SymmetricEigen {
  /** Eigenvalues, largest first. */
  values: Float64Array;
  /** Eigenvectors as rows (row j belongs to values[j]), n×n row-major. */
  vectors: Float64Array;
}

/**
 * Eigen-decomposition of the symmetric n×n matrix `a` (only its lower triangle is read).
 * The transformations are kept transposed (`t[j*n + k]` is component k of basis vector j), so the
 * O(n³) inner loops of both phases run over contiguous memory.
 */
export function symmetricEigen(a: Float64Array, n: number): SymmetricEigen {
  if (!Number.isInteger(n) || n < 1 || a.length !== n * n) throw new ArgumentError('symmetricEigen', `expected an n×n matrix, got ${a.length} values for n = ${n}`);
  const t = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) t[j * n + i] = t[i * n + j] = a[i * n + j];
  const d = new Float64Array(n), e = new Float64Array(n);
  tridiagonalise(t, d, e, n);
  implicitQl(t, d, e, n);
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => d[y] - d[x]);
  const values = new Float64Array(n), vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = d[src];
    vectors.set(t.subarray(src * n, (src + 1) * n), dst * n);
  });
  return { values, vectors };
}

/** Householder reduction to tridiagonal form (diagonal d, sub-diagonal e[1..]), accumulating the orthogonal transform in t. */
function tridiagonalise(t: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  // t[j*n+k] plays the role of V[k][j] in the textbook (column-oriented) formulation.
  for (let j = 0; j < n; j++) d[j] = t[j * n + n - 1];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0, h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = t[j * n + i - 1];
        t[j * n + i] = 0;
        t[i * n + j] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) { d[k] /= scale; h += d[k] * d[k]; }
      let f = d[i - 1], g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        const row = j * n;
        f = d[j];
        t[i * n + j] = f;
        g = e[j] + t[row + j] * f;
        for (let k = j + 1; k < i; k++) {
          g += t[row + k] * d[k];
          e[k] += t[row + k] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) { e[j] /= h; f += e[j] * d[j]; }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        const row = j * n;
        f = d[j];
        g = e[j];
        for (let k = j; k < i; k++) t[row + k] -= f * e[k] + g * d[k];
        d[j] = t[row + i - 1];
        t[row + i] = 0;
      }
    }
    d[i] = h;
  }
  // Accumulate the transformations.
  for (let i = 0; i < n - 1; i++) {
    t[i * n + n - 1] = t[i * n + i];
    t[i * n + i] = 1;
    const h = d[i + 1];
    const next = (i + 1) * n;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = t[next + k] / h;
      for (let j = 0; j <= i; j++) {
        const row = j * n;
        let g = 0;
        for (let k = 0; k <= i; k++) g += t[next + k] * t[row + k];
        for (let k = 0; k <= i; k++) t[row + k] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) t[next + k] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = t[j * n + n - 1];
    t[j * n + n - 1] = 0;
  }
  t[n * n - 1] = 1;
  e[0] = 0;
}

/** Eigenvalues (into d) and vectors (rotations applied to the rows of t) of the tridiagonal matrix. */
function implicitQl(t: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0, tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]) > eps * tst1) m++;
    if (m > l) {
      for (let iter = 0; ; iter++) {
        if (iter > 60 * n) throw new ArgumentError('symmetricEigen', 'the QL iteration did not converge (the matrix has non-finite values?)');
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1, c2 = 1, c3 = 1, s = 0, s2 = 0;
        const el1 = e[l + 1];
        for (let i = m - 1; i >= l; i--) {
          c3 = c2; c2 = c; s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          const a = i * n, b = a + n;
          for (let k = 0; k < n; k++) {
            const tb = t[b + k], ta = t[a + k];
            t[b + k] = s * ta + c * tb;
            t[a + k] = c * ta - s * tb;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
        if (!(Math.abs(e[l]) > eps * tst1)) break;
      }
    }
    d[l] += f;
    e[l] = 0;
  }
}

/**
 * An orthonormal basis of the columns of the rows×cols matrix `a` (rows ≥ cols), as a new rows×cols
 * matrix: modified Gram–Schmidt applied twice ("twice is enough" for orthogonality to rounding).
 * Columns in the span of the previous ones become zero.
 */
export function gramSchmidtColumns(a: Float64Array, rows: number, cols: number): Float64Array {
  // Work on the transpose so each column is contiguous.
  const q = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) q[j * rows + i] = a[i * cols + j];
  for (let pass = 0; pass < 2; pass++) {
    for (let j = 0; j < cols; j++) {
      const qj = q.subarray(j * rows, (j + 1) * rows);
      for (let p = 0; p < j; p++) {
        const qp = q.subarray(p * rows, (p + 1) * rows);
        let dot = 0;
        for (let i = 0; i < rows; i++) dot += qp[i] * qj[i];
        for (let i = 0; i < rows; i++) qj[i] -= dot * qp[i];
      }
      let norm = 0;
      for (let i = 0; i < rows; i++) norm += qj[i] * qj[i];
      norm = Math.sqrt(norm);
      // A column in the span of the previous ones stays zero (its direction carries no information).
      const inv = norm > 0 ? 1 / norm : 0;
      for (let i = 0; i < rows; i++) qj[i] *= inv;
    }
  }
  const out = new Float64Array(rows * cols);
  for (let j = 0; j < cols; j++) for (let i = 0; i < rows; i++) out[i * cols + j] = q[j * rows + i];
  return out;
}

/**
 * The upper-triangular R with RᵀR = g for the symmetric positive definite n×n matrix g, or null
 * when a pivot is not clearly positive (g numerically singular).
 */
export function cholesky(g: Float64Array, n: number): Float64Array | null {
  const r = new Float64Array(n * n);
  let scale = 0;
  for (let i = 0; i < n; i++) scale = Math.max(scale, g[i * n + i]);
  for (let j = 0; j < n; j++) {
    let piv = g[j * n + j];
    for (let k = 0; k < j; k++) piv -= r[k * n + j] ** 2;
    if (!(piv > scale * n * 2 ** -52 * 16)) return null;
    const rjj = Math.sqrt(piv);
    r[j * n + j] = rjj;
    for (let i = j + 1; i < n; i++) {
      let v = g[j * n + i];
      for (let k = 0; k < j; k++) v -= r[k * n + j] * r[k * n + i];
      r[j * n + i] = v / rjj;
    }
  }
  return r;
}

/** The inverse of the upper-triangular n×n matrix r (non-zero diagonal), itself upper-triangular. */
export function invertUpper(r: Float64Array, n: number): Float64Array {
  const inv = new Float64Array(n * n);
  for (let j = n - 1; j >= 0; j--) {
    inv[j * n + j] = 1 / r[j * n + j];
    for (let i = j - 1; i >= 0; i--) {
      let s = 0;
      for (let k = i + 1; k <= j; k++) s += r[i * n + k] * inv[k * n + j];
      inv[i * n + j] = -s / r[i * n + i];
    }
  }
  return inv;
}
