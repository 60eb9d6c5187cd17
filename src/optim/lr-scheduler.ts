/**
 * Learning-rate schedulers, as `torch.optim.lr_scheduler` (1.13): they change the `lr` (and, for
 * `OneCycleLR`, the momentum) of an optimiser's parameter groups each time `step()` is called,
 * usually once per epoch (or per batch for `OneCycleLR`), after `optimizer.step()`.
 *
 * Constructing a scheduler records each group's starting lr as `initialLr` (unless a scheduler
 * already did) and sets the lr for epoch 0. The chainable (recursive) forms PyTorch uses in
 * `step()` are used here too, so the lrs are the ones PyTorch prints, including when two schedulers
 * are chained with `SequentialLR`.
 */
import { ArgumentError } from '../errors.js';
import { Tensor } from '../tensor.js';
import { Optimizer, type ParamGroup } from './optimizer.js';
import {
  checkBoolean, checkKeys, checkNonNegative, checkOneOf, checkPositive, checkPositiveInt, checkRange, fmtValue, perGroup,
} from '../options.js';

/** A scheduler's state as plain JSON-serialisable data (non-finite numbers as the strings 'Infinity', '-Infinity', 'NaN'). */
export type SchedulerStateDict = { [key: string]: unknown };

/** Entries of a scheduler's state that hold one value per parameter group. */
const PER_GROUP = ['baseLrs', 'lastLr', 'minLrs'];

function encodeValue(v: unknown): unknown {
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  if (Array.isArray(v)) return v.map(encodeValue);
  return v;
}

function checkOptimizer(op: string, optimizer: unknown): asserts optimizer is Optimizer {
  if (!(optimizer instanceof Optimizer)) throw new ArgumentError(op, `optimizer must be an Optimizer, got ${optimizer instanceof Tensor ? 'a Tensor' : fmtValue(optimizer)}`);
}

/** A group with the options of any optimiser, for momentum and betas. */
type AnyGroup = ParamGroup & { [option: string]: unknown };

/**
 * What every scheduler has: `getLastLr()` and a JSON-serialisable `stateDict()` /
 * `loadStateDict()` (which restore the scheduler only; the lrs themselves are in the optimiser's
 * state dict, as in PyTorch).
 */
export abstract class SchedulerBase {
  readonly optimizer: Optimizer;
  protected lastLr: number[];

  constructor(optimizer: Optimizer) {
    checkOptimizer(this.opName, optimizer);
    this.optimizer = optimizer;
    this.lastLr = optimizer.paramGroups.map((g) => g.lr);
  }

  /** The name used in error messages. */
  protected get opName(): string {
    return this.constructor.name;
  }

  /** The lr of each parameter group as last set by this scheduler. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  /** The names of the properties that make up the state dict. */
  protected stateKeys(): string[] {
    return ['lastLr'];
  }

  /** The scheduler's state (its counters and settings) as plain data that survives JSON. */
  stateDict(): SchedulerStateDict {
    const self = this as unknown as Record<string, unknown>;
    const out: SchedulerStateDict = {};
    for (const k of this.stateKeys()) out[k] = encodeValue(self[k]);
    return out;
  }

  /**
   * Restores state saved by `stateDict()`. Every entry is checked against this scheduler (same
   * entries, same types, one lr per group) before anything changes.
   */
  loadStateDict(stateDict: SchedulerStateDict): void {
    Object.assign(this, this.parseState(stateDict));
  }

