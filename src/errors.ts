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
