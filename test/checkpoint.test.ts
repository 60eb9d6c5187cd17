/**
 * Training checkpoints: a round trip that resumes training bit for bit (model, SGD with momentum
 * or Adam, a scheduler, the default and a named generator), the file's layout, corrupt and
 * mismatched checkpoints (clear errors; a failed restore changes nothing), and atomic saving (a
 * write that fails midway, and a process killed while saving, never leave a partial file).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs, { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Generator, PixelgradError, Tensor, defaultGenerator, manualSeed, nn, randint, randn } from '../src/index.js';
import { SafetensorsError, parseSafetensors, serializeSafetensors } from '../src/io/index.js';
import { Adam, CosineAnnealingLR, Optimizer, ReduceLROnPlateau, SGD, SchedulerBase, StepLR } from '../src/optim/index.js';
import {
  CHECKPOINT_CHECKSUM_KEY, CHECKPOINT_METADATA_KEY, CheckpointError, MAX_JSON_DEPTH, loadCheckpoint, parseCheckpoint, restoreCheckpoint, saveCheckpoint, serializeCheckpoint,
  type Checkpoint,
} from '../src/train/checkpoint.js';

class Net extends nn.Module {
  readonly body: nn.Sequential;
  constructor() {
    super();
    this.body = this.registerModule('body', new nn.Sequential(
      new nn.Linear(4, 8), new nn.BatchNorm1d(8), new nn.ReLU(), new nn.Dropout(0.3), new nn.Linear(8, 3)));
  }
  override forward(x: Tensor): Tensor { return this.body.forward(x); }
}

type Kind = 'SGD+StepLR' | 'Adam+CosineAnnealingLR';
interface Run { model: Net; optimizer: Optimizer<any, any>; scheduler: SchedulerBase & { step(): void }; data: Generator }

function makeRun(kind: Kind, seed: number): Run {
  manualSeed(seed);
  const model = new Net();
  const data = new Generator(seed + 1000);
  if (kind === 'SGD+StepLR') {
    const optimizer = new SGD([{ params: model.body.parameters().slice(0, 2), lr: 0.2 }, { params: model.body.parameters().slice(2) }],
      { lr: 0.1, momentum: 0.9, weightDecay: 1e-3, nesterov: true });
    return { model, optimizer, scheduler: new StepLR(optimizer, { stepSize: 2, gamma: 0.5 }), data };
  }
  const optimizer = new Adam(model.parameters(), { lr: 0.01, amsgrad: true });
  return { model, optimizer, scheduler: new CosineAnnealingLR(optimizer, { tMax: 5 }), data };
}

/** One training step: data from the run's generator, dropout from the default generator. */
function trainStep(run: Run): number {
  const x = randn([6, 4], { generator: run.data });
  const y = randint(0, 3, [6], { generator: run.data });
  run.optimizer.zeroGrad();
  const loss = nn.functional.crossEntropy(run.model.forward(x), y);
  loss.backward();
  run.optimizer.step();
  run.scheduler.step();
  return loss.item();
}

function assertSameState(a: Record<string, Tensor>, b: Record<string, Tensor>, what: string): void {
  assert.deepEqual(Object.keys(a), Object.keys(b), `${what}: keys`);
  for (const k of Object.keys(a)) {
    assert.equal(a[k].dtype, b[k].dtype, `${what} ${k}: dtype`);
    assert.deepEqual([...a[k].shape], [...b[k].shape], `${what} ${k}: shape`);
    assert.deepEqual([...a[k].data], [...b[k].data], `${what} ${k}: values`);
  }
}

const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), `pixelgrad-ckpt-${prefix}-`));
const CONFIG = { model: 'Net', lr: 0.1, layers: [4, 8, 3], augment: { flip: true, crop: null }, name: 'run "a" ü' };
const HISTORY = [{ epoch: 0, loss: 1.25, acc: 0.5 }, { epoch: 1, loss: NaN, acc: -Infinity }, { epoch: 2, loss: Infinity }];