  /** Checks a state dict and returns the property values it sets. */
  protected parseState(sd: SchedulerStateDict, extra: readonly string[] = []): Record<string, unknown> {
    const op = `${this.opName}.loadStateDict`;
    if (sd === null || typeof sd !== 'object' || Array.isArray(sd)) throw new ArgumentError(op, `expected a state dict object, got ${fmtValue(sd)}`);
    const keys = this.stateKeys();
    for (const k of Object.keys(sd)) {
      if (!keys.includes(k) && !extra.includes(k)) throw new ArgumentError(op, `unexpected entry '${k}' (a state dict of ${this.opName} has ${keys.join(', ')})`);
    }
    const self = this as unknown as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    const num = (v: unknown): number | undefined => {
      if (typeof v === 'number') return v;
      if (v === 'Infinity' || v === '-Infinity' || v === 'NaN') return Number(v);
      return undefined;
    };
    for (const k of keys) {
      if (!(k in sd)) throw new ArgumentError(op, `the state dict has no '${k}'`);
      const cur = self[k], v = sd[k];
      if (Array.isArray(cur)) {
        const arr = Array.isArray(v) ? v.map(num) : undefined;
        if (arr === undefined || arr.some((x) => x === undefined)) throw new ArgumentError(op, `'${k}' must be an array of numbers, got ${fmtValue(v)}`);
        if (PER_GROUP.includes(k) && arr.length !== cur.length) {
          throw new ArgumentError(op, `'${k}' has ${arr.length} values but the optimiser has ${cur.length} parameter groups`);
        }
        out[k] = arr;
      } else if (typeof cur === 'number') {
        const x = num(v);
        if (x === undefined) throw new ArgumentError(op, `'${k}' must be a number, got ${fmtValue(v)}`);
        out[k] = x;
      } else if (typeof v !== typeof cur) {
        throw new ArgumentError(op, `'${k}' must be a ${typeof cur}, got ${fmtValue(v)}`);
      } else out[k] = v;
    }
    return out;
  }
}

/**
 * The base of the epoch-driven schedulers. A subclass sets its fields after `super(optimizer)` and
 * then calls `this.initialStep()`, which sets the lrs of epoch 0.
 */
export abstract class LRScheduler extends SchedulerBase {
  /** Each group's `initialLr`: what the schedule starts from. */
  baseLrs: number[];
  /** The index of the last epoch (0 after construction). */
  lastEpoch = -1;
  /** How many times `step` ran, construction included (PyTorch's `_step_count`). */
  protected stepCount = 0;

  constructor(optimizer: Optimizer) {
    super(optimizer);
    for (const g of optimizer.paramGroups) if (g.initialLr === undefined) g.initialLr = g.lr;
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr!);
  }

  /** The lrs for `lastEpoch` in the chainable form (from the groups' current lrs). */
  protected abstract getLr(): number[];

  /** The lrs for `lastEpoch` in closed form (from `baseLrs`), where the scheduler has one. */
  protected closedFormLr(): number[] | null {
    return null;
  }

  /** Advances one epoch and sets the groups' lrs. */
  step(): void {
    this.stepCount += 1;
    this.lastEpoch += 1;
    this.setLrs(this.getLr());
  }

  /** Jumps to `epoch` with the closed form (PyTorch's deprecated `step(epoch)`; used by `SequentialLR`). */
  protected stepAt(epoch: number): void {
    this.stepCount += 1;
    this.lastEpoch = epoch;
    this.setLrs(this.closedFormLr() ?? this.getLr());
  }

  /** The step a scheduler takes when it is constructed. */
  protected initialStep(): void {
    this.stepCount = 0;
    this.step();
  }

  private setLrs(lrs: number[]): void {
    const groups = this.optimizer.paramGroups;
    for (let i = 0; i < Math.min(lrs.length, groups.length); i++) groups[i].lr = lrs[i];
    this.lastLr = groups.map((g) => g.lr);
  }

  protected override stateKeys(): string[] {
    return ['lastEpoch', 'stepCount', 'baseLrs', 'lastLr'];
  }

  protected get groups(): ParamGroup[] {
    return this.optimizer.paramGroups;
  }
}

export interface StepLROptions {
  /** Decay every `stepSize` epochs. */
  stepSize: number;
  /** Multiplicative factor (default 0.1). */
  gamma?: number;
}

/**
 * Multiplies the lr by `gamma` every `stepSize` epochs: lr_e = lr_0 · γ^⌊e / stepSize⌋.
 * @example const sched = new StepLR(opt, { stepSize: 30, gamma: 0.1 }); // per epoch: opt.step(); sched.step();
 */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: Optimizer, options: StepLROptions) {
    checkKeys('StepLR', options, ['stepSize', 'gamma']);
    const stepSize = checkPositiveInt('StepLR', 'stepSize', options.stepSize);
    const gamma = checkPositive('StepLR', 'gamma', options.gamma ?? 0.1);
    super(optimizer);
    this.stepSize = stepSize;
    this.gamma = gamma;
    this.initialStep();
  }

  protected override getLr(): number[] {
    const e = this.lastEpoch;
    if (e === 0 || e % this.stepSize !== 0) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * this.gamma);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** Math.floor(this.lastEpoch / this.stepSize));
  }

  protected override stateKeys(): string[] {
    return [...super.stateKeys(), 'stepSize', 'gamma'];
  }
}

