/**
 * safetensors: round trips, byte equality with the files PyTorch's side writes
 * (test/fixtures/*.safetensors, made by tools/gen_safetensors_fixture.py), the dtype conversions,
 * a table of hostile files (each a clear error naming the file), and the Node helpers
 * (saveSafetensors/loadSafetensors, saveModel/loadModel). The mutation fuzz is in fuzz.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NotSupportedError, ShapeError, Tensor, manualSeed, nn, randn, tensor, zeros } from '../src/index.js';
import { MAX_HEADER_BYTES, SafetensorsError, parseSafetensors, serializeSafetensors } from '../src/io/index.js';
import { loadModel, loadSafetensors, saveModel, saveSafetensors } from '../src/io/node.js';

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`./fixtures/${name}`, import.meta.url)));
const f32 = (v: number[], shape = [v.length]) => tensor(Float32Array.from(v), { shape });
const f64 = (v: number[], shape = [v.length]) => tensor(Float64Array.from(v), { shape });
const i32 = (v: number[], shape = [v.length]) => tensor(Int32Array.from(v), { shape });

/** The tensors of test/fixtures/reference.safetensors (as in tools/gen_safetensors_fixture.py). */
function referenceTensors(): Record<string, Tensor> {
  return {
    'layer.weight': f32([0.1, -2.0, 3.5, 1e-8, -0, 65504.0], [2, 3]),
    'layer.bias': f32([0.25, -1.5, 1e30]),
    empty: f32([], [0]),
    'labels.ñ': i32([-2147483648, 0, 7, 2147483647]),
    scale: f64([Math.PI], []),
  };
}

/** Bit-exact equality of dtype, shape and elements (NaN and -0 included). */
function assertSameTensor(actual: Tensor, expected: Tensor, what: string): void {
  assert.ok(actual instanceof Tensor, `${what}: not a Tensor`);
  assert.equal(actual.dtype, expected.dtype, `${what}: dtype`);
  assert.deepEqual([...actual.shape], [...expected.shape], `${what}: shape`);
  assert.equal(actual.data.length, expected.data.length, `${what}: size`);
  for (let i = 0; i < expected.data.length; i++) assert.ok(Object.is(actual.data[i], expected.data[i]), `${what}[${i}]: ${actual.data[i]} vs ${expected.data[i]}`);
}

/** A file from a header (object or raw text) and a data region. */
function craft(header: unknown, data: Uint8Array | number = 0, opts: { headerLength?: bigint } = {}): Uint8Array {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const h = new TextEncoder().encode(text);
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + h.length + body.length);
  new DataView(out.buffer).setBigUint64(0, opts.headerLength ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(body, 8 + h.length);
  return out;
}

const headerText = (bytes: Uint8Array) => new TextDecoder().decode(bytes.subarray(8, 8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true))));

// ---- the Python side's files ----

test('serializeSafetensors writes reference.safetensors byte for byte (dtype-then-name order, space padding)', () => {
  const expected = fixture('reference.safetensors');
  const ours = serializeSafetensors(referenceTensors(), { format: 'pt' });
  assert.equal(ours.length, expected.length, 'file length');
  assert.deepEqual(Buffer.from(ours).toString('hex'), Buffer.from(expected).toString('hex'));
  const names = Object.keys(JSON.parse(headerText(ours)));
  assert.deepEqual(names, ['__metadata__', 'scale', 'empty', 'layer.bias', 'layer.weight', 'labels.ñ'], 'F64, then F32 by name, then I32');
});

test('parseSafetensors reads reference.safetensors as PyTorch wrote it', () => {
  const { tensors, metadata } = parseSafetensors(fixture('reference.safetensors'), 'reference.safetensors');
  assert.deepEqual(metadata, { format: 'pt' });
  const expected = referenceTensors();
  assert.deepEqual(Object.keys(tensors).sort(), Object.keys(expected).sort());
  for (const [k, t] of Object.entries(expected)) assertSameTensor(tensors[k], t, k);
  assert.equal(tensors.scale.ndim, 0);
  assert.equal(tensors.scale.item(), Math.PI);
});

test('F16 and BF16 are converted to float32 and I64 to int32, exactly', () => {
  const { tensors, metadata } = parseSafetensors(fixture('convert.safetensors'), 'convert.safetensors');
  assert.deepEqual(metadata, {});
  assertSameTensor(tensors.half, f32([1, -2.5, 65504, 2 ** -24, Infinity]), 'half');
  assertSameTensor(tensors.brain, f32([1.5, -3.140625, 2 ** 100]), 'brain');
  assertSameTensor(tensors.count, i32([-(2 ** 31), 5, 2 ** 31 - 1]), 'count');
});