for (const kind of ['SGD+StepLR', 'Adam+CosineAnnealingLR'] as Kind[]) {
  test(`checkpoint round trip (${kind}): restoring into fresh objects gives identical next training steps`, () => {
    const dir = tmp('rt');
    const path = join(dir, 'nested', 'last.safetensors');
    const a = makeRun(kind, 1);
    for (let i = 0; i < 4; i++) trainStep(a);
    saveCheckpoint(path, { model: a.model, optimizer: a.optimizer, scheduler: a.scheduler, epoch: 2, step: 4, generators: { data: a.data }, config: CONFIG, history: HISTORY });
    const expectedLosses = Array.from({ length: 4 }, () => trainStep(a));

    const b = makeRun(kind, 99); // different weights, data generator and default generator state
    manualSeed(12345);
    const ckpt = loadCheckpoint(path);
    assert.equal(ckpt.epoch, 2);
    assert.equal(ckpt.step, 4);
    assert.deepEqual(ckpt.config, CONFIG);
    assert.deepEqual(ckpt.history, HISTORY, 'NaN and ±Infinity survive');
    restoreCheckpoint(ckpt, { model: b.model, optimizer: b.optimizer, scheduler: b.scheduler, generators: { data: b.data } });
    const losses = Array.from({ length: 4 }, () => trainStep(b));
    assert.deepEqual(losses, expectedLosses, 'the same losses, bit for bit');
    assertSameState(b.model.stateDict(), a.model.stateDict(), 'model after 4 more steps');
    assert.deepEqual(b.optimizer.stateDict(), a.optimizer.stateDict(), 'optimizer state and lrs');
    assert.deepEqual(b.scheduler.stateDict(), a.scheduler.stateDict(), 'scheduler state');
    assert.deepEqual(b.data.getState(), a.data.getState());
    assert.deepEqual(readdirSync(join(dir, 'nested')), ['last.safetensors'], 'no temporary files left');
  });
}

test("a checkpoint from before PyTorch's optimiser names (paramGroups, camelCase inside, no checksum) still restores", () => {
  const run = makeRun('SGD+StepLR', 3);
  trainStep(run);
  const { tensors, metadata } = parseSafetensors(serializeCheckpoint({ model: run.model, optimizer: run.optimizer, epoch: 0 }));
  const doc = JSON.parse(metadata[CHECKPOINT_METADATA_KEY]);
  const { param_groups: groups, state } = doc.optimizer.stateDict;
  doc.optimizer.stateDict = {
    state: Object.fromEntries(Object.entries(state).map(([i, e]) => [i, { momentumBuffer: (e as Record<string, unknown>).momentum_buffer }])),
    paramGroups: groups.map(({ weight_decay: weightDecay, ...g }: Record<string, unknown>) => ({ ...g, weightDecay })),
  };
  const legacy = parseCheckpoint(serializeSafetensors(tensors, { [CHECKPOINT_METADATA_KEY]: JSON.stringify(doc) }), 'legacy');
  const fresh = makeRun('SGD+StepLR', 3);
  restoreCheckpoint(legacy, { model: fresh.model, optimizer: fresh.optimizer, defaultGenerator: false });
  assert.deepEqual(fresh.optimizer.stateDict(), run.optimizer.stateDict());
});

