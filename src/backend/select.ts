/** Choosing the fastest backend the engine supports. */
import { getBackend, setBackend } from './backend.js';
import { registerWasmBackend } from './wasm/index.js';

/**
 * Registers the WebAssembly SIMD backend and selects it; keeps the JS backend when WebAssembly
 * SIMD (or the compiled kernels) are unavailable, and says why.
 * @example const { backend } = await useFastestBackend(); // 'wasm' on Node 20 and current browsers
 */
export async function useFastestBackend(): Promise<{ backend: string; fallbackReason?: string }> {
  try {
    await registerWasmBackend();
    setBackend('wasm');
    return { backend: 'wasm' };
  } catch (err) {
    return { backend: getBackend().name, fallbackReason: (err as Error).message };
  }
}
