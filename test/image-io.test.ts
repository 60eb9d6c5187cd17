/**
 * Image files ⇄ tensors (src/data/node/image-io.ts): PNG round trips, JPEG decoding, resizing,
 * alpha and mode handling, grids, atomic writes, and the errors for broken or missing files. Every
 * image is made here with sharp in a temporary folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { tensor } from '../src/creation.js';
import { ArgumentError, PixelgradError, ShapeError } from '../src/errors.js';
import { Tensor } from '../src/tensor.js';
import { MAX_IMAGE_PIXELS, decodeImage, makeGrid, readImage, readMask, saveImageGrid, writePng } from '../src/data/node/image-io.js';
import { assertClose, assertTensor } from './helpers/assert.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'pixelgrad-image-io-'));

/** Interleaved 8-bit pixels → an encoded PNG file (1 = gray, 2 = gray+alpha, 3 = RGB, 4 = RGBA). */
async function pngFile(path: string, pixels: number[], width: number, height: number, channels: 1 | 2 | 3 | 4): Promise<string> {
  let p = sharp(Buffer.from(pixels), { raw: { width, height, channels } });
  if (channels <= 2) p = p.toColourspace('b-w');
  writeFileSync(path, await p.png().toBuffer());
  return path;
}

/** [C,H,W] planar values from interleaved 8-bit pixels, divided by 255. */
function planar(pixels: number[], channels: number): number[] {
  const n = pixels.length / channels;
  const out: number[] = [];
  for (let c = 0; c < channels; c++) for (let i = 0; i < n; i++) out.push(pixels[i * channels + c] / 255);
  return out;
}

const f32 = (values: number[]) => Float32Array.from(values);

test('a grayscale PNG round-trips exactly for every 8-bit value', async () => {
  const dir = tmp();
  const values = Array.from({ length: 256 }, (_, k) => k / 255);
  const img = tensor(values, { shape: [1, 16, 16] });
  const path = join(dir, 'gray.png');
  await writePng(img, path);
  const meta = await sharp(path).metadata();
  assert.equal(meta.format, 'png');
  assert.equal(meta.channels, 1, 'written as a 1-channel PNG');
  assert.equal(meta.depth, 'uchar');
  const back = await readImage(path);
  assert.deepEqual([...back.shape], [1, 16, 16]);
  assert.equal(back.dtype, 'float32');
  assert.deepEqual(back.data, f32(values));
  // The raw bytes in the file are the values × 255.
  const raw = await sharp(path).toColourspace('b-w').raw().toBuffer();
  assert.deepEqual([...raw], Array.from({ length: 256 }, (_, k) => k));
});

test('an RGB PNG round-trips exactly, channels kept apart', async () => {
  const dir = tmp();
  const h = 3, w = 5, n = h * w;
  const values = Array.from({ length: 3 * n }, (_, i) => {
    const c = Math.floor(i / n), j = i % n;
    return [(j * 17) % 256, 255 - j * 9, c === 2 ? 128 : (j * 31) % 256][c] / 255;
  });
  const path = join(dir, 'rgb.png');
  await writePng(tensor(values, { shape: [3, h, w] }), path);
  assert.equal((await sharp(path).metadata()).channels, 3);
  const back = await readImage(path);
  assert.deepEqual([...back.shape], [3, h, w]);
  assert.deepEqual(back.data, f32(values));
  // A pixel read from the file through sharp directly.
  const raw = await sharp(path).raw().toBuffer();
  assert.deepEqual([raw[3 * 7], raw[3 * 7 + 1], raw[3 * 7 + 2]], [(7 * 17) % 256, 255 - 7 * 9, 128]);
});

test('writePng: [H,W] floats are gray, values are clamped to [0,1], int32 masks are written as given', async () => {
  const dir = tmp();
  await writePng(tensor([[-0.5, 0.2], [1.7, 1]]), join(dir, 'hw.png'));
  const hw = await readImage(join(dir, 'hw.png'));
  assertTensor(hw, [1, 2, 2], f32([0, 51 / 255, 1, 1]), { atol: 0, rtol: 0 });

  const mask = tensor([[0, 1, 2], [255, 7, 0]], { dtype: 'int32' });
  await writePng(mask, join(dir, 'mask.png'));
  assert.equal((await sharp(join(dir, 'mask.png')).metadata()).channels, 1);
  const back = await readMask(join(dir, 'mask.png'));
  assert.equal(back.dtype, 'int32');
  assert.deepEqual([...back.shape], [2, 3]);
  assert.deepEqual([...back.data], [0, 1, 2, 255, 7, 0]);

  await assert.rejects(writePng(tensor([[0, 256]], { dtype: 'int32' }), join(dir, 'big.png')),
    (e: Error) => e instanceof ArgumentError && /writePng: int32 values .* 0\.\.255, got 256/.test(e.message));
  await assert.rejects(writePng(tensor([[0, NaN]]), join(dir, 'nan.png')), (e: Error) => e instanceof ArgumentError && /NaN/.test(e.message));
  assert.ok(!existsSync(join(dir, 'big.png')) && !existsSync(join(dir, 'nan.png')), 'nothing written on error');
});

