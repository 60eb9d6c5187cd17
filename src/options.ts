/**
 * Option checking shared by layers, optimisers, learning-rate schedulers and gradient clipping:
 * unknown option names are errors (never silently ignored), and every value is checked with a
 * message that names the function, the option and the value, e.g.
 * `SGD: lr must be a non-negative number, got -1`.
 */
import { ArgumentError, NotSupportedError } from './errors.js';

/** PyTorch options that pixelgrad knows about but does not implement, and why. */
const UNSUPPORTED: Readonly<Record<string, string>> = {
  foreach: 'pixelgrad has one implementation, a loop over typed arrays',
  fused: 'pixelgrad has one implementation, a loop over typed arrays',
  capturable: 'there are no CUDA graphs to capture',
  differentiable: 'optimiser steps are not recorded by autograd',
  lastEpoch: 'to resume, restore the scheduler with loadStateDict()',
  verbose: 'schedulers do not print; read getLastLr()',
  device: 'pixelgrad computes on the CPU (JS or WebAssembly backend)',
  dtype: 'layers hold float32 parameters',
  returnIndices: 'use nn.functional.maxPool2dWithIndices',
  recomputeScaleFactor: 'source positions always use 1/scaleFactor when it is given',
};

/** A value for an error message: strings quoted, arrays as JSON. */
export function fmtValue(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (Array.isArray(v)) return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  return typeof v;
}

/**
 * Throws unless every key of `given` (whose value is not `undefined`) is in `known`: options
 * PyTorch has but pixelgrad does not implement raise `NotSupportedError`, anything else
 * `ArgumentError` (with a hint when a snake_case name has a camelCase twin).
 */
export function checkKeys(op: string, given: object, known: readonly string[], where = ''): void {
  if (given === null || typeof given !== 'object' || Array.isArray(given)) {
    throw new ArgumentError(op, `${where ? `${where} ` : ''}options must be an object, got ${fmtValue(given)}`);
  }
  for (const [key, value] of Object.entries(given)) {
    if (value === undefined || known.includes(key)) continue;
    const at = where ? ` in ${where}` : '';
    if (key in UNSUPPORTED) throw new NotSupportedError(op, `option '${key}'${at} is not supported (${UNSUPPORTED[key]})`);
    const camel = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    const hint = camel !== key && known.includes(camel) ? `; did you mean '${camel}'?` : '';
    throw new ArgumentError(op, `unknown option '${key}'${at}${hint} (known: ${known.join(', ')})`);
  }
}

/** `{ ...defaults, ...options }` without the keys whose value is `undefined`, after `checkKeys`. */
export function resolveOptions<O extends object>(op: string, options: object | undefined, defaults: Partial<O>, known: readonly string[]): O {
  const given = options ?? {};
  checkKeys(op, given, known);
  const out: Record<string, unknown> = { ...defaults };
  for (const [k, v] of Object.entries(given)) if (v !== undefined) out[k] = Array.isArray(v) ? [...v] : v;
  return out as O;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** A finite number >= 0. */
export function checkNonNegative(op: string, name: string, v: unknown): number {
  if (!isNum(v) || v < 0) throw new ArgumentError(op, `${name} must be a non-negative number, got ${fmtValue(v)}`);
  return v;
}

/** A finite number > 0. */
export function checkPositive(op: string, name: string, v: unknown): number {
  if (!isNum(v) || v <= 0) throw new ArgumentError(op, `${name} must be a positive number, got ${fmtValue(v)}`);
  return v;
}

/** A finite number in [lo, hi] (or [lo, hi) with `openHigh`). */
export function checkRange(op: string, name: string, v: unknown, lo: number, hi: number, openHigh = false): number {
  if (!isNum(v) || v < lo || (openHigh ? v >= hi : v > hi)) {
    throw new ArgumentError(op, `${name} must be a number in [${lo}, ${hi}${openHigh ? ')' : ']'}, got ${fmtValue(v)}`);
  }
  return v;
}

/** An integer > 0. */
export function checkPositiveInt(op: string, name: string, v: unknown): number {
  if (!Number.isInteger(v) || (v as number) <= 0) throw new ArgumentError(op, `${name} must be a positive integer, got ${fmtValue(v)}`);
  return v as number;
}

export function checkBoolean(op: string, name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new ArgumentError(op, `${name} must be a boolean, got ${fmtValue(v)}`);
  return v;
}

export function checkOneOf<T extends string>(op: string, name: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !allowed.includes(v as T)) {
    throw new ArgumentError(op, `${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${fmtValue(v)}`);
  }
  return v as T;
}

/** A number, or one number per parameter group, as a per-group array. */
export function perGroup(op: string, name: string, v: unknown, groups: number, check: (op: string, name: string, v: unknown) => number): number[] {
  if (Array.isArray(v)) {
    if (v.length !== groups) throw new ArgumentError(op, `${name} must have one value per parameter group (${groups}), got ${v.length}`);
    return v.map((x, i) => check(op, `${name}[${i}]`, x));
  }
  return new Array<number>(groups).fill(check(op, name, v));
}
