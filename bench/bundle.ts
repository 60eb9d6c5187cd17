/**
 * Reads the shared benchmark's input bundles (format `peer-bench-bundle-v1`: `<stem>.json` lists
 * arrays with dtype, shape, offset and byte count in `<stem>.bin`, little-endian) into tensors.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Tensor } from '../src/index.js';

/** The benchmark's data folder: $PEER_BENCH_DATA, ./data (the runner's cwd), or ../shared/bench/data. */
export function dataDir(): string {
  // ../shared/bench/data beside the repository, from bench/ (tsx) or dist/bench/ (compiled).
  const shared = ['../../shared/bench/data', '../../../shared/bench/data'].map((p) => resolve(new URL(p, import.meta.url).pathname));
  const candidates = [process.env.PEER_BENCH_DATA, resolve('data'), ...shared];
  const found = candidates.find((d) => d && existsSync(join(d, 'mnist_8k2k.json')));
  if (!found) throw new Error(`benchmark data not found (looked in ${candidates.filter(Boolean).join(', ')}); run the shared harness's ./run_peers.sh --prepare or set PEER_BENCH_DATA`);
  return found;
}

export function readBundle(stem: string): Record<string, Tensor> {
  const header = JSON.parse(readFileSync(join(dataDir(), `${stem}.json`), 'utf8'));
  if (header.format !== 'peer-bench-bundle-v1') throw new Error(`${stem}.json: unknown format ${header.format}`);
  const bin = readFileSync(join(dataDir(), `${stem}.bin`));
  const out: Record<string, Tensor> = {};
  for (const a of header.arrays as { name: string; dtype: string; shape: number[]; offset: number; nbytes: number }[]) {
    if (a.offset + a.nbytes > bin.length) throw new Error(`${stem}.bin: ${a.name} lies past the end of the file`);
    const bytes = bin.subarray(a.offset, a.offset + a.nbytes);
    const copy = new Uint8Array(bytes); // aligned copy
    const data = a.dtype === 'float32' ? new Float32Array(copy.buffer) : a.dtype === 'int32' ? new Int32Array(copy.buffer) : a.dtype === 'float64' ? new Float64Array(copy.buffer) : null;
    if (!data) throw new Error(`${stem}: unsupported dtype ${a.dtype}`);
    out[a.name] = new Tensor(data, a.shape);
  }
  return out;
}
