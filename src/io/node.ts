/**
 * Node-only safetensors files: tensors and module weights. Files are written atomically (a
 * temporary file in the same folder, then a rename), so a crash mid-write leaves the old file.
 */
import { readFileSync } from 'node:fs';
import { ArgumentError, PixelgradError } from '../errors.js';
import type { LoadResult, Module } from '../nn/module.js';
import { writeFileAtomic } from './files.js';
import type { Tensor } from '../tensor.js';
import { parseSafetensors, serializeSafetensors, type SafetensorsContents } from './safetensors.js';

/** A file-system failure to read `path` as an ArgumentError naming the path and the reason. @internal */
export function readFailure(op: string, path: string, err: unknown): ArgumentError {
  const code = (err as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder, not a file'
    : code === 'EACCES' ? 'permission denied' : (err as Error).message;
  const e = new ArgumentError(op, `cannot read '${path}': ${why}`);
  e.cause = err;
  return e;
}

/** Reads a whole file; a failure is an ArgumentError naming the path and the reason. @internal */
export function readFileChecked(op: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw readFailure(op, path, err);
  }
}

/** Writes `tensors` (and optional `__metadata__` strings) to a .safetensors file, atomically. */
export function saveSafetensors(path: string, tensors: Record<string, Tensor>, metadata?: Record<string, string>): void {
  writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}

/** Reads a .safetensors file, checking it throughout (errors name the file). */
export function loadSafetensors(path: string): SafetensorsContents {
  return parseSafetensors(readFileChecked('loadSafetensors', path), path);
}

/**
 * Saves a module's state dict (parameters and persistent buffers, by dotted name such as
 * `features.0.weight`) as a .safetensors file, atomically; PyTorch reads it with
 * `safetensors.torch.load_file` and `load_state_dict`.
 */
export function saveModel(model: Module<any, any>, path: string, metadata?: Record<string, string>): void {
  saveSafetensors(path, model.stateDict(), metadata);
}

/**
 * Loads weights saved by `saveModel` (or by PyTorch's `safetensors.torch.save_file(model.state_dict())`)
 * into `model` with `loadStateDict`: shapes must match, and with `strict` (the default) so must the
 * names. Values are converted to the model's dtypes. Returns the missing and unexpected keys.
 */
export function loadModel(model: Module<any, any>, path: string, options: { strict?: boolean } = {}): LoadResult {
  const { tensors } = loadSafetensors(path);
  try {
    return model.loadStateDict(tensors, options);
  } catch (err) {
    throw withFile('loadModel', path, err);
  }
}

/** The same kind of pixelgrad error, its message prefixed with `op: path:`. */
function withFile(op: string, path: string, err: unknown): unknown {
  if (!(err instanceof PixelgradError)) return err;
  const Ctor = err.constructor as new (op: string, message: string) => PixelgradError;
  const out = new Ctor(op, `${path}: ${err.message}`);
  (out as { cause?: unknown }).cause = err;
  return out;
}
