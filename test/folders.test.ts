/**
 * Folder datasets (src/data/node/folders.ts): imageFolder's classes, sample order, labels, lazy
 * per-get tensors and transforms, and its errors; segmentationFolder's pairing by stem, mask value
 * mapping, resizing and errors. The folders are written here with sharp in a temporary directory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { ArgumentError, ShapeError } from '../src/errors.js';
import { Tensor } from '../src/tensor.js';
import { collate, type Dataset } from '../src/data/dataset.js';
import { imageFolder, ImageFolder, segmentationFolder, SegmentationFolder } from '../src/data/node/folders.js';
import { serializeSafetensors } from '../src/io/safetensors.js';
import { zeros } from '../src/creation.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'pixelgrad-folders-'));

/** Writes an 8-bit image (interleaved pixels; 1 = gray, 3 = RGB) as PNG or JPEG by extension. */
async function image(path: string, width: number, height: number, pixels: number[] | number, channels: 1 | 3 = 1): Promise<string> {
  const data = typeof pixels === 'number' ? new Array(width * height * channels).fill(pixels) : pixels;
  let p = sharp(Buffer.from(data), { raw: { width, height, channels } });
  if (channels === 1) p = p.toColourspace('b-w');
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, await (path.toLowerCase().endsWith('.png') ? p.png() : p.jpeg({ quality: 95 })).toBuffer());
  return path;
}

/** A classification tree: class folders in a scrambled order, a nested folder, non-image and hidden files. */
async function classTree(): Promise<string> {
  const root = tmp();
  await image(join(root, 'dog', 'b.png'), 2, 2, 30);
  await image(join(root, 'dog', 'a.PNG'), 2, 2, 20);
  await image(join(root, 'dog', 'sub', 'c.jpg'), 2, 2, 128);
  await image(join(root, 'ant', 'x.png'), 2, 2, 200);
  await image(join(root, 'Zebra', 'z.jpeg'), 2, 2, 100);
  await image(join(root, 'cat', '1.png'), 2, 2, [1, 2, 3, 4]);
  await image(join(root, '.ipynb_checkpoints', 'old.png'), 2, 2, 0);
  await image(join(root, 'cat', '._1.png'), 2, 2, 0); // a macOS resource fork name: skipped
  writeFileSync(join(root, 'cat', 'notes.txt'), 'not an image');
  writeFileSync(join(root, 'README.md'), 'a file at the top level is not a class');
  return root;
}

test('imageFolder: classes are the sorted sub-folders, samples the sorted walk, images decoded on load', async () => {
  const root = await classTree();
  const ds = await imageFolder(root);
  assert.ok(ds instanceof ImageFolder);
  assert.deepEqual(ds.classes, ['Zebra', 'ant', 'cat', 'dog'], 'code-point order, as Python sorted(): uppercase first; hidden folders skipped');
  assert.deepEqual(ds.classToIndex, { Zebra: 0, ant: 1, cat: 2, dog: 3 });
  assert.deepEqual(ds.samples, [
    [join(root, 'Zebra', 'z.jpeg'), 0],
    [join(root, 'ant', 'x.png'), 1],
    [join(root, 'cat', '1.png'), 2],
    [join(root, 'dog', 'a.PNG'), 3],
    [join(root, 'dog', 'b.png'), 3],
    [join(root, 'dog', 'sub', 'c.jpg'), 3],
  ]);
  assert.deepEqual(ds.targets, [0, 1, 2, 3, 3, 3]);
  assert.equal(ds.length, 6);
  assert.equal(ds.root, root);

  const cat = ds.get(2);
  assert.equal(cat.target, 2);
  assert.ok(cat.input instanceof Tensor);
  assert.equal(cat.input.dtype, 'float32');
  assert.deepEqual([...cat.input.shape], [1, 2, 2]);
  assert.deepEqual(cat.input.data, Float32Array.from([1, 2, 3, 4], (v) => v / 255));
  assert.deepEqual([...ds.get(4).input.data], [...Float32Array.from([30, 30, 30, 30], (v) => v / 255)]);
  const jpeg = ds.get(5).input;
  for (const v of jpeg.data) assert.ok(Math.abs(v - 128 / 255) < 3 / 255, `JPEG value ${v}`);

  // Each get gives a fresh tensor: changing one does not change the dataset.
  cat.input.data[0] = 99;
  assert.equal(ds.get(2).input.data[0], Math.fround(1 / 255));
  // Also through the static factory.
  assert.deepEqual((await ImageFolder.load(root)).samples, ds.samples);
});

