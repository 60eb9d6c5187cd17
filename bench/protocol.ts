/**
 * The timing protocol of the shared benchmark (WORKLOADS.md, "Timing protocol"), so pixelgrad's
 * figures sit in the same table as the peers': warm up for ≥ 2 calls and ≥ 0.5 s, calibrate k calls
 * per repeat of ≥ 0.3 s, then up to 5 repeats within the budget; report the median throughput.
 */
import { backendInfo } from '../src/index.js';
import { packageVersion } from '../src/cli/version.js';

const QUICK = process.env.PEER_BENCH_QUICK === '1';
const WARMUP_S = QUICK ? 0.05 : 0.5;
const MIN_REPEAT_S = QUICK ? 0.05 : 0.3;
const REPEATS = QUICK ? 2 : 5;
const BUDGET_S = Number(process.env.PEER_BENCH_BUDGET_S || (QUICK ? 20 : 60));

const version = packageVersion();

/** The `info` of a result line: what ran it (the backend, its instruction set, its threads, the engine). */
export function info(): { version: string; backend: string; threads: number; simd: string; node: string } {
  const { backend, threads, isa } = backendInfo();
  return { version, backend, threads, simd: isa, node: process.versions.node };
}

export const seconds = (): number => Number(process.hrtime.bigint()) / 1e9;

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export interface Measurement {
  value: number;
  min: number;
  max: number;
  samples: number[];
  repeats: number;
  calls_per_repeat: number;
  warmup_calls: number;
  budget_limited: boolean;
  cold_sample_only: boolean;
}

/** Throughput of `fn` in units of `workPerCall` per second. */
export function measure(fn: () => void, workPerCall: number): Measurement {
  const start = seconds();
  const warm: number[] = [];
  let calls = 0, elapsed = 0;
  for (;;) {
    const t = seconds();
    fn();
    calls++;
    warm.push(workPerCall / (seconds() - t));
    elapsed = seconds() - start;
    if ((calls >= 2 && elapsed >= WARMUP_S) || elapsed > BUDGET_S / 4) break;
  }
  const perCall = elapsed / calls;
  const k = Math.max(1, Math.ceil(MIN_REPEAT_S / Math.max(perCall, 1e-9)));
  const repeats = Math.max(0, Math.min(REPEATS, Math.floor((BUDGET_S - elapsed) / (k * perCall))));
  const samples: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t = seconds();
    for (let i = 0; i < k; i++) fn();
    samples.push((workPerCall * k) / (seconds() - t));
  }
  const cold = samples.length === 0;
  const s = cold ? warm : samples;
  return {
    value: median(s), min: Math.min(...s), max: Math.max(...s), samples: s, repeats: samples.length,
    calls_per_repeat: cold ? 1 : k, warmup_calls: calls, budget_limited: samples.length < REPEATS, cold_sample_only: cold,
  };
}

/** One result line on stdout, in the peers' JSON-lines format; error lines too carry `info()` unless the record has its own. */
export function emit(record: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify({ peer: process.env.PEER_ID ?? 'pixelgrad', info: info(), ...record }) + '\n');
}