test('I64 values outside int32 and other dtypes are NotSupportedError naming the tensor and dtype', () => {
  const big = new Uint8Array(16);
  new DataView(big.buffer).setBigInt64(8, 2n ** 31n, true);
  assert.throws(() => parseSafetensors(craft({ steps: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, big), 'big.safetensors'),
    (e: Error) => e instanceof NotSupportedError && /^parseSafetensors: big\.safetensors: tensor "steps" is I64 and its element 1 \(2147483648\) does not fit in int32/.test(e.message));
  for (const [dtype, size] of [['U8', 1], ['BOOL', 1], ['I16', 2], ['U64', 8], ['F8_E4M3', 1]] as const) {
    assert.throws(() => parseSafetensors(craft({ mask: { dtype, shape: [2], data_offsets: [0, 2 * size] } }, 2 * size), 'm.safetensors'),
      (e: Error) => e instanceof NotSupportedError && e.message.startsWith(`parseSafetensors: m.safetensors: tensor "mask" has dtype ${dtype}, which pixelgrad does not support`), dtype);
  }
});

// ---- round trips and the writer's choices ----

test('round trips: every dtype, 0-d, empty tensors, special values, odd names and metadata', () => {
  const tensors: Record<string, Tensor> = {
    a: f32([1, -0, NaN, Infinity, -Infinity, 1.401298464324817e-45, 3.4028234663852886e38], [7]),
    b: f64([Number.MIN_VALUE, -0, NaN, 1 / 3, -Number.MAX_VALUE, 2 ** 60], [2, 3]),
    c: i32([-5, 2 ** 31 - 1, -(2 ** 31), 0], [2, 1, 2]),
    scalarF32: f32([42.5], []),
    scalarI32: i32([-7], []),
    empty0: f32([], [0]),
    empty230: f64([], [2, 0, 3]),
    emptyInt: i32([], [0, 4]),
    'with "quotes" and\nnewline': f32([1, 2]),
    'ünïcödé 😀': i32([3]),
    ['__proto__']: f32([9]), // computed: an own key, not the prototype
    '': f64([5]),
  };
  const metadata = { format: 'pt', note: 'ü 😀 "quoted" \\ \u0001', empty: '' };
  const bytes = serializeSafetensors(tensors, metadata);
  const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(headerLen % 8, 0, 'the data starts 8-byte aligned');
  const back = parseSafetensors(bytes, 'round.safetensors');
  assert.deepEqual(back.metadata, metadata);
  assert.deepEqual(Object.keys(back.tensors).sort(), Object.keys(tensors).sort());
  for (const k of Object.keys(tensors)) assertSameTensor(back.tensors[k], tensors[k], JSON.stringify(k));
  assert.equal(Object.getPrototypeOf(back.tensors), Object.prototype, 'a tensor named __proto__ is an own key, not the prototype');
  // The parsed tensors own their memory.
  bytes.fill(0);
  assert.equal(back.tensors.b.data[3], 1 / 3);
});

test('round trip of a view (a tensor whose data is a subarray) and of unaligned input bytes', () => {
  const backing = new Float64Array([0, 1, 2, 3, 4, 5]);
  const view = new Tensor(backing.subarray(1, 4), [3]);
  const bytes = serializeSafetensors({ v: view });
  const shifted = new Uint8Array(bytes.length + 3);
  shifted.set(bytes, 3);
  assertSameTensor(parseSafetensors(shifted.subarray(3)).tensors.v, f64([1, 2, 3]), 'v');
});

test('the header layout matches the reference writer (compact JSON, metadata first, space padding)', () => {
  const empty = serializeSafetensors({});
  assert.deepEqual([...empty], [8, 0, 0, 0, 0, 0, 0, 0, ...new TextEncoder().encode('{}      ')]);
  const meta = serializeSafetensors({}, { framework: 'pt' });
  assert.equal(headerText(meta), '{"__metadata__":{"framework":"pt"}}     ');
  assert.equal(meta.length, 8 + 40);
  const one = serializeSafetensors({ 'attn.0': f32([0, 1, 2, 3, 4, 5], [1, 2, 3]) });
  assert.equal(headerText(one), '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}', '64 bytes: no padding needed');
  assert.deepEqual([...one.subarray(72)], [...new Uint8Array(Float32Array.from([0, 1, 2, 3, 4, 5]).buffer)]);
  const padded = serializeSafetensors({ attn0: f32([0, 1, 2, 3, 4, 5], [1, 1, 2, 3]) });
  assert.equal(headerText(padded), `{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}${' '.repeat(7)}`);
  // Names are sorted by code point (UTF-8 byte order), as Rust sorts strings, not by UTF-16 unit.
  const order = Object.keys(JSON.parse(headerText(serializeSafetensors({ '\u{1F600}': f32([1]), '\uFF21': f32([2]), B: f32([3]), a: f32([4]) }))));
  assert.deepEqual(order, ['B', 'a', '\uFF21', '\u{1F600}']);
});

test('serializeSafetensors rejects what the format cannot hold', () => {
  assert.throws(() => serializeSafetensors({ a: [1, 2] as never }), /serializeSafetensors: tensors\["a"\] must be a Tensor, got \[1,2\]$/);
  assert.throws(() => serializeSafetensors({ __metadata__: f32([1]) }), /serializeSafetensors: '__metadata__' is reserved/);
  assert.throws(() => serializeSafetensors({}, { n: 1 as never }), /serializeSafetensors: metadata\["n"\] must be a string, got 1/);
  assert.throws(() => serializeSafetensors(f32([1]) as never), /serializeSafetensors: tensors must be an object \{ name: Tensor \}, got a Tensor/);
});

// ---- hostile files ----

const F32x2 = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };

/** [what, bytes, the message after 'parseSafetensors: evil.safetensors: ']. */
const HOSTILE: [string, () => Uint8Array, RegExp][] = [
  ['empty file', () => new Uint8Array(0), /^only 0 bytes; a safetensors file starts with an 8-byte header length$/],
  ['truncated length', () => new Uint8Array([8, 0, 0, 0]), /^only 4 bytes/],
  ['header longer than the file', () => craft({ a: F32x2 }, 8, { headerLength: 1000n }), /^the header length 1000 is larger than the \d+ bytes after it/],
  ['truncated header', () => craft({ a: F32x2 }, 8).subarray(0, 20), /^the header length \d+ is larger than the 12 bytes after it/],
  ['huge header length', () => craft({}, 0, { headerLength: BigInt(MAX_HEADER_BYTES + 1) }), /^the header length 100000001 is over the limit of 100000000 bytes/],
  ['64-bit header length', () => craft({}, 0, { headerLength: 2n ** 63n }), /^the header length 2147483648·2\^32 \+ 0 is over the limit/],
  ['zero header length', () => craft('', 0), /^the header length 0 is too short for a JSON object$/],
  ['invalid UTF-8', () => { const b = craft('{"a":1}'); b[10] = 0xff; return b; }, /^the header is not valid UTF-8$/],
  ['non-JSON header', () => craft('{not json}'), /^the header is not valid JSON \(/],
  ['BOM before the JSON', () => craft('\uFEFF{}'), /^the header is not valid JSON/],
  ['header is an array', () => craft([]), /^the header must be a JSON object, got \[\]$/],
  ['header is a string', () => craft('"x"'), /^the header must be a JSON object, got "x"$/],
  ['entry not an object', () => craft({ a: 5 }), /^tensor "a": expected \{ dtype, shape, data_offsets \}, got 5$/],
  ['unknown field', () => craft({ a: { ...F32x2, extra: 1 } }, 8), /^tensor "a": unknown field "extra"/],
  ['bad dtype', () => craft({ a: { ...F32x2, dtype: 'F33' } }, 8), /^tensor "a": unknown dtype "F33" \(the format has BOOL, U8/],
  ['lower-case dtype', () => craft({ a: { ...F32x2, dtype: 'f32' } }, 8), /^tensor "a": unknown dtype "f32"/],
  ['missing dtype', () => craft({ a: { shape: [2], data_offsets: [0, 8] } }, 8), /^tensor "a": unknown dtype undefined/],
  ['negative shape', () => craft({ a: { ...F32x2, shape: [-2] } }, 8), /^tensor "a": shape must be an array of non-negative integers, got \[-2\]$/],
  ['float shape', () => craft({ a: { ...F32x2, shape: [1.5] } }, 8), /^tensor "a": shape must be an array of non-negative integers, got \[1\.5\]$/],
  ['string shape', () => craft({ a: { ...F32x2, shape: '2' } }, 8), /^tensor "a": shape must be an array of non-negative integers, got "2"$/],
  ['overflowing shape', () => craft({ a: { ...F32x2, shape: [2 ** 40, 2 ** 40] } }, 8), /^tensor "a": shape \[1099511627776,1099511627776\] of F32 needs too many bytes/],
  ['offsets not a pair', () => craft({ a: { ...F32x2, data_offsets: [0, 4, 8] } }, 8), /^tensor "a": data_offsets must be \[begin, end\]/],
  ['negative offset', () => craft({ a: { ...F32x2, data_offsets: [-8, 0] } }, 8), /^tensor "a": data_offsets must be \[begin, end\]/],
  ['offsets reversed', () => craft({ a: { ...F32x2, data_offsets: [8, 0] } }, 8), /^tensor "a": data_offsets \[8,0\] end before they begin$/],
  ['offsets out of range', () => craft({ a: { ...F32x2, data_offsets: [0, 800] } }, 8), /^tensor "a": data_offsets \[0,800\] run past the end of the data \(8 bytes\)$/],
  ['truncated data', () => craft({ a: F32x2 }, 8).subarray(0, 8 + 56 + 4), /run past the end of the data|larger than/],
  ['size mismatch', () => craft({ a: { ...F32x2, shape: [3] } }, 8), /^tensor "a": shape \[3\] of F32 needs 12 bytes but data_offsets \[0,8\] hold 8$/],
  ['overlapping tensors', () => craft({ a: { ...F32x2, data_offsets: [0, 8] }, b: { ...F32x2, data_offsets: [4, 12] } }, 12),
    /^tensors "a" \[0,8\] and "b" \[4,12\] overlap$/],
  ['the same bytes twice', () => craft({ a: F32x2, b: F32x2 }, 8), /^tensors "a" \[0,8\] and "b" \[0,8\] overlap$/],
  ['empty tensor inside another', () => craft({ a: F32x2, b: { dtype: 'F32', shape: [0], data_offsets: [4, 4] } }, 8), /^tensors "a" \[0,8\] and "b" \[4,4\] overlap$/],
  ['gap between tensors', () => craft({ a: F32x2, b: { ...F32x2, data_offsets: [12, 20] } }, 20), /^bytes \[8,12\) of the data belong to no tensor \(before "b"\)$/],
  ['gap at the start', () => craft({ b: { ...F32x2, data_offsets: [4, 12] } }, 12), /^bytes \[0,4\) of the data belong to no tensor/],
  ['trailing bytes', () => craft({ a: F32x2 }, 16), /^bytes \[8,16\) at the end of the data belong to no tensor$/],
  ['data but no tensors', () => craft({}, 4), /^bytes \[0,4\) at the end of the data belong to no tensor$/],
  ['non-string metadata', () => craft({ __metadata__: { epoch: 3 } }), /^__metadata__\["epoch"\] must be a string, got 3$/],
  ['metadata not an object', () => craft({ __metadata__: ['a'] }), /^__metadata__ must be an object of strings, got \["a"\]$/],
  ['null metadata', () => craft({ __metadata__: null }), /^__metadata__ must be an object of strings, got null$/],
  // Error paths must not recurse over the file or quote all of it.
  ['an entry nested 100,000 levels deep', () => craft(`{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`),
    /^tensor "a": expected \{ dtype, shape, data_offsets \}, got \[\[\.\.\.\]\]$/],
  ['metadata nested 100,000 levels deep', () => craft(`{"__metadata__":{"k":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}}`),
    /^__metadata__\["k"\] must be a string, got an object$/],
  ['a shape of a million dims', () => craft({ a: { ...F32x2, shape: new Array(1_000_000).fill(1) } }, 8),
    /^tensor "a": shape \[1,1,1,(1,)*\.\.\.\] of F32 needs 4 bytes but data_offsets \[0,8\] hold 8$/],
  ['a name of a million characters', () => craft({ ['n'.repeat(1_000_000)]: 5 }), /^tensor "n{77}\.\.\.": expected/],
];

for (const [what, make, message] of HOSTILE) {
  test(`hostile file: ${what}`, () => {
    const bytes = make();
    assert.throws(() => parseSafetensors(bytes, 'evil.safetensors'), (e: Error) => {
      assert.ok(e instanceof SafetensorsError, `${e.name}: ${e.message}`);
      const prefix = 'parseSafetensors: evil.safetensors: ';
      assert.ok(e.message.startsWith(prefix), e.message);
      assert.match(e.message.slice(prefix.length), message);
      assert.ok(e.message.length < 300, `a ${e.message.length}-character message`);
      return true;
    });
  });
}

test('the default name in errors is "safetensors data"', () => {
  assert.throws(() => parseSafetensors(new Uint8Array(3)), /parseSafetensors: safetensors data: only 3 bytes/);
  assert.throws(() => parseSafetensors([1, 2, 3] as never, 'x'), /parseSafetensors: x: expected a Uint8Array, got \[1,2,3\]$/);
});

// ---- files (Node) ----

class Net extends nn.Module {
  readonly body: nn.Sequential;
  constructor() {
    super();
    this.body = this.registerModule('body', new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4), new nn.ReLU(), new nn.Linear(4, 2)));
  }
  override forward(x: Tensor): Tensor { return this.body.forward(x); }
}

