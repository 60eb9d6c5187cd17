/**
 * Training checkpoints: ONE safetensors file holding everything needed to resume a run.
 *
 * - tensors `model.<name>`: the model's state dict (parameters and persistent buffers);
 * - tensors `optimizer.state.<paramIndex>.<buffer>`: the optimiser's per-parameter buffers
 *   (momentum, moment estimates, ...), indexed as in `Optimizer.stateDict()`;
 * - `__metadata__.pixelgrad`: a JSON string
 *   `{ format: 'pixelgrad-checkpoint', version: 1, epoch, step, optimizer, scheduler, rng, config, history }`
 *   where `optimizer` is `{ type, stateDict }` with each buffer replaced by `{ "$tensor": name }`
 *   (a reference to its tensor entry), `scheduler` is `{ type, stateDict }`, `rng` holds
 *   `defaultGenerator.getState()` and the states of the named generators given, and `config` and
 *   `history` are the caller's JSON. Numbers JSON cannot hold (NaN, ±Infinity, e.g. a diverged loss
 *   in the history) are written as `{ "$float": "NaN" }` and read back as numbers.
 *
 * The file is written atomically (temporary file + rename): a process killed while saving leaves
 * the previous checkpoint, never a partial one. `loadCheckpoint` checks the whole file before
 * returning; `restoreCheckpoint` puts everything back, or nothing if any part does not fit.
 *
 * Node only (files); `serializeCheckpoint`/`parseCheckpoint` work on bytes.
 */
import { createHash } from 'node:crypto';
import { ArgumentError, PixelgradError, describeValue as describe, fmtText as quote } from '../errors.js';
import { readFileChecked } from '../io/node.js';
import { parseSafetensors, serializeSafetensors } from '../io/safetensors.js';
import type { Module } from '../nn/module.js';
import { writeFileAtomic } from '../io/files.js';
import type { EncodedBuffer, Optimizer, OptimizerStateDict } from '../optim/optimizer.js';
import type { SchedulerBase, SchedulerStateDict } from '../optim/lr-scheduler.js';
import { defaultGenerator, type Generator } from '../random.js';
import { Tensor } from '../tensor.js';

export const CHECKPOINT_FORMAT = 'pixelgrad-checkpoint';
export const CHECKPOINT_VERSION = 1;
/** The `__metadata__` key that holds the checkpoint's JSON. */
export const CHECKPOINT_METADATA_KEY = 'pixelgrad';
/** The `__metadata__` key that holds the SHA-256 of the tensors and the JSON (see `checkpointDigest`). */
export const CHECKPOINT_CHECKSUM_KEY = 'pixelgrad_sha256';
/** How deeply `config` and `history` may nest (deeper JSON is refused on save and on load). */
export const MAX_JSON_DEPTH = 1000;

/** A checkpoint file that cannot be read (not a checkpoint, a newer version, corrupt JSON, ...) or does not fit what it is restored into. */
export class CheckpointError extends PixelgradError {}

/** A JSON value (what `config` and `history` may hold; NaN and ±Infinity are allowed too). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A generator's state, as `Generator.getState()` returns it. */
export type GeneratorState = ReturnType<Generator['getState']>;

/** What `saveCheckpoint` saves. */
export interface CheckpointInput {
  model: Module<any, any>;
  optimizer?: Optimizer<any, any>;
  scheduler?: SchedulerBase;
  /** The epoch (a non-negative integer), e.g. the number of epochs completed. */
  epoch: number;
  /** The global step (a non-negative integer; default 0). */
  step?: number;
  /** Named generators besides the default one (which is always saved), e.g. `{ data: loaderGenerator }`. */
  generators?: Record<string, Generator>;
  /** The run's configuration: any JSON (plain objects, arrays, strings, numbers, booleans, null). */
  config?: unknown;
  /** Metrics so far, e.g. `[{ epoch: 0, loss: 0.7 }, ...]`: any JSON. */
  history?: unknown;
}

/** A checkpoint as read by `loadCheckpoint`, checked throughout. */
export interface Checkpoint {
  format: typeof CHECKPOINT_FORMAT;
  version: typeof CHECKPOINT_VERSION;
  epoch: number;
  step: number;
  /** The model's state dict, by dotted name (without the `model.` prefix). */
  model: Record<string, Tensor>;
  /** The optimiser's class name and state dict (buffers filled in from their tensors), or null. */
  optimizer: { type: string; stateDict: OptimizerStateDict } | null;
  /** The scheduler's class name and state dict, or null. */
  scheduler: { type: string; stateDict: SchedulerStateDict } | null;
  rng: { default: GeneratorState; generators: Record<string, GeneratorState> };
  config: JsonValue | null;
  history: JsonValue | null;
}

