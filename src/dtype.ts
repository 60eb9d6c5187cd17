/**
 * Element types. float32 is the default; int32 holds labels, indices and masks (comparisons return
 * int32 0/1); float64 exists so that gradients can be checked with finite differences.
 *
 * `'int64'`, PyTorch's dtype for class targets and indices, is accepted wherever a dtype is given
 * and stored as int32: every value must fit in int32 (an error otherwise), so kernels need no
 * 64-bit paths and PyTorch's int64 tensors, state dicts and fixtures carry over unchanged.
 *
 * Every allocation of tensor memory goes through `allocArray`, which refuses, before allocating,
 * shapes of more than `MAX_ELEMENTS` elements and tensors of more than `getMaxTensorBytes()` bytes.
 */
import { ArgumentError, DTypeError, MemoryError, NotSupportedError, fmtShape } from './errors.js';
import { fmtValue } from './options.js';
import { checkShape, sizeOf, type Shape } from './shape.js';

export type DType = 'float32' | 'float64' | 'int32';
/** The dtype names that entry points accept: the stored dtypes, and 'int64' (stored as int32). */
export type DTypeName = DType | 'int64';
export type FloatArray = Float32Array | Float64Array;
export type TypedArray = Float32Array | Float64Array | Int32Array;

/** Every accepted dtype name, for error messages and option checks. */
export const DTYPES: readonly DTypeName[] = ['float32', 'float64', 'int32', 'int64'];

/** PyTorch dtypes pixelgrad knows but does not hold: asking for one is NotSupportedError, not a typo. */
const UNSUPPORTED_DTYPES: readonly string[] = ['float16', 'bfloat16', 'uint8', 'int8', 'int16', 'uint16', 'uint32', 'uint64', 'bool', 'complex64', 'complex128'];

const SUPPORTED = "'float32', 'float64', 'int32', 'int64' (stored as int32)";

/**
 * The stored dtype for a dtype name given to `op` ('int64' → 'int32'); anything else is an error
 * naming `op`, the argument and the supported dtypes.
 */
export function resolveDType(op: string, dtype: unknown, arg = 'dtype'): DType {
  if (dtype === 'float32' || dtype === 'float64' || dtype === 'int32') return dtype;
  if (dtype === 'int64') return 'int32';
  if (typeof dtype === 'string' && UNSUPPORTED_DTYPES.includes(dtype)) {
    throw new NotSupportedError(op, `${arg} '${dtype}' is not supported; pixelgrad holds ${SUPPORTED}`);
  }
  throw new DTypeError(op, `${arg} must be one of ${SUPPORTED}, got ${fmtValue(dtype)}`);
}

export const BYTES_PER_ELEMENT: Readonly<Record<DType, number>> = { float32: 4, float64: 8, int32: 4 };

/**
 * The most elements one tensor may hold, 2^31 − 1: kernels index with int32 (and WebAssembly memory
 * ends at 4 GiB), and larger typed arrays are refused by some engines.
 */
export const MAX_ELEMENTS = 2 ** 31 - 1;

/** The default limit on one tensor's memory: 4 GiB. */
export const DEFAULT_MAX_TENSOR_BYTES = 2 ** 32;

function envMaxBytes(): number {
  const v = typeof process === 'object' ? process.env?.PIXELGRAD_MAX_TENSOR_BYTES : undefined;
  if (v === undefined || v === '') return DEFAULT_MAX_TENSOR_BYTES;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new ArgumentError('PIXELGRAD_MAX_TENSOR_BYTES', `must be a positive integer number of bytes, got '${v}'`);
  return n;
}

/** Read from the environment at the first allocation, not at import: a bad value is then an error the command reports in one line. */
let maxTensorBytes: number | undefined;

/** The limit on one tensor's memory in bytes (default 4 GiB, or the PIXELGRAD_MAX_TENSOR_BYTES environment variable). */
export function getMaxTensorBytes(): number {
  return (maxTensorBytes ??= envMaxBytes());
}

/**
 * Sets the limit on one tensor's memory in bytes (`null`: back to the default), e.g. to load a
 * dataset larger than 4 GiB as one tensor, or to fail early in a small browser tab.
 * @example setMaxTensorBytes(16 * 2 ** 30);
 */
export function setMaxTensorBytes(bytes: number | null): void {
  if (bytes !== null && (!Number.isSafeInteger(bytes) || bytes <= 0)) throw new ArgumentError('setMaxTensorBytes', `bytes must be a positive integer or null, got ${fmtValue(bytes)}`);
  maxTensorBytes = bytes ?? DEFAULT_MAX_TENSOR_BYTES;
}

/** `1.5 GiB`-style sizes for messages. */
export function fmtBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = bytes, u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return u === 0 ? `${v} bytes` : `${Number(v.toPrecision(3))} ${units[u]}`;
}

/**
 * An array for a tensor of `shape` made by `op`: the shape is checked (non-negative integers), and
 * a size over `MAX_ELEMENTS` or the byte limit is refused with the op, the shape and the bytes it
 * would need, before anything is allocated. The array is zero-filled unless `zeroed` is false,
 * which only ops whose kernels write every element may ask for (see `uninitializedArray`).
 */
