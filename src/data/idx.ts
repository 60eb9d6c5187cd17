/**
 * The IDX format of MNIST, Fashion-MNIST, KMNIST and EMNIST: a magic number (two zero bytes, a
 * type code, the number of dims), the dims as big-endian uint32, then the values big-endian.
 * Every size and offset is checked before reading: truncated files, wrong magic numbers and
 * headers that lie about the sizes are rejected with an error naming the file.
 */
import { ArgumentError, describeValue } from '../errors.js';

const TYPES: Record<number, { name: string; bytes: number; read: (v: DataView, o: number) => number }> = {
  0x08: { name: 'uint8', bytes: 1, read: (v, o) => v.getUint8(o) },
  0x09: { name: 'int8', bytes: 1, read: (v, o) => v.getInt8(o) },
  0x0b: { name: 'int16', bytes: 2, read: (v, o) => v.getInt16(o, false) },
  0x0c: { name: 'int32', bytes: 4, read: (v, o) => v.getInt32(o, false) },
  0x0d: { name: 'float32', bytes: 4, read: (v, o) => v.getFloat32(o, false) },
  0x0e: { name: 'float64', bytes: 8, read: (v, o) => v.getFloat64(o, false) },
};

export interface IdxArray {
  shape: number[];
  /** The element type stored in the file. */
  type: string;
  /** uint8 data as a Uint8Array (no copy); other types converted to a Float64Array. */
  data: Uint8Array | Float64Array;
}

/** What an IDX header declares. */
export interface IdxHeader {
  shape: number[];
  /** The element type, e.g. 'uint8'. */
  type: string;
  /** Bytes of the header (4 + 4 per dim). */
  headerBytes: number;
  /** Bytes the whole file must have: the header plus every value. */
  totalBytes: number;
}

/**
 * Reads and checks the header at the start of `bytes` (which may hold only the start of a file);
 * `name` goes into error messages.
 */
export function parseIdxHeader(bytes: Uint8Array, name = 'IDX data'): IdxHeader {
  const fail = (why: string): never => { throw new ArgumentError('idx', `${name}: ${why}`); };
  if (bytes.length < 4) fail(`too short for an IDX header (${bytes.length} bytes)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) fail(`not an IDX file: the magic number must start with two zero bytes, got 0x${hex(bytes[0])}${hex(bytes[1])}`);
  const type = TYPES[bytes[2]];
  if (!type) fail(`unknown IDX element type code 0x${hex(bytes[2])}`);
  const ndim = bytes[3];
  if (ndim === 0) fail('the header declares 0 dims');
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes) fail(`truncated header: ${ndim} dims need ${headerBytes} bytes, the file has ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i, false));
  const totalBytes = headerBytes + shape.reduce((a, b) => a * b, 1) * type.bytes;
  if (!Number.isSafeInteger(totalBytes)) fail(`the header's sizes ${describeValue(shape)} are impossibly large`);
  return { shape, type: type.name, headerBytes, totalBytes };
}

/** Parses IDX bytes; `name` (e.g. the file path) goes into error messages. */
export function parseIdx(bytes: Uint8Array, name = 'IDX data'): IdxArray {
  const { shape, type: typeName, headerBytes, totalBytes } = parseIdxHeader(bytes, name);
  if (bytes.length !== totalBytes) {
    throw new ArgumentError('idx', `${name}: the header says ${describeValue(shape)} ${typeName} values (${totalBytes} bytes with the header) but the file has ${bytes.length} bytes${bytes.length < totalBytes ? ' (truncated?)' : ''}`);
  }
  const type = TYPES[bytes[2]];
  if (type.name === 'uint8') return { shape, type: type.name, data: bytes.subarray(headerBytes) };
  const count = (totalBytes - headerBytes) / type.bytes;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const data = new Float64Array(count);
  for (let i = 0; i < count; i++) data[i] = type.read(view, headerBytes + i * type.bytes);
  return { shape, type: type.name, data };
}

const hex = (b: number) => b.toString(16).padStart(2, '0');