/** Where `restoreCheckpoint` puts a checkpoint back. */
export interface RestoreTargets {
  model: Module<any, any>;
  /** Restored from the checkpoint, which must then hold an optimiser of the same class and parameter counts. */
  optimizer?: Optimizer<any, any>;
  /** Restored from the checkpoint, which must then hold a scheduler of the same class. */
  scheduler?: SchedulerBase;
  /** Named generators to restore; each name must be in the checkpoint. */
  generators?: Record<string, Generator>;
  /** Whether to restore `defaultGenerator` too (default true). */
  defaultGenerator?: boolean;
}

const MODEL_PREFIX = 'model.';
const OPTIMIZER_PREFIX = 'optimizer.';

// ---- saving ----

/**
 * Saves a training checkpoint to `path` as one safetensors file, atomically (see the module's
 * comment for the layout).
 * @example saveCheckpoint('runs/a/last.safetensors', { model, optimizer, scheduler, epoch, step, config, history });
 */
export function saveCheckpoint(path: string, input: CheckpointInput): void {
  writeFileAtomic(path, serializeCheckpoint(input));
}

/** The bytes `saveCheckpoint` writes. */
export function serializeCheckpoint(input: CheckpointInput): Uint8Array {
  const op = 'saveCheckpoint';
  if (input === null || typeof input !== 'object') throw new ArgumentError(op, `expected { model, epoch, ... }, got ${String(input)}`);
  const { model, optimizer, scheduler, generators } = input;
  if (model === null || typeof model !== 'object' || typeof model.stateDict !== 'function') throw new ArgumentError(op, 'model must be a Module');
  const epoch = checkCount(op, 'epoch', input.epoch);
  const step = checkCount(op, 'step', input.step ?? 0);

  const tensors: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(model.stateDict())) tensors[MODEL_PREFIX + name] = t;

  let optimizerJson: JsonValue = null;
  if (optimizer !== undefined) {
    if (optimizer === null || typeof optimizer.stateDict !== 'function') throw new ArgumentError(op, 'optimizer must be an Optimizer');
    const sd = optimizer.stateDict();
    const state: Record<string, Record<string, unknown>> = {};
    for (const [index, entry] of Object.entries(sd.state)) {
      const out: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(entry)) {
        if (typeof value === 'number') { out[key] = value; continue; }
        const name = `${OPTIMIZER_PREFIX}state.${index}.${key}`;
        const data = value.dtype === 'float64' ? Float64Array.from(value.data) : Float32Array.from(value.data);
        tensors[name] = new Tensor(data, value.shape);
        out[key] = { $tensor: name };
      }
      state[index] = out;
    }
    // PyTorch's key (`param_groups`), as inside the groups, so the saved state maps onto torch's.
    optimizerJson = toJson(op, 'optimizer', { type: optimizer.constructor.name, stateDict: { state, param_groups: sd.paramGroups } }, false);
  }

  let schedulerJson: JsonValue = null;
  if (scheduler !== undefined) {
    if (scheduler === null || typeof scheduler.stateDict !== 'function') throw new ArgumentError(op, 'scheduler must be a learning-rate scheduler');
    schedulerJson = toJson(op, 'scheduler', { type: scheduler.constructor.name, stateDict: scheduler.stateDict() }, false);
  }

  const named: Record<string, GeneratorState> = {};
  if (generators !== undefined) {
    if (generators === null || typeof generators !== 'object' || Array.isArray(generators)) throw new ArgumentError(op, 'generators must be an object { name: Generator }');
    for (const [name, g] of Object.entries(generators)) {
      if (g === null || typeof g !== 'object' || typeof g.getState !== 'function') throw new ArgumentError(op, `generators.${name} must be a Generator`);
      named[name] = g.getState();
    }
  }

  const doc = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    epoch,
    step,
    optimizer: optimizerJson,
    scheduler: schedulerJson,
    rng: toJson(op, 'rng', { default: defaultGenerator.getState(), generators: named }, false),
    config: input.config === undefined ? null : toJson(op, 'config', input.config),
    history: input.history === undefined ? null : toJson(op, 'history', input.history),
  };
  const json = JSON.stringify(doc);
  return serializeSafetensors(tensors, { [CHECKPOINT_METADATA_KEY]: json, [CHECKPOINT_CHECKSUM_KEY]: checkpointDigest(tensors, json) });
}

