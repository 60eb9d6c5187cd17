/**
 * Errors thrown by pixelgrad. Every message starts with the op or function that raised it, then
 * names the argument and the shapes involved, e.g.
 * `matmul: inner dimensions differ (a [2,3], b [4,5])`.
 */
export class PixelgradError extends Error {
  constructor(readonly op: string, message: string) {
    super(`${op}: ${message}`);
    this.name = new.target.name;
  }
}

/** Shapes that do not fit together (broadcasting, matmul, concat, reshape, ...). */
export class ShapeError extends PixelgradError {}

/** A tensor of the wrong dtype for an op (e.g. a float index, an int tensor that requires grad). */
export class DTypeError extends PixelgradError {}

/** An argument outside its domain (a dim out of range, a negative size, an unknown option). */
export class ArgumentError extends PixelgradError {}

/** A feature that pixelgrad knows about but does not implement. */
export class NotSupportedError extends PixelgradError {}

/** A computation that needs more memory than can be had (a tensor too large, a wasm kernel call past 4 GiB). */
export class MemoryError extends PixelgradError {}

/** A file or folder that could not be written (read-only, full disk, a file in the way, ...). */
export class FileError extends PixelgradError {
  constructor(op: string, message: string, readonly path: string, readonly code: string) {
    super(op, message);
  }
}

/** `[2,3,4]` as text, for error messages. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** `s` as a JSON string literal, cut to about `max` characters (for names read from files). */
export function fmtText(s: string, max = 80): string {
  return JSON.stringify(s.length > max ? `${s.slice(0, max - 3)}...` : s);
}

/**
 * A short description of any value for an error message, safe on untrusted data: never longer
 * than about `max` characters and never recursive (a value nested 100,000 levels deep is shown as
 * `[[...]]`), so formatting the message cannot itself throw. Arrays show their first elements
 * (nested arrays and objects as `[...]` / `{...}`); objects are named by class (`a Tensor`).
 */
export function describeValue(v: unknown, max = 80): string {
  if (typeof v === 'string') return fmtText(v, max);
  if (v === null || v === undefined || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'bigint') return `a bigint (${v}n)`;
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'symbol') return 'a symbol';
  if (Array.isArray(v)) {
    let s = '[';
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      const item = Array.isArray(x) ? '[...]' : x !== null && typeof x === 'object' ? '{...}' : describeValue(x, max);
      if (s.length + item.length > max - 5) return `${s}${i > 0 ? ',' : ''}...]`;
      s += (i > 0 ? ',' : '') + item;
    }
    return `${s}]`;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null && typeof proto?.constructor?.name === 'string' && proto.constructor.name !== '') return `a ${proto.constructor.name}`;
  return 'an object';
}