test('imageFolder: mode, size, extensions and a transform run on every get', async () => {
  const root = await classTree();
  let calls = 0;
  // Like torchvision, a class with no file of the given extensions is an error.
  await assert.rejects(imageFolder(root, { extensions: ['png'] }), (e: Error) => e instanceof ArgumentError && /found no files ending in \.png for the class 'Zebra'/.test(e.message));
  const ds = await imageFolder(root, { mode: 'rgb', size: [3, 4], extensions: ['png', '.JPEG'], transform: (img) => { calls++; return img.mul(2); } });
  assert.deepEqual(ds.samples.map(([p]) => p), [join(root, 'Zebra', 'z.jpeg'), join(root, 'ant', 'x.png'), join(root, 'cat', '1.png'), join(root, 'dog', 'a.PNG'), join(root, 'dog', 'b.png')]);
  const s = ds.get(1);
  assert.equal(s.target, 1);
  assert.deepEqual([...s.input.shape], [3, 3, 4]);
  for (const v of s.input.data) assert.ok(Math.abs(v - 2 * 200 / 255) < 1e-6, `${v}`);
  ds.get(0);
  assert.equal(calls, 2, 'the transform runs on every get');
});

test('imageFolder: get outside [0, length) names the dataset, the index and the length', async () => {
  const ds = await imageFolder(await classTree());
  for (const i of [-1, 6, 100, 1.5, NaN]) {
    assert.throws(() => ds.get(i), (e: Error) => e instanceof ArgumentError && e.message === `ImageFolder: index ${i} is out of range for a dataset of length 6`);
  }
});

test('imageFolder: images of different sizes or channels fail at load naming two files, unless resized or allowed', async () => {
  const root = tmp();
  await image(join(root, 'a', '1.png'), 4, 4, 10);
  await image(join(root, 'b', '2.png'), 5, 3, 20);
  await assert.rejects(imageFolder(root), (e: Error) => e instanceof ShapeError
    && e.message.includes(`'${join(root, 'a', '1.png')}' is [1,4,4] but '${join(root, 'b', '2.png')}' is [1,3,5]`)
    && /pass size/.test(e.message) && /allowMixedSizes/.test(e.message));
  const resized = await imageFolder(root, { size: 6 });
  assert.deepEqual(resized.samples.map((_, i) => [...resized.get(i).input.shape]), [[1, 6, 6], [1, 6, 6]]);
  const mixed = await imageFolder(root, { allowMixedSizes: true });
  assert.deepEqual([...mixed.get(1).input.shape], [1, 3, 5]);

  const colours = tmp();
  await image(join(colours, 'a', '1.png'), 2, 2, 10);
  await image(join(colours, 'b', '2.png'), 2, 2, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 3);
  await assert.rejects(imageFolder(colours), (e: Error) => e instanceof ShapeError && /is \[1,2,2\] but '.*2\.png' is \[3,2,2\]/.test(e.message));
  const rgb = await imageFolder(colours, { mode: 'rgb' });
  assert.deepEqual([...rgb.get(0).input.shape], [3, 2, 2]);
});

