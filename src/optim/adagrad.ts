/** Adagrad: per-coordinate learning rates from the running sum of squared gradients. */
import type { FloatArray } from '../dtype.js';
import type { Tensor } from '../tensor.js';
import { Optimizer, type ParamGroupInput, type StateSpec } from './optimizer.js';
import { checkBoolean, checkNonNegative, resolveOptions } from '../options.js';

export interface AdagradOptions {
  /** Learning rate γ (default 1e-2). */
  lr?: number;
  /** Learning-rate decay η: step t uses γ / (1 + (t − 1)·η) (default 0). */
  lrDecay?: number;
  /** L2 penalty λ, added to the gradient (default 0). */
  weightDecay?: number;
  /** The value the sum of squared gradients starts from (default 0). */
  initialAccumulatorValue?: number;
  /** ε added to the denominator (default 1e-10). */
  eps?: number;
  /** Maximise the objective instead of minimising it (default false). */
  maximize?: boolean;
}

export type AdagradConfig = Required<AdagradOptions>;
export type AdagradState = { step?: number; sum?: FloatArray };

const KEYS = ['lr', 'lrDecay', 'weightDecay', 'initialAccumulatorValue', 'eps', 'maximize'] as const;
const DEFAULTS: AdagradConfig = { lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10, maximize: false };

/**
 * Adagrad, exactly as `torch.optim.Adagrad`. The sum starts at `initialAccumulatorValue`; with
 * gradient g of parameters θ at step t (counted per parameter):
 *
 * ```text
 * g ← −g if maximize;   g ← g + λ·θ if λ ≠ 0
 * γ_t ← γ / (1 + (t − 1)·η)
 * s ← s + g²
 * θ ← θ − γ_t · g / (√s + ε)
 * ```
 * As in PyTorch, the state (step 0 and the sum) exists from construction.
 * @example
 * const opt = new Adagrad(params, { lr: 0.1, lrDecay: 1e-3 });
 */
export class Adagrad extends Optimizer<AdagradConfig, AdagradState> {
  constructor(params: readonly Tensor[] | readonly ParamGroupInput<AdagradConfig>[], options: AdagradOptions = {}) {
    super(params, resolveOptions<AdagradConfig>('Adagrad', options, DEFAULTS, KEYS));
  }

  protected override validateOptions(o: AdagradConfig, at: string): void {
    checkNonNegative('Adagrad', `${at}lr`, o.lr);
    checkNonNegative('Adagrad', `${at}lrDecay`, o.lrDecay);
    checkNonNegative('Adagrad', `${at}weightDecay`, o.weightDecay);
    checkNonNegative('Adagrad', `${at}initialAccumulatorValue`, o.initialAccumulatorValue);
    checkNonNegative('Adagrad', `${at}eps`, o.eps);
    checkBoolean('Adagrad', `${at}maximize`, o.maximize);
  }

  protected override stateSpec(): StateSpec {
    return { buffers: ['sum'], scalars: ['step'] };
  }

  /** Adds the group and creates its state (step 0, the sum filled with `initialAccumulatorValue`). */
  override addParamGroup(group: ParamGroupInput<AdagradConfig>): void {
    super.addParamGroup(group);
    const added = this.paramGroups[this.paramGroups.length - 1];
    for (const p of added.params) this.initState(p, added.initialAccumulatorValue);
  }

  private initState(p: Tensor, init: number, step = 0): Required<AdagradState> {
    const sum = this.zerosFor(p);
    if (init !== 0) sum.fill(init);
    const s = { step, sum };
    this.state.set(p, s);
    return s;
  }

  override step<T = undefined>(closure?: () => T): T | undefined {
    const loss = this.runClosure(closure);
    this.paramGroups.forEach((group, gi) => {
      const { lr, lrDecay, weightDecay, eps, maximize } = group;
      group.params.forEach((p, pi) => {
        const g = this.gradOf(p, gi, pi);
        if (g === null) return;
        let s = this.state.get(p);
        if (s?.sum === undefined) s = this.initState(p, group.initialAccumulatorValue, s?.step ?? 0);
        const sum = s.sum!;
        const step = (s.step = (s.step ?? 0) + 1);
        const clr = lr / (1 + (step - 1) * lrDecay);
        const x = p.data as FloatArray;
        for (let i = 0; i < x.length; i++) {
          let gi = maximize ? -g[i] : g[i];
          if (weightDecay !== 0) gi += weightDecay * x[i];
          sum[i] += gi * gi;
          x[i] -= (clr * gi) / (Math.sqrt(sum[i]) + eps);
        }
      });
    });
    return loss;
  }
}
