/**
 * The host side of the WebAssembly kernels: their exports, and the scratch arena in linear memory.
 * Each kernel call resets the arena, copies its inputs in, runs, and copies the output out; the
 * memory grows when a call needs more and is reused afterwards (it never shrinks).
 */
import type { TypedArray } from '../../dtype.js';

/** The functions compiled from assembly/ (pointers are byte offsets; flags are 0/1). */
export interface WasmExports {
  readonly memory: WebAssembly.Memory;
  heapBase(): number;
  gemmWorkBytes(): number;
  gemm(M: number, N: number, K: number, a: number, ars: number, acs: number, b: number, brs: number, bcs: number,
    c: number, ldc: number, accumulate: number, work: number): void;
  packedBFloats(K: number, N: number): number;
  packBWhole(b: number, brs: number, bcs: number, K: number, N: number, dst: number): void;
  convWorkBytes(geo: number): number;
  convFusedWorkBytes(geo: number, pgeo: number): number;
  conv2dFused(x: number, w: number, bias: number, out: number, geo: number, relu: number, pgeo: number, work: number): void;
  conv2dBackwardInput(gOut: number, w: number, gx: number, geo: number, work: number): void;
  conv2dBackwardWeight(x: number, gOut: number, gw: number, geo: number, work: number): void;
  rowBiasRelu(out: number, bias: number, M: number, N: number, relu: number): void;
  channelBiasRelu(p: number, bias: number, N: number, C: number, P: number, relu: number): void;
  channelSums(a: number, aCenter: number, b: number, bCenter: number, N: number, C: number, P: number, sumA: number, sumAB: number, aMask: number): void;
  channelMix(a: number, aCenter: number, aScale: number, b: number, bCenter: number, bScale: number, shift: number, N: number, C: number, P: number, out: number, aMask: number): void;
  maxPool2d(x: number, out: number, argmax: number, geo: number): void;
  maxPool2dBackward(gOut: number, argmax: number, gx: number, geo: number): void;
  avgPool2d(x: number, out: number, geo: number, includePad: number, divisor: number): void;
  avgPool2dBackward(gOut: number, gx: number, geo: number, includePad: number, divisor: number): void;
  lstmCell(xw: number, hw: number, bias: number, c: number, B: number, H: number, gates: number, hOut: number, cOut: number): void;
  lstmCellBackward(gates: number, c: number, hOut: number, gH: number, gC: number, B: number, H: number, dPre: number, dc: number): void;
  lstmSequence(args: number, lo: number, hi: number, work: number): void;
  lstmSequenceBackward(args: number, lo: number, hi: number, work: number): void;
  unary(op: number, x: number, out: number, n: number, p0: number, p1: number): void;
  binary(op: number, a: number, b: number, out: number, nd: number, meta: number): void;
  where(cond: number, condFloat: number, a: number, b: number, out: number, nd: number, meta: number): void;
  copyStrided(x: number, out: number, nd: number, meta: number): void;
  reduce(op: number, x: number, nd: number, meta: number, out: number, outSize: number, acc: number): void;
}

const PAGE = 65536;
/** Grow in steps of at least 4 MiB, so that a growing workload does not grow on every call. */
const GROW_STEP = 64 * PAGE;
/** The most a 32-bit WebAssembly memory can hold. */
export const MAX_WASM_MEMORY = 65536 * PAGE;

/**
 * A kernel call needs more of the arena than the memory can hold; the kernel table turns it into a
 * MemoryError naming the op and the shapes.
 */
export class ArenaFullError extends Error {
  constructor(readonly bytes: number, readonly limit: number) {
    super(`the WebAssembly memory cannot hold ${bytes} bytes (limit ${limit})`);
  }
}

export class Arena {
  readonly memory: WebAssembly.Memory;
  private readonly base: number;
  private top: number;

  /** @param maxBytes the most this arena may grow the memory to (at most 4 GiB, the default). */
  constructor(readonly exports: WasmExports, readonly maxBytes = MAX_WASM_MEMORY) {
    this.memory = exports.memory;
    this.base = exports.heapBase();
    this.top = this.base;
  }

  /** Frees everything: the start of each kernel call. */
  reset(): void {
    this.top = this.base;
  }

  /** `bytes` of uninitialised memory, 16-byte aligned. */
  alloc(bytes: number): number {
    const p = this.top;
    this.top = Math.ceil((p + bytes) / 16) * 16;
    const size = this.memory.buffer.byteLength;
    if (this.top > size) {
      if (this.top > this.maxBytes) throw new ArenaFullError(this.top, this.maxBytes);
      const pages = Math.ceil(Math.min(Math.max(this.top - size, GROW_STEP), this.maxBytes - size) / PAGE);
      try {
        this.memory.grow(pages);
      } catch {
        throw new ArenaFullError(this.top, size); // the engine would not give more (e.g. a browser tab's limit)
      }
    }
    return p;
  }

  f32(ptr: number, n: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, n);
  }

  i32(ptr: number, n: number): Int32Array {
    return new Int32Array(this.memory.buffer, ptr, n);
  }

  /** Copies x in as float32 (int32 values are converted). */
  putF32(x: TypedArray): number {
    const p = this.alloc(x.length * 4);
    this.f32(p, x.length).set(x);
    return p;
  }

  /** Copies the raw 32-bit words of x in (float32 or int32, unconverted). */
  putBits(x: Float32Array | Int32Array): number {
    const p = this.alloc(x.length * 4);
    if (x instanceof Float32Array) this.f32(p, x.length).set(x);
    else this.i32(p, x.length).set(x);
    return p;
  }

  putInts(values: readonly number[]): number {
    const p = this.alloc(values.length * 4);
    this.i32(p, values.length).set(values);
    return p;
  }
}