test('saveSafetensors/loadSafetensors and saveModel/loadModel round-trip through files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pixelgrad-st-'));
  const file = join(dir, 'sub', 't.safetensors');
  saveSafetensors(file, referenceTensors(), { format: 'pt' });
  assert.deepEqual(new Uint8Array(readFileSync(file)), fixture('reference.safetensors'));
  const { tensors, metadata } = loadSafetensors(file);
  assert.deepEqual(metadata, { format: 'pt' });
  for (const [k, t] of Object.entries(referenceTensors())) assertSameTensor(tensors[k], t, k);

  manualSeed(1);
  const a = new Net();
  a.train();
  a.forward(randn([5, 3])); // moves the running statistics
  const modelFile = join(dir, 'net.safetensors');
  saveModel(a, modelFile, { format: 'pt' });
  const names = Object.keys(loadSafetensors(modelFile).tensors).sort();
  assert.deepEqual(names, Object.keys(a.stateDict()).sort(), 'keys are the dotted state-dict names');
  assert.ok(names.includes('body.1.num_batches_tracked'));
  manualSeed(2);
  const b = new Net();
  const result = loadModel(b, modelFile);
  assert.deepEqual(result, { missingKeys: [], unexpectedKeys: [] });
  for (const [k, t] of Object.entries(a.stateDict())) assertSameTensor(b.stateDict()[k], t, k);
  assert.deepEqual(readdirSync(dir).sort(), ['net.safetensors', 'sub'], 'no temporary files left');
});

