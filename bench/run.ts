/**
 * `npm run bench [-- W1 ...]`: the workloads of the shared benchmark that pixelgrad can run, one
 * JSON line per case on stdout (the peers' protocol), so the shared runner can table them.
 * Implemented so far: W1 (fp32 GEMM).
 */
import { readFileSync } from 'node:fs';
import { Generator, getBackend, matmul, rand } from '../src/index.js';
import { emit, measure } from './protocol.js';

const version: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
const info = () => ({ version, backend: getBackend().name, threads: 1, simd: 'none' });

/** W1: C[M,N] = A[M,K]·B[K,N], row-major fp32, A and B uniform in [0, 1). */
const GEMM_CASES: [string, number, number, number][] = [
  ['gemm_256', 256, 256, 256],
  ['gemm_512', 512, 512, 512],
  ['gemm_1024', 1024, 1024, 1024],
  ['gemm_lenet_conv2_im2col_b64', 64 * 8 * 8, 6 * 5 * 5, 16],
];

function w1(): void {
  const g = new Generator(0);
  for (const [name, M, K, N] of GEMM_CASES) {
    try {
      const a = rand([M, K], { generator: g }), b = rand([K, N], { generator: g });
      const m = measure(() => { matmul(a, b); }, (2 * M * N * K) / 1e9);
      emit({ workload: 'W1', case: name, metric: 'gflops', unit: 'GFLOP/s', higher_is_better: true, ...m, shape: [M, K, N], info: info() });
    } catch (err) {
      emit({ workload: 'W1', case: name, error: String((err as Error).message ?? err) });
    }
  }
}

const WORKLOADS: Record<string, () => void> = { W1: w1 };
const NOT_YET = ['W2', 'W3', 'W4', 'W5', 'W6', 'W7'];

const requested = process.argv.slice(2).filter((a) => !a.startsWith('--'));
for (const id of requested.length ? requested : Object.keys(WORKLOADS)) {
  if (WORKLOADS[id]) WORKLOADS[id]();
  else if (NOT_YET.includes(id)) emit({ workload: id, case: null, error: `${id} is not implemented in pixelgrad yet` });
  else { console.error(`bench: unknown workload '${id}' (known: ${Object.keys(WORKLOADS).concat(NOT_YET).join(', ')})`); process.exitCode = 2; }
}