test('imageFolder errors: missing folder, no classes, an empty class, a broken image — each named', async () => {
  const missing = join(tmp(), 'nowhere');
  await assert.rejects(imageFolder(missing), (e: Error) => e instanceof ArgumentError && e.message === `imageFolder: cannot read folder '${missing}': no such folder`);
  const flat = tmp();
  await image(join(flat, 'x.png'), 2, 2, 0);
  await assert.rejects(imageFolder(flat), (e: Error) => e instanceof ArgumentError && e.message.startsWith(`imageFolder: no class sub-folders in '${flat}'`));
  const emptyClass = tmp();
  await image(join(emptyClass, 'cat', 'x.png'), 2, 2, 0);
  mkdirSync(join(emptyClass, 'dog'));
  writeFileSync(join(emptyClass, 'dog', 'x.gif.txt'), '');
  await assert.rejects(imageFolder(emptyClass), (e: Error) => e instanceof ArgumentError && /found no files ending in \.png, \.jpg, \.jpeg for the class 'dog'/.test(e.message));
  const broken = tmp();
  await image(join(broken, 'cat', 'ok.png'), 2, 2, 0);
  writeFileSync(join(broken, 'cat', 'bad.png'), 'definitely not a PNG');
  await assert.rejects(imageFolder(broken), (e: Error) => e instanceof ArgumentError && e.message.startsWith(`imageFolder: '${join(broken, 'cat', 'bad.png')}'`) && /not an image/.test(e.message));
  await assert.rejects(imageFolder(broken, { extensions: [] }), (e: Error) => e instanceof ArgumentError && /extensions must be a non-empty list/.test(e.message));
  await assert.rejects(imageFolder(broken, { size: 0 }), (e: Error) => e instanceof ArgumentError && /imageFolder: size must be/.test(e.message));
});

// ---------------------------------------------------------------- segmentation

/** images/{a.png, b.jpg, c.png} with masks/{a.png, b.png, c.png} holding 0/255 (ISBI-like). */
async function segTree(): Promise<{ images: string; masks: string }> {
  const root = tmp();
  const images = join(root, 'images'), masks = join(root, 'masks');
  await image(join(images, 'a.png'), 3, 2, [10, 20, 30, 40, 50, 60]);
  await image(join(images, 'b.jpg'), 3, 2, 128);
  await image(join(images, 'c.png'), 3, 2, 250);
  await image(join(masks, 'a.png'), 3, 2, [0, 255, 0, 255, 255, 0]);
  await image(join(masks, 'b.png'), 3, 2, 255);
  await image(join(masks, 'c.png'), 3, 2, [0, 0, 0, 0, 0, 255]);
  writeFileSync(join(masks, 'readme.txt'), 'ignored: not an image extension');
  return { images, masks };
}

test('segmentationFolder pairs images and masks by stem and maps mask values to class ids', async () => {
  const { images, masks } = await segTree();
  const ds = await segmentationFolder(images, masks, { classes: { 0: 0, 255: 1 } });
  assert.ok(ds instanceof SegmentationFolder);
  assert.equal(ds.length, 3);
  assert.deepEqual(ds.samples, [
    [join(images, 'a.png'), join(masks, 'a.png')],
    [join(images, 'b.jpg'), join(masks, 'b.png')],
    [join(images, 'c.png'), join(masks, 'c.png')],
  ]);
  const a = ds.get(0);
  assert.deepEqual([...a.input.shape], [1, 2, 3]);
  assert.deepEqual(a.input.data, Float32Array.from([10, 20, 30, 40, 50, 60], (v) => v / 255));
  assert.equal(a.target.dtype, 'int32');
  assert.deepEqual([...a.target.shape], [2, 3]);
  assert.deepEqual([...a.target.data], [0, 1, 0, 1, 1, 0]);
  assert.deepEqual([...ds.get(1).target.data], [1, 1, 1, 1, 1, 1]);

  // A list: the value at position i is class i.
  const listed = await segmentationFolder(images, masks, { classes: [255, 0] });
  assert.deepEqual([...listed.get(2).target.data], [1, 1, 1, 1, 1, 0]);
  // Default: stored values are the ids.
  const raw = await SegmentationFolder.load(images, masks);
  assert.deepEqual([...raw.get(0).target.data], [0, 255, 0, 255, 255, 0]);
  // Fresh tensors per get.
  raw.get(0).target.data[0] = 7;
  assert.equal(raw.get(0).target.data[0], 0);
  assert.throws(() => ds.get(3), (e: Error) => e instanceof ArgumentError && e.message === 'SegmentationFolder: index 3 is out of range for a dataset of length 3');
});