test('writePng rejects shapes that are not images with a ShapeError naming the shape, and non-.png names', async () => {
  const dir = tmp();
  await assert.rejects(writePng(tensor([1, 2, 3]), join(dir, 'a.png')), (e: Error) => e instanceof ShapeError && /writePng: .*got shape \[3\]/.test(e.message));
  await assert.rejects(writePng(new Tensor(new Float32Array(5 * 4 * 4), [5, 4, 4]), join(dir, 'a.png')), (e: Error) => e instanceof ShapeError && /shape \[5,4,4\]/.test(e.message));
  await assert.rejects(writePng(new Tensor(new Float32Array(2 * 3 * 4 * 4), [2, 3, 4, 4]), join(dir, 'a.png')), (e: Error) => e instanceof ShapeError && /shape \[2,3,4,4\]/.test(e.message));
  await assert.rejects(writePng(new Tensor(new Float32Array(0), [1, 0, 4]), join(dir, 'a.png')), (e: Error) => e instanceof ShapeError && /shape \[1,0,4\]/.test(e.message));
  await assert.rejects(writePng(tensor([[0.5]]), join(dir, 'a.jpg')), (e: Error) => e instanceof ArgumentError && /must end in \.png.*a\.jpg/.test(e.message));
  assert.deepEqual(readdirSync(dir), []);
});

test('writePng is atomic: it creates folders, overwrites, and leaves no temporary file', async () => {
  const dir = tmp();
  const path = join(dir, 'deep', 'er', 'x.png');
  await writePng(tensor([[0.25, 0.5]]), path);
  await writePng(tensor([[1, 0]]), path);
  assert.deepEqual(readdirSync(join(dir, 'deep', 'er')), ['x.png']);
  assertTensor(await readImage(path), [1, 1, 2], [1, 0], { atol: 0, rtol: 0 });
  await saveImageGrid([tensor([[0.5]])], join(dir, 'deep', 'er', 'grid.png'));
  assert.deepEqual(readdirSync(join(dir, 'deep', 'er')).sort(), ['grid.png', 'x.png']);
});

test('16-bit PNGs are read at full precision (divided by 65535)', async () => {
  const dir = tmp();
  const values = [0, 1, 1000, 32768, 40000, 65535];
  const png = await sharp(Uint16Array.from(values), { raw: { width: 3, height: 2, channels: 1 } }).toColourspace('grey16').png().toBuffer();
  writeFileSync(join(dir, 'deep.png'), png);
  const img = await readImage(join(dir, 'deep.png'));
  assert.deepEqual([...img.shape], [1, 2, 3]);
  assert.deepEqual(img.data, f32(values.map((v) => v / 65535)));
});

test('JPEG files decode approximately (lossy), gray JPEGs as one channel', async () => {
  const dir = tmp();
  const w = 16, h = 16;
  const px: number[] = [];
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) px.push(x * 16, y * 16, 200);
  writeFileSync(join(dir, 'rgb.jpg'), await sharp(Buffer.from(px), { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 95 }).toBuffer());
  const img = await readImage(join(dir, 'rgb.jpg'));
  assert.deepEqual([...img.shape], [3, h, w]);
  const want = planar(px, 3);
  let err = 0;
  for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(img.data[i] - want[i]));
  assert.ok(err < 0.08, `max error ${err}`);
  assert.ok(err > 0, 'JPEG is lossy: not bit-exact');

  const gray = Array.from({ length: w * h }, (_, i) => (i % w) * 16);
  writeFileSync(join(dir, 'gray.jpeg'), await sharp(Buffer.from(gray), { raw: { width: w, height: h, channels: 1 } }).toColourspace('b-w').jpeg({ quality: 95 }).toBuffer());
  const g = await readImage(join(dir, 'gray.jpeg'));
  assert.deepEqual([...g.shape], [1, h, w]);
  assertClose(g.data, gray.map((v) => v / 255), { atol: 0.05, rtol: 0 });
});