export function allocArray(op: string, dtype: DType, shape: Shape, zeroed = true): TypedArray {
  const { n, bytes } = checkAllocation(op, dtype, shape);
  try {
    const spare = bytes >= MIN_UNCLEARED_BYTES ? takeSpareBuffer(bytes) : undefined;
    const array = spare ? typedView(dtype, spare, n) : zeroed ? arrayFor(dtype, n) : uninitializedArray(dtype, n, bytes);
    if (spare) {
      if (zeroed) array.fill(0);
      else if ((poisonUninitialized ??= readFillSetting())) new Uint8Array(spare).fill(0xff);
    }
    if (allocationLog && bytes >= MIN_UNCLEARED_BYTES && ownsBuffer(array)) allocationLog.add(array.buffer as ArrayBuffer);
    return array;
  } catch (e) {
    if (e instanceof RangeError) throw new MemoryError(op, `cannot allocate ${fmtBytes(bytes)} for ${describe(dtype, shape)}: ${e.message}`);
    throw e;
  }
}

/**
 * The checks of `allocArray` without allocating: for ops that would build large index maps or
 * scratch buffers from an output shape before allocating the output itself.
 */
export function checkAllocation(op: string, dtype: DType, shape: Shape): { n: number; bytes: number } {
  checkShape(op, shape);
  const n = sizeOf(shape);
  const bytes = n * BYTES_PER_ELEMENT[dtype];
  if (n > MAX_ELEMENTS) {
    throw new MemoryError(op, `${describe(dtype, shape)} has ${n} elements (${fmtBytes(bytes)}), more than one tensor may hold (${MAX_ELEMENTS}, 2^31 − 1)`);
  }
  if (bytes > getMaxTensorBytes()) {
    const exact = bytes >= 1024 ? ` (${bytes} bytes)` : '';
    throw new MemoryError(op, `${describe(dtype, shape)} needs ${fmtBytes(bytes)}${exact}, over the limit of ${fmtBytes(getMaxTensorBytes())} per tensor (raise it with setMaxTensorBytes() or PIXELGRAD_MAX_TENSOR_BYTES)`);
  }
  return { n, bytes };
}

/** For messages (a function, not a string built on every allocation). */
function describe(dtype: DType, shape: Shape): string {
  return `a ${dtype} tensor of shape ${fmtShape(shape)}`;
}

/** A zero-filled array; callers outside this module go through `allocArray`, which checks the size. */
function arrayFor(dtype: DType, size: number): TypedArray {
  switch (dtype) {
    case 'float32': return new Float32Array(size);
    case 'float64': return new Float64Array(size);
    case 'int32': return new Int32Array(size);
  }
}

/** Node's Buffer, whose allocUnsafeSlow takes memory from malloc without clearing it; absent in browsers. */
const NodeBuffer = (globalThis as { Buffer?: { allocUnsafeSlow?(bytes: number): Uint8Array } }).Buffer;
/** Below this many bytes clearing costs less than the Buffer call. */
const MIN_UNCLEARED_BYTES = 4096;
/**
 * PIXELGRAD_FILL_UNINITIALIZED=nan fills uninitialised arrays with all-ones bytes (NaN as floats, -1
 * as int32), so that a kernel that leaves part of its output unwritten fails the tests (they run
 * with it) instead of leaking stale memory now and then.
 */
let poisonUninitialized: boolean | undefined;
/**
 * Reads the memory settings from the environment now (PIXELGRAD_MAX_TENSOR_BYTES,
 * PIXELGRAD_FILL_UNINITIALIZED), so that a command refuses a bad value before it writes anything;
 * the library otherwise reads them at the first allocation that needs them.
 */
export function readMemorySettings(): void {
  getMaxTensorBytes();
  poisonUninitialized ??= readFillSetting();
}

/** Reads PIXELGRAD_FILL_UNINITIALIZED at the first such allocation (an error there, not at import). */
function readFillSetting(): boolean {
  const v = typeof process === 'object' ? process.env?.PIXELGRAD_FILL_UNINITIALIZED : undefined;
  if (v === undefined || v === '') return false;
  if (v !== 'nan') throw new ArgumentError('PIXELGRAD_FILL_UNINITIALIZED', `must be 'nan' or unset, got '${v}'`);
  return true;
}

/**
 * An array whose contents are unspecified: under Node, large ones come from malloc without being
 * cleared (after a training step frees its tensors, the next one reuses that memory while it is in
 * cache, instead of clearing megabytes the kernels overwrite at once); elsewhere, zero-filled.
 */
