/**
 * The safetensors format (Hugging Face's): an 8-byte little-endian u64 N, then N bytes of UTF-8
 * JSON header `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {string: string}}`,
 * then the tensors' raw little-endian row-major bytes, with offsets counted from the end of the
 * header. Browser-safe: no Node imports (see `src/io/node.ts` for files).
 *
 * Writing follows the reference implementation byte for byte: tensors sorted by descending dtype
 * alignment (F64, then F32, then I32), then by name; the header is compact JSON with
 * `__metadata__` first and each entry as `{"dtype","shape","data_offsets"}`, padded with spaces
 * to a multiple of 8 bytes so that the data starts 8-byte aligned. (The reference keeps metadata in
 * a hash map, so its key order is unspecified there; here the keys are sorted.)
 *
 * Reading trusts nothing: the header length, the UTF-8, the JSON, every entry's dtype, shape and
 * offsets, and that the tensors tile the data region exactly (no gap, no overlap, nothing after)
 * are checked before any tensor is made, as the reference reader does. Tensors get their own
 * memory (the input may be reused). Besides F32, F64 and I32, three common dtypes are converted
 * exactly: F16 and BF16 to float32, and I64 to int32 when every value fits (PyTorch stores
 * counters such as BatchNorm's `num_batches_tracked` as I64). Every other dtype of the format
 * (BOOL, U8, I8, I16, U16, U32, U64, F8_*) is rejected with `NotSupportedError`.
 */
import { NotSupportedError, PixelgradError, describeValue as describe, fmtText as quote } from '../errors.js';
import { Tensor } from '../tensor.js';

/** A safetensors file (or buffer) that breaks the format; the message names the file and the problem. */
export class SafetensorsError extends PixelgradError {}

/** What `parseSafetensors` returns: the tensors by name, and the `__metadata__` strings. */
export interface SafetensorsContents {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

/** The reference reader's limit on the header, in bytes. */
export const MAX_HEADER_BYTES = 100_000_000;

/** Every dtype of the format, in the reference's order (increasing alignment), with its size in bytes. */
const DTYPE_SIZES: Readonly<Record<string, number>> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
};
const DTYPE_RANK: Readonly<Record<string, number>> = Object.fromEntries(Object.keys(DTYPE_SIZES).map((k, i) => [k, i]));

const TO_FILE = { float32: 'F32', float64: 'F64', int32: 'I32' } as const;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** Sets `obj[key]` as an own property, even for keys such as `__proto__`. */
function put<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

// ---- writing ----

/**
 * The safetensors bytes of `tensors` (float32 → F32, float64 → F64, int32 → I32), with optional
 * `__metadata__` strings. Byte-identical to the reference writer for the same tensors.
 * @example const bytes = serializeSafetensors(model.stateDict(), { format: 'pt' });
 */
export function serializeSafetensors(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Uint8Array {
  const op = 'serializeSafetensors';
  if (tensors === null || typeof tensors !== 'object' || Array.isArray(tensors) || tensors instanceof Tensor) {
    throw new SafetensorsError(op, `tensors must be an object { name: Tensor }, got ${describe(tensors)}`);
  }
  const entries: { name: string; t: Tensor; dtype: 'F32' | 'F64' | 'I32' }[] = [];
  for (const name of Object.keys(tensors)) {
    const t = tensors[name];
    if (!(t instanceof Tensor)) throw new SafetensorsError(op, `tensors[${quote(name)}] must be a Tensor, got ${describe(t)}`);
    if (name === '__metadata__') throw new SafetensorsError(op, `'__metadata__' is reserved for the metadata and cannot name a tensor`);
    entries.push({ name, t, dtype: TO_FILE[t.dtype] });
  }
  let meta: [string, string][] | null = null;
  if (metadata !== undefined) {
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
      throw new SafetensorsError(op, `metadata must be an object { key: string }, got ${describe(metadata)}`);
    }
    meta = Object.keys(metadata).sort(byCodePoint).map((k) => {
      const v = metadata[k];
      if (typeof v !== 'string') throw new SafetensorsError(op, `metadata[${quote(k)}] must be a string, got ${describe(v)}`);
      return [k, v];
    });
  }
  // The reference's order: descending dtype alignment, then name (byte-wise, i.e. code points).
  entries.sort((a, b) => DTYPE_RANK[b.dtype] - DTYPE_RANK[a.dtype] || byCodePoint(a.name, b.name));

  const parts: string[] = [];
  if (meta) parts.push(`"__metadata__":{${meta.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
  let offset = 0;
  for (const e of entries) {
    const n = e.t.data.byteLength;
    parts.push(`${JSON.stringify(e.name)}:{"dtype":"${e.dtype}","shape":[${e.t.shape.join(',')}],"data_offsets":[${offset},${offset + n}]}`);
    offset += n;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerLen = json.length + ((8 - (json.length % 8)) % 8);
  if (headerLen > MAX_HEADER_BYTES) throw new SafetensorsError(op, `the header would be ${headerLen} bytes, over the format's limit of ${MAX_HEADER_BYTES}`);
  const out = new Uint8Array(8 + headerLen + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLen, true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);
  let at = 8 + headerLen;
  for (const e of entries) {
    writeLE(e.t, out, at);
    at += e.t.data.byteLength;
  }
  return out;
}

function writeLE(t: Tensor, out: Uint8Array, at: number): void {
  const d = t.data;
  if (LITTLE_ENDIAN) {
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), at);
    return;
  }
  const view = new DataView(out.buffer, out.byteOffset + at, d.byteLength);
  for (let i = 0; i < d.length; i++) {
    if (d instanceof Float64Array) view.setFloat64(i * 8, d[i], true);
    else if (d instanceof Float32Array) view.setFloat32(i * 4, d[i], true);
    else view.setInt32(i * 4, d[i], true);
  }
}

