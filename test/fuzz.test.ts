/**
 * A seeded mutation fuzz of every file parser: IDX (raw and gzip), PNG, JPEG, safetensors and
 * checkpoints. Valid files are truncated at random points, have bytes flipped, and have their size
 * fields (dims, chunk and segment lengths, header lengths, JSON numbers) replaced by lies; each
 * mutant must either load or throw a PixelgradError whose message starts with the parser's name
 * and stays short — never a raw TypeError or RangeError, never a hang.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { Generator, PixelgradError, manualSeed, nn, randn } from '../src/index.js';
import { parseIdx } from '../src/data/idx.js';
import { idxFileBytes } from '../src/data/node/idx-file.js';
import { decodeImage } from '../src/data/node/image-io.js';
import { parseSafetensors, serializeSafetensors } from '../src/io/safetensors.js';
import { SGD } from '../src/optim/index.js';
import { parseCheckpoint, serializeCheckpoint } from '../src/train/checkpoint.js';

/** Values a lying size field takes: boundaries, off-by-one of the truth, and random. */
function lie(g: Generator, truth: number): number {
  const options = [0, 1, truth - 1, truth + 1, 2 * truth, 0x7fffffff, 0xffffffff, g.integer(0, 0x10000), g.integer(0, 2 ** 31) * 2 + g.integer(0, 2)];
  return options[g.integer(0, options.length)] >>> 0;
}

/** A size field: where it is, how wide (bytes), and its byte order. */
interface Field { at: number; bytes: 1 | 2 | 4; big: boolean }

function writeField(b: Uint8Array, f: Field, v: number): void {
  for (let i = 0; i < f.bytes; i++) {
    const shift = 8 * (f.big ? f.bytes - 1 - i : i);
    b[f.at + i] = Math.floor(v / 2 ** shift) & 0xff;
  }
}

function readField(b: Uint8Array, f: Field): number {
  let v = 0;
  for (let i = 0; i < f.bytes; i++) v += b[f.at + i] * 2 ** (8 * (f.big ? f.bytes - 1 - i : i));
  return v;
}

/** One mutant of `good`: a truncation, flipped bytes, a lying size field, or a mix. */
function mutate(g: Generator, good: Uint8Array, fields: readonly Field[]): Uint8Array {
  const b = good.slice();
  const kind = g.integer(0, 4);
  if ((kind === 0 || kind === 3) && fields.length > 0) {
    const f = fields[g.integer(0, fields.length)];
    writeField(b, f, lie(g, readField(good, f)) % 2 ** (8 * f.bytes));
  }
  if (kind === 1 || kind === 3) {
    for (let e = 1 + g.integer(0, 4); e > 0; e--) {
      const at = g.integer(0, b.length);
      b[at] = g.random() < 0.5 ? b[at] ^ (1 << g.integer(0, 8)) : g.integer(0, 256);
    }
  }
  return kind === 2 || (kind === 3 && g.random() < 0.3) ? b.subarray(0, g.integer(0, b.length)) : b;
}

interface Tally { loaded: number; refused: number }

/** Mutants of `good` from a seeded generator. */
function mutants(seed: number, good: Uint8Array, fields: readonly Field[]): () => Uint8Array {
  const g = new Generator(seed);
  return () => mutate(g, good, fields);
}

/**
 * Parses `trials` mutants from `next`; every failure must be a short PixelgradError whose message
 * starts with one of `ops` (the parser's name, or that of the parser it builds on).
 */