test('size resizes (n → n×n, [h, w] → h×w) bilinearly; corners of constant blocks keep their value', async () => {
  const dir = tmp();
  // 8×8 made of four constant 4×4 blocks.
  const block: number[] = [];
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) block.push([[10, 200], [60, 250]][y >> 2][x >> 2]);
  const path = await pngFile(join(dir, 'blocks.png'), block, 8, 8, 1);
  const small = await readImage(path, { size: 4 });
  assert.deepEqual([...small.shape], [1, 4, 4]);
  assertClose([0, 3, 12, 15].map((i) => small.data[i]), [10, 200, 60, 250].map((v) => v / 255), { atol: 1e-6, rtol: 0, what: 'corners' });
  assert.ok(small.data[1] > 10 / 255 && small.data[1] < 200 / 255, 'antialiased bilinear mixes across the block edge');
  const odd = await readImage(path, { size: [3, 5] });
  assert.deepEqual([...odd.shape], [1, 3, 5]);
  assertClose([0, 4, 10, 14].map((i) => odd.data[i]), [10, 200, 60, 250].map((v) => v / 255), { atol: 1e-6, rtol: 0, what: 'corners' });
  const up = await readImage(path, { size: [8, 6] });
  assert.deepEqual([...up.shape], [1, 8, 6]);
  for (const v of up.data) assert.ok(v >= 10 / 255 - 1e-6 && v <= 250 / 255 + 1e-6, `bilinear stays within the input range, got ${v}`);
  // Bilinear (not nearest): upscaling a 1×2 step gives values strictly between the two ends.
  const step = await pngFile(join(dir, 'step.png'), [0, 0, 0, 255, 255, 255], 2, 1, 3);
  const wide = await readImage(step, { size: [1, 8] });
  assert.deepEqual([...wide.shape], [3, 1, 8]);
  const row = [...wide.data.subarray(0, 8)];
  assert.ok(row.some((v) => v > 0.05 && v < 0.95), `intermediate values expected, got ${row}`);
  for (let i = 1; i < 8; i++) assert.ok(row[i] >= row[i - 1], 'monotone');
  for (const bad of [0, -3, 2.5, [2], [2, 0]] as unknown as number[]) {
    await assert.rejects(readImage(path, { size: bad }), (e: Error) => e instanceof ArgumentError && /readImage: size must be/.test(e.message));
  }
});

test('alpha: flattened onto black by default, kept with mode rgba; modes convert gray ⇄ RGB', async () => {
  const dir = tmp();
  // Half-transparent red, opaque green, fully transparent blue, opaque gray.
  const rgba = [255, 0, 0, 128, 0, 255, 0, 255, 0, 0, 255, 0, 100, 100, 100, 255];
  const path = await pngFile(join(dir, 'rgba.png'), rgba, 2, 2, 4);
  const flat = await readImage(path);
  assertTensor(flat, [3, 2, 2], [128 / 255, 0, 0, 100 / 255, 0, 1, 0, 100 / 255, 0, 0, 0, 100 / 255], { atol: 1.01 / 255, rtol: 0 });
  const kept = await readImage(path, { mode: 'rgba' });
  assertTensor(kept, [4, 2, 2], f32(planar(rgba, 4)), { atol: 0, rtol: 0 });
  // gray: PIL's luma of the flattened colours, (R·19595 + G·38470 + B·7471 + 32768) >> 16.
  const gray = await readImage(path, { mode: 'gray' });
  assert.deepEqual([...gray.shape], [1, 2, 2]);
  const luma = (r: number, g: number, b: number) => (r * 19595 + g * 38470 + b * 7471 + 32768) >>> 16;
  assertClose(gray.data, [luma(128, 0, 0), luma(0, 255, 0), 0, 100].map((v) => v / 255), { atol: 1.01 / 255, rtol: 0 });

  const rgbPath = await pngFile(join(dir, 'rgb.png'), [255, 0, 0, 0, 255, 0, 0, 0, 255, 100, 100, 100], 2, 2, 3);
  assert.deepEqual(await readImage(rgbPath, { mode: 'gray' }).then((t) => [...t.data]), [...f32([76, 150, 29, 100].map((v) => v / 255))]);
  const opaque = await readImage(rgbPath, { mode: 'rgba' });
  assertTensor(opaque, [4, 2, 2], f32([...planar([255, 0, 0, 0, 255, 0, 0, 0, 255, 100, 100, 100], 3), 1, 1, 1, 1]), { atol: 0, rtol: 0 });

  const grayPath = await pngFile(join(dir, 'g.png'), [0, 50, 100, 255], 2, 2, 1);
  const asRgb = await readImage(grayPath, { mode: 'rgb' });
  const g = [...f32([0, 50, 100, 255].map((v) => v / 255))];
  assertTensor(asRgb, [3, 2, 2], [...g, ...g, ...g], { atol: 0, rtol: 0 });
  assertTensor(await readImage(grayPath, { mode: 'gray' }), [1, 2, 2], g, { atol: 0, rtol: 0 });

  // Gray + alpha: one channel by default (flattened), two values with rgba.
  const ga = await pngFile(join(dir, 'ga.png'), [200, 255, 200, 0, 100, 255, 40, 255], 2, 2, 2);
  assertTensor(await readImage(ga), [1, 2, 2], f32([200 / 255, 0, 100 / 255, 40 / 255]), { atol: 0, rtol: 0 });
  const gaKept = await readImage(ga, { mode: 'rgba' });
  assert.deepEqual([...gaKept.shape], [4, 2, 2]);
  assertClose(gaKept.data.subarray(12), [1, 0, 1, 1], { atol: 0, rtol: 0 });
  await assert.rejects(readImage(ga, { mode: 'RGB' as 'rgb' }), (e: Error) => e instanceof ArgumentError && /mode must be/.test(e.message));
});

