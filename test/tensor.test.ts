/** Tensor basics: creation, dtypes, conversion, random numbers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Generator, arange, eye, full, fullLike, linspace, manualSeed, ones, onesLike, rand, randint, randintLike, randn, randnLike, randLike,
  tensor, zeros, zerosLike,
} from '../src/index.js';
import { assertClose, assertTensor } from './helpers/assert.js';

test('tensor() infers shape and dtype from nested arrays and typed arrays', () => {
  const t = tensor([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(t.shape, [2, 3]);
  assert.equal(t.dtype, 'float32');
  assert.equal(t.size, 6);
  assert.equal(t.ndim, 2);
  assert.deepEqual(t.toArray(), [[1, 2, 3], [4, 5, 6]]);
  assert.equal(tensor(Int32Array.from([1, 2])).dtype, 'int32');
  assert.equal(tensor(Float64Array.from([1, 2])).dtype, 'float64');
  assert.equal(tensor([1.7, -2.2], { dtype: 'int32' }).toArray().toString(), '1,-2');
  assert.deepEqual(tensor(Float32Array.from([1, 2, 3, 4]), { shape: [2, 2] }).toArray(), [[1, 2], [3, 4]]);
  const s = tensor(5);
  assert.deepEqual(s.shape, []);
  assert.equal(s.item(), 5);
  assert.deepEqual(tensor([]).shape, [0]);
});

test('tensor() copies typed arrays', () => {
  const src = Float32Array.from([1, 2]);
  const t = tensor(src);
  src[0] = 9;
  assert.equal(t.data[0], 1);
});

test('tensor() rejects ragged arrays and wrong sizes', () => {
  assert.throws(() => tensor([[1, 2], [3]]), /tensor: nested arrays are ragged: expected 2 entries at depth 1 for shape \[2,2\]/);
  assert.throws(() => tensor(Float32Array.from([1, 2, 3]), { shape: [2, 2] }), /tensor: 3 values do not fill shape \[2,2\]/);
  assert.throws(() => zeros([2, -1]), /zeros: invalid shape \[2,-1\]/);
  assert.throws(() => tensor([1, 2]).item(), /item: only one-element tensors/);
});

test('constant, range and identity constructors', () => {
  assertTensor(zeros([2, 2]), [2, 2], [0, 0, 0, 0]);
  assertTensor(ones([3]), [3], [1, 1, 1]);
  assertTensor(full([2], 7), [2], [7, 7]);
  const a = arange(5);
  assert.equal(a.dtype, 'int32');
  assertTensor(a, [5], [0, 1, 2, 3, 4]);
  assertTensor(arange(1, 2, 0.25), [4], [1, 1.25, 1.5, 1.75]);
  assert.equal(arange(1, 2, 0.25).dtype, 'float32');
  assertTensor(arange(5, 0, -2), [3], [5, 3, 1]);
  assertTensor(linspace(0, 1, 5), [5], [0, 0.25, 0.5, 0.75, 1]);
  assertTensor(linspace(-1, 1, 1), [1], [-1]);
  assertTensor(eye(2, 3), [2, 3], [1, 0, 0, 0, 1, 0]);
  assert.throws(() => arange(0, 1, 0), /arange: step must be a non-zero finite number/);
});

test('*Like constructors keep shape and dtype', () => {
  const t = tensor([[1, 2]], { dtype: 'float64' });
  for (const l of [zerosLike(t), onesLike(t), fullLike(t, 3), randLike(t), randnLike(t)]) {
    assert.deepEqual(l.shape, [1, 2]);
    assert.equal(l.dtype, 'float64');
  }
  const i = randintLike(tensor([1, 2, 3], { dtype: 'int32' }), 0, 4);
  assert.equal(i.dtype, 'int32');
  assert.ok([...i.data].every((v) => v >= 0 && v < 4));
});

test('the generator matches an independent implementation (tools/random_reference.py, seed 42)', () => {
  const g = new Generator(42);
  assert.deepEqual([g.nextUint32(), g.nextUint32(), g.nextUint32(), g.nextUint32()], [2837322924, 544945897, 479756282, 3500138142]);
  assertClose([g.random(), g.random()], [0.0791056456144914, 0.015209237180418], { atol: 0, rtol: 1e-15 });
  assertClose([g.normal(), g.normal(), g.normal()], [0.20491667605004257, 0.4605593951890762, 0.03552063722277927], { atol: 0, rtol: 1e-14 });
});

test('the same seed gives the same numbers; explicit generators are independent of the default', () => {
  manualSeed(3);
  const a = randn([5]);
  manualSeed(3);
  const g = new Generator(99);
  rand([4], { generator: g }); // does not advance the default generator
  const b = randn([5]);
  assert.deepEqual([...a.data], [...b.data]);
  const state = g.getState();
  const c = rand([3], { generator: g });
  g.setState(state);
  assert.deepEqual([...rand([3], { generator: g }).data], [...c.data], 'state round-trips');
});

test('random distributions have the right moments', () => {
  const g = new Generator(5);
  const n = 100_000;
  const u = rand([n], { generator: g, dtype: 'float64' });
  const z = randn([n], { generator: g, dtype: 'float64' });
  const mean = (t: typeof u) => t.mean().item();
  assert.ok(Math.abs(mean(u) - 0.5) < 0.005);
  assert.ok(Math.abs(u.var().item() - 1 / 12) < 0.002);
  assert.ok([...u.data].every((v) => v >= 0 && v < 1));
  assert.ok(Math.abs(mean(z)) < 0.01);
  assert.ok(Math.abs(z.var().item() - 1) < 0.02);
  const k = randint(-2, 3, [n], { generator: g });
  const counts = [-2, -1, 0, 1, 2].map((v) => [...k.data].filter((x) => x === v).length / n);
  assert.ok(counts.every((c) => Math.abs(c - 0.2) < 0.01), `randint counts ${counts}`);
  assert.throws(() => randint(3, 3, [1]), /randint: need integers low < high/);
});

test('dtype conversion and promotion', () => {
  const i = tensor([1, 2, 3], { dtype: 'int32' });
  assert.equal(i.add(1).dtype, 'int32');
  assert.equal(i.add(0.5).dtype, 'float32');
  assert.equal(i.div(2).dtype, 'float32', 'true division');
  assertTensor(i.div(2), [3], [0.5, 1, 1.5]);
  assert.equal(i.exp().dtype, 'float32');
  assert.equal(i.add(tensor([1], { dtype: 'float64' })).dtype, 'float64');
  assert.equal(i.gt(1).dtype, 'int32');
  assertTensor(tensor([1.9, -1.9]).int(), [2], [1, -1]);
  assert.equal(tensor([1]).double().dtype, 'float64');
});

test('toString shows values, shape and dtype', () => {
  assert.equal(tensor([[1, 2]]).toString(), 'Tensor([[1,2]], shape=[1,2], dtype=float32)');
});
