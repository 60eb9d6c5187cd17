/** Scalar special functions to near double precision, shared by kernels and initialisers. */

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** Taylor series of erf, accurate (and cancellation-free enough) for |x| < 2. */
function erfSeries(x: number): number {
  let term = x, s = x;
  const x2 = x * x;
  for (let n = 1; n < 200; n++) {
    term *= -x2 / n;
    const add = term / (2 * n + 1);
    s += add;
    if (Math.abs(add) < 1e-17 * Math.abs(s)) break;
  }
  return TWO_OVER_SQRT_PI * s;
}

/** erfc(x) = 1 − erf(x), without cancellation for large x (Lentz's continued fraction). */
export function erfc(x: number): number {
  if (x < 0) return 2 - erfc(-x);
  if (x < 2) return 1 - erfSeries(x);
  // erfc(x) = exp(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...))))
  const tiny = 1e-300;
  let f = x, C = x, D = 0;
  for (let k = 1; k < 300; k++) {
    const ak = k / 2;
    D = x + ak * D; D = Math.abs(D) < tiny ? tiny : D; D = 1 / D;
    C = x + ak / C; C = Math.abs(C) < tiny ? tiny : C;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / (Math.sqrt(Math.PI) * f);
}

/** The error function. */
export function erf(x: number): number {
  if (Math.abs(x) < 2) return erfSeries(x);
  return x > 0 ? 1 - erfc(x) : erfc(-x) - 1;
}
