/** Adam and AdamW (decoupled weight decay), with the AMSGrad variant. */
import type { FloatArray, TypedArray } from '../dtype.js';
import { ArgumentError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { kernels } from '../ops/util.js';
import { Optimizer, type ParamGroup, type ParamGroupInput, type StateSpec } from './optimizer.js';
import { checkBoolean, checkNonNegative, checkRange, fmtValue, resolveOptions } from '../options.js';

export interface AdamOptions {
  /** Learning rate γ (default 1e-3). */
  lr?: number;
  /** Decay rates [β1, β2] of the first and second moment estimates (default [0.9, 0.999]). */
  betas?: [number, number];
  /** ε added to the denominator (default 1e-8). */
  eps?: number;
  /** Weight decay λ: an L2 penalty added to the gradient for Adam (default 0); decoupled for AdamW (default 1e-2). */
  weightDecay?: number;
  /** Use the maximum of past second-moment estimates (AMSGrad; default false). */
  amsgrad?: boolean;
  /** Maximise the objective instead of minimising it (default false). */
  maximize?: boolean;
}

export type AdamConfig = Required<AdamOptions>;
export type AdamState = { step?: number; expAvg?: FloatArray; expAvgSq?: FloatArray; maxExpAvgSq?: FloatArray };

const KEYS = ['lr', 'betas', 'eps', 'weightDecay', 'amsgrad', 'maximize'] as const;
const SPEC: StateSpec = { buffers: ['expAvg', 'expAvgSq', 'maxExpAvgSq'], scalars: ['step'] };

function validate(op: string, o: AdamConfig, at: string): void {
  checkNonNegative(op, `${at}lr`, o.lr);
  if (!Array.isArray(o.betas) || o.betas.length !== 2) throw new ArgumentError(op, `${at}betas must be an array [beta1, beta2], got ${fmtValue(o.betas)}`);
  checkRange(op, `${at}betas[0]`, o.betas[0], 0, 1, true);
  checkRange(op, `${at}betas[1]`, o.betas[1], 0, 1, true);
  checkNonNegative(op, `${at}eps`, o.eps);
  checkNonNegative(op, `${at}weightDecay`, o.weightDecay);
  checkBoolean(op, `${at}amsgrad`, o.amsgrad);
  checkBoolean(op, `${at}maximize`, o.maximize);
}

/** One Adam / AdamW update of a parameter, in place: the state's step, then the backend's adamStep. */
function update(state: AdamState, x: FloatArray, g: TypedArray, group: AdamConfig, decoupled: boolean, zeros: () => FloatArray): void {
  const { lr, eps, weightDecay, amsgrad, maximize } = group;
  const [beta1, beta2] = group.betas;
  const m = (state.expAvg ??= zeros());
  const v = (state.expAvgSq ??= zeros());
  const vMax = amsgrad ? (state.maxExpAvgSq ??= zeros()) : null;
  const step = (state.step = (state.step ?? 0) + 1);
  const stepSize = lr / (1 - beta1 ** step);
  const bc2Sqrt = Math.sqrt(1 - beta2 ** step);
  kernels().adamStep(x, g, m, v, vMax, { lr, beta1, beta2, eps, weightDecay, maximize, decoupled, stepSize, bc2Sqrt });
}

function adamStep(groups: ParamGroup<AdamConfig>[], decoupled: boolean, gradOf: (p: Tensor, gi: number, pi: number) => TypedArray | null,
  state: Map<Tensor, AdamState>, zerosFor: (p: Tensor) => FloatArray): void {
  groups.forEach((group, gi) => {
    group.params.forEach((p, pi) => {
      const g = gradOf(p, gi, pi);
      if (g === null) return;
      let s = state.get(p);
      if (s === undefined) state.set(p, (s = {}));
      update(s, p.data as FloatArray, g, group, decoupled, () => zerosFor(p));
    });
  });
}

/** Adam and AdamW share everything but the default weight decay and where the decay applies. */
abstract class AdamFamily extends Optimizer<AdamConfig, AdamState> {
  // The base constructor validates before subclass fields exist, so the name comes from the class.
  constructor(private readonly decoupled: boolean, params: readonly Tensor[] | readonly ParamGroupInput<AdamConfig>[], options: AdamOptions) {
    super(params, resolveOptions<AdamConfig>(decoupled ? 'AdamW' : 'Adam', options, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: decoupled ? 1e-2 : 0, amsgrad: false, maximize: false }, KEYS));
  }

  protected override validateOptions(o: AdamConfig, at: string): void {
    validate(this.opName, o, at);
  }

  protected override stateSpec(): StateSpec {
    return SPEC;
  }

  override step<T = undefined>(closure?: () => T): T | undefined {
    const loss = this.runClosure(closure);
    adamStep(this.paramGroups, this.decoupled, (p, gi, pi) => this.gradOf(p, gi, pi), this.state, (p) => this.zerosFor(p));
    return loss;
  }
}

/**
 * Adam, exactly as `torch.optim.Adam` (weight decay as an L2 penalty added to the gradient). With
 * gradient g of parameters θ at step t (counted per parameter):
 *
 * ```text
 * g ← −g if maximize;   g ← g + λ·θ if λ ≠ 0
 * m ← β1·m + (1 − β1)·g            v ← β2·v + (1 − β2)·g²
 * v̂ ← max(v̂, v) if amsgrad, else v
 * θ ← θ − γ/(1 − β1^t) · m / (√v̂ / √(1 − β2^t) + ε)
 * ```
 * @example
 * const opt = new Adam(params, { lr: 1e-3, betas: [0.9, 0.999] });
 */
export class Adam extends AdamFamily {
  constructor(params: readonly Tensor[] | readonly ParamGroupInput<AdamConfig>[], options: AdamOptions = {}) {
    super(false, params, options);
  }
}

/**
 * AdamW, exactly as `torch.optim.AdamW`: Adam with decoupled weight decay, applied to the parameters
 * before the moment update instead of being added to the gradient:
 *
 * ```text
 * g ← −g if maximize
 * θ ← θ·(1 − γ·λ)
 * m ← β1·m + (1 − β1)·g            v ← β2·v + (1 − β2)·g²
 * v̂ ← max(v̂, v) if amsgrad, else v
 * θ ← θ − γ/(1 − β1^t) · m / (√v̂ / √(1 − β2^t) + ε)
 * ```
 * `weightDecay` defaults to 1e-2.
 * @example
 * const opt = new AdamW(params, { lr: 1e-3, weightDecay: 0.05 });
 */
export class AdamW extends AdamFamily {
  constructor(params: readonly Tensor[] | readonly ParamGroupInput<AdamConfig>[], options: AdamOptions = {}) {
    super(true, params, options);
  }
}