test('loadModel: strict mismatches name the file; strict: false reports the keys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pixelgrad-st-'));
  const file = join(dir, 'partial.safetensors');
  const full = new Net().stateDict();
  const { ['body.3.bias']: _dropped, ...partial } = full;
  saveSafetensors(file, { ...partial, extra: zeros([1]) });
  assert.throws(() => loadModel(new Net(), file), (e: Error) => e instanceof ShapeError
    && e.message.startsWith(`loadModel: ${file}: loadStateDict: Net: missing: body.3.bias | unexpected: extra`));
  const r = loadModel(new Net(), file, { strict: false });
  assert.deepEqual(r, { missingKeys: ['body.3.bias'], unexpectedKeys: ['extra'] });
  saveSafetensors(file, { ...full, 'body.0.weight': zeros([2, 2]) });
  assert.throws(() => loadModel(new Net(), file), /loadModel: .*partial\.safetensors: loadStateDict: Net: mis-shaped: body\.0\.weight: checkpoint \[2,2\] vs model \[4,3\]/);
  assert.throws(() => loadSafetensors(join(dir, 'missing.safetensors')), /^ArgumentError: loadSafetensors: cannot read '.*missing\.safetensors': no such file$/);
  assert.ok(!existsSync(join(dir, 'missing.safetensors')));
});

test('loadModel: tensor names from the file are data, never inherited properties, and are quoted short', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pixelgrad-st-'));
  const file = join(dir, 'odd.safetensors');
  const full = new Net().stateDict();
  const odd = { constructor: zeros([1]), toString: zeros([1]), ['__proto__']: zeros([1]) };
  const many = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`${'k'.repeat(10_000)}${i}`, zeros([1])]));
  saveSafetensors(file, Object.assign(Object.create(null), full, odd, many));
  assert.throws(() => loadModel(new Net(), file), (e: Error) => {
    assert.ok(e instanceof ShapeError, `${e.name}: ${e.message.slice(0, 200)}`);
    assert.match(e.message, /unexpected: __proto__, constructor, k{97}\.\.\., .* and 23 more$/);
    assert.ok(e.message.length < 1500, `a ${e.message.length}-character message`);
    return true;
  });
  const r = loadModel(new Net(), file, { strict: false });
  for (const k of ['constructor', 'toString', '__proto__']) assert.ok(r.unexpectedKeys.includes(k), k);
  assert.equal(r.unexpectedKeys.length, 33);
});