test('the checkpoint is one safetensors file: model.*, optimizer.state.*, and the JSON under __metadata__.pixelgrad', () => {
  const run = makeRun('SGD+StepLR', 3);
  trainStep(run);
  const bytes = serializeCheckpoint({ model: run.model, optimizer: run.optimizer, scheduler: run.scheduler, epoch: 0, generators: { data: run.data } });
  const { tensors, metadata } = parseSafetensors(bytes);
  assert.deepEqual(Object.keys(metadata), [CHECKPOINT_METADATA_KEY, CHECKPOINT_CHECKSUM_KEY]);
  assert.equal(metadata[CHECKPOINT_CHECKSUM_KEY], createHash('sha256').update(serializeSafetensors(tensors)).update(metadata[CHECKPOINT_METADATA_KEY]).digest('hex'));
  const names = Object.keys(tensors).sort();
  const modelNames = Object.keys(run.model.stateDict()).map((n) => `model.${n}`);
  const optimizerNames = [0, 1, 2, 3, 4, 5].map((i) => `optimizer.state.${i}.momentum_buffer`);
  assert.deepEqual(names, [...modelNames, ...optimizerNames].sort());
  assert.equal(tensors['model.body.1.num_batches_tracked'].dtype, 'int32');
  const doc = JSON.parse(metadata.pixelgrad);
  assert.equal(doc.format, 'pixelgrad-checkpoint');
  assert.equal(doc.version, 1);
  assert.equal(doc.step, 0, 'step defaults to 0');
  assert.equal(doc.config, null);
  assert.equal(doc.optimizer.type, 'SGD');
  assert.deepEqual(doc.optimizer.stateDict.state['0'], { momentum_buffer: { $tensor: 'optimizer.state.0.momentum_buffer' } });
  assert.deepEqual(doc.optimizer.stateDict.param_groups.map((g: { params: number[] }) => g.params), [[0, 1], [2, 3, 4, 5]]);
  assert.equal(typeof doc.optimizer.stateDict.param_groups[0].weight_decay, 'number', 'PyTorch names inside the groups too');
  assert.equal(doc.scheduler.type, 'StepLR');
  assert.deepEqual(doc.rng.default, defaultGenerator.getState());
  assert.deepEqual(doc.rng.generators.data, run.data.getState());
  // The momentum buffers are the optimiser's, exactly.
  const sd = run.optimizer.stateDict();
  assert.deepEqual([...tensors['optimizer.state.3.momentum_buffer'].data], (sd.state['3'].momentum_buffer as { data: number[] }).data);
  // The same inputs give the same bytes.
  assert.deepEqual(serializeCheckpoint({ model: run.model, optimizer: run.optimizer, scheduler: run.scheduler, epoch: 0, generators: { data: run.data } }), bytes);
});

test('a checkpoint of only a model (no optimizer, scheduler or generators) restores the model and default generator', () => {
  const a = new Net();
  manualSeed(5);
  const bytes = serializeCheckpoint({ model: a, epoch: 7 });
  const state = defaultGenerator.getState();
  manualSeed(6);
  const ckpt = parseCheckpoint(bytes, 'model-only');
  assert.equal(ckpt.optimizer, null);
  assert.equal(ckpt.scheduler, null);
  assert.deepEqual(ckpt.rng.generators, {});
  const b = new Net();
  restoreCheckpoint(ckpt, { model: b });
  assertSameState(b.stateDict(), a.stateDict(), 'model');
  assert.deepEqual(defaultGenerator.getState(), state);
  manualSeed(6);
  restoreCheckpoint(ckpt, { model: b, defaultGenerator: false });
  assert.deepEqual(defaultGenerator.getState(), new Generator(6).getState(), 'defaultGenerator: false leaves it alone');
});

test('a ReduceLROnPlateau scheduler (best = Infinity before its first step) survives a checkpoint', () => {
  const model = new Net();
  const optimizer = new SGD(model.parameters(), { lr: 0.1 });
  const scheduler = new ReduceLROnPlateau(optimizer, { patience: 0 });
  const ckpt = parseCheckpoint(serializeCheckpoint({ model, optimizer, scheduler, epoch: 0 }));
  assert.equal(ckpt.scheduler!.type, 'ReduceLROnPlateau');
  scheduler.step(1.0);
  scheduler.step(2.0); // worse: the lr is reduced
  assert.ok(optimizer.paramGroups[0].lr < 0.1);
  restoreCheckpoint(ckpt, { model, optimizer, scheduler });
  assert.equal(optimizer.paramGroups[0].lr, 0.1);
  assert.equal(scheduler.best, Infinity);
});

// ---- saving errors ----