/**
 * SHA-256 (hex) of the tensors as the safetensors writer lays them out without metadata (names,
 * dtypes, shapes and data, in a canonical order) followed by the checkpoint's JSON. Loading
 * recomputes it from the tensors read, so any changed byte of data, shape, name or JSON is caught.
 */
function checkpointDigest(tensors: Record<string, Tensor>, json: string): string {
  return createHash('sha256').update(serializeSafetensors(tensors)).update(json, 'utf8').digest('hex');
}

function checkCount(op: string, what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new ArgumentError(op, `${what} must be a non-negative integer, got ${describe(v)}`);
  return v;
}

/**
 * A JSON-safe copy of `v`: plain objects, arrays, strings, booleans, null and numbers (NaN and
 * ±Infinity as `{ $float }`); `undefined` is dropped from objects and becomes null in arrays, as
 * in JSON. Anything else (functions, Tensors, typed arrays, Maps, class instances, cycles) is an
 * error naming where it is.
 */
function toJson(op: string, at: string, v: unknown, userData = true, stack: object[] = []): JsonValue {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : { $float: String(v) };
  if (typeof v !== 'object') throw new ArgumentError(op, `${at} is ${describe(v)}, which JSON cannot hold`);
  if (stack.includes(v)) throw new ArgumentError(op, `${at} refers back to itself (a cycle), which JSON cannot hold`);
  if (stack.length >= MAX_JSON_DEPTH) throw new ArgumentError(op, `${at.slice(0, 60)}... nests deeper than ${MAX_JSON_DEPTH} levels, which a checkpoint does not hold`);
  stack.push(v);
  try {
    if (Array.isArray(v)) return v.map((x, i) => (x === undefined ? null : toJson(op, `${at}[${i}]`, x, userData, stack)));
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) {
      throw new ArgumentError(op, `${at} is ${describe(v)}, not a plain object; only JSON data can be saved (convert it first)`);
    }
    const keys = Object.keys(v);
    if (userData && keys.length === 1 && (keys[0] === '$float' || keys[0] === '$tensor')) {
      throw new ArgumentError(op, `${at}: an object whose only key is '${keys[0]}' is reserved by the checkpoint format`);
    }
    const out: { [key: string]: JsonValue } = {};
    for (const k of keys) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) put(out, k, toJson(op, `${at}.${k}`, x, userData, stack));
    }
    return out;
  } finally {
    stack.pop();
  }
}

// ---- loading ----

/** Reads and checks a checkpoint written by `saveCheckpoint`; errors name the file and the problem. */
export function loadCheckpoint(path: string): Checkpoint {
  return parseCheckpoint(readFileChecked('loadCheckpoint', path), path);
}