test('segmentationFolder: size resizes images bilinearly and masks by nearest neighbour; transform sees both', async () => {
  const { images, masks } = await segTree();
  let seen: number[][] = [];
  const flip = (t: Tensor): Tensor => {
    const w = t.shape[t.ndim - 1];
    const out = t.clone();
    for (let i = 0; i < t.size; i++) out.data[i] = t.data[i - (i % w) + (w - 1 - (i % w))];
    return out;
  };
  const ds = await segmentationFolder(images, masks, {
    classes: { 0: 0, 255: 1 }, size: [5, 7], mode: 'rgb',
    transform: (img, mask) => { seen.push([...img.shape], [...mask.shape]); return [flip(img), flip(mask)]; },
  });
  const s = ds.get(0);
  assert.deepEqual(seen, [[3, 5, 7], [5, 7]]);
  assert.deepEqual([...s.input.shape], [3, 5, 7]);
  assert.deepEqual([...s.target.shape], [5, 7]);
  assert.deepEqual(new Set(s.target.data), new Set([0, 1]), 'nearest: no values between classes');
  // Top-left of the original mask (0) is now at the top-right after the flip; top-right (0) at top-left.
  assert.equal(s.target.data[6], 0);
  assert.equal(s.input.data[6], Math.fround(10 / 255));
  seen = [];
  const plain = await segmentationFolder(images, masks, { classes: { 0: 0, 255: 1 }, size: [5, 7] });
  assert.deepEqual([...plain.get(0).target.data.subarray(0, 7)], [...s.target.data.subarray(0, 7)].reverse());
});

test('segmentationFolder errors name the files: missing partners, unmapped values, size mismatch, duplicate stems', async () => {
  const { images, masks } = await segTree();
  await image(join(images, 'd.png'), 3, 2, 0);
  await assert.rejects(segmentationFolder(images, masks), (e: Error) => e instanceof ArgumentError
    && e.message === `segmentationFolder: no mask in '${masks}' for 1 image: '${join(images, 'd.png')}' (masks are matched by file name without extension)`);
  await image(join(masks, 'd.png'), 3, 2, 128);
  await image(join(masks, 'e.png'), 3, 2, 0);
  await assert.rejects(segmentationFolder(images, masks), (e: Error) => e instanceof ArgumentError && e.message.includes(`no image in '${images}' for 1 mask: '${join(masks, 'e.png')}'`));

  const ok = await segTree();
  await image(join(ok.masks, 'b.png'), 3, 2, [0, 255, 128, 128, 255, 0]);
  await assert.rejects(segmentationFolder(ok.images, ok.masks, { classes: { 0: 0, 255: 1 } }), (e: Error) => e instanceof ArgumentError
    && e.message === `segmentationFolder: mask '${join(ok.masks, 'b.png')}' has value 128 (2 pixels) that classes does not map; classes maps the values 0, 255`);

  const sizes = await segTree();
  await image(join(sizes.masks, 'c.png'), 2, 3, 0);
  await assert.rejects(segmentationFolder(sizes.images, sizes.masks, { size: 8 }), (e: Error) => e instanceof ShapeError
    && e.message === `segmentationFolder: image '${join(sizes.images, 'c.png')}' is 2×3 (H×W) but its mask '${join(sizes.masks, 'c.png')}' is 3×2`);

  const mixed = await segTree();
  await image(join(mixed.images, 'c.png'), 4, 4, 0);
  await image(join(mixed.masks, 'c.png'), 4, 4, 0);
  await assert.rejects(segmentationFolder(mixed.images, mixed.masks), (e: Error) => e instanceof ShapeError && /images differ in shape: '.*a\.png' is \[1,2,3\] but '.*c\.png' is \[1,4,4\]/.test(e.message));
  assert.equal((await segmentationFolder(mixed.images, mixed.masks, { allowMixedSizes: true })).get(2).target.shape[0], 4);

  const dup = await segTree();
  await image(join(dup.images, 'a.jpg'), 3, 2, 0);
  await assert.rejects(segmentationFolder(dup.images, dup.masks), (e: Error) => e instanceof ArgumentError && /two image files have the stem 'a': '.*a\.jpg' and '.*a\.png'/.test(e.message));

  const colour = await segTree();
  await image(join(colour.masks, 'a.png'), 3, 2, [255, 0, 0, 255, 0, 0, 255, 0, 0, 255, 0, 0, 255, 0, 0, 255, 0, 0], 3);
  await assert.rejects(segmentationFolder(colour.images, colour.masks), (e: Error) => e instanceof ArgumentError && /mask '.*a\.png' is a colour image/.test(e.message));

  await assert.rejects(segmentationFolder(join(images, 'nope'), masks), (e: Error) => e instanceof ArgumentError && /cannot read folder '.*nope': no such folder/.test(e.message));
  await assert.rejects(segmentationFolder(images, masks, { classes: [0, 0] }), (e: Error) => e instanceof ArgumentError && /mask value 0 is listed twice/.test(e.message));
});