test('saveCheckpoint rejects what JSON cannot hold and bad counters, naming where', () => {
  const model = new Net();
  const cases: [unknown, RegExp][] = [
    [{ model, epoch: -1 }, /saveCheckpoint: epoch must be a non-negative integer, got -1/],
    [{ model, epoch: 1.5 }, /saveCheckpoint: epoch must be a non-negative integer, got 1\.5/],
    [{ model, epoch: 0, step: NaN }, /saveCheckpoint: step must be a non-negative integer, got NaN/],
    [{ model, epoch: 0, config: { a: { f: () => 1 } } }, /saveCheckpoint: config\.a\.f is a function, which JSON cannot hold/],
    [{ model, epoch: 0, config: { t: randn([2]) } }, /saveCheckpoint: config\.t is a Tensor, not a plain object/],
    [{ model, epoch: 0, config: { m: new Map() } }, /saveCheckpoint: config\.m is a Map, not a plain object/],
    [{ model, epoch: 0, history: [1, 2n] }, /saveCheckpoint: history\[1\] is a bigint \(2n\), which JSON cannot hold/],
    [{ model, epoch: 0, config: { x: { $float: 'NaN' } } }, /saveCheckpoint: config\.x: an object whose only key is '\$float' is reserved/],
    [{ model: {}, epoch: 0 }, /saveCheckpoint: model must be a Module/],
    [{ model, epoch: 0, generators: { g: {} } }, /saveCheckpoint: generators\.g must be a Generator/],
  ];
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  cases.push([{ model, epoch: 0, config: cyclic }, /saveCheckpoint: config\.self refers back to itself/]);
  for (const [input, message] of cases) assert.throws(() => serializeCheckpoint(input as never), message);
  // undefined is dropped from objects, as JSON does
  const ckpt = parseCheckpoint(serializeCheckpoint({ model, epoch: 0, config: { a: undefined, b: [undefined, 1] } }));
  assert.deepEqual(ckpt.config, { b: [null, 1] });
});

// ---- corrupt checkpoints ----

/** A valid checkpoint's tensors and JSON document, to be tampered with. */
function validParts(): { tensors: Record<string, Tensor>; doc: Record<string, any> } {
  const run = makeRun('SGD+StepLR', 4);
  trainStep(run);
  const { tensors, metadata } = parseSafetensors(serializeCheckpoint({ model: run.model, optimizer: run.optimizer, scheduler: run.scheduler, epoch: 1, generators: { data: run.data } }));
  return { tensors, doc: JSON.parse(metadata.pixelgrad) };
}