export interface MultiStepLROptions {
  /** Epochs at which to decay; a milestone listed k times decays by γ^k. */
  milestones: number[];
  /** Multiplicative factor (default 0.1). */
  gamma?: number;
}

/**
 * Multiplies the lr by `gamma` at each milestone: lr_e = lr_0 · γ^(number of milestones ≤ e).
 * @example const sched = new MultiStepLR(opt, { milestones: [30, 80], gamma: 0.1 });
 */
export class MultiStepLR extends LRScheduler {
  readonly milestones: number[];
  readonly gamma: number;

  constructor(optimizer: Optimizer, options: MultiStepLROptions) {
    checkKeys('MultiStepLR', options, ['milestones', 'gamma']);
    const { milestones } = options;
    if (!Array.isArray(milestones) || milestones.some((m) => !Number.isInteger(m) || m < 0)) {
      throw new ArgumentError('MultiStepLR', `milestones must be an array of non-negative integers, got ${fmtValue(milestones)}`);
    }
    const gamma = checkPositive('MultiStepLR', 'gamma', options.gamma ?? 0.1);
    super(optimizer);
    this.milestones = [...milestones].sort((a, b) => a - b);
    this.gamma = gamma;
    this.initialStep();
  }

  protected override getLr(): number[] {
    const count = this.milestones.filter((m) => m === this.lastEpoch).length;
    if (count === 0) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * this.gamma ** count);
  }

  protected override closedFormLr(): number[] {
    const passed = this.milestones.filter((m) => m <= this.lastEpoch).length;
    return this.baseLrs.map((b) => b * this.gamma ** passed);
  }

  protected override stateKeys(): string[] {
    return [...super.stateKeys(), 'milestones', 'gamma'];
  }
}

export interface ExponentialLROptions {
  /** Multiplicative factor per epoch. */
  gamma: number;
}

/**
 * Multiplies the lr by `gamma` every epoch: lr_e = lr_0 · γ^e.
 * @example const sched = new ExponentialLR(opt, { gamma: 0.95 });
 */
export class ExponentialLR extends LRScheduler {
  readonly gamma: number;

  constructor(optimizer: Optimizer, options: ExponentialLROptions) {
    checkKeys('ExponentialLR', options, ['gamma']);
    const gamma = checkPositive('ExponentialLR', 'gamma', options.gamma);
    super(optimizer);
    this.gamma = gamma;
    this.initialStep();
  }

  protected override getLr(): number[] {
    if (this.lastEpoch === 0) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * this.gamma);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** this.lastEpoch);
  }

  protected override stateKeys(): string[] {
    return [...super.stateKeys(), 'gamma'];
  }
}

export interface CosineAnnealingLROptions {
  /** Half-period T_max of the cosine, in epochs. */
  tMax: number;
  /** The minimum lr η_min (default 0). */
  etaMin?: number;
}

/**
 * Cosine annealing from lr_0 to η_min over `tMax` epochs (then back up, periodically):
 * lr_e = η_min + (lr_0 − η_min)·(1 + cos(π·e / T_max)) / 2. Computed, as in PyTorch's `step()`,
 * in the chainable form
 * lr_e = η_min + (lr_{e−1} − η_min)·(1 + cos(π·e/T_max)) / (1 + cos(π·(e−1)/T_max)),
 * which follows changes made to the lr by other schedulers.
 * @example const sched = new CosineAnnealingLR(opt, { tMax: 100, etaMin: 1e-5 });
 */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;

  constructor(optimizer: Optimizer, options: CosineAnnealingLROptions) {
    checkKeys('CosineAnnealingLR', options, ['tMax', 'etaMin']);
    const tMax = checkPositiveInt('CosineAnnealingLR', 'tMax', options.tMax);
    const etaMin = checkNonNegative('CosineAnnealingLR', 'etaMin', options.etaMin ?? 0);
    super(optimizer);
    this.tMax = tMax;
    this.etaMin = etaMin;
    this.initialStep();
  }

  protected override getLr(): number[] {
    const e = this.lastEpoch, T = this.tMax, eta = this.etaMin;
    if (e === 0) return this.groups.map((g) => g.lr);
    if (this.stepCount === 1 && e > 0) return this.baseLrs.map((b) => eta + ((b - eta) * (1 + Math.cos((e * Math.PI) / T))) / 2);
    if ((e - 1 - T) % (2 * T) === 0) return this.groups.map((g, i) => g.lr + ((this.baseLrs[i] - eta) * (1 - Math.cos(Math.PI / T))) / 2);
    return this.groups.map((g) => ((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * (g.lr - eta) + eta);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => this.etaMin + ((b - this.etaMin) * (1 + Math.cos((Math.PI * this.lastEpoch) / this.tMax))) / 2);
  }

  protected override stateKeys(): string[] {
    return [...super.stateKeys(), 'tMax', 'etaMin'];
  }
}