/** `loadCheckpoint` on bytes; `name` starts every error message. */
export function parseCheckpoint(bytes: Uint8Array, name = 'checkpoint'): Checkpoint {
  const op = 'loadCheckpoint';
  const fail = (msg: string): never => { throw new CheckpointError(op, `${name}: ${msg}`); };
  const { tensors, metadata } = parseSafetensors(bytes, name);
  if (!Object.prototype.hasOwnProperty.call(metadata, CHECKPOINT_METADATA_KEY)) {
    fail(`not a pixelgrad checkpoint: its __metadata__ has no '${CHECKPOINT_METADATA_KEY}' entry (a plain safetensors file? use loadSafetensors or loadModel)`);
  }
  // A damaged key name must not pass for a file without a checksum.
  for (const key of Object.keys(metadata)) {
    if (key !== CHECKPOINT_METADATA_KEY && key !== CHECKPOINT_CHECKSUM_KEY) fail(`unexpected __metadata__ entry ${quote(key)} (a checkpoint holds '${CHECKPOINT_METADATA_KEY}' and '${CHECKPOINT_CHECKSUM_KEY}')`);
  }
  // Checked first: a changed byte anywhere is then reported as what it is. Older files have no checksum.
  if (Object.prototype.hasOwnProperty.call(metadata, CHECKPOINT_CHECKSUM_KEY)) {
    const stored = metadata[CHECKPOINT_CHECKSUM_KEY];
    if (!/^[0-9a-f]{64}$/.test(stored)) fail(`the '${CHECKPOINT_CHECKSUM_KEY}' metadata must be a SHA-256 digest (64 hex digits), got ${describe(stored)}`);
    const actual = checkpointDigest(tensors, metadata[CHECKPOINT_METADATA_KEY]);
    if (actual !== stored) {
      fail(`checksum mismatch: the file's tensors or metadata changed after it was written (SHA-256 ${actual.slice(0, 12)}..., stored ${stored.slice(0, 12)}...); the file is corrupt`);
    }
  }
  let raw: unknown;
  try {
    raw = JSON.parse(metadata[CHECKPOINT_METADATA_KEY]);
  } catch (err) {
    fail(`the '${CHECKPOINT_METADATA_KEY}' metadata is not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(raw)) fail(`the '${CHECKPOINT_METADATA_KEY}' metadata must be a JSON object, got ${describe(raw)}`);
  // The document wraps config and history, hence one level more; checked without recursion, so that
  // the recursive steps below (and the caller's) stay within the stack.
  if (jsonDepthOver(raw, MAX_JSON_DEPTH + 1)) fail(`the '${CHECKPOINT_METADATA_KEY}' metadata nests deeper than ${MAX_JSON_DEPTH + 1} levels`);
  const doc = fromJson(raw) as Record<string, unknown>;
  if (doc.format !== CHECKPOINT_FORMAT) fail(`format is ${describe(doc.format)}, expected '${CHECKPOINT_FORMAT}'`);
  if (typeof doc.version !== 'number') fail(`version must be a number, got ${describe(doc.version)}`);
  if (doc.version !== CHECKPOINT_VERSION) {
    fail(`version ${doc.version} is not supported: this pixelgrad reads version ${CHECKPOINT_VERSION}${(doc.version as number) > CHECKPOINT_VERSION ? ' (the file is from a newer pixelgrad)' : ''}`);
  }
  const count = (what: string): number => {
    const v = doc[what];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(`${what} must be a non-negative integer, got ${describe(v)}`);
    return v as number;
  };
  const epoch = count('epoch'), step = count('step');

  // Every tensor is either model.* or referenced from the optimiser's state.
  const model: Record<string, Tensor> = {};
  const optimizerTensors = new Map<string, Tensor>();
  for (const [key, t] of Object.entries(tensors)) {
    if (key.startsWith(MODEL_PREFIX)) put(model, key.slice(MODEL_PREFIX.length), t);
    else if (key.startsWith(OPTIMIZER_PREFIX)) optimizerTensors.set(key, t);
    else fail(`unexpected tensor ${quote(key)} (a checkpoint holds model.* and optimizer.* tensors)`);
  }

  let optimizer: Checkpoint['optimizer'] = null;
  if (doc.optimizer !== null && doc.optimizer !== undefined) {
    const o = doc.optimizer;
    if (!isObject(o) || !isClassName(o.type) || !isObject(o.stateDict)) fail(`optimizer must be { type, stateDict }, got ${describe(o)}`);
    const { type, stateDict: sd } = o as { type: string; stateDict: Record<string, unknown> };
    // Checkpoints written before PyTorch's names were used say `paramGroups`.
    const groups = sd.param_groups ?? sd.paramGroups;
    if (!isObject(sd.state) || !Array.isArray(groups) || !groups.every(isObject)) {
      fail('optimizer.stateDict must be { state: {...}, param_groups: [...] }');
    }
    const state: OptimizerStateDict['state'] = {};
    for (const [index, entry] of Object.entries(sd.state as Record<string, unknown>)) {
      if (!isObject(entry)) fail(`optimizer.stateDict.state[${seg(index)}] must be an object, got ${describe(entry)}`);
      const out: { [key: string]: EncodedBuffer | number } = {};
      for (const [key, value] of Object.entries(entry as Record<string, unknown>)) {
        const at = `optimizer.stateDict.state[${seg(index)}].${seg(key)}`;
        if (typeof value === 'number') { put(out, key, value); continue; }
        if (!isObject(value) || typeof value.$tensor !== 'string') fail(`${at} must be a number or a { $tensor } reference, got ${describe(value)}`);
        const ref = (value as { $tensor: string }).$tensor;
        const t = optimizerTensors.get(ref);
        if (t === undefined) fail(`${at} refers to tensor ${quote(ref)}, which is not in the file`);
        if (t!.dtype === 'int32') fail(`tensor ${quote(ref)} (${at}) must be floating-point, got int32`);
        put(out, key, { dtype: t!.dtype as 'float32' | 'float64', shape: [...t!.shape], data: Array.from(t!.data) });
        optimizerTensors.delete(ref);
      }
      put(state, index, out);
    }
    optimizer = { type, stateDict: { state, paramGroups: groups as OptimizerStateDict['paramGroups'] } };
  }
  if (optimizerTensors.size > 0) fail(`tensor ${quote([...optimizerTensors.keys()][0])} is not referenced by the optimizer state`);

  let scheduler: Checkpoint['scheduler'] = null;
  if (doc.scheduler !== null && doc.scheduler !== undefined) {
    const s = doc.scheduler as Record<string, unknown>;
    if (!isObject(s) || !isClassName(s.type) || !isObject(s.stateDict)) fail(`scheduler must be { type, stateDict }, got ${describe(s)}`);
    scheduler = { type: s.type as string, stateDict: s.stateDict as SchedulerStateDict };
  }

  const rng = doc.rng;
  if (!isObject(rng) || !isObject(rng.generators)) fail(`rng must be { default, generators }, got ${describe(rng)}`);
  const r = rng as { default: unknown; generators: Record<string, unknown> };
  const checkState = (at: string, st: unknown): GeneratorState => {
    const problem = generatorStateProblem(st);
    if (problem) fail(`${at}: ${problem}`);
    const { s, spareNormal } = st as GeneratorState;
    return { s: [...s], spareNormal };
  };
  const generators: Record<string, GeneratorState> = {};
  for (const [k, st] of Object.entries(r.generators)) put(generators, k, checkState(`rng.generators.${seg(k)}`, st));

  return {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    epoch,
    step,
    model,
    optimizer,
    scheduler,
    rng: { default: checkState('rng.default', r.default), generators },
    config: (doc.config ?? null) as JsonValue | null,
    history: (doc.history ?? null) as JsonValue | null,
  };
}

function generatorStateProblem(st: unknown): string | null {
  if (!isObject(st) || !Array.isArray(st.s)) return `a generator state must be { s: [4 integers], spareNormal }, got ${describe(st)}`;
  const s = st.s as unknown[];
  if (s.length !== 4 || s.some((x) => typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > 0xffffffff)) {
    return `s must be 4 unsigned 32-bit integers, got ${describe(s)}`;
  }
  if ((s as number[]).every((x) => x === 0)) return 's is all zeros, which is not a valid xoshiro128** state';
  if (st.spareNormal !== null && (typeof st.spareNormal !== 'number' || !Number.isFinite(st.spareNormal))) {
    return `spareNormal must be null or a finite number, got ${describe(st.spareNormal)}`;
  }
  return null;
}

/** Turns `{ $float: 'NaN' | 'Infinity' | '-Infinity' }` back into numbers, everywhere. */
function fromJson(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(fromJson);
  if (!isObject(v)) return v;
  const keys = Object.keys(v);
  if (keys.length === 1 && keys[0] === '$float' && (v.$float === 'NaN' || v.$float === 'Infinity' || v.$float === '-Infinity')) return Number(v.$float);
  const out: Record<string, unknown> = {};
  for (const k of keys) put(out, k, fromJson(v[k]));
  return out;
}

// ---- restoring ----

/**
 * Puts a checkpoint back: the model's weights (strictly: same names and shapes), and where given
 * the optimiser's state (same class, same groups and parameter counts), the scheduler's state (same
 * class), the named generators and the default generator. Everything is checked first; if any part
 * does not fit, whatever was already restored is put back as it was and the error is thrown.
 * @example
 * const ckpt = loadCheckpoint('runs/a/last.safetensors');
 * restoreCheckpoint(ckpt, { model, optimizer, scheduler, generators: { data: g } });
 * for (let epoch = ckpt.epoch + 1; ...) ...
 */
export function restoreCheckpoint(ckpt: Checkpoint, targets: RestoreTargets): void {
  const op = 'restoreCheckpoint';
  const fail = (msg: string): never => { throw new CheckpointError(op, msg); };
  if (ckpt === null || typeof ckpt !== 'object' || ckpt.format !== CHECKPOINT_FORMAT) fail('expected a checkpoint from loadCheckpoint');
  if (targets === null || typeof targets !== 'object') fail('expected { model, optimizer?, scheduler?, generators? }');
  const { model, optimizer, scheduler, generators = {} } = targets;
  if (model === null || typeof model !== 'object' || typeof model.loadStateDict !== 'function') fail('model must be a Module');

  // Checks that need no change.
  if (optimizer !== undefined) {
    const saved = ckpt.optimizer;
    if (saved === null) fail(`an optimizer was given but the checkpoint has no optimizer state`);
    const name = optimizer.constructor.name;
    if (saved!.type !== name) fail(`the checkpoint's optimizer is ${saved!.type} but the optimizer given is ${name}`);
    const savedCounts = saved!.stateDict.paramGroups.map((g) => (Array.isArray(g.params) ? g.params.length : NaN));
    const counts = optimizer.paramGroups.map((g) => g.params.length);
    if (savedCounts.join() !== counts.join()) {
      fail(`the checkpoint's ${saved!.type} has parameter groups of ${describe(savedCounts)} parameters but the optimizer given has ${describe(counts)}`);
    }
  }
  if (scheduler !== undefined) {
    const saved = ckpt.scheduler;
    if (saved === null) fail('a scheduler was given but the checkpoint has no scheduler state');
    const name = scheduler.constructor.name;
    if (saved!.type !== name) fail(`the checkpoint's scheduler is ${saved!.type} but the scheduler given is ${name}`);
  }
  for (const [name, g] of Object.entries(generators)) {
    if (g === null || typeof g !== 'object' || typeof g.setState !== 'function') fail(`generators.${name} must be a Generator`);
    if (!Object.prototype.hasOwnProperty.call(ckpt.rng.generators, name)) {
      const have = Object.keys(ckpt.rng.generators);
      fail(`the checkpoint has no generator '${name}' (it has ${have.length ? describe(have) : 'none'})`);
    }
  }
  for (const [at, st] of [['rng.default', ckpt.rng.default], ...Object.entries(ckpt.rng.generators).map(([k, s]) => [`rng.generators.${seg(k)}`, s])] as [string, unknown][]) {
    const problem = generatorStateProblem(st);
    if (problem) fail(`${at}: ${problem}`);
  }

  // Restore, undoing on failure (each loadStateDict checks before it changes anything).
  const undo: (() => void)[] = [];
  try {
    const before = model.stateDict();
    const copies = Object.fromEntries(Object.entries(before).map(([k, t]) => [k, new Tensor(t.data.slice(), t.shape)]));
    model.loadStateDict(ckpt.model, { strict: true });
    undo.push(() => model.loadStateDict(copies, { strict: true }));
    if (optimizer !== undefined) {
      const prev = optimizer.stateDict();
      optimizer.loadStateDict(ckpt.optimizer!.stateDict);
      undo.push(() => optimizer.loadStateDict(prev));
    }
    if (scheduler !== undefined) scheduler.loadStateDict(ckpt.scheduler!.stateDict);
  } catch (err) {
    for (const u of undo.reverse()) u();
    if (err instanceof PixelgradError) {
      const Ctor = err.constructor as new (op: string, message: string) => PixelgradError;
      const out = new Ctor(op, err.message);
      (out as { cause?: unknown }).cause = err;
      throw out;
    }
    throw err;
  }
  for (const [name, g] of Object.entries(generators)) g.setState(ckpt.rng.generators[name]);
  if (targets.defaultGenerator ?? true) defaultGenerator.setState(ckpt.rng.default);
}

// ---- helpers ----

/** An optimiser's or scheduler's class name as saved (so that messages quoting it stay short). */
const isClassName = (v: unknown): v is string => typeof v === 'string' && /^[A-Za-z_$][\w$]{0,99}$/.test(v);

/** A key read from a file, escaped and cut short, for a path in an error message (`state[2].momentumBuffer`). */
const seg = (key: string): string => quote(key, 40).slice(1, -1);

/** Whether parsed JSON nests deeper than `limit` (objects and arrays), found without recursion. */
function jsonDepthOver(v: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[v, 1]];
  while (stack.length > 0) {
    const [x, depth] = stack.pop()!;
    if (x === null || typeof x !== 'object') continue;
    if (depth > limit) return true;
    for (const y of Object.values(x)) stack.push([y, depth + 1]);
  }
  return false;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function put<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}