const CORRUPT: [string, (p: { tensors: Record<string, Tensor>; doc: Record<string, any> }) => Uint8Array, RegExp][] = [
  ['no pixelgrad metadata', ({ tensors }) => serializeSafetensors(tensors, { format: 'pt' }),
    /not a pixelgrad checkpoint: its __metadata__ has no 'pixelgrad' entry \(a plain safetensors file\? use loadSafetensors or loadModel\)/],
  ['another metadata entry (a damaged checksum key must not pass for none)', ({ tensors, doc }) => serializeSafetensors(tensors, { pixelgrad: JSON.stringify(doc), pixelgrad_sha512: '0' }),
    /unexpected __metadata__ entry "pixelgrad_sha512" \(a checkpoint holds 'pixelgrad' and 'pixelgrad_sha256'\)/],
  ['metadata not JSON', ({ tensors }) => serializeSafetensors(tensors, { pixelgrad: '{"format": "pixelgrad-checkpoint", ' }), /the 'pixelgrad' metadata is not valid JSON \(/],
  ['metadata JSON not an object', ({ tensors }) => serializeSafetensors(tensors, { pixelgrad: '[1]' }), /the 'pixelgrad' metadata must be a JSON object, got \[1\]/],
  ['wrong format', ({ tensors, doc }) => serializeSafetensors(tensors, { pixelgrad: JSON.stringify({ ...doc, format: 'other' }) }), /format is "other", expected 'pixelgrad-checkpoint'/],
  ['newer version', ({ tensors, doc }) => serializeSafetensors(tensors, { pixelgrad: JSON.stringify({ ...doc, version: 2 }) }),
    /version 2 is not supported: this pixelgrad reads version 1 \(the file is from a newer pixelgrad\)/],
  ['missing version', ({ tensors, doc }) => serializeSafetensors(tensors, { pixelgrad: JSON.stringify({ ...doc, version: undefined }) }), /version must be a number, got undefined/],
  ['negative epoch', ({ tensors, doc }) => serializeSafetensors(tensors, { pixelgrad: JSON.stringify({ ...doc, epoch: -3 }) }), /epoch must be a non-negative integer, got -3/],
  ['missing optimizer tensor', ({ tensors, doc }) => {
    const { ['optimizer.state.2.momentum_buffer']: _gone, ...rest } = tensors;
    return serializeSafetensors(rest, { pixelgrad: JSON.stringify(doc) });
  }, /optimizer\.stateDict\.state\[2\]\.momentum_buffer refers to tensor "optimizer\.state\.2\.momentum_buffer", which is not in the file/],
  ['unreferenced optimizer tensor', ({ tensors, doc }) => serializeSafetensors({ ...tensors, 'optimizer.state.9.x': randn([2]) }, { pixelgrad: JSON.stringify(doc) }),
    /tensor "optimizer\.state\.9\.x" is not referenced by the optimizer state/],
  ['stray tensor', ({ tensors, doc }) => serializeSafetensors({ ...tensors, other: randn([2]) }, { pixelgrad: JSON.stringify(doc) }),
    /unexpected tensor "other" \(a checkpoint holds model\.\* and optimizer\.\* tensors\)/],
  ['bad optimizer', ({ tensors, doc }) => serializeSafetensors(tensors, { pixelgrad: JSON.stringify({ ...doc, optimizer: { type: 'SGD' } }) }), /optimizer must be \{ type, stateDict \}/],
  ['bad rng state', ({ tensors, doc }) => serializeSafetensors(tensors, { pixelgrad: JSON.stringify({ ...doc, rng: { ...doc.rng, default: { s: [1, 2, 3], spareNormal: null } } }) }),
    /rng\.default: s must be 4 unsigned 32-bit integers, got \[1,2,3\]/],
  ['all-zero rng state', ({ tensors, doc }) => serializeSafetensors(tensors, { pixelgrad: JSON.stringify({ ...doc, rng: { ...doc.rng, generators: { data: { s: [0, 0, 0, 0], spareNormal: null } } } }) }),
    /rng\.generators\.data: s is all zeros/],
];

for (const [what, make, message] of CORRUPT) {
  test(`corrupt checkpoint: ${what}`, () => {
    const bytes = make(validParts());
    assert.throws(() => parseCheckpoint(bytes, 'bad.safetensors'), (e: Error) => {
      assert.ok(e instanceof CheckpointError, `${e.name}: ${e.message}`);
      assert.ok(e.message.startsWith('loadCheckpoint: bad.safetensors: '), e.message);
      assert.match(e.message, message);
      return true;
    });
  });
}

test('a truncated checkpoint file (what a non-atomic write could leave) is a SafetensorsError naming the file', () => {
  const dir = tmp('trunc');
  const path = join(dir, 'cut.safetensors');
  const run = makeRun('SGD+StepLR', 5);
  const bytes = serializeCheckpoint({ model: run.model, epoch: 0 });
  writeFileSync(path, bytes.subarray(0, bytes.length - 10));
  assert.throws(() => loadCheckpoint(path), (e: Error) => e instanceof SafetensorsError && e.message.startsWith(`parseSafetensors: ${path}: `) && /run past the end of the data/.test(e.message));
  assert.throws(() => loadCheckpoint(join(dir, 'none.safetensors')), (e: Error) => e instanceof PixelgradError && /^loadCheckpoint: cannot read '.*none\.safetensors': no such file$/.test(e.message));
});

// ---- integrity ----

/** `parseCheckpoint(bytes)` throws a CheckpointError whose message matches `message`. */
function assertCorrupt(bytes: Uint8Array, message: RegExp): void {
  assert.throws(() => parseCheckpoint(bytes, 'c.safetensors'), (e: Error) => {
    assert.ok(e instanceof CheckpointError, `${e.name}: ${e.message.slice(0, 300)}`);
    assert.match(e.message, message);
    assert.ok(e.message.length < 400, `a ${e.message.length}-character message`);
    return true;
  });
}

test('a checksum of tensors and JSON: any changed byte is refused, files without one still load', () => {
  const run = makeRun('SGD+StepLR', 8);
  trainStep(run);
  const bytes = serializeCheckpoint({ model: run.model, optimizer: run.optimizer, epoch: 2, config: { lr: 0.1 } });
  const headerEnd = 8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  parseCheckpoint(bytes);
  // One flipped bit in the data region (first, middle and last byte): a valid file otherwise.
  for (const at of [headerEnd, Math.floor((headerEnd + bytes.length) / 2), bytes.length - 1]) {
    const bad = bytes.slice();
    bad[at] ^= 0x01;
    assertCorrupt(bad, /^loadCheckpoint: c\.safetensors: checksum mismatch: the file's tensors or metadata changed after it was written \(SHA-256 [0-9a-f]{12}\.\.\., stored [0-9a-f]{12}\.\.\.\); the file is corrupt$/);
  }
  // A changed number in the JSON (epoch 2 → 3) that is still a valid checkpoint.
  const { tensors, metadata } = parseSafetensors(bytes);
  const edited = { ...metadata, [CHECKPOINT_METADATA_KEY]: metadata[CHECKPOINT_METADATA_KEY].replace('"epoch":2', '"epoch":3') };
  assert.notEqual(edited[CHECKPOINT_METADATA_KEY], metadata[CHECKPOINT_METADATA_KEY]);
  assertCorrupt(serializeSafetensors(tensors, edited), /checksum mismatch/);
  // Two tensors of one shape swapped by name: same data region, different checkpoint.
  const [a, b] = Object.keys(tensors).filter((k) => tensors[k].shape.join() === tensors[Object.keys(tensors)[0]].shape.join());
  assert.ok(a && b, 'two tensors of one shape');
  assertCorrupt(serializeSafetensors({ ...tensors, [a]: tensors[b], [b]: tensors[a] }, metadata), /checksum mismatch/);
  assertCorrupt(serializeSafetensors(tensors, { ...metadata, [CHECKPOINT_CHECKSUM_KEY]: 'abc' }),
    /the 'pixelgrad_sha256' metadata must be a SHA-256 digest \(64 hex digits\), got "abc"$/);
  // Written before checksums: loads, the same checkpoint.
  const { [CHECKPOINT_CHECKSUM_KEY]: _digest, ...older } = metadata;
  const loaded = parseCheckpoint(serializeSafetensors(tensors, older));
  assert.equal(loaded.epoch, 2);
  assert.deepEqual(loaded.config, { lr: 0.1 });
});

test('hostile JSON in a checkpoint: deep nesting and huge names give short CheckpointErrors, never a RangeError', () => {
  const { tensors, doc } = validParts();
  const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
  const json = JSON.stringify({ ...doc, history: null }).replace('"history":null', `"history":${deep(100_000)}`);
  assertCorrupt(serializeSafetensors(tensors, { pixelgrad: json }), new RegExp(`the 'pixelgrad' metadata nests deeper than ${MAX_JSON_DEPTH + 1} levels$`));
  // Within the limit it loads (config and history keep their nesting).
  const ok = JSON.stringify({ ...doc, history: null }).replace('"history":null', `"history":${deep(MAX_JSON_DEPTH)}`);
  let h = parseCheckpoint(serializeSafetensors(tensors, { pixelgrad: ok })).history;
  for (let d = 1; d < MAX_JSON_DEPTH; d++) h = (h as unknown[])[0] as never;
  assert.deepEqual(h, []);
  // Deeply nested wrong values are described without recursion.
  assertCorrupt(serializeSafetensors(tensors, { pixelgrad: JSON.stringify({ ...doc, rng: null }).replace('"rng":null', `"rng":${deep(MAX_JSON_DEPTH)}`) }),
    /rng must be \{ default, generators \}, got \[\[\.\.\.\]\]$/);
  const long = 'x'.repeat(1_000_000);
  assertCorrupt(serializeSafetensors({ ...tensors, [long]: randn([1]) }, { pixelgrad: JSON.stringify(doc) }), /unexpected tensor "x{70,}\.\.\." \(a checkpoint holds/);
  assertCorrupt(serializeSafetensors(tensors, { pixelgrad: JSON.stringify({ ...doc, format: long }) }), /format is "x+\.\.\.", expected 'pixelgrad-checkpoint'$/);
  assertCorrupt(serializeSafetensors(tensors, { pixelgrad: JSON.stringify({ ...doc, optimizer: { ...doc.optimizer, type: long } }) }), /optimizer must be \{ type, stateDict \}, got an object$/);
  assertCorrupt(serializeSafetensors(tensors, { pixelgrad: JSON.stringify({ ...doc, rng: { ...doc.rng, generators: { [long]: null } } }) }), /rng\.generators\.x+\.\.\.: a generator state must be/);
  // Saving refuses what loading would refuse.
  let nested: unknown[] = [];
  for (let d = 0; d < MAX_JSON_DEPTH; d++) nested = [nested];
  const run = makeRun('SGD+StepLR', 9);
  assert.throws(() => serializeCheckpoint({ model: run.model, epoch: 0, config: nested }), new RegExp(`^ArgumentError: saveCheckpoint: config(\\[0\\])+\\.\\.\\. nests deeper than ${MAX_JSON_DEPTH} levels`));
});

// ---- restoring into the wrong objects ----

function savedRun(kind: Kind = 'SGD+StepLR'): Checkpoint {
  const run = makeRun(kind, 6);
  trainStep(run);
  trainStep(run);
  return parseCheckpoint(serializeCheckpoint({ model: run.model, optimizer: run.optimizer, scheduler: run.scheduler, epoch: 1, generators: { data: run.data } }));
}

test('restoreCheckpoint: mismatches are clear errors', () => {
  const ckpt = savedRun();
  const fresh = makeRun('SGD+StepLR', 7);
  const adam = makeRun('Adam+CosineAnnealingLR', 7);
  assert.throws(() => restoreCheckpoint(ckpt, { model: fresh.model, optimizer: adam.optimizer }),
    /restoreCheckpoint: the checkpoint's optimizer is SGD but the optimizer given is Adam/);
  const oneGroup = new SGD(fresh.model.parameters(), { lr: 0.1, momentum: 0.9 });
  assert.throws(() => restoreCheckpoint(ckpt, { model: fresh.model, optimizer: oneGroup }),
    /restoreCheckpoint: the checkpoint's SGD has parameter groups of \[2,4\] parameters but the optimizer given has \[6\]/);
  assert.throws(() => restoreCheckpoint(ckpt, { model: fresh.model, scheduler: adam.scheduler }),
    /restoreCheckpoint: the checkpoint's scheduler is StepLR but the scheduler given is CosineAnnealingLR/);
  assert.throws(() => restoreCheckpoint(ckpt, { model: fresh.model, generators: { loader: new Generator() } }),
    /restoreCheckpoint: the checkpoint has no generator 'loader' \(it has \["data"\]\)/);
  const modelOnly = parseCheckpoint(serializeCheckpoint({ model: fresh.model, epoch: 0 }));
  assert.throws(() => restoreCheckpoint(modelOnly, { model: fresh.model, optimizer: fresh.optimizer }), /restoreCheckpoint: an optimizer was given but the checkpoint has no optimizer state/);
  assert.throws(() => restoreCheckpoint(modelOnly, { model: fresh.model, scheduler: fresh.scheduler }), /restoreCheckpoint: a scheduler was given but the checkpoint has no scheduler state/);
  const other = new nn.Sequential(new nn.Linear(4, 3));
  assert.throws(() => restoreCheckpoint(ckpt, { model: other }), /restoreCheckpoint: loadStateDict: Sequential: missing: 0\.weight, 0\.bias \| unexpected: body\.0\.bias, body\.0\.weight/);
});

test('restoreCheckpoint restores all or nothing: a failing scheduler puts the model and optimizer back', () => {
  const ckpt = savedRun();
  const target = makeRun('SGD+StepLR', 8);
  trainStep(target);
  const model = target.model.stateDict();
  const modelBefore = Object.fromEntries(Object.entries(model).map(([k, t]) => [k, new Tensor(t.data.slice(), t.shape)]));
  const optimizerBefore = target.optimizer.stateDict();
  const schedulerBefore = target.scheduler.stateDict();
  const defaultBefore = defaultGenerator.getState();
  const dataBefore = target.data.getState();
  const broken: Checkpoint = { ...ckpt, scheduler: { type: 'StepLR', stateDict: { ...ckpt.scheduler!.stateDict, lastEpoch: 'soon' } } };
  assert.throws(() => restoreCheckpoint(broken, { model: target.model, optimizer: target.optimizer, scheduler: target.scheduler, generators: { data: target.data } }),
    (e: Error) => e.name === 'ArgumentError' && /^restoreCheckpoint: StepLR\.loadStateDict: 'lastEpoch' must be a number, got 'soon'/.test(e.message));
  assertSameState(target.model.stateDict(), modelBefore, 'model after a failed restore');
  assert.deepEqual(target.optimizer.stateDict(), optimizerBefore);
  assert.deepEqual(target.scheduler.stateDict(), schedulerBefore);
  assert.deepEqual(defaultGenerator.getState(), defaultBefore);
  assert.deepEqual(target.data.getState(), dataBefore);
});

// ---- atomic saving ----

test('a write that fails midway leaves the previous checkpoint intact and no partial file under the final name', () => {
  const dir = tmp('atomic');
  const path = join(dir, 'ckpt.safetensors');
  const fresh = join(dir, 'new.safetensors');
  const run = makeRun('SGD+StepLR', 9);
  saveCheckpoint(path, { model: run.model, optimizer: run.optimizer, epoch: 0 });
  const before = readFileSync(path);
  trainStep(run);

  const original = fs.writeFileSync;
  let partialWrites = 0;
  fs.writeFileSync = ((file: fs.PathOrFileDescriptor, data: string | NodeJS.ArrayBufferView) => {
    const bytes = data as Uint8Array;
    original(file, bytes.subarray(0, bytes.length >> 1)); // half the file reaches the disk...
    partialWrites++;
    throw Object.assign(new Error('ENOSPC: no space left on device (simulated)'), { code: 'ENOSPC' }); // ...then the write fails
  }) as typeof fs.writeFileSync;
  syncBuiltinESMExports();
  try {
    assert.throws(() => saveCheckpoint(path, { model: run.model, optimizer: run.optimizer, epoch: 1 }), /ENOSPC/);
    assert.throws(() => saveCheckpoint(fresh, { model: run.model, epoch: 1 }), /ENOSPC/);
  } finally {
    fs.writeFileSync = original;
    syncBuiltinESMExports();
  }
  assert.equal(partialWrites, 2, 'the stub was called (the write went through it)');
  assert.deepEqual(readFileSync(path), before, 'the old checkpoint is untouched');
  assert.equal(loadCheckpoint(path).epoch, 0);
  assert.ok(!existsSync(fresh), 'no file under the final name');
  assert.deepEqual(readdirSync(dir), ['ckpt.safetensors'], 'the temporary files were removed');
});

test('a process killed while saving never leaves a corrupt checkpoint', async () => {
  const dir = tmp('kill');
  const path = join(dir, 'ckpt.safetensors');
  const child = join(dir, 'child.mjs');
  const url = (p: string) => pathToFileURL(join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, p)).href;
  // The child saves a ~17 MB checkpoint over and over, epoch after epoch, until it is killed.
  writeFileSync(child, `
    import { nn, optim } from ${JSON.stringify(url('../src/index.ts'))};
    import { saveCheckpoint } from ${JSON.stringify(url('../src/train/checkpoint.ts'))};
    const model = new nn.Linear(1000, 2000);
    const optimizer = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    for (const p of model.parameters()) p.grad = p.detach().clone();
    optimizer.step();
    for (let epoch = 0; ; epoch++) {
      saveCheckpoint(${JSON.stringify(path)}, { model, optimizer, epoch });
      if (epoch === 0) process.stdout.write('saved\\n');
    }
  `);
  for (let round = 0; round < 2; round++) {
    const proc = spawn(process.execPath, ['--import', 'tsx', child], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      proc.stdout!.once('data', () => resolve());
      proc.once('exit', (code) => reject(new Error(`the child exited (${code}) before saving`)));
    });
    await new Promise((r) => setTimeout(r, 10 + 60 * round)); // kill at different points of the loop
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
    const ckpt = loadCheckpoint(path); // throws if the file under the final name were partial
    assert.ok(ckpt.epoch >= 0);
    assert.equal(ckpt.model.weight.size, 2_000_000);
    assert.ok(ckpt.optimizer!.stateDict.state['0'].momentum_buffer !== undefined);
  }
  // A killed process may leave its temporary file behind (never under the final name).
  assert.ok(readdirSync(dir).every((f) => f === 'ckpt.safetensors' || f === 'child.mjs' || /^ckpt\.safetensors\.\d+\.\d+\.tmp$/.test(f)), readdirSync(dir).join(', '));
  rmSync(dir, { recursive: true, force: true });
});