export interface LinearLROptions {
  /** Factor of the lr at epoch 0, in (0, 1] (default 1/3). */
  startFactor?: number;
  /** Factor of the lr from epoch `totalIters` on, in [0, 1] (default 1). */
  endFactor?: number;
  /** Epochs over which the factor goes from `startFactor` to `endFactor` (default 5). */
  totalIters?: number;
}

/**
 * Scales the lr by a factor going linearly from `startFactor` to `endFactor` over `totalIters`
 * epochs (a linear warm-up): lr_e = lr_0 · (s + (f − s)·min(e, N)/N).
 * @example const warmup = new LinearLR(opt, { startFactor: 0.1, totalIters: 5 });
 */
export class LinearLR extends LRScheduler {
  readonly startFactor: number;
  readonly endFactor: number;
  readonly totalIters: number;

  constructor(optimizer: Optimizer, options: LinearLROptions = {}) {
    checkKeys('LinearLR', options, ['startFactor', 'endFactor', 'totalIters']);
    const startFactor = checkRange('LinearLR', 'startFactor', options.startFactor ?? 1 / 3, 0, 1);
    if (startFactor === 0) throw new ArgumentError('LinearLR', 'startFactor must be a number in (0, 1], got 0');
    const endFactor = checkRange('LinearLR', 'endFactor', options.endFactor ?? 1, 0, 1);
    const totalIters = checkPositiveInt('LinearLR', 'totalIters', options.totalIters ?? 5);
    super(optimizer);
    this.startFactor = startFactor;
    this.endFactor = endFactor;
    this.totalIters = totalIters;
    this.initialStep();
  }

  protected override getLr(): number[] {
    const e = this.lastEpoch, s = this.startFactor, f = this.endFactor;
    if (e === 0) return this.groups.map((g) => g.lr * s);
    if (e > this.totalIters) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * (1 + (f - s) / (this.totalIters * s + (e - 1) * (f - s))));
  }

  protected override closedFormLr(): number[] {
    const e = this.lastEpoch, s = this.startFactor, f = this.endFactor;
    return this.baseLrs.map((b) => b * (s + ((f - s) * Math.min(this.totalIters, e)) / this.totalIters));
  }

  protected override stateKeys(): string[] {
    return [...super.stateKeys(), 'startFactor', 'endFactor', 'totalIters'];
  }
}

export interface SequentialLROptions {
  /** The schedulers, in order, all built on the same optimiser. */
  schedulers: LRScheduler[];
  /** The epochs at which to switch to the next scheduler (one fewer than the schedulers). */
  milestones: number[];
}

/**
 * Runs `schedulers[0]` until `milestones[0]`, then `schedulers[1]` (started from its closed form at
 * its epoch 0), and so on: e.g. a linear warm-up followed by cosine annealing.
 * @example
 * const warmup = new LinearLR(opt, { startFactor: 0.1, totalIters: 5 });
 * const cosine = new CosineAnnealingLR(opt, { tMax: 95 });
 * const sched = new SequentialLR(opt, { schedulers: [warmup, cosine], milestones: [5] });
 */
export class SequentialLR extends LRScheduler {
  readonly schedulers: LRScheduler[];
  readonly milestones: number[];

