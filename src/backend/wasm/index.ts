/**
 * The WebAssembly backend: float32 kernels compiled from assembly/ (AssemblyScript, f32x4 SIMD) to
 * kernels.wasm, which sits next to this module (`npm run build:wasm`). It loads in Node (read from
 * disk) and in browsers (fetched and compiled as it streams); everything it does not run itself is
 * delegated to the JS kernels (see kernels.ts).
 *
 *   await registerWasmBackend();
 *   setBackend('wasm');
 *
 * Nothing here imports a Node built-in statically: the file read goes through a dynamic import
 * taken only when running under Node, so the module stays browser-safe.
 */
import { registerBackend, type Backend } from '../backend.js';
import { NotSupportedError } from '../../errors.js';
import { wasmKernels } from './kernels.js';
import { Arena, type WasmExports } from './runtime.js';

export interface WasmBackendOptions {
  /**
   * Where the compiled kernels come from, when kernels.wasm next to this module does not suit
   * (e.g. a bundler that puts assets elsewhere): a URL to fetch, the bytes, or a compiled module.
   */
  module?: URL | string | BufferSource | WebAssembly.Module;
}

/** A module with one function returning a v128 constant: valid only where SIMD is supported. */
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: () -> v128
  0x03, 0x02, 0x01, 0x00, // function section
  0x0a, 0x16, 0x01, 0x14, 0x00, 0xfd, 0x0c, // code section: v128.const
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0b,
]);

/** Whether this engine runs WebAssembly with 128-bit SIMD, which the wasm backend needs. */
export function wasmSimdSupported(): boolean {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

const isNode = (): boolean => typeof process === 'object' && typeof process.versions?.node === 'string';

async function compileFetched(url: URL | string): Promise<WebAssembly.Module> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`createWasmBackend: fetching ${String(url)} failed (${response.status} ${response.statusText})`);
  if (typeof WebAssembly.compileStreaming === 'function' && response.headers.get('content-type')?.startsWith('application/wasm')) {
    return WebAssembly.compileStreaming(response);
  }
  return WebAssembly.compile(await response.arrayBuffer());
}

async function compileDefault(): Promise<WebAssembly.Module> {
  const url = new URL('./kernels.wasm', import.meta.url);
  if (url.protocol === 'file:' && isNode()) {
    // A computed specifier: bundlers leave it alone and browsers never reach this line.
    const fsModule = 'node:fs/promises';
    const fs = (await import(fsModule)) as { readFile(path: URL): Promise<BufferSource> };
    let bytes: BufferSource;
    try {
      bytes = await fs.readFile(url);
    } catch (err) {
      throw new Error(`createWasmBackend: cannot read ${url.pathname} (run \`npm run build:wasm\`): ${(err as Error).message}`);
    }
    return WebAssembly.compile(bytes);
  }
  return compileFetched(url);
}

let defaultModule: Promise<WebAssembly.Module> | null = null;

async function compile(source: WasmBackendOptions['module']): Promise<WebAssembly.Module> {
  if (source === undefined) {
    defaultModule ??= compileDefault().catch((err: unknown) => { defaultModule = null; throw err; });
    return defaultModule;
  }
  if (source instanceof WebAssembly.Module) return source;
  if (typeof source === 'string' || source instanceof URL) return compileFetched(source);
  return WebAssembly.compile(source);
}

/**
 * A new wasm backend (its own instance and memory). Rejects with NotSupportedError where the
 * engine lacks WebAssembly SIMD.
 */
export async function createWasmBackend(options: WasmBackendOptions = {}): Promise<Backend> {
  if (!wasmSimdSupported()) {
    throw new NotSupportedError('createWasmBackend', 'this JavaScript engine does not support WebAssembly SIMD, which the wasm backend needs; keep using the js backend');
  }
  const instance = await WebAssembly.instantiate(await compile(options.module), {});
  const exports = instance.exports as unknown as WasmExports;
  return { name: 'wasm', kernels: wasmKernels(new Arena(exports)) };
}

/**
 * Creates the wasm backend and registers it as 'wasm' (select it with `setBackend('wasm')`). On
 * failure (no SIMD: NotSupportedError) nothing is registered and the current backend stays.
 */
export async function registerWasmBackend(options: WasmBackendOptions = {}): Promise<void> {
  registerBackend(await createWasmBackend(options));
}