test('decodeImage reads bytes in memory like readImage reads the file', async () => {
  const dir = tmp();
  const path = await pngFile(join(dir, 'x.png'), [1, 2, 3, 4, 5, 6], 2, 1, 3);
  const bytes = readFileSync(path);
  const fromFile = await readImage(path, { mode: 'gray' });
  const fromBytes = await decodeImage(bytes, { mode: 'gray' });
  assert.deepEqual(fromBytes.data, fromFile.data);
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  assert.deepEqual((await decodeImage(ab)).data, (await readImage(path)).data);
  await assert.rejects(decodeImage(new Uint8Array([1, 2, 3, 4]), { name: 'upload #3' }), (e: Error) => e instanceof ArgumentError && /decodeImage: 'upload #3' \(4 bytes\): not an image/.test(e.message));
  await assert.rejects(decodeImage(new Uint8Array(0)), (e: Error) => e instanceof ArgumentError && /decodeImage: the image bytes: the file is empty/.test(e.message));
});

test('broken, missing and non-image files give errors naming the file and the problem', async () => {
  const dir = tmp();
  const px = Array.from({ length: 32 * 32 * 3 }, (_, i) => (i * 7) & 255);
  const png = await sharp(Buffer.from(px), { raw: { width: 32, height: 32, channels: 3 } }).png().toBuffer();
  const jpg = await sharp(Buffer.from(px), { raw: { width: 32, height: 32, channels: 3 } }).jpeg().toBuffer();
  const corruptJpg = Buffer.from(jpg);
  corruptJpg.fill(0xab, 2, 40); // the header segments after the SOI marker overwritten
  const corruptPng = Buffer.from(png);
  corruptPng.fill(0x55, 100, 140); // image data overwritten (CRC and zlib stream broken)
  const files: [string, Buffer | string, RegExp][] = [
    ['truncated.png', png.subarray(0, Math.floor(png.length / 2)), /corrupt or truncated PNG data/],
    ['header-only.png', png.subarray(0, 20), /corrupt or truncated PNG header/],
    ['overwritten.png', corruptPng, /corrupt or truncated PNG data/],
    ['random.png', Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37 + 11) & 255)), /not an image in a known format/],
    ['notes.png', 'these are my notes, not a picture\n', /not an image in a known format/],
    ['empty.png', Buffer.alloc(0), /the file is empty \(0 bytes\)/],
    ['truncated.jpg', jpg.subarray(0, Math.floor(jpg.length / 2)), /corrupt or truncated JPEG data/],
    ['corrupt.jpg', corruptJpg, /corrupt or truncated JPEG data/],
    ['drawing.png', '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg>', /'svg' files are not decoded as images/],
  ];
  for (const [name, content, why] of files) {
    const path = join(dir, name);
    writeFileSync(path, content);
    await assert.rejects(readImage(path), (e: Error) => {
      assert.ok(e instanceof ArgumentError && e instanceof PixelgradError, `${name}: ${e.constructor.name}: ${e.message}`);
      assert.ok(e.message.startsWith('readImage: '), e.message);
      assert.ok(e.message.includes(`'${path}'`), `${name}: message names the file: ${e.message}`);
      assert.match(e.message, why, name);
      return true;
    });
  }
  const missing = join(dir, 'nope', 'gone.png');
  await assert.rejects(readImage(missing), (e: Error) => e instanceof ArgumentError && e.message === `readImage: cannot read '${missing}': no such file`);
  mkdirSync(join(dir, 'folder.png'));
  await assert.rejects(readImage(join(dir, 'folder.png')), (e: Error) => e instanceof ArgumentError && /'.*folder\.png': it is a folder/.test(e.message));
  await assert.rejects(readMask(join(dir, 'truncated.png')), (e: Error) => e instanceof ArgumentError && /^readMask: '.*truncated\.png'/.test(e.message));
});

