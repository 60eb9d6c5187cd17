/** RMSprop, optionally centred and with momentum. */
import type { FloatArray } from '../dtype.js';
import type { Tensor } from '../tensor.js';
import { Optimizer, type ParamGroupInput, type StateSpec } from './optimizer.js';
import { checkBoolean, checkNonNegative, checkRange, resolveOptions } from '../options.js';

export interface RMSpropOptions {
  /** Learning rate γ (default 1e-2). */
  lr?: number;
  /** Smoothing constant α of the squared-gradient average (default 0.99). */
  alpha?: number;
  /** ε added to the denominator (default 1e-8). */
  eps?: number;
  /** L2 penalty λ, added to the gradient (default 0). */
  weightDecay?: number;
  /** Momentum factor μ (default 0). */
  momentum?: number;
  /** Normalise by the estimated variance of the gradient instead of its raw second moment (default false). */
  centered?: boolean;
  /** Maximise the objective instead of minimising it (default false). */
  maximize?: boolean;
}

export type RMSpropConfig = Required<RMSpropOptions>;
export type RMSpropState = { step?: number; squareAvg?: FloatArray; momentumBuffer?: FloatArray; gradAvg?: FloatArray };

const KEYS = ['lr', 'alpha', 'eps', 'weightDecay', 'momentum', 'centered', 'maximize'] as const;
const DEFAULTS: RMSpropConfig = { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false };

/**
 * RMSprop, exactly as `torch.optim.RMSprop`. With gradient g of parameters θ:
 *
 * ```text
 * g ← −g if maximize;   g ← g + λ·θ if λ ≠ 0
 * v ← α·v + (1 − α)·g²
 * centred:  ḡ ← α·ḡ + (1 − α)·g;   d ← √(v − ḡ²) + ε        otherwise  d ← √v + ε
 * μ > 0:    b ← μ·b + g/d;   θ ← θ − γ·b                   otherwise  θ ← θ − γ·g/d
 * ```
 * @example
 * const opt = new RMSprop(params, { lr: 1e-3, momentum: 0.9, centered: true });
 */
export class RMSprop extends Optimizer<RMSpropConfig, RMSpropState> {
  constructor(params: readonly Tensor[] | readonly ParamGroupInput<RMSpropConfig>[], options: RMSpropOptions = {}) {
    super(params, resolveOptions<RMSpropConfig>('RMSprop', options, DEFAULTS, KEYS));
  }

  protected override validateOptions(o: RMSpropConfig, at: string): void {
    checkNonNegative('RMSprop', `${at}lr`, o.lr);
    checkRange('RMSprop', `${at}alpha`, o.alpha, 0, 1);
    checkNonNegative('RMSprop', `${at}eps`, o.eps);
    checkNonNegative('RMSprop', `${at}weightDecay`, o.weightDecay);
    checkNonNegative('RMSprop', `${at}momentum`, o.momentum);
    checkBoolean('RMSprop', `${at}centered`, o.centered);
    checkBoolean('RMSprop', `${at}maximize`, o.maximize);
  }

  protected override stateSpec(): StateSpec {
    return { buffers: ['squareAvg', 'momentumBuffer', 'gradAvg'], scalars: ['step'] };
  }

  override step<T = undefined>(closure?: () => T): T | undefined {
    const loss = this.runClosure(closure);
    this.paramGroups.forEach((group, gi) => {
      const { lr, alpha, eps, weightDecay, momentum, centered, maximize } = group;
      group.params.forEach((p, pi) => {
        const g = this.gradOf(p, gi, pi);
        if (g === null) return;
        let s = this.state.get(p);
        if (s === undefined) this.state.set(p, (s = {}));
        const x = p.data as FloatArray;
        const sq = (s.squareAvg ??= this.zerosFor(p));
        const buf = momentum > 0 ? (s.momentumBuffer ??= this.zerosFor(p)) : undefined;
        const avg = centered ? (s.gradAvg ??= this.zerosFor(p)) : undefined;
        s.step = (s.step ?? 0) + 1;
        for (let i = 0; i < x.length; i++) {
          let gi = maximize ? -g[i] : g[i];
          if (weightDecay !== 0) gi += weightDecay * x[i];
          sq[i] = alpha * sq[i] + (1 - alpha) * gi * gi;
          let d: number;
          if (avg !== undefined) {
            avg[i] = alpha * avg[i] + (1 - alpha) * gi;
            d = Math.sqrt(sq[i] - avg[i] * avg[i]) + eps;
          } else d = Math.sqrt(sq[i]) + eps;
          if (buf !== undefined) {
            buf[i] = momentum * buf[i] + gi / d;
            x[i] -= lr * buf[i];
          } else x[i] -= (lr * gi) / d;
        }
      });
    });
    return loss;
  }
}