  constructor(optimizer: Optimizer, options: SequentialLROptions) {
    checkKeys('SequentialLR', options, ['schedulers', 'milestones']);
    const { schedulers, milestones } = options;
    if (!Array.isArray(schedulers) || schedulers.length === 0) throw new ArgumentError('SequentialLR', `schedulers must be a non-empty array of schedulers, got ${fmtValue(schedulers)}`);
    schedulers.forEach((s, i) => {
      if (!(s instanceof LRScheduler) || s instanceof SequentialLR) throw new ArgumentError('SequentialLR', `schedulers[${i}] must be an epoch scheduler (not ReduceLROnPlateau or SequentialLR)`);
      if (s.optimizer !== optimizer) throw new ArgumentError('SequentialLR', `schedulers[${i}] belongs to a different optimizer; all must use the one passed to SequentialLR`);
    });
    if (!Array.isArray(milestones) || milestones.length !== schedulers.length - 1) {
      throw new ArgumentError('SequentialLR', `expected ${schedulers.length - 1} milestones for ${schedulers.length} schedulers, got ${fmtValue(milestones)}`);
    }
    milestones.forEach((m, i) => {
      if (!Number.isInteger(m) || m <= 0 || (i > 0 && m <= milestones[i - 1])) {
        throw new ArgumentError('SequentialLR', `milestones must be increasing positive integers, got ${fmtValue(milestones)}`);
      }
    });
    super(optimizer);
    this.schedulers = [...schedulers];
    this.milestones = [...milestones];
    this.lastEpoch = 0;
    for (const g of this.groups) g.lr = g.initialLr!;
    for (const s of this.schedulers) s.lastEpoch -= 1;
    this.schedulers[0]['initialStep']();
    this.lastLr = this.schedulers[0].getLastLr();
  }

  override step(): void {
    this.lastEpoch += 1;
    let idx = 0;
    while (idx < this.milestones.length && this.milestones[idx] <= this.lastEpoch) idx++;
    const s = this.schedulers[idx];
    if (idx > 0 && this.milestones[idx - 1] === this.lastEpoch) s['stepAt'](0);
    else s.step();
    this.lastLr = s.getLastLr();
  }

  protected override getLr(): number[] {
    return this.getLastLr();
  }

  protected override stateKeys(): string[] {
    return ['lastEpoch', 'lastLr', 'milestones'];
  }

  /** Its own state and, under `schedulers`, the state dict of each scheduler. */
  override stateDict(): SchedulerStateDict {
    return { ...super.stateDict(), schedulers: this.schedulers.map((s) => s.stateDict()) };
  }

  override loadStateDict(stateDict: SchedulerStateDict): void {
    const own = this.parseState(stateDict, ['schedulers']);
    const subs = stateDict.schedulers;
    if (!Array.isArray(subs) || subs.length !== this.schedulers.length) {
      throw new ArgumentError('SequentialLR.loadStateDict', `'schedulers' must hold ${this.schedulers.length} state dicts, got ${fmtValue(subs)}`);
    }
    const parsed = this.schedulers.map((s, i) => s['parseState'](subs[i] as SchedulerStateDict));
    Object.assign(this, own);
    this.schedulers.forEach((s, i) => Object.assign(s, parsed[i]));
  }
}

export interface OneCycleLROptions {
  /** The peak lr, or one per parameter group. */
  maxLr: number | number[];
  /** Length of the cycle in steps; or give `epochs` and `stepsPerEpoch`. */
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  /** Fraction of the cycle spent increasing the lr (default 0.3). */
  pctStart?: number;
  /** 'cos' (default) or 'linear' annealing. */
  annealStrategy?: 'cos' | 'linear';
  /** Cycle the momentum inversely to the lr (default true): `momentum`, or `betas[0]` for Adam-like optimisers. */
  cycleMomentum?: boolean;
  /** Lowest momentum, at the peak lr (default 0.85); or one per group. */
  baseMomentum?: number | number[];
  /** Highest momentum (default 0.95); or one per group. */
  maxMomentum?: number | number[];
  /** initialLr = maxLr / divFactor (default 25). */
  divFactor?: number;
  /** minLr = initialLr / finalDivFactor (default 1e4). */
  finalDivFactor?: number;
  /** Three phases (up, down to initialLr, down to minLr) instead of two (default false). */
  threePhase?: boolean;
}

interface Phase {
  endStep: number;
  startLr: 'initialLr' | 'maxLr' | 'minLr';
  endLr: 'initialLr' | 'maxLr' | 'minLr';
  startMomentum: 'maxMomentum' | 'baseMomentum';
  endMomentum: 'maxMomentum' | 'baseMomentum';
}

/**
 * The 1cycle policy (Smith & Topin), stepped once per batch: the lr rises from maxLr/divFactor to
 * maxLr over the first `pctStart` of `totalSteps` steps, then anneals to
 * maxLr/(divFactor·finalDivFactor) ('cos': end + (start − end)·(1 + cos(π·pct))/2, or linearly);
 * the momentum (or Adam's β1) moves the opposite way between `maxMomentum` and `baseMomentum`.
 * Stepping more than `totalSteps` times is an error.
 * @example
 * const sched = new OneCycleLR(opt, { maxLr: 0.1, epochs: 10, stepsPerEpoch: loader.length });
 * // per batch: opt.step(); sched.step();
 */
