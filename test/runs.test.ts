/**
 * Run faults below the command line: write failures named in one line (read-only and pseudo file
 * systems, a file in the way, a full disk), no endless mkdir, leftover temporary files removed;
 * fit stopping on a non-finite loss; evaluation and prediction in batches; a wasm convolution
 * or element-wise call past its memory run in halves, any other kernel call named in a MemoryError.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs, { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileError, MemoryError } from '../src/errors.js';
import { makeFolder, removeStaleTempFiles, writeFileAtomic } from '../src/io/files.js';
import { DivergenceError, evaluate, fit, predict, type Batch, type EpochRecord } from '../src/train/fit.js';
import { getBackend, registerBackend, setBackend, type ConvGeometry, type Kernels } from '../src/backend/backend.js';
import { jsKernels } from '../src/backend/js/index.js';
import { createWasmBackend, wasmSimdSupported } from '../src/backend/wasm/index.js';
import { Linear } from '../src/nn/layers/linear.js';
import { Sequential } from '../src/nn/layers/container.js';
import { ReLU } from '../src/nn/layers/activation.js';
import { SGD } from '../src/optim/sgd.js';
import { crossEntropy } from '../src/nn/functional/loss.js';
import { conv2d } from '../src/ops/conv.js';
import { randn, randint } from '../src/creation.js';
import { manualSeed } from '../src/random.js';
import type { Tensor } from '../src/tensor.js';
import { assertClose } from './helpers/assert.js';

const tmp = mkdtempSync(join(tmpdir(), 'pixelgrad-runs-'));

function assertFileError(fn: () => void, op: string, code: string, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FileError, `a FileError, got ${String(e)}`);
    assert.equal(e.op, op);
    assert.equal(e.code, code);
    assert.match(e.message, pattern);
    assert.doesNotMatch(e.message, /\n/);
    return true;
  });
}

test('a folder under /proc is refused at once, naming the folder (Node\'s recursive mkdir spins there)', { skip: !existsSync('/proc/self') }, () => {
  const start = Date.now();
  assertFileError(() => makeFolder('/proc/pixelgrad-test/run'), 'mkdir', 'ENOENT', /^mkdir: cannot create folder \/proc\/pixelgrad-test\/run \(at \/proc\/pixelgrad-test\): the file system refuses to create it/);
  assertFileError(() => writeFileAtomic('/proc/pixelgrad-test.json', '{}'), 'write', 'ENOENT', /^write: cannot write \/proc\/pixelgrad-test\.json: /);
  assert.ok(Date.now() - start < 2000);
});

test('a folder under /sys is refused, naming the reason', { skip: !existsSync('/sys/kernel') }, () => {
  assert.throws(() => makeFolder('/sys/kernel/pixelgrad-test'), (e: unknown) => e instanceof FileError && /^mkdir: cannot create folder \/sys\/kernel\/pixelgrad-test: (operation not permitted|permission denied|read-only file system) \(E[A-Z]+\)$/.test(e.message));
});

test('a file where a folder is expected is named', () => {
  const file = join(tmp, 'plain-file');
  writeFileSync(file, 'x');
  assertFileError(() => makeFolder(join(file, 'a', 'b')), 'mkdir', 'ENOTDIR', new RegExp(`^mkdir: cannot create folder .*plain-file/a/b: .*plain-file is a file, not a folder \\(ENOTDIR\\)$`));
  assertFileError(() => writeFileAtomic(join(file, 'x.json'), '{}'), 'mkdir', 'ENOTDIR', /plain-file is a file, not a folder/);
  assertFileError(() => writeFileAtomic(tmp, 'x'), 'write', 'EISDIR', /^write: cannot write .*: it is a folder \(EISDIR\)$/);
});

test('makeFolder creates the missing levels and accepts an existing folder', () => {
  const deep = join(tmp, 'a', 'b', 'c');
  makeFolder(deep);
  makeFolder(deep);
  assert.ok(fs.statSync(deep).isDirectory());
  writeFileAtomic(join(tmp, 'new', 'folder', 'f.txt'), 'hello');
  assert.equal(readFileSync(join(tmp, 'new', 'folder', 'f.txt'), 'utf8'), 'hello');
});

test('a full disk names the file, leaves no temporary file and keeps the old contents', () => {
  const dir = join(tmp, 'full');
  mkdirSync(dir);
  const target = join(dir, 'metrics.jsonl');
  writeFileAtomic(target, 'old\n');
  const original = fs.writeFileSync;
  // A disk that fills up half-way through the write.
  fs.writeFileSync = ((p: fs.PathOrFileDescriptor, data: string | NodeJS.ArrayBufferView) => {
    original(p, String(data).slice(0, 2));
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
  }) as typeof fs.writeFileSync;
  syncBuiltinESMExports();
  try {
    assertFileError(() => writeFileAtomic(target, 'new contents\n'), 'write', 'ENOSPC', /^write: cannot write .*full\/metrics\.jsonl: no space left on device \(ENOSPC\)$/);
  } finally {
    fs.writeFileSync = original;
    syncBuiltinESMExports();
  }
  assert.deepEqual(readdirSync(dir), ['metrics.jsonl']);
  assert.equal(readFileSync(target, 'utf8'), 'old\n');
});

test('removeStaleTempFiles removes the temporary files of dead processes and of this one, nothing else', () => {
  const dir = join(tmp, 'stale');
  mkdirSync(dir);
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  const names = {
    dead: `metrics.jsonl.${dead}.1700000000000.tmp`,
    self: `last.safetensors.${process.pid}.1700000000001.tmp`,
    alive: `best.safetensors.${process.ppid}.1700000000002.tmp`,
    other: 'notes.tmp',
    kept: 'metrics.jsonl',
  };
  for (const n of Object.values(names)) writeFileSync(join(dir, n), 'x');
  assert.deepEqual(removeStaleTempFiles(dir).sort(), [names.dead, names.self].sort());
  assert.deepEqual(readdirSync(dir).sort(), [names.alive, names.kept, names.other].sort());
});

// ---- fit on a non-finite loss ----

function tinyProblem(batches: number) {
  manualSeed(1);
  const model = new Sequential(new Linear(4, 8), new ReLU(), new Linear(8, 3));
  const data: Batch[] = Array.from({ length: batches }, () => ({ input: randn([5, 4]), target: randint(0, 3, [5]) }));
  return { model, data };
}
const ce = (o: Tensor, t: Tensor) => crossEntropy(o, t);
const weights = (m: Sequential) => m.parameters().map((p) => [...p.data]);

test('fit stops before the step of a batch whose loss is NaN, and no epoch-end callback sees it', async () => {
  const { model, data } = tinyProblem(4);
  let calls = 0, before: number[][] = [];
  // The 7th loss (epoch 2, batch 3) is NaN.
  const loss = (o: Tensor, t: Tensor) => {
    const l = crossEntropy(o, t);
    if (++calls === 7) { before = weights(model); return l.mul(NaN); }
    return l;
  };
  const ended: number[] = [];
  const err = await fit(model, { train: data, optimizer: new SGD(model.parameters(), { lr: 0.1 }), loss, epochs: 3,
    callbacks: [{ onEpochEnd: (_ctx, r) => { ended.push(r.epoch); } }] }).catch((e: unknown) => e);
  assert.ok(err instanceof DivergenceError, String(err));
  assert.equal(err.message, 'fit: the loss is NaN at epoch 2, batch 3; training stopped before that batch\'s step (lower the learning rate)');
  assert.deepEqual([err.epoch, err.batch], [2, 2]);
  assert.deepEqual(err.history.map((r: EpochRecord) => r.epoch), [1]);
  assert.deepEqual(ended, [1]);
  assert.deepEqual(weights(model), before, 'the weights are those from before the NaN batch');
});

test('fit stops at the end of an epoch whose step made a parameter infinite, before the callbacks', async () => {
  const { model, data } = tinyProblem(1);
  const ended: number[] = [];
  const err = await fit(model, { train: data, optimizer: new SGD(model.parameters(), { lr: 1e300 }), loss: ce, epochs: 2,
    callbacks: [{ onEpochEnd: (_ctx, r) => { ended.push(r.epoch); } }] }).catch((e: unknown) => e);
  assert.ok(err instanceof DivergenceError, String(err));
  assert.match(err.message, /^fit: a parameter became (-?Infinity|NaN) in epoch 1; training stopped before the epoch's end/);
  assert.deepEqual(ended, []);
});

test('fit with stopOnNonFinite: false trains on through NaN losses', async () => {
  const { model, data } = tinyProblem(2);
  const history = await fit(model, { train: data, optimizer: new SGD(model.parameters(), { lr: 0.1 }), loss: (o, t) => crossEntropy(o, t).mul(NaN), epochs: 2, stopOnNonFinite: false });
  assert.deepEqual(history.map((r) => Number.isNaN(r.trainLoss)), [true, true]);
  await assert.rejects(fit(model, { train: data, optimizer: new SGD(model.parameters(), { lr: 0.1 }), loss: ce, epochs: 1, stopOnNonFinite: 'no' as never }), /^ArgumentError: fit: stopOnNonFinite must be a boolean, got no$/);
});

// ---- evaluation and prediction in batches ----

test('predict runs a tensor batchSize samples at a time, with the same outputs as one batch', () => {
  const { model } = tinyProblem(0);
  const x = randn([23, 4]);
  const seen: number[] = [];
  model.registerForwardHook((_m, inputs) => { seen.push((inputs[0] as Tensor).shape[0]); });
  const whole = predict(model, x, { batchSize: 64 }), parts = predict(model, x, { batchSize: 10 });
  assert.deepEqual(seen, [23, 10, 10, 3]);
  assert.deepEqual([...parts.shape], [23, 3]);
  assert.deepEqual([...parts.data], [...whole.data]);
  assert.throws(() => predict(model, x, { batchSize: 0 }), /^ArgumentError: predict: batchSize must be a positive integer, got 0$/);
});

test('evaluate hands each batch and its output to onBatch', () => {
  const { model, data } = tinyProblem(3);
  const sizes: number[] = [];
  const r = evaluate(model, data, { loss: ce, numClasses: 3, onBatch: (b, out) => { sizes.push(b.input.shape[0], out.shape[1]); } });
  assert.deepEqual(sizes, [5, 3, 5, 3, 5, 3]);
  assert.equal(r.samples, 15);
});

// ---- the wasm arena ----

test('wasm convolutions, products and element-wise kernels too large for the memory run in halves, with the results of one call', { skip: !wasmSimdSupported() }, async () => {
  const small = (await createWasmBackend({ threads: 1, maxMemory: 8 * 2 ** 20 })).kernels;
  manualSeed(3);
  // 40 images: 1.9 MiB in, 5 MiB out, more with the convolution's scratch — over 8 MiB in one call.
  const g: ConvGeometry = { batch: 40, inChannels: 3, inH: 64, inW: 64, outChannels: 8, kH: 3, kW: 3, strideH: 1, strideW: 1,
    padH: 1, padW: 1, dilationH: 1, dilationW: 1, groups: 1, outH: 64, outW: 64 };
  const x = randn([40, 3, 64, 64]).data, w = randn([8, 3, 3, 3]).data, b = randn([8]).data, gOut = randn([40, 8, 64, 64]).data;
  const both = (n: number, f: (k: Kernels, out: Float32Array) => void) => [small, jsKernels].map((k) => { const out = new Float32Array(n); f(k, out); return out; });
  const [y, yRef] = both(gOut.length, (k, out) => k.conv2d(x, w, b, out, g));
  assertClose(y, yRef, { atol: 1e-4, what: 'output' });
  const [gx, gxRef] = both(x.length, (k, out) => k.conv2dBackwardInput(gOut, w, out, g));
  assertClose(gx, gxRef, { atol: 1e-4, what: 'input gradient' });
  const [gw, gwRef] = both(w.length, (k, out) => k.conv2dBackwardWeight(x, gOut, out, g));
  assertClose(gw, gwRef, { atol: 1e-2, rtol: 1e-4, what: 'weight gradient (a sum over 160k products)' });
  // A product with one right-hand matrix runs on halves of the left-hand rows (4.6 + 3.1 MiB and the GEMM's packing).
  const l = randn([4000, 300]).data, rm = randn([300, 200]).data;
  const [p, pRef] = both(4000 * 200, (k, out) => k.matmul(l, [4000, 300], rm, [300, 200], out, [4000, 200]));
  assertClose(p, pRef, { atol: 1e-4, what: 'matmul' });
  // Element-wise kernels on arrays that are not broadcast run in halves too: 3M elements are 12 MiB an array.
  const u = randn([3_000_000]).data, v = randn([3_000_000]).data, shape = [3_000_000];
  const [r, rRef] = both(u.length, (k, out) => k.unary('relu', u, out, 0, 0));
  assert.deepEqual(r, rRef, 'relu');
  const [m, mRef] = both(u.length, (k, out) => k.binary('mul', u, shape, v, shape, out, shape));
  assert.deepEqual(m, mRef, 'mul');
  const [c, cRef] = both(u.length, (k, out) => k.where(u, shape, u, shape, v, shape, out, shape));
  assert.deepEqual(c, cRef, 'where');
});

test('a wasm kernel call past the memory limit throws a MemoryError naming the op, the shapes and the bytes', { skip: !wasmSimdSupported() }, async () => {
  const small = await createWasmBackend({ threads: 1, maxMemory: 8 * 2 ** 20 });
  const previous = getBackend().name;
  registerBackend({ ...small, name: 'wasm-8mib' });
  setBackend('wasm-8mib');
  try {
    // One image cannot be split further.
    assert.throws(() => conv2d(randn([1, 3, 512, 512]), randn([8, 3, 3, 3]), null, { padding: 1 }), (e: unknown) => {
      assert.ok(e instanceof MemoryError, String(e));
      assert.match(e.message, /^wasm conv2d: float32\[786432\], float32\[216\], float32\[2097152\], input \[1,3,512,512\] → output \[1,8,512,512\], window 3×3 needs at least \d+(\.\d+)? MiB of WebAssembly memory in one call, more than the 8 MiB it can have; use smaller batches/);
      return true;
    });
    // A broadcast operand cannot be cut in halves.
    assert.throws(() => randn([3_000_000]).add(randn([1])), /^MemoryError: wasm binary: add, float32\[3000000\], \[3000000\], float32\[1\], \[1\], float32\[3000000\], \[3000000\] needs at least 11\.\d MiB of WebAssembly memory in one call, more than the 8 MiB it can have/);
  } finally {
    setBackend(previous);
  }
  await assert.rejects(createWasmBackend({ threads: 1, maxMemory: 2 ** 33 }), /^ArgumentError: createWasmBackend: maxMemory must be a positive integer of bytes up to 4 GiB/);
});