test('both folder datasets are Datasets whose samples collate into batches', async () => {
  const classes: Dataset<{ input: Tensor; target: number }> = await imageFolder(await classTree(), { size: 4, mode: 'rgb' });
  const batch = collate([0, 2, 5].map((i) => classes.get(i)));
  assert.deepEqual([...batch.input.shape], [3, 3, 4, 4]);
  assert.equal(batch.target.dtype, 'int32');
  assert.deepEqual([...batch.target.data], [0, 2, 3]);

  const { images, masks } = await segTree();
  const seg: Dataset<{ input: Tensor; target: Tensor }> = await segmentationFolder(images, masks, { classes: { 0: 0, 255: 1 } });
  const sb = collate([seg.get(0), seg.get(2)]);
  assert.deepEqual([...sb.input.shape], [2, 1, 2, 3]);
  assert.deepEqual([...sb.target.shape], [2, 2, 3]);
  assert.deepEqual([...sb.target.data], [0, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1]);
});

// ---------------------------------------------------------------- imageFolder's cache of decoded images

/** Every sample's pixels and target, for comparing two loads. */
const contents = (ds: ImageFolder) => ds.samples.map((_, i) => { const s = ds.get(i); return [[...s.input.shape], [...s.input.data], s.target]; });

test('imageFolder cache: the second load reads one file and gives the same samples; progress is reported while decoding', async () => {
  const root = tmp(), cache = join(tmp(), 'cache');
  await image(join(root, 'a', '1.png'), 3, 2, [1, 2, 3, 4, 5, 6]);
  await image(join(root, 'a', '2.jpg'), 3, 2, 90);
  await image(join(root, 'b', '3.png'), 3, 2, [250, 0, 7, 9, 11, 13]);
  const progress: [number, number][] = [];
  const decoded = await imageFolder(root, { cache, onProgress: (done, total) => progress.push([done, total]) });
  assert.deepEqual(progress, [[1, 3], [2, 3], [3, 3]]);
  assert.equal(decoded.cache?.hit, false);
  assert.ok(existsSync(decoded.cache!.file) && decoded.cache!.file.startsWith(cache), 'the cache folder is created');
  const warnings: string[] = [];
  const cached = await imageFolder(root, { cache, onProgress: () => assert.fail('nothing to decode'), onWarning: (m) => warnings.push(m) });
  assert.deepEqual(cached.cache, { file: decoded.cache!.file, hit: true });
  assert.deepEqual(contents(cached), contents(decoded));
  assert.deepEqual(contents(cached), contents(await imageFolder(root)), 'and the same as without a cache');
  assert.deepEqual(warnings, []);
  // Other decoding options are another cache file.
  const rgb = await imageFolder(root, { cache, mode: 'rgb' });
  assert.equal(rgb.cache?.hit, false);
  assert.notEqual(rgb.cache!.file, decoded.cache!.file);
  assert.deepEqual([...rgb.get(0).input.shape], [3, 2, 3]);
});

