/**
 * `Optimizer`: the base of every optimiser, with PyTorch's parameter-group semantics. Parameters are
 * plain leaf `Tensor`s; a step reads each parameter's `.grad` and updates the parameter IN PLACE by
 * writing to its typed array (`p.data`), so nothing is recorded by autograd. Parameters whose
 * `grad` is null are skipped. Per-parameter state (momentum buffers, moment estimates, step
 * counts) lives in `state`, a Map keyed by the parameter, as typed arrays of the parameter's dtype.
 */
import { enableGrad } from '../autograd/grad-mode.js';
import type { FloatArray, TypedArray } from '../dtype.js';
import { ArgumentError, DTypeError, ShapeError, fmtShape } from '../errors.js';
import { Tensor } from '../tensor.js';
import { checkKeys, fmtValue } from '../options.js';

/** The options every optimiser has. */
export interface OptimizerOptions {
  lr: number;
}

/**
 * Keys a learning-rate scheduler may add to a parameter group (PyTorch's `initial_lr`, `max_lr`,
 * `min_lr`, `max_momentum`, `base_momentum`). They are saved by `stateDict()` with the group.
 */
export interface SchedulerGroupFields {
  initialLr?: number;
  maxLr?: number;
  minLr?: number;
  maxMomentum?: number;
  baseMomentum?: number;
}

export const SCHEDULER_GROUP_KEYS: readonly string[] = ['initialLr', 'maxLr', 'minLr', 'maxMomentum', 'baseMomentum'];

/** A parameter group as the optimiser holds it: its tensors and every option, filled from the defaults. */
export type ParamGroup<O extends OptimizerOptions = OptimizerOptions> = O & SchedulerGroupFields & { params: Tensor[] };

/** A parameter group as given by the user: its tensors and any options that differ from the defaults. */
export type ParamGroupInput<O> = { params: readonly Tensor[] } & Partial<O> & SchedulerGroupFields;

/** What an optimiser keeps per parameter: buffers (typed arrays of the parameter's dtype) and numbers. */
export type ParamState = { [key: string]: FloatArray | number | undefined };

/** A state buffer in a state dict: plain arrays, so that `JSON.stringify` keeps it. */
export interface EncodedBuffer {
  dtype: 'float32' | 'float64';
  shape: number[];
  data: number[];
}

/**
 * The optimiser's state as plain JSON-serialisable data, laid out as PyTorch's `state_dict()`:
 * parameters are referred to by their index in the order of the groups' `params`; `state` is keyed
 * by that index (a string in JSON) and `paramGroups` holds each group's options and indices. Inside,
 * names are PyTorch's (`exp_avg`, `momentum_buffer`, `weight_decay`, `initial_lr`, ...), so that
 * the state maps onto PyTorch's key for key; `loadStateDict` also reads the camelCase names that
 * pixelgrad wrote before (`expAvg`, `weightDecay`, ...).
 */
export interface OptimizerStateDict {
  state: { [paramIndex: string]: { [key: string]: EncodedBuffer | number } };
  paramGroups: Array<{ params: number[]; [option: string]: unknown }>;
}

/** The buffers and numbers an optimiser's per-parameter state may hold (checked by `loadStateDict`). */
export interface StateSpec {
  buffers: readonly string[];
  scalars: readonly string[];
}

function copyOption(v: unknown): unknown {
  return Array.isArray(v) ? v.map(copyOption) : v;
}

/** PyTorch's name for a state buffer or group option: `expAvgSq` → `exp_avg_sq`, `initialLr` → `initial_lr`. */
export function torchName(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * `entry` with its keys renamed to pixelgrad's (camelCase) names, for those of `known` given under
 * PyTorch's name (or already camelCase); a name given both ways is an error. Other keys are kept,
 * for the caller to reject.
 */
function fromTorchNames(op: string, at: string, entry: Record<string, unknown>, known: readonly string[]): Record<string, unknown> {
  const byTorchName = new Map(known.map((k) => [torchName(k), k]));
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(entry)) {
    const name = byTorchName.get(key) ?? key;
    if (Object.prototype.hasOwnProperty.call(out, name)) throw new ArgumentError(op, `${at} gives '${name}' twice (as '${torchName(name)}' and '${name}')`);
    out[name] = value;
  }
  return out;
}

function newBuffer(like: FloatArray): FloatArray {
  return like instanceof Float64Array ? new Float64Array(like.length) : new Float32Array(like.length);
}

