/**
 * ONNX as untrusted input: external data confined to the model's folder, and a seeded mutation
 * fuzz (truncations, flipped bytes, lying varint lengths) where every mutant either loads or is a
 * one-line PixelgradError from the ONNX reader — never a raw TypeError or a hang.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { readOnnxFile, saveOnnx } from '../src/io/onnx/node.js';
import { exportOnnx } from '../src/io/onnx/export.js';
import { importOnnx } from '../src/io/onnx/import.js';
import { encodeModel, DataType, OnnxError } from '../src/io/onnx/proto.js';
import { Generator, PixelgradError } from '../src/index.js';
import { LeNet5 } from '../src/models/lenet.js';
import { randn } from '../src/creation.js';
import { noGrad } from '../src/autograd/grad-mode.js';
import { assertClose } from './helpers/assert.js';

/** A one-Gemm model whose weight [2, 3] lives in the external file `location` at `offset`. */
function externalModel(location: string, offset = 0, length = 24): Uint8Array {
  const entries = [{ key: 'location', value: location }, { key: 'offset', value: String(offset) }, { key: 'length', value: String(length) }];
  const vi = (name: string) => ({ name, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: 3 }] } } } });
  return encodeModel({
    irVersion: 8, opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'g', node: [{ opType: 'Gemm', input: ['x', 'w'], output: ['y'], attribute: [{ name: 'transB', type: 2, i: 1 }] }],
      initializer: [{ name: 'w', dims: [2, 3], dataType: DataType.FLOAT, dataLocation: 1, externalData: entries }],
      input: [vi('x')], output: [vi('y')],
    },
  });
}

test('readOnnxFile reads external data beside the model and refuses locations outside its folder', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pg-onnx-'));
  const model = join(dir, 'm'), outside = mkdtempSync(join(tmpdir(), 'pg-onnx-out-'));
  mkdirSync(model);
  const weights = new Float32Array([1, 2, 3, 4, 5, 6]);
  writeFileSync(join(model, 'w.bin'), new Uint8Array(new Float32Array([9, ...weights]).buffer));
  writeFileSync(join(outside, 'secret.bin'), new Uint8Array(weights.buffer));
  symlinkSync(join(outside, 'secret.bin'), join(model, 'link.bin'));
  writeFileSync(join(model, 'ok.onnx'), externalModel('w.bin', 4));
  const net = readOnnxFile(join(model, 'ok.onnx'));
  assert.deepEqual(Array.from(net.stateDict()['w'].data), Array.from(weights));
  assert.throws(() => importOnnx(externalModel('w.bin', 4)), /external file 'w.bin'/); // bytes alone: no file access
  for (const [name, bytes, why] of [
    ['up.onnx', externalModel(`../../${basename(outside)}/secret.bin`), /outside the model's folder/],
    ['abs.onnx', externalModel(join(outside, 'secret.bin')), /not a relative path/],
    ['link.onnx', externalModel('link.bin'), /outside the model's folder/],
    ['past.onnx', externalModel('w.bin', 8), /past its end/],
    ['short.onnx', externalModel('w.bin', 0, 20), /do not hold \[2,3\]/],
    ['none.onnx', externalModel('missing.bin'), /cannot read .*no such file/],
  ] as const) {
    writeFileSync(join(model, name), bytes);
    assert.throws(() => readOnnxFile(join(model, name)), (e: Error) => e instanceof PixelgradError && why.test(e.message) && !e.message.includes('\n'), name);
  }
});

test('saveOnnx writes a file that readOnnxFile reads back to the same outputs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pg-onnx-'));
  const net = new LeNet5().eval();
  saveOnnx(join(dir, 'lenet.onnx'), net, { inputShape: [1, 28, 28] });
  const x = randn([2, 1, 28, 28], { generator: new Generator(2) });
  assertClose(noGrad(() => readOnnxFile(join(dir, 'lenet.onnx')).forward(x)).data, noGrad(() => net.forward(x)).data, { atol: 1e-5 });
});

test('ONNX fuzz: 600 seeded mutants of an exported model load or fail with a one-line error from the reader', () => {
  const good = exportOnnx(new LeNet5({ inputSize: 12 }), { inputShape: [1, 12, 12] });
  const g = new Generator(16);
  const tally = { loaded: 0, refused: 0 };
  for (let i = 0; i < 600; i++) {
    const b = good.slice();
    const kind = g.integer(0, 3);
    if (kind !== 1) for (let e = 1 + g.integer(0, 4); e > 0; e--) { const at = g.integer(0, b.length); b[at] = g.random() < 0.5 ? b[at] ^ (1 << g.integer(0, 8)) : g.integer(0, 256); }
    const m = kind === 0 ? b : b.subarray(0, g.integer(0, b.length));
    try {
      importOnnx(m);
      tally.loaded++;
    } catch (e) {
      assert.ok(e instanceof PixelgradError, `mutant ${i}: ${(e as Error).name}: ${(e as Error).message}`);
      assert.ok(/^importOnnx: |^parseOnnx: /.test(e.message) && !e.message.includes('\n') && e.message.length < 400, `mutant ${i}: ${e.message}`);
      tally.refused++;
    }
  }
  assert.ok(tally.refused > 100, `only ${tally.refused} mutants refused`);
});

test('ONNX: deeply nested protobuf groups are refused, not a stack overflow', () => {
  // Field 99 as start-group (wire type 3) repeated: protobuf skips unknown groups recursively.
  const depth = 200_000, b = new Uint8Array(2 * depth);
  for (let i = 0; i < depth; i++) { b[2 * i] = 0x9b; b[2 * i + 1] = 0x06; }
  assert.throws(() => importOnnx(b), (e: Error) => e instanceof OnnxError && /^parseOnnx: not a valid ONNX model/.test(e.message));
});