/** Compares strings by code point (UTF-8 byte order), as Rust sorts them; not by UTF-16 unit. */
function byCodePoint(a: string, b: string): number {
  if (a === b) return 0;
  const ia = a[Symbol.iterator](), ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next(), y = ib.next();
    if (x.done) return y.done ? 0 : -1;
    if (y.done) return 1;
    const cx = x.value.codePointAt(0)!, cy = y.value.codePointAt(0)!;
    if (cx !== cy) return cx - cy;
  }
}

// ---- reading ----

interface Entry { name: string; dtype: string; shape: number[]; begin: number; end: number }

/**
 * Reads safetensors bytes, checking everything first; `name` (a file name, say) starts every error
 * message. Throws `SafetensorsError` for a malformed file and `NotSupportedError` for a tensor of
 * a dtype pixelgrad cannot hold (see the module's comment for the conversions).
 */
export function parseSafetensors(bytes: Uint8Array, name = 'safetensors data'): SafetensorsContents {
  const op = 'parseSafetensors';
  const fail = (msg: string): never => { throw new SafetensorsError(op, `${name}: ${msg}`); };
  if (!(bytes instanceof Uint8Array)) fail(`expected a Uint8Array, got ${describe(bytes)}`);
  if (bytes.length < 8) fail(`only ${bytes.length} bytes; a safetensors file starts with an 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = view.getUint32(0, true), hi = view.getUint32(4, true);
  const headerLen = hi * 4294967296 + lo; // may be inexact above 2^53, but then it is far over the limit anyway
  if (hi !== 0 || headerLen > MAX_HEADER_BYTES) fail(`the header length ${hi === 0 ? headerLen : `${hi}·2^32 + ${lo}`} is over the limit of ${MAX_HEADER_BYTES} bytes (not a safetensors file, or a corrupt one)`);
  if (headerLen > bytes.length - 8) fail(`the header length ${headerLen} is larger than the ${bytes.length - 8} bytes after it (the file is truncated or not a safetensors file)`);
  if (headerLen < 2) fail(`the header length ${headerLen} is too short for a JSON object`);

  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + headerLen));
  } catch {
    fail('the header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    fail(`the header is not valid JSON (${(err as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail(`the header must be a JSON object, got ${describe(header)}`);
  const h = header as Record<string, unknown>;

  const metadata: Record<string, string> = {};
  if (hasOwn(h, '__metadata__')) {
    const m = h.__metadata__;
    if (m === null || typeof m !== 'object' || Array.isArray(m)) fail(`__metadata__ must be an object of strings, got ${describe(m)}`);
    for (const [k, v] of Object.entries(m as Record<string, unknown>)) {
      if (typeof v !== 'string') fail(`__metadata__[${quote(k)}] must be a string, got ${describe(v)}`);
      put(metadata, k, v as string);
    }
  }

  const dataLen = bytes.length - 8 - headerLen;
  const entries: Entry[] = [];
  for (const key of Object.keys(h)) {
    if (key === '__metadata__') continue;
    const e = h[key] as Record<string, unknown> | null;
    const at = `tensor ${quote(key)}`;
    if (e === null || typeof e !== 'object' || Array.isArray(e)) fail(`${at}: expected { dtype, shape, data_offsets }, got ${describe(e)}`);
    const entry = e as Record<string, unknown>;
    for (const k of Object.keys(entry)) {
      if (k !== 'dtype' && k !== 'shape' && k !== 'data_offsets') fail(`${at}: unknown field ${quote(k)} (expected dtype, shape, data_offsets)`);
    }
    const { dtype, shape, data_offsets: offsets } = entry;
    if (typeof dtype !== 'string' || !hasOwn(DTYPE_SIZES, dtype)) fail(`${at}: unknown dtype ${describe(dtype)} (the format has ${Object.keys(DTYPE_SIZES).join(', ')})`);
    if (!Array.isArray(shape) || shape.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)) {
      fail(`${at}: shape must be an array of non-negative integers, got ${describe(shape)}`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || offsets.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)) {
      fail(`${at}: data_offsets must be [begin, end], two non-negative integers, got ${describe(offsets)}`);
    }
    const [begin, end] = offsets as number[];
    if (begin > end) fail(`${at}: data_offsets [${begin},${end}] end before they begin`);
    if (end > dataLen) fail(`${at}: data_offsets [${begin},${end}] run past the end of the data (${dataLen} bytes)`);
    const dims = shape as number[];
    let count = 1;
    for (const d of dims) count *= d;
    const nbytes = count * DTYPE_SIZES[dtype as string];
    if (!Number.isSafeInteger(nbytes) || nbytes !== end - begin) {
      fail(`${at}: shape ${describe(dims)} of ${dtype} needs ${Number.isSafeInteger(nbytes) ? nbytes : 'too many'} bytes but data_offsets [${begin},${end}] hold ${end - begin}`);
    }
    entries.push({ name: key, dtype: dtype as string, shape: dims, begin, end });
  }

  // The tensors must tile the data region exactly, as the reference reader requires.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i];
    if (e.begin < pos) {
      const prev = sorted[i - 1];
      fail(`tensors ${quote(prev.name)} [${prev.begin},${prev.end}] and ${quote(e.name)} [${e.begin},${e.end}] overlap`);
    }
    if (e.begin > pos) fail(`bytes [${pos},${e.begin}) of the data belong to no tensor (before ${quote(e.name)})`);
    pos = e.end;
  }
  if (pos !== dataLen) fail(`bytes [${pos},${dataLen}) at the end of the data belong to no tensor`);

  const data0 = 8 + headerLen;
  const tensors: Record<string, Tensor> = {};
  for (const e of entries) put(tensors, e.name, decode(e, bytes, data0, name));
  return { tensors, metadata };
}

/** Copies an entry's bytes (little-endian) into a typed array of its own. */
function decode(e: Entry, bytes: Uint8Array, data0: number, file: string): Tensor {
  const src = bytes.subarray(data0 + e.begin, data0 + e.end);
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const count = src.length / DTYPE_SIZES[e.dtype];
  switch (e.dtype) {
    case 'F32': return new Tensor(copyLE(new Float32Array(count), src, (i) => view.getFloat32(i * 4, true)), e.shape);
    case 'F64': return new Tensor(copyLE(new Float64Array(count), src, (i) => view.getFloat64(i * 8, true)), e.shape);
    case 'I32': return new Tensor(copyLE(new Int32Array(count), src, (i) => view.getInt32(i * 4, true)), e.shape);
    case 'F16': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      return new Tensor(out, e.shape);
    }
    case 'BF16': {
      const out = new Float32Array(count);
      const f = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < count; i++) {
        f.setUint32(0, view.getUint16(i * 2, true) << 16 >>> 0);
        out[i] = f.getFloat32(0);
      }
      return new Tensor(out, e.shape);
    }
    case 'I64': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const v = view.getBigInt64(i * 8, true);
        if (v < -2147483648n || v > 2147483647n) {
          throw new NotSupportedError('parseSafetensors', `${file}: tensor ${quote(e.name)} is I64 and its element ${i} (${v}) does not fit in int32; pixelgrad converts I64 only when every value fits`);
        }
        out[i] = Number(v);
      }
      return new Tensor(out, e.shape);
    }
    default:
      throw new NotSupportedError('parseSafetensors', `${file}: tensor ${quote(e.name)} has dtype ${e.dtype}, which pixelgrad does not support (it reads F32, F64, I32, and converts F16/BF16 to float32 and I64 to int32)`);
  }
}

function copyLE<A extends Float32Array | Float64Array | Int32Array>(out: A, src: Uint8Array, get: (i: number) => number): A {
  if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(src);
  else for (let i = 0; i < out.length; i++) out[i] = get(i);
  return out;
}

/** An IEEE half-precision value (as its 16 bits) as a number; exact. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f, frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}