function uninitializedArray(dtype: DType, size: number, bytes: number): TypedArray {
  let array: TypedArray;
  if (NodeBuffer?.allocUnsafeSlow && bytes >= MIN_UNCLEARED_BYTES) {
    const { buffer, byteOffset } = NodeBuffer.allocUnsafeSlow(bytes);
    array = dtype === 'float32' ? new Float32Array(buffer, byteOffset, size)
      : dtype === 'float64' ? new Float64Array(buffer, byteOffset, size) : new Int32Array(buffer, byteOffset, size);
  } else {
    array = arrayFor(dtype, size);
  }
  if ((poisonUninitialized ??= readFillSetting())) new Uint8Array(array.buffer, array.byteOffset, array.byteLength).fill(0xff);
  return array;
}

/** An array of `size` elements of `dtype` over the start of `buffer`. */
function typedView(dtype: DType, buffer: ArrayBuffer, size: number): TypedArray {
  switch (dtype) {
    case 'float32': return new Float32Array(buffer, 0, size);
    case 'float64': return new Float64Array(buffer, 0, size);
    case 'int32': return new Int32Array(buffer, 0, size);
  }
}

/** Whether the array is the whole of its buffer (not a view into a larger one). */
export const ownsBuffer = (a: TypedArray): boolean => a.byteOffset === 0 && a.byteLength === a.buffer.byteLength;

/**
 * Buffers of gradients that the autograd engine found dead during a backward pass (see
 * `recycleBuffer`), by byte length. The next allocations of those sizes take them: a training
 * step's gradients have the sizes of the next step's activations, so the step reuses memory that
 * is still in cache instead of having the garbage collector sweep tens of fresh megabytes.
 */
const spareBuffers = new Map<number, ArrayBuffer[]>();
let spareBytes = 0;
/** The most memory kept for reuse: about one backward pass's gradients of a mid-sized CNN. */
const MAX_SPARE_BYTES = 2 ** 26;

function takeSpareBuffer(bytes: number): ArrayBuffer | undefined {
  const buffer = spareBuffers.get(bytes)?.pop();
  if (buffer) spareBytes -= bytes;
  return buffer;
}

/**
 * Gives a buffer back for reuse. Only the autograd engine calls this, for a gradient that it made
 * during the backward pass in progress and that nothing can reach any more (see engine.ts).
 */
export function recycleBuffer(buffer: ArrayBuffer): void {
  if (buffer.byteLength < MIN_UNCLEARED_BYTES || spareBytes + buffer.byteLength > MAX_SPARE_BYTES) return;
  let list = spareBuffers.get(buffer.byteLength);
  if (!list) spareBuffers.set(buffer.byteLength, (list = []));
  list.push(buffer);
  spareBytes += buffer.byteLength;
}

/** The bytes held for reuse (tests). */
export const spareBufferBytes = (): number => spareBytes;

/** Drops the buffers held for reuse (tests). */
export function releaseSpareBuffers(): void {
  spareBuffers.clear();
  spareBytes = 0;
}

/** While set (by the engine, during a backward pass): the buffers allocated since. */
let allocationLog: WeakSet<ArrayBuffer> | null = null;

/** Starts logging allocations into `log` (null: stops); returns the previous log, to restore. */
export function logAllocations(log: WeakSet<ArrayBuffer> | null): WeakSet<ArrayBuffer> | null {
  const previous = allocationLog;
  allocationLog = log;
  return previous;
}

/** A zero-filled array of `n` elements of x's type, for kernels' scratch. */
export const arrayLike = (x: TypedArray, n: number): TypedArray => new (x.constructor as new (n: number) => TypedArray)(n);

/** The dtype of a tensor's array; anything but Float32Array, Float64Array and Int32Array is an error naming `op`. */
export function dtypeOf(data: unknown, op = 'Tensor'): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  const got = ArrayBuffer.isView(data) ? data.constructor.name : data === null ? 'null' : typeof data;
  throw new DTypeError(op, `data must be a Float32Array, Float64Array or Int32Array, got ${got}`);
}

export const isFloat = (dtype: DType): boolean => dtype !== 'int32';

const INT32_MIN = -(2 ** 31), INT32_MAX = 2 ** 31 - 1;

/**
 * Throws unless every value (truncated toward zero, as a cast does) fits in int32; `name` is the
 * dtype asked for, so that 'int64' data that does not fit says why.
 */
export function checkInt32Range(op: string, name: DTypeName, values: ArrayLike<number | bigint>): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const fits = typeof v === 'bigint' ? v >= INT32_MIN && v <= INT32_MAX : Number.isFinite(v) && Math.trunc(v) >= INT32_MIN && Math.trunc(v) <= INT32_MAX;
    if (!fits) {
      const why = name === 'int64' ? 'int64 tensors are stored as int32, so every value must fit in' : 'it does not fit in';
      throw new DTypeError(op, `value ${v} at index ${i} cannot be ${name}: ${why} [${INT32_MIN}, ${INT32_MAX}]`);
    }
  }
}

/** The result type of a binary op, as in PyTorch: float64 > float32 > int32. */
export function promote(a: DType, b: DType): DType {
  if (a === 'float64' || b === 'float64') return 'float64';
  if (a === 'float32' || b === 'float32') return 'float32';
  return 'int32';
}