test('imageFolder cache: a changed listing decodes again and replaces it; 16-bit pixels keep their depth', async () => {
  const root = tmp(), cache = join(tmp(), 'cache');
  const values = [0, 1, 257, 40000, 65535, 12345];
  const png16 = await sharp(Uint16Array.from(values), { raw: { width: 3, height: 2, channels: 1 } }).toColourspace('grey16').png().toBuffer();
  mkdirSync(join(root, 'a'));
  writeFileSync(join(root, 'a', 'x.png'), png16);
  await image(join(root, 'b', 'y.png'), 3, 2, 0);
  writeFileSync(join(root, 'b', 'y.png'), png16); // the same depth in both classes: cached
  const first = await imageFolder(root, { cache });
  assert.equal(first.cache?.hit, false);
  const again = await imageFolder(root, { cache });
  assert.equal(again.cache?.hit, true);
  assert.deepEqual([...again.get(0).input.data], values.map((v) => Math.fround(v / 65535)));

  // A file rewritten (another size), then a file added: decoded again, not read from the stale cache.
  await image(join(root, 'b', 'y.png'), 3, 2, [9, 8, 7, 6, 5, 4]);
  await image(join(root, 'b', 'z.png'), 3, 2, 1);
  const changed = await imageFolder(root, { cache, allowMixedSizes: true });
  assert.equal(changed.cache, null, 'mixed depths (16-bit and 8-bit) are not cached');
  rmSync(join(root, 'a', 'x.png'));
  await image(join(root, 'a', 'x.png'), 3, 2, 3);
  const eight = await imageFolder(root, { cache });
  assert.deepEqual(eight.cache, { file: first.cache!.file, hit: false }, 'the same file, replaced');
  assert.equal(eight.length, 3);
  assert.deepEqual([...eight.get(1).input.data], [9, 8, 7, 6, 5, 4].map((v) => Math.fround(v / 255)));
  assert.equal((await imageFolder(root, { cache })).cache?.hit, true);
});

test('imageFolder cache: a corrupt or unwritable cache is ignored with a warning and the images decoded', async () => {
  const root = tmp(), cache = join(tmp(), 'cache');
  await image(join(root, 'a', '1.png'), 2, 2, [1, 2, 3, 4]);
  await image(join(root, 'b', '2.png'), 2, 2, [5, 6, 7, 8]);
  const good = await imageFolder(root, { cache });
  const file = good.cache!.file;
  const bytes = readFileSync(file);
  const damaged: [string, Uint8Array][] = [
    ['truncated', bytes.subarray(0, bytes.length - 3)],
    ['garbage', Buffer.from('not a cache at all')],
    ['another safetensors file', Buffer.from(serializeSafetensors({ pixels: zeros([2]) }))],
  ];
  for (const [what, content] of damaged) {
    writeFileSync(file, content);
    const warnings: string[] = [];
    const ds = await imageFolder(root, { cache, onWarning: (m) => warnings.push(m) });
    assert.equal(warnings.length, 1, what);
    assert.match(warnings[0], new RegExp(`^ignoring the corrupt image cache ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(.+\\); decoding the images again$`), what);
    assert.deepEqual(contents(ds), contents(good), what);
    assert.deepEqual(ds.cache, { file, hit: false }, `${what}: rewritten`);
  }
  // A cache "folder" that is a file: nothing can be written there.
  const blocked = join(tmp(), 'a-file');
  writeFileSync(blocked, '');
  const warnings: string[] = [];
  const ds = await imageFolder(root, { cache: blocked, onWarning: (m) => warnings.push(m) });
  assert.equal(ds.cache, null);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /^cannot write the image cache .*a-file.*; the images will be decoded again next time$/);
  assert.deepEqual(contents(ds), contents(good));
  await assert.rejects(imageFolder(root, { cache: '' }), /imageFolder: cache must be a folder path/);
  await assert.rejects(imageFolder(root, { onProgress: 3 as never }), /imageFolder: onProgress must be a function/);
});