test('PNG and JPEG files must end at their end marker: trailing data and a missing end are refused, for both formats', async () => {
  const px = Buffer.from(Array.from({ length: 16 * 16 * 3 }, (_, i) => (i * 13) & 255));
  const raw = { raw: { width: 16, height: 16, channels: 3 as const } };
  const png = await sharp(px, raw).png().toBuffer();
  const jpg = await sharp(px, raw).jpeg().toBuffer();
  const progressive = await sharp(px, raw).jpeg({ progressive: true, quality: 50 }).toBuffer();
  // An APP1 segment whose payload holds FF D9 (as an EXIF thumbnail does) is stepped over by its length.
  const app1 = Buffer.concat([jpg.subarray(0, 2), Buffer.from([0xff, 0xe1, 0x00, 0x08, 0x45, 0x78, 0xff, 0xd9, 0x00, 0x00]), jpg.subarray(2)]);
  for (const [name, ok] of [['png', png], ['jpg', jpg], ['progressive jpg', progressive], ['jpg with FF D9 in APP1', app1]] as const) {
    assert.deepEqual((await decodeImage(ok, { name })).shape, [3, 16, 16], name);
  }
  const junk = Buffer.from('trailing junk!');
  const iendAt = png.length - 12;
  const cases: [string, Buffer, RegExp][] = [
    ['png + junk', Buffer.concat([png, junk]), /^decodeImage: 'png \+ junk' \(\d+ bytes\): 14 bytes of trailing data after the PNG's IEND chunk \(damaged, or something appended\); re-save it as a plain PNG$/],
    ['png, IEND replaced', Buffer.concat([png.subarray(0, iendAt), Buffer.alloc(12, 0x41)]), /^decodeImage: 'png, IEND replaced' \(\d+ bytes\): the PNG has no IEND chunk \(truncated or damaged\)$/],
    ['png, IEND cut', png.subarray(0, iendAt), /the PNG has no IEND chunk \(truncated or damaged\)$/],
    ['jpg + junk', Buffer.concat([jpg, junk]), /^decodeImage: 'jpg \+ junk' \(\d+ bytes\): 14 bytes of trailing data after the JPEG's end-of-image marker \(damaged, or something appended\); re-save it as a plain JPEG$/],
    ['jpg + a second jpg', Buffer.concat([jpg, jpg]), new RegExp(`${jpg.length} bytes of trailing data after the JPEG's end-of-image marker`)],
    ['progressive + junk', Buffer.concat([progressive, junk]), /14 bytes of trailing data after the JPEG's end-of-image marker/],
    ['jpg, EOI replaced', Buffer.concat([jpg.subarray(0, jpg.length - 2), Buffer.from('zz')]), /corrupt or truncated JPEG data|the JPEG has no end-of-image marker/],
  ];
  assert.equal(png.subarray(iendAt + 4, iendAt + 8).toString('latin1'), 'IEND');
  for (const [name, bytes, message] of cases) {
    await assert.rejects(decodeImage(bytes, { name }), (e: Error) => {
      assert.ok(e instanceof ArgumentError, `${name}: ${e.constructor.name}: ${e.message}`);
      assert.match(e.message, message, name);
      return true;
    });
  }
  const path = join(tmp(), 'appended.jpg');
  writeFileSync(path, Buffer.concat([jpg, junk]));
  await assert.rejects(readImage(path), new RegExp(`^ArgumentError: readImage: '${path}' \\(\\d+ bytes\\): 14 bytes of trailing data`));
});

/** CRC-32 of PNG chunks (the IEEE polynomial), to patch a header consistently. */
function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

test('images declaring more pixels than MAX_IMAGE_PIXELS are refused before decoding (decompression bombs)', async () => {
  const px = Buffer.alloc(8 * 8 * 3, 128);
  const raw = { raw: { width: 8, height: 8, channels: 3 as const } };
  const png = Buffer.from(await sharp(px, raw).png().toBuffer());
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  // IHDR (width, height at bytes 16 and 20) with its CRC: a valid header declaring 15,000 × 15,000.
  view.setUint32(16, 15_000, false);
  view.setUint32(20, 15_000, false);
  view.setUint32(29, crc32(png.subarray(12, 29)), false);
  const jpg = Buffer.from(await sharp(px, raw).jpeg().toBuffer());
  let sof = 2;
  while (jpg[sof + 1] !== 0xc0) sof += 2 + jpg.readUInt16BE(sof + 2);
  jpg.writeUInt16BE(14_000, sof + 5);
  jpg.writeUInt16BE(13_000, sof + 7);
  for (const [name, bytes, dims] of [['bomb.png', png, 'PNG declares 15000×15000 = 225000000'], ['bomb.jpg', jpg, 'JPEG declares 13000×14000 = 182000000']] as const) {
    const t0 = performance.now();
    await assert.rejects(decodeImage(bytes, { name }), (e: Error) => e instanceof ArgumentError
      && e.message === `decodeImage: '${name}' (${bytes.length} bytes): the ${dims} pixels, over the limit of ${MAX_IMAGE_PIXELS} (a decompression bomb, or an image to shrink before use)`);
    assert.ok(performance.now() - t0 < 1000, `${name}: refused after ${(performance.now() - t0).toFixed(0)} ms`);
  }
});

test('readMask: nearest resizing keeps the values, classes map them, colour masks are refused', async () => {
  const dir = tmp();
  const values = [0, 255, 0, 255, 255, 0, 255, 0, 0, 0, 255, 255, 255, 255, 0, 0];
  const path = await pngFile(join(dir, 'm.png'), values, 4, 4, 1);
  const big = await readMask(path, { size: [7, 9] });
  assert.deepEqual([...big.shape], [7, 9]);
  assert.deepEqual(new Set(big.data), new Set([0, 255]));
  assert.deepEqual([...(await readMask(path, { classes: { 0: 0, 255: 1 } })).data], values.map((v) => v / 255));
  assert.deepEqual([...(await readMask(path, { classes: [255, 0] })).data], values.map((v) => (v ? 0 : 1)));
  await assert.rejects(readMask(path, { classes: { 0: 0 } }), (e: Error) => e instanceof ArgumentError && /mask '.*m\.png' has value 255 \(8 pixels\) that classes does not map; classes maps the values 0/.test(e.message));
  const colour = await pngFile(join(dir, 'c.png'), [0, 0, 0, 255, 0, 0], 2, 1, 3);
  await assert.rejects(readMask(colour), (e: Error) => e instanceof ArgumentError && /c\.png' is a colour image \(R,G,B = 255,0,0 at x=1, y=0\)/.test(e.message));
  const grayAsRgb = await pngFile(join(dir, 'g3.png'), [7, 7, 7, 3, 3, 3], 2, 1, 3);
  assert.deepEqual([...(await readMask(grayAsRgb)).data], [7, 3]);
});

// ---------------------------------------------------------------- grids

/** Gray [1,h,w] tiles, tile k filled with (k+1)/10. */
const tiles = (n: number, h: number, w: number) => Array.from({ length: n }, (_, k) => new Tensor(new Float32Array(h * w).fill((k + 1) / 10), [1, h, w]));

test('makeGrid places tiles like torchvision make_grid: nrow columns, padding between and around', () => {
  const h = 2, w = 3, padding = 1;
  const g = makeGrid(tiles(5, h, w), { nrow: 3, padding, background: -1 });
  // 3 columns, 2 rows: H = 2·(2+1)+1 = 7, W = 3·(3+1)+1 = 13; gray stays one channel.
  assert.deepEqual([...g.shape], [1, 7, 13]);
  const at = (y: number, x: number) => g.data[y * 13 + x];
  for (let k = 0; k < 5; k++) {
    const y0 = padding + Math.floor(k / 3) * (h + padding), x0 = padding + (k % 3) * (w + padding);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) assert.equal(at(y0 + y, x0 + x), Math.fround((k + 1) / 10), `tile ${k} at (${y0 + y}, ${x0 + x})`);
  }
  let tilePixels = 0, background = 0;
  for (const v of g.data) { if (v === -1) background++; else tilePixels++; }
  assert.equal(tilePixels, 5 * h * w);
  assert.equal(background, 7 * 13 - 5 * h * w, 'padding and the empty sixth cell hold the background');
  assert.deepEqual([at(0, 0), at(3, 0), at(1, 4), at(4, 9)], [-1, -1, -1, -1], 'border, row gap, column gap, empty cell');
  assert.equal(at(4, 5), Math.fround(0.5), 'tile 4 starts at (4, 5)');

  // Defaults: nrow 8, padding 2; fewer images than nrow → one row of N.
  assert.deepEqual([...makeGrid(tiles(3, 4, 4)).shape], [1, 4 + 4, 3 * 6 + 2]);
  assert.deepEqual([...makeGrid(tiles(10, 4, 4)).shape], [1, 2 * 6 + 2, 8 * 6 + 2]);
  assert.deepEqual([...makeGrid(tiles(1, 4, 4), { padding: 0 }).shape], [1, 4, 4]);
});

test('makeGrid: scale repeats pixels, [N,C,H,W] equals the list, mixed gray and RGB gives RGB', () => {
  const a = tensor([[[0.1, 0.2], [0.3, 0.4]]]); // [1,2,2]
  const g = makeGrid([a], { padding: 1, scale: 3 });
  assert.deepEqual([...g.shape], [1, 8, 8]);
  const row1 = [...g.data.subarray(8, 16)], row4 = [...g.data.subarray(32, 40)];
  assertClose(row1, [0, 0.1, 0.1, 0.1, 0.2, 0.2, 0.2, 0], { atol: 1e-7 });
  assertClose(row4, [0, 0.3, 0.3, 0.3, 0.4, 0.4, 0.4, 0], { atol: 1e-7 });

  const batch = new Tensor(Float32Array.from({ length: 4 * 3 * 2 * 2 }, (_, i) => i / 48), [4, 3, 2, 2]);
  const list = Array.from({ length: 4 }, (_, i) => new Tensor(batch.data.slice(i * 12, (i + 1) * 12), [3, 2, 2]));
  assert.deepEqual(makeGrid(batch, { nrow: 2 }).data, makeGrid(list, { nrow: 2 }).data);

  const rgb = tensor([[[1, 1], [1, 1]], [[0, 0], [0, 0]], [[0.5, 0.5], [0.5, 0.5]]]);
  const mixed = makeGrid([a, rgb], { padding: 0 });
  assert.deepEqual([...mixed.shape], [3, 2, 4]);
  const plane = (c: number) => [...mixed.data.subarray(c * 8, c * 8 + 8)];
  for (let c = 0; c < 3; c++) assertClose(plane(c), [0.1, 0.2, [1, 0, 0.5][c], [1, 0, 0.5][c], 0.3, 0.4, [1, 0, 0.5][c], [1, 0, 0.5][c]], { atol: 1e-7 });
  // [H,W] tensors are gray tiles too.
  assert.deepEqual([...makeGrid([tensor([[1, 2]]), tensor([[3, 4]])], { padding: 0 }).data], [1, 2, 3, 4]);
});

test('makeGrid normalize scales each image to [0,1] on its own; a constant image becomes 0', () => {
  const g = makeGrid([tensor([[2, 4, 6]]), tensor([[-1, -1, -1]]), tensor([[0, 10, 5]])], { padding: 0, nrow: 1, normalize: true });
  assert.deepEqual([...g.shape], [1, 3, 3]);
  assertClose(g.data, [0, 0.5, 1, 0, 0, 0, 0, 1, 0.5], { atol: 1e-6 });
  // Without normalize the values pass through unclamped.
  assertClose(makeGrid([tensor([[2, -4]])], { padding: 0 }).data, [2, -4]);
});

test('makeGrid errors name the shapes and options', () => {
  assert.throws(() => makeGrid([tensor([[1, 2]]), tensor([[1], [2]])]), (e: Error) => e instanceof ShapeError && /same height and width: images\[0\] is \[1,1,2\], images\[1\] is \[1,2,1\]/.test(e.message));
  assert.throws(() => makeGrid([new Tensor(new Float32Array(8), [2, 2, 2])]), (e: Error) => e instanceof ShapeError && /images\[0\] has 2 channels \(shape \[2,2,2\]\)/.test(e.message));
  assert.throws(() => makeGrid(new Tensor(new Float32Array(8), [2, 2, 2])), (e: Error) => e instanceof ShapeError && /got shape \[2,2,2\]/.test(e.message));
  assert.throws(() => makeGrid([]), (e: Error) => e instanceof ArgumentError && /no images/.test(e.message));
  assert.throws(() => makeGrid(tiles(2, 2, 2), { nrow: 0 }), (e: Error) => e instanceof ArgumentError && /nrow must be an integer >= 1, got 0/.test(e.message));
  assert.throws(() => makeGrid(tiles(2, 2, 2), { scale: 1.5 }), (e: Error) => e instanceof ArgumentError && /scale must be an integer >= 1/.test(e.message));
  assert.throws(() => makeGrid(tiles(2, 2, 2), { padding: -1 }), (e: Error) => e instanceof ArgumentError && /padding must be an integer >= 0/.test(e.message));
});

test('saveImageGrid writes the grid as a PNG of the expected size, with captions drawn under the tiles', async () => {
  const dir = tmp();
  const digits = tiles(5, 7, 7);
  const plain = join(dir, 'plain.png');
  await saveImageGrid(digits, plain, { nrow: 3, scale: 4 });
  const grid = makeGrid(digits, { nrow: 3, scale: 4 });
  const meta = await sharp(plain).metadata();
  assert.deepEqual([meta.width, meta.height, meta.channels], [grid.shape[2], grid.shape[1], 1]);
  assertClose(await readImage(plain).then((t) => t.data), grid.data.map((v) => Math.round(v * 255) / 255), { atol: 1e-6, what: 'file = makeGrid' });

  const labelled = join(dir, 'labels.png');
  const fontSize = 12, strip = fontSize + 6;
  await saveImageGrid(digits, labelled, { nrow: 3, scale: 4, labels: ['0', '1', 'two', '3 <&>', 'a rather long caption'], fontSize });
  const lm = await sharp(labelled).metadata();
  // Same width; each of the 2 rows is `strip` pixels taller.
  assert.deepEqual([lm.width, lm.height, lm.channels], [grid.shape[2], grid.shape[1] + 2 * strip, 1]);
  const img = await readImage(labelled);
  const W = lm.width!;
  const tileSize = 28, cellH = tileSize + strip + 2;
  // Tiles are where they were, shifted down by the strips above them.
  assert.equal(img.data[(2 + 5) * W + 2 + 5], Math.fround(Math.round(0.1 * 255) / 255), 'tile 0');
  assert.equal(img.data[(cellH + 2 + 5) * W + 2 + 30 + 5], Math.fround(Math.round(0.5 * 255) / 255), 'tile 4');
  // Text was drawn (bright pixels on the black background) in the strip under each captioned tile.
  const inkUnder = (k: number) => {
    const y0 = 2 + Math.floor(k / 3) * cellH + tileSize, x0 = 2 + (k % 3) * 30;
    let ink = 0;
    for (let y = y0; y < y0 + strip; y++) for (let x = x0; x < x0 + tileSize; x++) if (img.data[y * W + x] > 0.5) ink++;
    return ink;
  };
  for (let k = 0; k < 5; k++) assert.ok(inkUnder(k) > 3, `caption ${k} drawn (${inkUnder(k)} bright pixels)`);
  assert.deepEqual(readdirSync(dir).sort(), ['labels.png', 'plain.png'], 'no temporary files left');

  // RGB tiles give an RGB file; a light background gets dark captions.
  const rgbPath = join(dir, 'rgb.png');
  await saveImageGrid([...digits.slice(0, 2), tensor([[[1]], [[0]], [[0]]]).reshape(3, 1, 1).expand(3, 7, 7)], rgbPath, { background: 1, labels: ['a', 'b', 'c'], scale: 4 });
  const rm = await sharp(rgbPath).metadata();
  assert.equal(rm.channels, 3);
  assert.equal(rm.height, 2 + 28 + strip + 2);

  await assert.rejects(saveImageGrid(digits, join(dir, 'bad.png'), { labels: ['only one'] }), (e: Error) => e instanceof ArgumentError && /saveImageGrid: got 1 labels for 5 images/.test(e.message));
  await assert.rejects(saveImageGrid(digits, join(dir, 'grid.jpg')), (e: Error) => e instanceof ArgumentError && /must end in \.png/.test(e.message));
  assert.ok(!existsSync(join(dir, 'bad.png')));
});
