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

/** `[2,3,4]` as text, for error messages. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}
