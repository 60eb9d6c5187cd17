/**
 * Node-only ONNX files: reading a model with its external data (tensors stored in files beside it,
 * as large models are saved), and writing one atomically.
 */
import { closeSync, fstatSync, openSync, readSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import type { Module } from '../../nn/module.js';
import { writeFileAtomic } from '../files.js';
import { readFailure, readFileChecked } from '../node.js';
import { exportOnnx, type ExportOnnxOptions } from './export.js';
import { importOnnx, type OnnxModel } from './import.js';
import { OnnxError } from './proto.js';

const OP = 'readOnnxFile';

/**
 * An external-data reader for a model in `folder`: locations must be relative paths that stay
 * inside that folder (after following links), and the bytes asked for must lie inside the file.
 */
export function externalDataReader(folder: string): (location: string, offset: number, length: number | null) => Uint8Array {
  const root = realpathSync(folder);
  return (location, offset, length) => {
    if (isAbsolute(location) || location.includes('\0')) throw new OnnxError(OP, `external data location '${location}' is not a relative path`);
    const target = resolve(root, location);
    let real: string;
    try { real = realpathSync(target); } catch (err) { throw readFailure(OP, target, err); }
    const rel = relative(root, real);
    if (!rel || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) throw new OnnxError(OP, `external data location '${location}' is outside the model's folder`);
    const fd = openSync(real, 'r');
    try {
      const size = fstatSync(fd).size, n = length ?? size - offset;
      if (offset < 0 || n < 0 || offset + n > size) throw new OnnxError(OP, `external data '${location}': bytes ${offset}..${offset + n} are past its end (${size} bytes)`);
      const out = new Uint8Array(n);
      if (readSync(fd, out, 0, n, offset) !== n) throw new OnnxError(OP, `external data '${location}': short read`);
      return out;
    } finally { closeSync(fd); }
  };
}

/**
 * Reads an .onnx file (and any external data beside it) as a trainable pixelgrad Module.
 * @example const net = readOnnxFile('model.onnx');
 */
export function readOnnxFile(path: string): OnnxModel {
  return importOnnx(readFileChecked(OP, path), { externalData: externalDataReader(dirname(path)) });
}

/** Writes `model` as an .onnx file, atomically. */
export function saveOnnx(path: string, model: Module<any, any>, options: ExportOnnxOptions): void {
  writeFileAtomic(path, exportOnnx(model, options));
}