/**
 * The base of every optimiser. A subclass resolves its options (defaults filled in, unknown names
 * rejected) before calling `super(params, defaults)`, checks option values in `validateOptions`
 * (called for the defaults and for every group), names the state it keeps in `stateSpec`, and
 * implements `step`.
 *
 * `params` is an array of tensors or an array of parameter groups `{ params, ...options }`; options a
 * group leaves out are taken from the defaults, as PyTorch's `param_groups`.
 * @example
 * const opt = new SGD([{ params: [w], lr: 0.1 }, { params: [b] }], { lr: 0.01, momentum: 0.9 });
 * opt.zeroGrad(); loss.backward(); opt.step();
 */
export abstract class Optimizer<O extends OptimizerOptions = OptimizerOptions, S extends ParamState = ParamState> {
  /** The options used where a group does not give its own. */
  readonly defaults: Readonly<O>;
  /** The parameter groups, each with every option filled in. Schedulers change `lr` here. */
  readonly paramGroups: ParamGroup<O>[] = [];
  /** Per-parameter state, keyed by the parameter tensor. */
  readonly state = new Map<Tensor, S>();

  constructor(params: readonly Tensor[] | readonly ParamGroupInput<O>[], defaults: O) {
    if (params instanceof Tensor || !Array.isArray(params)) {
      throw new ArgumentError(this.opName, `params must be an array of Tensors or of parameter groups, got ${params instanceof Tensor ? 'a Tensor' : fmtValue(params)}`);
    }
    if (params.length === 0) throw new ArgumentError(this.opName, 'got an empty parameter list');
    this.validateOptions(defaults, '');
    this.defaults = { ...defaults };
    const groups = params[0] instanceof Tensor ? [{ params: params as readonly Tensor[] } as ParamGroupInput<O>] : (params as readonly ParamGroupInput<O>[]);
    for (const g of groups) this.addParamGroup(g);
  }

  /** The name used in error messages ('SGD', 'Adam', ...). */
  protected get opName(): string {
    return this.constructor.name;
  }

  /**
   * Checks option values, throwing `ArgumentError` for a bad one. `at` is '' for the defaults and
   * `paramGroups[i].` for a group, to be put before the option's name.
   */
  protected validateOptions(_options: O, _at: string): void {}

  /** The buffers and numbers this optimiser keeps per parameter. */
  protected stateSpec(): StateSpec {
    return { buffers: [], scalars: [] };
  }

  /**
   * Performs one optimisation step (one update of every parameter that has a gradient). With a
   * closure, it is called first (with grad mode on) to re-evaluate the loss, and its result returned.
   */
  abstract step<T = undefined>(closure?: () => T): T | undefined;

  /** Runs the closure of `step` (with grad mode on), if any. */
  protected runClosure<T>(closure: (() => T) | undefined): T | undefined {
    return closure ? enableGrad(closure) : undefined;
  }

  /**
   * Adds a group of parameters, e.g. layers unfrozen while fine-tuning; options it leaves out are
   * taken from the defaults. Parameters must be floating-point leaf tensors that are in no other group.
   */
  addParamGroup(group: ParamGroupInput<O>): void {
    const at = `paramGroups[${this.paramGroups.length}]`;
    if (group === null || typeof group !== 'object' || Array.isArray(group) || group instanceof Tensor) {
      throw new ArgumentError(this.opName, `${at} must be an object { params, ...options }, got ${group instanceof Tensor ? 'a Tensor' : fmtValue(group)}`);
    }
    const { params, ...options } = group as ParamGroupInput<O> & Record<string, unknown>;
    if (!Array.isArray(params)) throw new ArgumentError(this.opName, `${at}.params must be an array of Tensors, got ${params instanceof Tensor ? 'a Tensor' : fmtValue(params)}`);
    if (params.length === 0) throw new ArgumentError(this.opName, `${at}.params is empty`);
    checkKeys(this.opName, options, [...Object.keys(this.defaults), ...SCHEDULER_GROUP_KEYS], at);
    const seen = new Set<Tensor>();
    for (const g of this.paramGroups) for (const p of g.params) seen.add(p);
    params.forEach((p, i) => {
      const where = `${at}.params[${i}]`;
      if (!(p instanceof Tensor)) throw new ArgumentError(this.opName, `${where} must be a Tensor, got ${fmtValue(p)}`);
      if (p.dtype === 'int32') throw new DTypeError(this.opName, `${where} must be a floating-point tensor, got ${p.dtype}`);
      if (!p.isLeaf) throw new ArgumentError(this.opName, `${where} is not a leaf tensor; an optimiser updates leaves (use detach() and setRequiresGrad())`);
      if (seen.has(p)) throw new ArgumentError(this.opName, `${where} appears more than once (parameters must be in exactly one group, once)`);
      seen.add(p);
    });
    const full = { ...this.defaults } as Record<string, unknown>;
    for (const [k, v] of Object.entries(options)) if (v !== undefined) full[k] = copyOption(v);
    full.params = [...params];
    this.validateOptions(full as unknown as O, `${at}.`);
    this.paramGroups.push(full as unknown as ParamGroup<O>);
  }