export class OneCycleLR extends LRScheduler {
  readonly totalSteps: number;
  readonly pctStart: number;
  readonly annealStrategy: 'cos' | 'linear';
  readonly threePhase: boolean;
  readonly cycleMomentum: boolean;
  /** Whether momentum is Adam's β1 (`betas[0]`) rather than `momentum`. */
  readonly useBeta1: boolean;

  constructor(optimizer: Optimizer, options: OneCycleLROptions) {
    const op = 'OneCycleLR';
    checkKeys(op, options, ['maxLr', 'totalSteps', 'epochs', 'stepsPerEpoch', 'pctStart', 'annealStrategy', 'cycleMomentum',
      'baseMomentum', 'maxMomentum', 'divFactor', 'finalDivFactor', 'threePhase']);
    checkOptimizer(op, optimizer);
    let totalSteps: number;
    if (options.totalSteps !== undefined) totalSteps = checkPositiveInt(op, 'totalSteps', options.totalSteps);
    else if (options.epochs !== undefined || options.stepsPerEpoch !== undefined) {
      totalSteps = checkPositiveInt(op, 'epochs', options.epochs) * checkPositiveInt(op, 'stepsPerEpoch', options.stepsPerEpoch);
    } else throw new ArgumentError(op, 'give either totalSteps or both epochs and stepsPerEpoch');
    const pctStart = checkRange(op, 'pctStart', options.pctStart ?? 0.3, 0, 1);
    const annealStrategy = checkOneOf(op, 'annealStrategy', options.annealStrategy ?? 'cos', ['cos', 'linear'] as const);
    const threePhase = checkBoolean(op, 'threePhase', options.threePhase ?? false);
    const cycleMomentum = checkBoolean(op, 'cycleMomentum', options.cycleMomentum ?? true);
    const divFactor = checkPositive(op, 'divFactor', options.divFactor ?? 25);
    const finalDivFactor = checkPositive(op, 'finalDivFactor', options.finalDivFactor ?? 1e4);
    // As PyTorch, phases may be shorter than a step or end before step 0 (a run of one to three
    // steps): a step falls in the first phase whose end it has not passed. Only a phase of length
    // zero cannot be interpolated (PyTorch divides by zero when a step reaches it).
    let start = 0;
    for (const p of OneCycleLR.phases(totalSteps, pctStart, threePhase)) {
      if (p.endStep === start) {
        throw new ArgumentError(op, `pctStart=${pctStart} with totalSteps=${totalSteps} gives a phase of length zero (it ends at step ${p.endStep}, where it starts); choose another pctStart`);
      }
      start = p.endStep;
    }
    const groups = optimizer.paramGroups as AnyGroup[];
    const maxLrs = perGroup(op, 'maxLr', options.maxLr, groups.length, checkPositive);
    let useBeta1 = false;
    let maxMomenta: number[] = [], baseMomenta: number[] = [];
    if (cycleMomentum) {
      const d = optimizer.defaults as unknown as Record<string, unknown>;
      if (!('momentum' in d) && !('betas' in d)) {
        throw new ArgumentError(op, 'cycleMomentum needs an optimizer with momentum or betas (SGD, RMSprop, Adam, AdamW); pass cycleMomentum: false');
      }
      useBeta1 = 'betas' in d;
      maxMomenta = perGroup(op, 'maxMomentum', options.maxMomentum ?? 0.95, groups.length, (o, n, v) => checkRange(o, n, v, 0, 1, true));
      baseMomenta = perGroup(op, 'baseMomentum', options.baseMomentum ?? 0.85, groups.length, (o, n, v) => checkRange(o, n, v, 0, 1, true));
    }
    groups.forEach((g, i) => {
      g.initialLr = maxLrs[i] / divFactor;
      g.maxLr = maxLrs[i];
      g.minLr = g.initialLr / finalDivFactor;
      if (cycleMomentum) {
        if (useBeta1) g.betas = [maxMomenta[i], (g.betas as number[])[1]];
        else g.momentum = maxMomenta[i];
        g.maxMomentum = maxMomenta[i];
        g.baseMomentum = baseMomenta[i];
      }
    });
    super(optimizer);
    this.totalSteps = totalSteps;
    this.pctStart = pctStart;
    this.annealStrategy = annealStrategy;
    this.threePhase = threePhase;
    this.cycleMomentum = cycleMomentum;
    this.useBeta1 = useBeta1;
    this.initialStep();
  }

