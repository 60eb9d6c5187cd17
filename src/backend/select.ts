/**
 * Choosing the fastest backend that loads. The package entry (src/index.ts) awaits
 * `selectDefaultBackend()` at import, so ops run from the first one on: under Node, on the native
 * backend (C++ kernels, every hardware thread); where its addon was not built or in a browser, on
 * the WebAssembly SIMD backend; where that cannot load either, on the JS reference — with the reason
 * a faster one was not taken kept in `backendInfo()`. Under Node the environment can ask otherwise:
 *   PIXELGRAD_BACKEND=native|wasm|js   that backend, or an error saying why it cannot load;
 *   PIXELGRAD_THREADS=n                the native or wasm backend on n threads;
 *   PIXELGRAD_NATIVE_ISA=avx2|portable the native kernels on a lower instruction set (tests);
 *   PIXELGRAD_NATIVE_ADDON=path        another addon file (tests of the fallback point it nowhere).
 */
import { getBackend, registerBackend, setBackend } from './backend.js';
import { createWasmBackend, type WasmBackendOptions } from './wasm/index.js';
import { createNativeBackend, type NativeBackendOptions } from './native/index.js';
import { ArgumentError, NotSupportedError } from '../errors.js';

/** The selected backend, its threads, and why a faster one was not taken (if it was not). */
export interface BackendInfo {
  backend: string;
  threads: number;
  /** The instruction set the kernels run: avx512, avx2 or portable (native), wasm-simd128 or wasm-relaxed-simd, none (js). */
  isa: string;
  /** The wasm backend runs its relaxed-SIMD build (fused multiply-add). */
  relaxedSimd: boolean;
  fallbackReason?: string;
}

const JS_INFO: BackendInfo = { backend: 'js', threads: 1, isa: 'none', relaxedSimd: false };
let info: BackendInfo = { ...JS_INFO };

/** What the last backend selection chose (`setBackend` by name afterwards is not tracked here). */
export function backendInfo(): BackendInfo {
  return { ...info };
}

const isNode = (): boolean => typeof process === 'object' && typeof process.versions?.node === 'string';

/** Creates, registers and selects the native backend; rejects as createNativeBackend does. */
async function takeNative(options: NativeBackendOptions): Promise<void> {
  const native = await createNativeBackend(options);
  registerBackend(native);
  setBackend('native');
  info = { backend: 'native', threads: native.threads, isa: native.isa, relaxedSimd: false };
}

/** Creates, registers and selects the wasm backend; rejects as createWasmBackend does. */
async function takeWasm(options: WasmBackendOptions): Promise<void> {
  const wasm = await createWasmBackend(options);
  registerBackend(wasm);
  setBackend('wasm');
  info = { backend: 'wasm', threads: wasm.threads, isa: wasm.relaxedSimd ? 'wasm-relaxed-simd' : 'wasm-simd128', relaxedSimd: wasm.relaxedSimd };
}

/** Why a backend did not load; ArgumentErrors (bad options or environment) are rethrown. */
function reasonOf(err: unknown): string {
  if (err instanceof ArgumentError) throw err;
  return (err as Error).message;
}

/**
 * Registers and selects the fastest backend that loads: under Node the native backend, else (or
 * when its addon is missing) the WebAssembly SIMD backend (with a pool of worker threads where the
 * engine shares memory, and fused multiply-adds where it has relaxed SIMD); keeps the current
 * backend when neither loads. `fallbackReason` says why a faster backend was not taken.
 * @example const { backend, threads } = await useFastestBackend(); // 'native' under Node, 'wasm' in browsers
 */
export async function useFastestBackend(options: WasmBackendOptions & NativeBackendOptions = {}): Promise<BackendInfo> {
  let nativeReason: string | undefined;
  if (isNode()) {
    try {
      await takeNative({ threads: options.threads });
      return backendInfo();
    } catch (err) {
      nativeReason = reasonOf(err);
    }
  }
  try {
    await takeWasm(options);
    if (nativeReason) info.fallbackReason = nativeReason;
  } catch (err) {
    const reasons = [nativeReason, reasonOf(err)].filter(Boolean).join('; ');
    info = { ...JS_INFO, backend: getBackend().name, fallbackReason: reasons };
  }
  return backendInfo();
}

/** The selection made at import (see the file comment). Rejects only when PIXELGRAD_BACKEND names a backend that cannot load (or is invalid). */
export async function selectDefaultBackend(): Promise<BackendInfo> {
  const env = (isNode() ? process.env.PIXELGRAD_BACKEND : undefined) || undefined;
  if (env === 'js') {
    setBackend('js');
    info = { ...JS_INFO };
    return backendInfo();
  }
  if (env === 'native' || env === 'wasm') {
    try {
      await (env === 'native' ? takeNative({}) : takeWasm({}));
    } catch (err) {
      throw new NotSupportedError('pixelgrad', `PIXELGRAD_BACKEND=${env}, but ${reasonOf(err)}`);
    }
    return backendInfo();
  }
  if (env !== undefined) {
    throw new ArgumentError('pixelgrad', `PIXELGRAD_BACKEND must be 'native', 'wasm' or 'js', got '${env}'`);
  }
  return useFastestBackend();
}