  /**
   * Clears the gradients of every parameter: `setToNone: true` (the default, as in PyTorch 2)
   * sets `grad` to null, which makes `step` skip the parameter until it has a gradient again;
   * `setToNone: false` fills the gradients with zeros.
   */
  zeroGrad({ setToNone = true }: { setToNone?: boolean } = {}): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        const g = p.grad;
        if (g === null) continue;
        if (setToNone) p.grad = null;
        else if (g.gradFn !== null || g.requiresGrad) p.grad = new Tensor(newBuffer(g.data as FloatArray), g.shape);
        else g.data.fill(0);
      }
    }
  }

  /**
   * The gradient of `p` as a flat array, or null when `p.grad` is null (the parameter is skipped).
   * Throws if its shape differs from the parameter's.
   */
  protected gradOf(p: Tensor, groupIndex: number, paramIndex: number): TypedArray | null {
    const g = p.grad;
    if (g === null) return null;
    if (g.size !== p.size || g.shape.length !== p.shape.length || g.shape.some((d, i) => d !== p.shape[i])) {
      throw new ShapeError(this.opName, `the gradient of paramGroups[${groupIndex}].params[${paramIndex}] has shape ${fmtShape(g.shape)} but the parameter has shape ${fmtShape(p.shape)}`);
    }
    return g.data;
  }

  /** A zero-filled buffer of `p`'s dtype and size, for optimiser state. */
  protected zerosFor(p: Tensor): FloatArray {
    return newBuffer(p.data as FloatArray);
  }

  /**
   * The optimiser's state as plain data that survives `JSON.stringify`/`JSON.parse`: each group's
   * options with its parameters as indices, and each parameter's state (buffers as
   * `{ dtype, shape, data }`) keyed by its index, as PyTorch's `state_dict()`.
   */
  stateDict(): OptimizerStateDict {
    const state: OptimizerStateDict['state'] = {};
    let index = 0;
    const paramGroups = this.paramGroups.map((group) => {
      const { params, ...options } = group as ParamGroup<O> & Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(options)) out[torchName(k)] = copyOption(v);
      const ids = params.map((p) => {
        const s = this.state.get(p);
        if (s !== undefined) {
          const enc: { [key: string]: EncodedBuffer | number } = {};
          for (const [k, v] of Object.entries(s)) {
            if (v === undefined) continue;
            enc[torchName(k)] = typeof v === 'number' ? v : { dtype: v instanceof Float64Array ? 'float64' : 'float32', shape: [...p.shape], data: Array.from(v) };
          }
          state[String(index)] = enc;
        }
        return index++;
      });
      return { ...out, params: ids };
    });
    return { state, paramGroups };
  }

  /**
   * Restores state saved by `stateDict()` (possibly through JSON) into this optimiser, whose groups
   * must hold the same number of parameters, with the same shapes. Group options (including a
   * scheduler's `lr`, `initialLr`, ...) are restored too. Everything is checked before anything
   * changes; a mismatch throws `ArgumentError` or `ShapeError`.
   */
  loadStateDict(stateDict: OptimizerStateDict): void {
    const op = `${this.opName}.loadStateDict`;
    if (stateDict === null || typeof stateDict !== 'object') throw new ArgumentError(op, `expected a state dict { state, paramGroups }, got ${fmtValue(stateDict)}`);
    const { state, paramGroups: saved } = stateDict;
    if (!Array.isArray(saved)) throw new ArgumentError(op, `paramGroups must be an array, got ${fmtValue(saved)}`);
    if (state === null || typeof state !== 'object' || Array.isArray(state)) throw new ArgumentError(op, `state must be an object keyed by parameter index, got ${fmtValue(state)}`);
    if (saved.length !== this.paramGroups.length) {
      throw new ArgumentError(op, `the state dict has ${saved.length} parameter groups but the optimiser has ${this.paramGroups.length}`);
    }
    const idMap = new Map<number, Tensor>();
    const groups = saved.map((sg, gi) => {
      const at = `paramGroups[${gi}]`;
      if (sg === null || typeof sg !== 'object' || !Array.isArray(sg.params)) throw new ArgumentError(op, `${at} must be an object with a params array`);
      const current = this.paramGroups[gi].params;
      if (sg.params.length !== current.length) {
        throw new ArgumentError(op, `${at} has ${sg.params.length} parameters in the state dict but ${current.length} in the optimiser`);
      }
      sg.params.forEach((id, pi) => {
        if (!Number.isInteger(id) || idMap.has(id)) throw new ArgumentError(op, `${at}.params[${pi}] must be a unique integer index, got ${fmtValue(id)}`);
        idMap.set(id, current[pi]);
      });
      const { params: _ids, ...given } = sg;
      const knownOptions = [...Object.keys(this.defaults), ...SCHEDULER_GROUP_KEYS];
      const options = fromTorchNames(op, at, given, knownOptions);
      checkKeys(op, options, knownOptions, at);
      const full = { ...this.defaults } as Record<string, unknown>;
      for (const [k, v] of Object.entries(options)) if (v !== undefined) full[k] = copyOption(v);
      full.params = current;
      this.validateOptions(full as unknown as O, `${at}.`);
      return full as unknown as ParamGroup<O>;
    });
    const spec = this.stateSpec();
    const newState = new Map<Tensor, S>();
    for (const [key, entry] of Object.entries(state)) {
      const p = idMap.get(Number(key));
      if (p === undefined || !/^\d+$/.test(key)) throw new ArgumentError(op, `state has an entry for parameter ${fmtValue(key)}, which is in no parameter group`);
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw new ArgumentError(op, `state[${key}] must be an object, got ${fmtValue(entry)}`);
      const decoded: Record<string, FloatArray | number> = {};
      const known = [...spec.buffers, ...spec.scalars];
      for (const [name, value] of Object.entries(fromTorchNames(op, `state[${key}]`, entry, known))) {
        const at = `state[${key}].${known.includes(name) ? torchName(name) : name}`;
        if (spec.scalars.includes(name)) {
          if (typeof value !== 'number' || !Number.isFinite(value)) throw new ArgumentError(op, `${at} must be a finite number, got ${fmtValue(value)}`);
          decoded[name] = value;
        } else if (spec.buffers.includes(name)) {
          decoded[name] = decodeBuffer(op, at, value, p);
        } else {
          throw new ArgumentError(op, `${at} is not part of ${this.opName}'s state (known: ${known.map(torchName).join(', ') || 'none'})`);
        }
      }
      newState.set(p, decoded as S);
    }
    this.paramGroups.splice(0, this.paramGroups.length, ...groups);
    this.state.clear();
    for (const [p, s] of newState) this.state.set(p, s);
  }
}

function decodeBuffer(op: string, at: string, value: unknown, p: Tensor): FloatArray {
  const v = value as Partial<EncodedBuffer> | null;
  if (v === null || typeof v !== 'object' || !Array.isArray(v.shape) || !Array.isArray(v.data)) {
    throw new ArgumentError(op, `${at} must be a buffer { dtype, shape, data }, got ${fmtValue(value)}`);
  }
  if (v.shape.length !== p.shape.length || v.shape.some((d, i) => d !== p.shape[i])) {
    throw new ShapeError(op, `${at} has shape ${fmtShape(v.shape)} but the parameter has shape ${fmtShape(p.shape)}`);
  }
  if (v.data.length !== p.size) throw new ShapeError(op, `${at} has ${v.data.length} values but shape ${fmtShape(p.shape)} needs ${p.size}`);
  const out = newBuffer(p.data as FloatArray);
  for (let i = 0; i < out.length; i++) {
    const x = v.data[i];
    if (typeof x !== 'number') throw new ArgumentError(op, `${at}.data[${i}] must be a number, got ${fmtValue(x)} (non-finite values do not survive JSON)`);
    out[i] = x;
  }
  return out;
}