  private static phases(total: number, pct: number, three: boolean): Phase[] {
    if (three) {
      return [
        { endStep: pct * total - 1, startLr: 'initialLr', endLr: 'maxLr', startMomentum: 'maxMomentum', endMomentum: 'baseMomentum' },
        { endStep: 2 * pct * total - 2, startLr: 'maxLr', endLr: 'initialLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' },
        { endStep: total - 1, startLr: 'initialLr', endLr: 'minLr', startMomentum: 'maxMomentum', endMomentum: 'maxMomentum' },
      ];
    }
    return [
      { endStep: pct * total - 1, startLr: 'initialLr', endLr: 'maxLr', startMomentum: 'maxMomentum', endMomentum: 'baseMomentum' },
      { endStep: total - 1, startLr: 'maxLr', endLr: 'minLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' },
    ];
  }

  private anneal(start: number, end: number, pct: number): number {
    return this.annealStrategy === 'cos' ? end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1) : (end - start) * pct + start;
  }

  override step(): void {
    if (this.lastEpoch + 1 > this.totalSteps) {
      throw new ArgumentError('OneCycleLR', `tried to step ${this.lastEpoch + 2} times; the schedule has totalSteps=${this.totalSteps}`);
    }
    super.step();
  }

  protected override getLr(): number[] {
    const stepNum = this.lastEpoch;
    const phases = OneCycleLR.phases(this.totalSteps, this.pctStart, this.threePhase);
    return (this.groups as AnyGroup[]).map((g) => {
      let startStep = 0;
      for (let i = 0; i < phases.length; i++) {
        const ph = phases[i];
        if (stepNum <= ph.endStep || i === phases.length - 1) {
          const pct = (stepNum - startStep) / (ph.endStep - startStep);
          const lr = this.anneal(g[ph.startLr]!, g[ph.endLr]!, pct);
          if (this.cycleMomentum) {
            const m = this.anneal(g[ph.startMomentum]!, g[ph.endMomentum]!, pct);
            if (this.useBeta1) g.betas = [m, (g.betas as number[])[1]];
            else g.momentum = m;
          }
          return lr;
        }
        startStep = ph.endStep;
      }
      throw new Error('unreachable');
    });
  }

  protected override stateKeys(): string[] {
    return [...super.stateKeys(), 'totalSteps', 'pctStart', 'annealStrategy', 'threePhase', 'cycleMomentum', 'useBeta1'];
  }

  protected override parseState(sd: SchedulerStateDict, extra: readonly string[] = []): Record<string, unknown> {
    const out = super.parseState(sd, extra);
    checkOneOf('OneCycleLR.loadStateDict', 'annealStrategy', out.annealStrategy, ['cos', 'linear']);
    return out;
  }
}

export interface ReduceLROnPlateauOptions {
  /** 'min' (default): the metric should decrease (a loss); 'max': increase (an accuracy). */
  mode?: 'min' | 'max';
  /** Multiply the lr by this when the metric stops improving (default 0.1; in [0, 1)). */
  factor?: number;
  /** Epochs without improvement tolerated before reducing (default 10). */
  patience?: number;
  /** How much better counts as better (default 1e-4). */
  threshold?: number;
  /** 'rel' (default): better than best·(1 ∓ threshold); 'abs': better than best ∓ threshold. */
  thresholdMode?: 'rel' | 'abs';
  /** Epochs to wait after a reduction before counting bad epochs again (default 0). */
  cooldown?: number;
  /** Lower bound on the lr, or one per group (default 0). */
  minLr?: number | number[];
  /** Reductions smaller than this are skipped (default 1e-8). */
  eps?: number;
}

/**
 * Reduces the lr by `factor` when a metric has not improved for more than `patience` epochs:
 * `sched.step(valLoss)` once per epoch. An epoch is better when metric < best·(1 − threshold)
 * ('min', 'rel'), < best − threshold ('min', 'abs'), > best·(1 + threshold) ('max', 'rel') or
 * > best + threshold ('max', 'abs'); after a reduction (new lr = max(lr·factor, minLr), applied
 * only if it changes the lr by more than eps) bad epochs are ignored for `cooldown` epochs.
 * @example
 * const sched = new ReduceLROnPlateau(opt, { mode: 'min', factor: 0.5, patience: 3 });
 * sched.step(validationLoss);
 */
