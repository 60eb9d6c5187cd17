/** Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay. */
import type { FloatArray } from '../dtype.js';
import { ArgumentError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { kernels } from '../ops/util.js';
import { Optimizer, type ParamGroupInput, type StateSpec } from './optimizer.js';
import { checkBoolean, checkNonNegative, checkRange, resolveOptions } from '../options.js';

export interface SGDOptions {
  /** Learning rate γ: required, here or in every parameter group. */
  lr?: number;
  /** Momentum factor μ (default 0: plain SGD). */
  momentum?: number;
  /** Dampening τ for momentum (default 0). */
  dampening?: number;
  /** L2 penalty λ, added to the gradient (default 0). */
  weightDecay?: number;
  /** Nesterov momentum (default false); needs momentum > 0 and dampening = 0. */
  nesterov?: boolean;
  /** Maximise the objective instead of minimising it (default false). */
  maximize?: boolean;
}

export type SGDConfig = Required<SGDOptions>;
export type SGDState = { momentumBuffer?: FloatArray };

const KEYS = ['lr', 'momentum', 'dampening', 'weightDecay', 'nesterov', 'maximize'] as const;
const DEFAULTS: Partial<SGDConfig> = { lr: undefined, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false };

/**
 * Stochastic gradient descent, exactly as `torch.optim.SGD`. With gradient g_t of parameters θ:
 *
 * ```text
 * g ← −g if maximize
 * g ← g + λ·θ                       if λ ≠ 0          (weight decay)
 * b ← g  (first step),  b ← μ·b + (1 − τ)·g  after    if μ ≠ 0          (momentum buffer)
 * g ← g + μ·b  if nesterov,  else g ← b               if μ ≠ 0
 * θ ← θ − γ·g
 * ```
 * @example
 * const opt = new SGD([w, b], { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
 * opt.zeroGrad(); loss.backward(); opt.step();
 */
export class SGD extends Optimizer<SGDConfig, SGDState> {
  constructor(params: readonly Tensor[] | readonly ParamGroupInput<SGDConfig>[], options: SGDOptions) {
    super(params, resolveOptions<SGDConfig>('SGD', options, DEFAULTS, KEYS));
  }

  protected override validateOptions(o: SGDConfig, at: string): void {
    if (o.lr === undefined) {
      // As torch's `lr=required`: the defaults may leave it out if every group gives it.
      if (at !== '') throw new ArgumentError('SGD', `${at}lr is required (give it in the options or in every parameter group)`);
    } else checkNonNegative('SGD', `${at}lr`, o.lr);
    checkNonNegative('SGD', `${at}momentum`, o.momentum);
    checkRange('SGD', `${at}dampening`, o.dampening, 0, 1);
    checkNonNegative('SGD', `${at}weightDecay`, o.weightDecay);
    checkBoolean('SGD', `${at}nesterov`, o.nesterov);
    checkBoolean('SGD', `${at}maximize`, o.maximize);
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) {
      throw new ArgumentError('SGD', `${at}nesterov requires momentum > 0 and dampening = 0, got momentum=${o.momentum}, dampening=${o.dampening}`);
    }
  }

  protected override stateSpec(): StateSpec {
    return { buffers: ['momentumBuffer'], scalars: [] };
  }

  override step<T = undefined>(closure?: () => T): T | undefined {
    const loss = this.runClosure(closure);
    this.paramGroups.forEach((group, gi) => {
      const { lr, momentum, dampening, weightDecay, nesterov, maximize } = group;
      group.params.forEach((p, pi) => {
        const g = this.gradOf(p, gi, pi);
        if (g === null) return;
        const x = p.data as FloatArray;
        const k = kernels();
        if (momentum === 0) {
          k.sgdStep(x, g, null, { lr, momentum, dampening, weightDecay, nesterov, maximize, first: false });
          return;
        }
        let state = this.state.get(p);
        if (state === undefined) this.state.set(p, (state = {}));
        const first = state.momentumBuffer === undefined;
        const buf = (state.momentumBuffer ??= this.zerosFor(p));
        k.sgdStep(x, g, buf, { lr, momentum, dampening, weightDecay, nesterov, maximize, first });
      });
    });
    return loss;
  }
}