async function fuzz(ops: string[], trials: number, next: () => Uint8Array, parse: (b: Uint8Array) => unknown): Promise<Tally> {
  const tally: Tally = { loaded: 0, refused: 0 };
  for (let trial = 0; trial < trials; trial++) {
    const bad = next();
    try {
      await parse(bad);
      tally.loaded++;
    } catch (err) {
      tally.refused++;
      const e = err as Error;
      const what = `${ops[0]} trial ${trial}`;
      assert.ok(err instanceof PixelgradError, `${what}: ${e?.name}: ${String(e?.message).slice(0, 300)}\n${e?.stack?.slice(0, 600)}`);
      assert.ok(ops.some((op) => e.message.startsWith(`${op}: `)), `${what}: ${e.message.slice(0, 300)}`);
      assert.ok(e.message.length < 600, `${what}: a ${e.message.length}-character message`);
    }
  }
  // Most mutants must be refused, or the mutations are not reaching the parser.
  assert.ok(tally.refused > trials / 3, `${ops[0]}: only ${tally.refused} of ${trials} mutants refused`);
  return tally;
}

// ---- the files ----

function idxFile(typeCode: number, shape: number[], body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * shape.length + body.length);
  out.set([0, 0, typeCode, shape.length]);
  const view = new DataView(out.buffer);
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(body, 4 + 4 * shape.length);
  return out;
}

const IDX_IMAGES = idxFile(0x08, [5, 6, 7], Uint8Array.from({ length: 5 * 6 * 7 }, (_, i) => (i * 31) & 255));
const idxFields = (ndim: number): Field[] => [{ at: 2, bytes: 1, big: true }, { at: 3, bytes: 1, big: true }, ...Array.from({ length: ndim }, (_, i) => ({ at: 4 + 4 * i, bytes: 4 as const, big: true }))];

/** The length fields of a PNG's chunks, and the width and height of IHDR. */
function pngFields(png: Uint8Array): Field[] {
  const fields: Field[] = [{ at: 16, bytes: 4, big: true }, { at: 20, bytes: 4, big: true }];
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  for (let p = 8; p + 8 <= png.length; p += 12 + view.getUint32(p, false)) fields.push({ at: p, bytes: 4, big: true });
  return fields;
}

/** The length fields of a JPEG's segments up to the first scan, and the frame's height and width. */
function jpegFields(jpg: Uint8Array): Field[] {
  const fields: Field[] = [];
  for (let p = 2; p + 4 <= jpg.length && jpg[p] === 0xff;) {
    const marker = jpg[p + 1];
    fields.push({ at: p + 2, bytes: 2, big: true });
    if (marker === 0xc0 || marker === 0xc2) fields.push({ at: p + 5, bytes: 2, big: true }, { at: p + 7, bytes: 2, big: true });
    if (marker === 0xda) break;
    p += 2 + ((jpg[p + 2] << 8) | jpg[p + 3]);
  }
  return fields;
}

/** The header length, and every number in the header's JSON (rewritten into a consistent file by `safetensorsLies`). */
const SAFETENSORS_FIELDS: Field[] = [{ at: 0, bytes: 4, big: false }, { at: 4, bytes: 4, big: false }];

/** Mutants whose JSON numbers lie (shapes, offsets, epochs) in an otherwise well-formed file. */
function safetensorsLies(g: Generator, good: Uint8Array): Uint8Array {
  const len = Number(new DataView(good.buffer, good.byteOffset).getBigUint64(0, true));
  const text = new TextDecoder().decode(good.subarray(8, 8 + len));
  const numbers = [...text.matchAll(/\d+/g)];
  const m = numbers[g.integer(0, numbers.length)];
  const json = new TextEncoder().encode(`${text.slice(0, m.index)}${lie(g, Number(m[0]))}${text.slice(m.index! + m[0].length)}`);
  const out = new Uint8Array(8 + json.length + good.length - 8 - len);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(good.subarray(8 + len), 8 + json.length);
  return out;
}

function checkpointBytes(): Uint8Array {
  manualSeed(3);
  const model = new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4), new nn.Linear(4, 2));
  const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
  model.forward(randn([5, 3])).sum().backward();
  optimizer.step();
  return serializeCheckpoint({ model, optimizer, epoch: 1, step: 2, config: { lr: 0.1, sizes: [3, 4, 2] }, history: [{ loss: 0.5 }] });
}

// ---- the fuzz ----