export class ReduceLROnPlateau extends SchedulerBase {
  readonly mode: 'min' | 'max';
  readonly factor: number;
  readonly patience: number;
  readonly threshold: number;
  readonly thresholdMode: 'rel' | 'abs';
  readonly cooldown: number;
  readonly minLrs: number[];
  readonly eps: number;
  /** The best metric so far (±Infinity before the first step). */
  best: number;
  numBadEpochs = 0;
  cooldownCounter = 0;
  lastEpoch = 0;

  constructor(optimizer: Optimizer, options: ReduceLROnPlateauOptions = {}) {
    const op = 'ReduceLROnPlateau';
    checkKeys(op, options, ['mode', 'factor', 'patience', 'threshold', 'thresholdMode', 'cooldown', 'minLr', 'eps']);
    checkOptimizer(op, optimizer);
    const mode = checkOneOf(op, 'mode', options.mode ?? 'min', ['min', 'max'] as const);
    const factor = checkRange(op, 'factor', options.factor ?? 0.1, 0, 1, true);
    const patience = options.patience ?? 10;
    if (!Number.isInteger(patience) || patience < 0) throw new ArgumentError(op, `patience must be a non-negative integer, got ${fmtValue(patience)}`);
    const threshold = checkNonNegative(op, 'threshold', options.threshold ?? 1e-4);
    const thresholdMode = checkOneOf(op, 'thresholdMode', options.thresholdMode ?? 'rel', ['rel', 'abs'] as const);
    const cooldown = options.cooldown ?? 0;
    if (!Number.isInteger(cooldown) || cooldown < 0) throw new ArgumentError(op, `cooldown must be a non-negative integer, got ${fmtValue(cooldown)}`);
    const minLrs = perGroup(op, 'minLr', options.minLr ?? 0, optimizer.paramGroups.length, checkNonNegative);
    const eps = checkNonNegative(op, 'eps', options.eps ?? 1e-8);
    super(optimizer);
    this.mode = mode;
    this.factor = factor;
    this.patience = patience;
    this.threshold = threshold;
    this.thresholdMode = thresholdMode;
    this.cooldown = cooldown;
    this.minLrs = minLrs;
    this.eps = eps;
    this.best = mode === 'min' ? Infinity : -Infinity;
  }

  private isBetter(a: number, best: number): boolean {
    const t = this.threshold;
    if (this.mode === 'min') return this.thresholdMode === 'rel' ? a < best * (1 - t) : a < best - t;
    return this.thresholdMode === 'rel' ? a > best * (1 + t) : a > best + t;
  }

  /** Records the epoch's metric (a number or a one-element tensor) and reduces the lrs if it has plateaued. */
  step(metric: number | Tensor): void {
    const current = metric instanceof Tensor ? metric.item() : metric;
    if (typeof current !== 'number') throw new ArgumentError('ReduceLROnPlateau', `metric must be a number or a one-element Tensor, got ${fmtValue(current)}`);
    this.lastEpoch += 1;
    if (this.isBetter(current, this.best)) {
      this.best = current;
      this.numBadEpochs = 0;
    } else this.numBadEpochs += 1;
    if (this.cooldownCounter > 0) {
      this.cooldownCounter -= 1;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.patience) {
      this.optimizer.paramGroups.forEach((g, i) => {
        const newLr = Math.max(g.lr * this.factor, this.minLrs[i]);
        if (g.lr - newLr > this.eps) g.lr = newLr;
      });
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** Whether bad epochs are currently being ignored after a reduction. */
  get inCooldown(): boolean {
    return this.cooldownCounter > 0;
  }

  protected override stateKeys(): string[] {
    return ['mode', 'factor', 'patience', 'threshold', 'thresholdMode', 'cooldown', 'minLrs', 'eps', 'best', 'numBadEpochs', 'cooldownCounter', 'lastEpoch', 'lastLr'];
  }

  protected override parseState(sd: SchedulerStateDict, extra: readonly string[] = []): Record<string, unknown> {
    const out = super.parseState(sd, extra);
    checkOneOf('ReduceLROnPlateau.loadStateDict', 'mode', out.mode, ['min', 'max']);
    checkOneOf('ReduceLROnPlateau.loadStateDict', 'thresholdMode', out.thresholdMode, ['rel', 'abs']);
    return out;
  }
}
