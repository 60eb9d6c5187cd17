/**
 * The workbench's digits file: the bundled MNIST split (8,000 training, 2,000 test digits) as bytes,
 * 7.9 MB instead of the package's 21 MB of JSON. Layout (little-endian):
 *   'PGD1' | u32 training count | u32 test count | one label byte per digit | 784 pixel bytes per digit
 * (training digits first; a pixel byte is round(255·v) of v in [0, 1]). Browser-safe.
 */
const MAGIC = 'PGD1';
const PIXELS = 28 * 28;
const HEADER = 12;

export interface DigitSet {
  /** Pixels in [0, 1], [n, 1, 28, 28] row-major. */
  images: Float32Array;
  labels: Int32Array;
  count: number;
}

export function encodeDigits(train: { images: Float32Array; labels: Int32Array }, test: { images: Float32Array; labels: Int32Array }): Uint8Array {
  const nTrain = train.labels.length, nTest = test.labels.length, n = nTrain + nTest;
  const out = new Uint8Array(HEADER + n + n * PIXELS);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 4; i++) out[i] = MAGIC.charCodeAt(i);
  view.setUint32(4, nTrain, true);
  view.setUint32(8, nTest, true);
  out.set(train.labels, HEADER);
  out.set(test.labels, HEADER + nTrain);
  const pixels = out.subarray(HEADER + n);
  train.images.forEach((v, i) => { pixels[i] = Math.round(255 * v); });
  test.images.forEach((v, i) => { pixels[nTrain * PIXELS + i] = Math.round(255 * v); });
  return out;
}

export function decodeDigits(bytes: Uint8Array): { train: DigitSet; test: DigitSet } {
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (bytes.length < HEADER || magic !== MAGIC) throw new Error(`decodeDigits: not a workbench digits file (magic '${magic}', expected '${MAGIC}')`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nTrain = view.getUint32(4, true), nTest = view.getUint32(8, true), n = nTrain + nTest;
  if (bytes.length !== HEADER + n * (1 + PIXELS)) throw new Error(`decodeDigits: ${bytes.length} bytes do not hold ${nTrain} + ${nTest} digits`);
  const part = (from: number, count: number): DigitSet => ({
    labels: Int32Array.from(bytes.subarray(HEADER + from, HEADER + from + count)),
    images: Float32Array.from(bytes.subarray(HEADER + n + from * PIXELS, HEADER + n + (from + count) * PIXELS), (b) => b / 255),
    count,
  });
  return { train: part(0, nTrain), test: part(nTrain, nTest) };
}