test('fuzz: raw IDX files', async () => {
  await fuzz(['idx'], 1000, mutants(1, IDX_IMAGES, idxFields(3)), (b) => parseIdx(b, 'fuzz'));
});

test('fuzz: gzip IDX files (the compressed bytes, and lies inside valid gzip)', async () => {
  const gz = gzipSync(IDX_IMAGES);
  const parse = (b: Uint8Array) => parseIdx(idxFileBytes(b, 'fuzz.gz'), 'fuzz.gz');
  parse(gz);
  // The gzip header's flags and the trailer's CRC and size are fields too.
  const gzFields: Field[] = [{ at: 3, bytes: 1, big: true }, { at: gz.length - 8, bytes: 4, big: false }, { at: gz.length - 4, bytes: 4, big: false }];
  await fuzz(['idx'], 400, mutants(2, gz, gzFields), parse);
  const inner = mutants(3, IDX_IMAGES, idxFields(3));
  await fuzz(['idx'], 200, () => gzipSync(inner()), parse);
});

test('fuzz: PNG files', { timeout: 60_000 }, async () => {
  const px = Buffer.from(Array.from({ length: 12 * 10 * 3 }, (_, i) => (i * 37) & 255));
  const png = new Uint8Array(await sharp(px, { raw: { width: 12, height: 10, channels: 3 } }).png().toBuffer());
  const parse = (b: Uint8Array) => decodeImage(b, { name: 'fuzz.png' });
  await parse(png);
  await fuzz(['decodeImage'], 200, mutants(5, png, pngFields(png)), parse);
});

test('fuzz: JPEG files (baseline and progressive)', { timeout: 60_000 }, async () => {
  const px = Buffer.from(Array.from({ length: 16 * 16 * 3 }, (_, i) => (i * 37) & 255));
  const parse = (b: Uint8Array) => decodeImage(b, { name: 'fuzz.jpg' });
  for (const [seed, progressive] of [[6, false], [7, true]] as const) {
    const jpg = new Uint8Array(await sharp(px, { raw: { width: 16, height: 16, channels: 3 } }).jpeg({ progressive }).toBuffer());
    await parse(jpg);
    await fuzz(['decodeImage'], 120, mutants(seed, jpg, jpegFields(jpg)), parse);
  }
});

test('fuzz: safetensors files (bytes, and lying shapes and offsets in valid JSON)', async () => {
  const good = serializeSafetensors({ w: randn([3, 4]), b: randn([4], { dtype: 'float64' }), n: randn([2, 2]).gt(0) }, { format: 'pt' });
  const parse = (b: Uint8Array) => parseSafetensors(b, 'fuzz');
  parse(good);
  await fuzz(['parseSafetensors'], 1000, mutants(8, good, SAFETENSORS_FIELDS), parse);
  const g = new Generator(9);
  await fuzz(['parseSafetensors'], 300, () => safetensorsLies(g, good), parse);
});

test('fuzz: checkpoints (bytes, and lying numbers in valid JSON): only unchanged files load', async () => {
  const good = checkpointBytes();
  const parse = (b: Uint8Array) => {
    const ckpt = parseCheckpoint(b, 'fuzz');
    // What loads must be the same checkpoint (at most the JSON's whitespace may differ).
    const canonical = (bytes: Uint8Array) => { const { tensors, metadata } = parseSafetensors(bytes); return serializeSafetensors(tensors, metadata); };
    assert.ok(Buffer.compare(canonical(b), canonical(good)) === 0, 'a changed checkpoint loaded: the checksum missed it');
    return ckpt;
  };
  parse(good);
  // The safetensors layer refuses first what breaks the container.
  await fuzz(['loadCheckpoint', 'parseSafetensors'], 400, mutants(11, good, SAFETENSORS_FIELDS), parse);
  const g = new Generator(12);
  await fuzz(['loadCheckpoint', 'parseSafetensors'], 300, () => safetensorsLies(g, good), parse);
});
