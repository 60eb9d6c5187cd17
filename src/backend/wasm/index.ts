/**
 * The WebAssembly backend: float32 kernels compiled from assembly/ (AssemblyScript, f32x4 SIMD) to
 * modules next to this one (`npm run build:wasm`): kernels.wasm for one thread, and
 * kernels-threads.wasm, which runs on a shared memory with a pool of workers (threads.ts) where the
 * engine allows it; each also as a -relaxed build (fused multiply-add) for engines with relaxed
 * SIMD. They load in Node (read from disk) and in browsers (fetched and compiled as they stream);
 * everything the kernels do not run is delegated to the JS kernels (see kernels.ts).
 *
 *   await registerWasmBackend();
 *   setBackend('wasm');
 *
 * Nothing here imports a Node built-in statically: the file read goes through a dynamic import
 * taken only when running under Node, so the module stays browser-safe.
 */
import { registerBackend, type Backend } from '../backend.js';
import { ArgumentError, NotSupportedError } from '../../errors.js';
import { wasmKernels } from './kernels.js';
import { Arena, MAX_WASM_MEMORY, type WasmExports } from './runtime.js';
import { ThreadPool, hardwareThreads, sharedMemorySupported } from './threads.js';

export interface WasmBackendOptions {
  /**
   * Threads the kernels may use (this one included). Default: the hardware threads, or the
   * PIXELGRAD_THREADS environment variable under Node. 1, or an engine without shared memory and
   * workers, gives the single-threaded module.
   */
  threads?: number;
  /** Use the relaxed-SIMD builds (fused multiply-add). Default: where the engine has relaxed SIMD. */
  relaxedSimd?: boolean;
  /**
   * Where the compiled kernels come from, when the modules next to this one do not suit (e.g. a
   * bundler that puts assets elsewhere): a URL to fetch, the bytes, or a compiled module — of
   * kernels[-threads][-relaxed].wasm, as `threads` and `relaxedSimd` choose.
   */
  module?: URL | string | BufferSource | WebAssembly.Module;
  /**
   * The most WebAssembly memory, in bytes, one kernel call may use (default and at most 4 GiB); a
   * call that needs more throws a MemoryError naming the op and the shapes.
   */
  maxMemory?: number;
}

/** A module with one function returning a v128 constant: valid only where SIMD is supported. */
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: () -> v128
  0x03, 0x02, 0x01, 0x00, // function section
  0x0a, 0x16, 0x01, 0x14, 0x00, 0xfd, 0x0c, // code section: v128.const
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0b,
]);

/** A function computing relaxed_madd of three v128 constants: valid only with relaxed SIMD. */
const RELAXED_SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: () -> v128
  0x03, 0x02, 0x01, 0x00, // function section
  0x0a, 0x3d, 0x01, 0x3b, 0x00, // code section, one body without locals
  ...[0, 1, 2].flatMap(() => [0xfd, 0x0c, ...new Array<number>(16).fill(0)]), // three v128.const
  0xfd, 0x85, 0x02, 0x0b, // f32x4.relaxed_madd, end
]);

/** Whether this engine has relaxed SIMD (fused multiply-add), which the faster kernel builds use. */
export function relaxedSimdSupported(): boolean {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(RELAXED_SIMD_PROBE);
  } catch {
    return false;
  }
}

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

async function compileDefault(file: string): Promise<WebAssembly.Module> {
  const url = new URL(`./${file}`, import.meta.url);
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

const defaultModules = new Map<string, Promise<WebAssembly.Module>>();

async function compile(source: WasmBackendOptions['module'], file: string): Promise<WebAssembly.Module> {
  if (source === undefined) {
    let module = defaultModules.get(file);
    if (!module) {
      module = compileDefault(file).catch((err: unknown) => { defaultModules.delete(file); throw err; });
      defaultModules.set(file, module);
    }
    return module;
  }
  if (source instanceof WebAssembly.Module) return source;
  if (typeof source === 'string' || source instanceof URL) return compileFetched(source);
  return WebAssembly.compile(source);
}

/** The thread count asked for: the option, else PIXELGRAD_THREADS under Node, else the hardware's. */
async function requestedThreads(threads: number | undefined): Promise<number> {
  const env = isNode() ? process.env.PIXELGRAD_THREADS : undefined;
  const value = threads ?? (env ? Number(env) : await hardwareThreads());
  if (!Number.isInteger(value) || value < 1 || value > 256) {
    throw new ArgumentError('createWasmBackend', `threads must be an integer in [1, 256], got ${threads ?? `PIXELGRAD_THREADS=${env}`}`);
  }
  return value;
}

/** A wasm backend: the kernels, how many threads they run on, and whether with relaxed SIMD. */
export interface WasmBackend extends Backend {
  readonly threads: number;
  readonly relaxedSimd: boolean;
}

/**
 * A new wasm backend (its own instances and memory). Rejects with NotSupportedError where the
 * engine lacks WebAssembly SIMD; falls back to one thread where it cannot share memory.
 */
export async function createWasmBackend(options: WasmBackendOptions = {}): Promise<WasmBackend> {
  if (!wasmSimdSupported()) {
    throw new NotSupportedError('createWasmBackend', 'this JavaScript engine does not support WebAssembly SIMD, which the wasm backend needs; keep using the js backend');
  }
  const wanted = await requestedThreads(options.threads);
  const threads = wanted > 1 && sharedMemorySupported() ? wanted : 1;
  const hasRelaxedSimd = relaxedSimdSupported();
  const relaxedSimd = options.relaxedSimd ?? hasRelaxedSimd;
  if (relaxedSimd && !hasRelaxedSimd) {
    throw new NotSupportedError('createWasmBackend', 'relaxedSimd: this JavaScript engine does not support WebAssembly relaxed SIMD');
  }
  const maxMemory = options.maxMemory ?? MAX_WASM_MEMORY;
  if (!Number.isInteger(maxMemory) || maxMemory < 1 || maxMemory > MAX_WASM_MEMORY) {
    throw new ArgumentError('createWasmBackend', `maxMemory must be a positive integer of bytes up to 4 GiB (${MAX_WASM_MEMORY}), got ${maxMemory}`);
  }
  const suffix = relaxedSimd ? '-relaxed' : '';
  if (threads === 1) {
    const instance = await WebAssembly.instantiate(await compile(options.module, `kernels${suffix}.wasm`), {});
    return { name: 'wasm', threads, relaxedSimd, kernels: wasmKernels(new Arena(instance.exports as unknown as WasmExports, maxMemory), null) };
  }
  const module = await compile(options.module, `kernels-threads${suffix}.wasm`);
  const memory = new WebAssembly.Memory({ initial: 64, maximum: 65536, shared: true });
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  const pool = await ThreadPool.create(module, memory, instance.exports, threads);
  return { name: 'wasm', threads, relaxedSimd, kernels: wasmKernels(new Arena(instance.exports as unknown as WasmExports, maxMemory), pool) };
}

/**
 * Creates the wasm backend and registers it as 'wasm' (select it with `setBackend('wasm')`). On
 * failure (no SIMD: NotSupportedError) nothing is registered and the current backend stays.
 */
export async function registerWasmBackend(options: WasmBackendOptions = {}): Promise<void> {
  registerBackend(await createWasmBackend(options));
}
