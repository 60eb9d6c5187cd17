/**
 * Choosing the fastest backend the engine supports. The package entry (src/index.ts) awaits
 * `selectDefaultBackend()` at import, so ops run on the WebAssembly SIMD backend, on every hardware
 * thread, from the first one on — unless that cannot load (then the JS reference, with the reason
 * kept in `backendInfo()`) or, under Node, the environment asks otherwise:
 *   PIXELGRAD_BACKEND=js   the JS reference backend (=wasm: the wasm backend or an error;
 *                          =native: an error, as this version has no native backend);
 *   PIXELGRAD_THREADS=n    the wasm backend on n threads (1: no worker threads).
 */
import { getBackend, registerBackend, setBackend } from './backend.js';
import { createWasmBackend, type WasmBackendOptions } from './wasm/index.js';
import { ArgumentError, NotSupportedError } from '../errors.js';

/** The selected backend, its threads, and why a faster one was not taken (if it was not). */
export interface BackendInfo {
  backend: string;
  threads: number;
  /** The wasm backend runs its relaxed-SIMD build (fused multiply-add). */
  relaxedSimd: boolean;
  fallbackReason?: string;
}

let info: BackendInfo = { backend: 'js', threads: 1, relaxedSimd: false };

/** What the last backend selection chose (`setBackend` by name afterwards is not tracked here). */
export function backendInfo(): BackendInfo {
  return { ...info };
}

/**
 * Registers the WebAssembly SIMD backend (with a pool of worker threads where the engine shares
 * memory, and fused multiply-adds where it has relaxed SIMD) and selects it; keeps the current
 * backend when WebAssembly SIMD or the compiled kernels are unavailable, and says why.
 * @example const { backend, threads } = await useFastestBackend(); // 'wasm' on Node 20 and current browsers
 */
export async function useFastestBackend(options: WasmBackendOptions = {}): Promise<BackendInfo> {
  try {
    const wasm = await createWasmBackend(options);
    registerBackend(wasm);
    setBackend('wasm');
    info = { backend: 'wasm', threads: wasm.threads, relaxedSimd: wasm.relaxedSimd };
  } catch (err) {
    if (err instanceof ArgumentError) throw err;
    info = { backend: getBackend().name, threads: 1, relaxedSimd: false, fallbackReason: (err as Error).message };
  }
  return backendInfo();
}

/** The selection made at import (see the file comment). Never rejects for lack of wasm. */
export async function selectDefaultBackend(): Promise<BackendInfo> {
  const env = (typeof process === 'object' ? process.env?.PIXELGRAD_BACKEND : undefined) || undefined;
  if (env === 'js') {
    setBackend('js');
    info = { backend: 'js', threads: 1, relaxedSimd: false };
    return backendInfo();
  }
  if (env === 'native') {
    throw new NotSupportedError('pixelgrad', 'PIXELGRAD_BACKEND=native is not available: the native backend is not built in this version (use wasm or js)');
  }
  if (env !== undefined && env !== 'wasm') {
    throw new ArgumentError('pixelgrad', `PIXELGRAD_BACKEND must be 'native', 'wasm' or 'js', got '${env}'`);
  }
  const chosen = await useFastestBackend();
  if (env === 'wasm' && chosen.fallbackReason) throw new NotSupportedError('pixelgrad', `PIXELGRAD_BACKEND=wasm, but ${chosen.fallbackReason}`);
  return chosen;
}
