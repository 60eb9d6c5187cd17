/**
 * Numerical gradient checking: every input gradient from backward is compared with float64
 * central finite differences of a random projection of the output, (f(x+h) − f(x−h)) / 2h.
 */
import { ArgumentError } from '../errors.js';
import { Generator } from '../random.js';
import { Tensor } from '../tensor.js';

export interface GradcheckOptions {
  /** Finite-difference step. */
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Seed of the random output projection. */
  seed?: number;
}

export interface GradcheckResult {
  ok: boolean;
  /** The largest |analytic − numeric| over all checked entries. */
  maxAbsError: number;
  /** Where the worst mismatch was, when `ok` is false. */
  failure?: { input: number; index: number; analytic: number; numeric: number };
}

/**
 * Checks `fn`'s gradients with respect to each float64 input that requires grad. The perturbed
 * evaluations keep grad mode on, so `fn` may itself differentiate (e.g. with `grad`) to check
 * second derivatives. `fn` may return
 * one tensor or several (e.g. split); each is projected on a fixed random tensor and summed.
 * @example gradcheck((x) => x.exp().sum(), [randn([3], { dtype: 'float64', requiresGrad: true })]).ok
 */
export function gradcheck(fn: (...inputs: Tensor[]) => Tensor | Tensor[], inputs: Tensor[], options: GradcheckOptions = {}): GradcheckResult {
  const eps = options.eps ?? 1e-6, atol = options.atol ?? 1e-5, rtol = options.rtol ?? 1e-3;
  const checked = inputs.filter((t) => t.requiresGrad);
  for (const t of checked) {
    if (t.dtype !== 'float64') throw new ArgumentError('gradcheck', `inputs that require grad must be float64 for accurate finite differences, got ${t.dtype}`);
  }
  const gen = new Generator(options.seed ?? 0);
  let projections: Float64Array[] | null = null;
  const objective = (): Tensor => {
    const raw = fn(...inputs);
    const outs = Array.isArray(raw) ? raw : [raw];
    projections ??= outs.map((o) => Float64Array.from({ length: o.size }, () => gen.normal()));
    return outs
      .map((o, k) => o.mul(new Tensor(projections![k], o.shape)).sum())
      .reduce((a, b) => a.add(b));
  };
  for (const t of checked) t.grad = null;
  objective().backward();
  let maxAbsError = 0;
  let failure: GradcheckResult['failure'];
  checked.forEach((t, k) => {
    const analytic = t.grad ? Float64Array.from(t.grad.data) : new Float64Array(t.size);
    for (let i = 0; i < t.size; i++) {
      const orig = t.data[i];
      t.data[i] = orig + eps;
      const plus = objective().item();
      t.data[i] = orig - eps;
      const minus = objective().item();
      t.data[i] = orig;
      const numeric = (plus - minus) / (2 * eps);
      const err = Math.abs(analytic[i] - numeric);
      maxAbsError = Math.max(maxAbsError, err);
      if (!failure && !(err <= atol + rtol * Math.abs(numeric))) failure = { input: k, index: i, analytic: analytic[i], numeric };
    }
  });
  return { ok: !failure, maxAbsError, failure };
}
