/**
 * The optimisers' per-element updates, in place: float64 arithmetic on the stored values, each result
 * rounded once to the parameter's (and state's) dtype where it is stored. SGD and Adam/AdamW
 * (src/optim) call these through the kernel table; their options are documented there.
 */
import type { FloatArray, TypedArray } from '../../dtype.js';
import type { AdamStepParams, SgdStepParams } from '../backend.js';

export function sgdStep(x: FloatArray, g: TypedArray, buf: FloatArray | null, o: SgdStepParams): void {
  const { lr, momentum, dampening, weightDecay, nesterov, maximize, first } = o;
  const n = x.length;
  if (buf === null) {
    for (let i = 0; i < n; i++) {
      let d = maximize ? -g[i] : g[i];
      if (weightDecay !== 0) d += weightDecay * x[i];
      x[i] -= lr * d;
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    let d = maximize ? -g[i] : g[i];
    if (weightDecay !== 0) d += weightDecay * x[i];
    buf[i] = first ? d : momentum * buf[i] + (1 - dampening) * d;
    d = nesterov ? d + momentum * buf[i] : buf[i];
    x[i] -= lr * d;
  }
}

export function adamStep(x: FloatArray, g: TypedArray, m: FloatArray, v: FloatArray, vMax: FloatArray | null, o: AdamStepParams): void {
  const { stepSize, bc2Sqrt, beta1, beta2, eps, weightDecay, decoupled, maximize } = o;
  const decay = decoupled ? 1 - o.lr * weightDecay : 1;
  for (let i = 0; i < x.length; i++) {
    let gi = maximize ? -g[i] : g[i];
    if (decoupled) {
      if (weightDecay !== 0) x[i] *= decay;
    } else if (weightDecay !== 0) gi += weightDecay * x[i];
    m[i] = beta1 * m[i] + (1 - beta1) * gi;
    v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
    let second = v[i];
    if (vMax !== null) second = vMax[i] = Math.max(vMax[i], second);
    x[i] -= (stepSize * m[i]) / (Math.sqrt(second) / bc2Sqrt + eps);
  }
}
