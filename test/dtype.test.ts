/**
 * dtypes and sizes at the public entry points: unknown dtypes and bad arguments are pixelgrad
 * errors naming the function, 'int64' is stored as int32 with a range check, allocations are
 * checked before they happen, and gradients take their tensor's dtype (as in PyTorch).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as pg from '../src/index.js';
import { ArgumentError, DTypeError, MemoryError, NotSupportedError, PixelgradError, Tensor, tensor, zeros } from '../src/index.js';

const x23 = zeros([2, 3]);

/** Every public function that takes a dtype, called with `dtype`; the name its errors must start with. */
const DTYPE_ENTRY_POINTS: [string, (dtype: never) => unknown][] = [
  ['tensor', (dtype) => tensor([1, 2], { dtype })],
  ['tensor', (dtype) => tensor(Float32Array.of(1, 2), { dtype })],
  ['zeros', (dtype) => pg.zeros([2], { dtype })],
  ['ones', (dtype) => pg.ones([2], { dtype })],
  ['full', (dtype) => pg.full([2], 3, { dtype })],
  ['arange', (dtype) => pg.arange(0, 3, 1, { dtype })],
  ['linspace', (dtype) => pg.linspace(0, 1, 3, { dtype })],
  ['eye', (dtype) => pg.eye(2, 2, { dtype })],
  ['rand', (dtype) => pg.rand([2], { dtype })],
  ['randn', (dtype) => pg.randn([2], { dtype })],
  ['randint', (dtype) => pg.randint(0, 3, [2], { dtype })],
  ['zerosLike', (dtype) => pg.zerosLike(x23, { dtype })],
  ['onesLike', (dtype) => pg.onesLike(x23, { dtype })],
  ['fullLike', (dtype) => pg.fullLike(x23, 1, { dtype })],
  ['randLike', (dtype) => pg.randLike(x23, { dtype })],
  ['randnLike', (dtype) => pg.randnLike(x23, { dtype })],
  ['randintLike', (dtype) => pg.randintLike(x23, 0, 3, { dtype })],
  ['empty', (dtype) => pg.empty([2], dtype)],
  ['Tensor.to', (dtype) => x23.to(dtype)],
  ['cast', (dtype) => pg.cast(x23, dtype)],
  ['toTensor', (dtype) => pg.data.transforms.toTensor(new Uint8Array(4), { width: 2, height: 2, dtype })],
];

test('an unknown or unsupported dtype at any public entry point is a pixelgrad error naming the function and the supported dtypes', () => {
  const bad: [unknown, Function][] = [['float16', NotSupportedError], ['uint8', NotSupportedError], ['bfloat16', NotSupportedError], ['bool', NotSupportedError],
    ['float', DTypeError], ['Float32', DTypeError], ['', DTypeError], [64, DTypeError], [{}, DTypeError]];
  for (const [name, fn] of DTYPE_ENTRY_POINTS) {
    for (const [dtype, type] of bad) {
      assert.throws(() => fn(dtype as never), (err: unknown) => {
        assert.ok(err instanceof type, `${name}(${String(dtype)}): expected ${type.name}, got ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
        const message = (err as Error).message;
        assert.ok(message.startsWith(`${name}: `), `${name}(${String(dtype)}): ${message}`);
        assert.match(message, /'float32', 'float64', 'int32', 'int64' \(stored as int32\)/);
        return true;
      });
    }
    // Every accepted name works at the same entry point (randint and rand are float/int-only).
    for (const dtype of pg.DTYPES) {
      if ((name === 'rand' || name === 'randn' || name === 'randLike' || name === 'randnLike') && dtype.startsWith('int')) continue;
      const out = fn(dtype as never) as Tensor;
      assert.equal(out.dtype, dtype === 'int64' ? 'int32' : dtype, `${name}(${dtype})`);
    }
  }
});

test('bad arguments at public entry points are pixelgrad errors, never a bare TypeError or RangeError', () => {
  const junk: unknown[] = [undefined, null, 'x', -1, 1.5, NaN, Infinity, {}, [], [-1], [2, 'a'], [1e9, 1e9], true, () => 1, new Uint8Array(2), new DataView(new ArrayBuffer(4))];
  const ds = new pg.data.TensorDataset(x23, x23);
  const entries: Record<string, (a: never) => unknown> = {
    tensor: (a) => tensor(a), tensorOptions: (a) => tensor([1], a), tensorShape: (a) => tensor([1, 2], { shape: a }),
    zeros: (a) => pg.zeros(a), zerosOptions: (a) => pg.zeros([1], a), ones: (a) => pg.ones(a), full: (a) => pg.full([2], a), fullShape: (a) => pg.full(a, 1),
    arange: (a) => pg.arange(a), arangeEnd: (a) => pg.arange(0, a), arangeStep: (a) => pg.arange(0, 3, a), arangeOptions: (a) => pg.arange(0, 3, 1, a),
    linspace: (a) => pg.linspace(0, 1, a), linspaceStart: (a) => pg.linspace(a, 1, 3), eye: (a) => pg.eye(a), eyeOptions: (a) => pg.eye(2, 2, a),
    rand: (a) => pg.rand(a), randOptions: (a) => pg.rand([2], a), randn: (a) => pg.randn(a), randnOptions: (a) => pg.randn([2], a),
    randint: (a) => pg.randint(0, 3, a), randintLow: (a) => pg.randint(a, 3, [2]), randintOptions: (a) => pg.randint(0, 3, [2], a),
    zerosLike: (a) => pg.zerosLike(a), zerosLikeOptions: (a) => pg.zerosLike(x23, a), randnLike: (a) => pg.randnLike(a), fullLike: (a) => pg.fullLike(x23, a),
    empty: (a) => pg.empty(a), emptyDType: (a) => pg.empty([2], a), to: (a) => x23.to(a), cast: (a) => pg.cast(a, 'float32'), castDType: (a) => pg.cast(x23, a),
    Tensor: (a) => new Tensor(a, [2]), TensorShape: (a) => new Tensor(new Float32Array(2), a),
    reshape: (a) => x23.reshape(a), view: (a) => x23.view(a), expand: (a) => x23.expand(a), permute: (a) => x23.permute(a), transpose: (a) => x23.transpose(a, 0),
    squeeze: (a) => x23.squeeze(a), unsqueeze: (a) => x23.unsqueeze(a), flatten: (a) => x23.flatten(a), sum: (a) => x23.sum(a), mean: (a) => x23.mean(a),
    split: (a) => x23.split(a), narrow: (a) => x23.narrow(1, a, 1), slice: (a) => x23.slice(1, a), pad: (a) => x23.pad(a), add: (a) => x23.add(a), matmul: (a) => x23.matmul(a),
    indexSelect: (a) => x23.indexSelect(0, a), gather: (a) => x23.gather(0, a), softmax: (a) => x23.softmax(a), clamp: (a) => x23.clamp(a), pow: (a) => x23.pow(a),
    backward: (a) => x23.backward(a), setRequiresGrad: (a) => pg.zeros([1]).setRequiresGrad(a), concat: (a) => pg.concat(a), stack: (a) => pg.stack(a),
    TensorDataset: (a) => new pg.data.TensorDataset(x23, a), TensorDatasetInputs: (a) => new pg.data.TensorDataset(a, x23),
    DataLoader: (a) => new pg.data.DataLoader(a), DataLoaderOptions: (a) => new pg.data.DataLoader(ds, a),
    Subset: (a) => new pg.data.Subset(ds, a), SubsetDataset: (a) => new pg.data.Subset(a, [0]), MappedDataset: (a) => new pg.data.MappedDataset(ds, a),
    collate: (a) => pg.data.collate(a),
  };
  let thrown = 0;
  for (const [name, fn] of Object.entries(entries)) {
    for (const a of junk) {
      try {
        fn(a as never);
      } catch (err) {
        thrown++;
        assert.ok(err instanceof PixelgradError, `${name}(${typeof a === 'function' ? 'a function' : JSON.stringify(a)}) threw ${(err as Error).constructor.name}: ${(err as Error).message}`);
      }
    }
  }
  assert.ok(thrown > 500, `only ${thrown} of the junk calls threw`);
});

test('missing and mistyped constructor arguments name the class and the argument', () => {
  const cases: [() => unknown, RegExp, Function][] = [
    [() => new (pg.data.TensorDataset as any)(x23), /^TensorDataset: targets must be a Tensor, got undefined$/, DTypeError],
    [() => new pg.data.TensorDataset(x23, [1, 2] as never), /^TensorDataset: targets must be a Tensor, got object$/, DTypeError],
    [() => new pg.data.DataLoader(x23 as never), /^DataLoader: dataset must be a Dataset \(an object with a length and get\(index\)\), got object$/, ArgumentError],
    [() => new pg.data.DataLoader(new pg.data.TensorDataset(x23, x23), { batch_size: 2 } as never), /^DataLoader: unknown option 'batch_size'; did you mean 'batchSize'\?/, ArgumentError],
    [() => new pg.data.DataLoader(new pg.data.TensorDataset(x23, x23), { shuffle: 'yes' } as never), /^DataLoader: shuffle must be a boolean, got 'yes'$/, ArgumentError],
    [() => new pg.data.Subset(new pg.data.TensorDataset(x23, x23), 3 as never), /^Subset: indices must be an iterable of integers, got 3$/, ArgumentError],
    [() => new (pg.data.MappedDataset as any)(new pg.data.TensorDataset(x23, x23)), /^MappedDataset: fn must be a function/, ArgumentError],
    [() => new Tensor([1, 2] as never, [2]), /^Tensor: data must be a Float32Array, Float64Array or Int32Array, got object$/, DTypeError],
    [() => new Tensor(new Uint8Array(2) as never, [2]), /^Tensor: data must be a Float32Array, Float64Array or Int32Array, got Uint8Array$/, DTypeError],
    [() => tensor([1, 'a'] as never), /^tensor: data must be numbers, nested arrays of numbers or a typed array, got 'a' at depth 1$/, DTypeError],
    [() => tensor(new DataView(new ArrayBuffer(4))), /^tensor: data must be .* got DataView$/, DTypeError],
    [() => pg.zeros([2], { requires_grad: true } as never), /^zeros: unknown option 'requires_grad'; did you mean 'requiresGrad'\?/, ArgumentError],
    [() => pg.zeros([2], { dtype: 'int64', requiresGrad: true }), /^zeros: only floating-point tensors can require grad, got dtype int64$/, DTypeError],
    [() => pg.full([2], 'x' as never), /^full: value must be a number, got 'x'$/, ArgumentError],
    [() => pg.randn([2], { generator: 7 } as never), /^randn: generator must be a Generator, got 7$/, ArgumentError],
    [() => pg.zerosLike(undefined as never), /^zerosLike: input must be a Tensor, got undefined$/, DTypeError],
  ];
  for (const [fn, message, type] of cases) {
    assert.throws(fn, (err: unknown) => err instanceof type && message.test((err as Error).message), String(message));
  }
});

test("'int64' (PyTorch's index dtype) is stored as int32 when every value fits, an error otherwise", () => {
  const labels = tensor([3, 1, 4], { dtype: 'int64' });
  assert.equal(labels.dtype, 'int32');
  assert.deepEqual(labels.toArray(), [3, 1, 4]);
  // A BigInt64Array (what PyTorch's int64 bytes read as) becomes int32.
  const big = tensor(BigInt64Array.of(7n, -2n, 2147483647n, -2147483648n), { shape: [2, 2] });
  assert.equal(big.dtype, 'int32');
  assert.deepEqual(big.toArray(), [[7, -2], [2147483647, -2147483648]]);
  assert.deepEqual(tensor(BigInt64Array.of(5n), { dtype: 'float64' }).toArray(), [5]);
  assert.deepEqual(tensor(Uint8Array.of(0, 255)).toArray(), [0, 255]);
  assert.equal(tensor(Uint8Array.of(0, 255)).dtype, 'int32');
  assert.deepEqual(tensor([1.7, -2.5]).long().toArray(), [1, -2], 'truncated toward zero, as torch .long()');
  assert.equal(pg.randint(0, 10, [4], { dtype: 'int64' }).dtype, 'int32');
  assert.deepEqual(pg.arange(0, 3, 1, { dtype: 'int64' }).toArray(), [0, 1, 2]);
  // int64 labels work where int32 ones do (a class target).
  const logits = tensor([[1, 2, 3], [0, 0, 1]]);
  assert.equal(pg.nn.functional.crossEntropy(logits, tensor([2, 0], { dtype: 'int64' })).item(), pg.nn.functional.crossEntropy(logits, tensor(Int32Array.of(2, 0))).item());

  const tooBig: [() => unknown, RegExp][] = [
    [() => tensor(BigInt64Array.of(1n, 2n ** 40n)), /^tensor: value 1099511627776 at index 1 cannot be int64: int64 tensors are stored as int32, so every value must fit in \[-2147483648, 2147483647\]$/],
    [() => tensor([2 ** 31], { dtype: 'int64' }), /^tensor: value 2147483648 at index 0 cannot be int64/],
    [() => tensor([-(2 ** 31) - 1], { dtype: 'int32' }), /^tensor: value -2147483649 at index 0 cannot be int32: it does not fit in/],
    [() => tensor([NaN], { dtype: 'int64' }), /^tensor: value NaN at index 0 cannot be int64/],
    [() => tensor(Float64Array.of(0, 3e9), { dtype: 'int64' }), /^tensor: value 3000000000 at index 1 cannot be int64/],
    [() => pg.full([2], 2 ** 32, { dtype: 'int64' }), /^full: value 4294967296 at index 0 cannot be int64/],
    [() => tensor([1, 3e9]).long(), /^cast: value 3000000000 at index 1 cannot be int64/],
    [() => tensor([1, -3e9]).int(), /^cast: value -3000000000 at index 1 cannot be int32/],
    [() => pg.arange(2 ** 31 - 2, 2 ** 31 + 1, 1, { dtype: 'int64' }), /^arange: value 2147483648 at index 1 cannot be int64/],
    [() => pg.randint(0, 2 ** 32, [2], { dtype: 'int64' }), /^randint: value 4294967295 at index 1 cannot be int64/],
  ];
  for (const [fn, message] of tooBig) assert.throws(fn, (err: unknown) => err instanceof DTypeError && message.test((err as Error).message), String(message));
});

test('allocations are checked before they happen: the op, the shape and the bytes it would need', () => {
  const refused: [() => unknown, RegExp, Function][] = [
    // 2^32 float32 elements would silently take 16 GB.
    [() => pg.zeros([2 ** 16, 2 ** 16]), /^zeros: a float32 tensor of shape \[65536,65536\] has 4294967296 elements \(16 GiB\), more than one tensor may hold \(2147483647, 2\^31 − 1\)$/, MemoryError],
    [() => pg.randn([1, 1e9, 1e9]), /^randn: a float32 tensor of shape \[1,1000000000,1000000000\] has 1000000000000000000 elements \(3\.47 EiB\)/, MemoryError],
    [() => pg.zeros([2 ** 15, 2 ** 15], { dtype: 'float64' }), /^zeros: a float64 tensor of shape \[32768,32768\] needs 8 GiB \(8589934592 bytes\), over the limit of 4 GiB per tensor \(raise it with setMaxTensorBytes\(\) or PIXELGRAD_MAX_TENSOR_BYTES\)$/, MemoryError],
    [() => pg.expand(pg.ones([1, 1]), [2 ** 20, 2 ** 12]), /^expand: a float32 tensor of shape \[1048576,4096\] has 4294967296 elements/, MemoryError],
    [() => pg.empty([-1]), /^empty: invalid shape \[-1\]: sizes must be non-negative integers$/, ArgumentError],
    [() => pg.zeros([2, 1.5]), /^zeros: invalid shape \[2,1\.5\]: sizes must be non-negative integers$/, ArgumentError],
    [() => pg.zeros([NaN]), /^zeros: invalid shape \[NaN\]/, ArgumentError],
    [() => pg.ones(5 as never), /^ones: shape must be an array of non-negative integers, got 5$/, ArgumentError],
    [() => new Tensor(new Float32Array(0), [2, -1, 0]), /^Tensor: invalid shape \[2,-1,0\]/, ArgumentError],
  ];
  for (const [fn, message, type] of refused) {
    assert.throws(fn, (err: unknown) => err instanceof type && message.test((err as Error).message), String(message));
  }
  assert.equal(pg.getMaxTensorBytes(), pg.DEFAULT_MAX_TENSOR_BYTES);
  assert.equal(pg.MAX_ELEMENTS, 2 ** 31 - 1);
  try {
    pg.setMaxTensorBytes(1024);
    assert.equal(pg.zeros([256]).size, 256, 'exactly at the limit');
    const over: [() => unknown, string][] = [
      [() => pg.zeros([257]), 'zeros'],
      [() => tensor(new Float64Array(129)), 'tensor'],
      [() => pg.ones([1]).expand([300]), 'expand'],
      [() => pg.matmul(pg.ones([20, 1]), pg.ones([1, 20])), 'matmul'],
      [() => pg.add(pg.ones([20, 1]), pg.ones([1, 20])), 'add'],
      [() => pg.concat([pg.ones([200]), pg.ones([100])]), 'concat'],
      [() => pg.pad(pg.ones([16, 16]), [1, 1]), 'pad'],
    ];
    for (const [fn, op] of over) {
      assert.throws(fn, (err: unknown) => err instanceof MemoryError && (err as Error).message.startsWith(`${op}: `) && /over the limit of 1 KiB per tensor/.test((err as Error).message), op);
    }
  } finally {
    pg.setMaxTensorBytes(null);
  }
  assert.equal(pg.getMaxTensorBytes(), 2 ** 32);
  assert.throws(() => pg.setMaxTensorBytes(-1), /^ArgumentError: setMaxTensorBytes: bytes must be a positive integer or null, got -1$/);
});

test('PIXELGRAD_MAX_TENSOR_BYTES sets the per-tensor limit', () => {
  const script = "import('./src/index.ts').then((pg) => { console.log(pg.getMaxTensorBytes()); try { pg.zeros([17]); } catch (e) { console.log(e.message); } })";
  const run = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { env: { ...process.env, PIXELGRAD_MAX_TENSOR_BYTES: '64' }, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(run.stdout.trim().split('\n'), ['64', 'zeros: a float32 tensor of shape [17] needs 68 bytes, over the limit of 64 bytes per tensor (raise it with setMaxTensorBytes() or PIXELGRAD_MAX_TENSOR_BYTES)']);
  // A bad value does not break the import; the first allocation refuses it, naming the variable.
  const bad = spawnSync(process.execPath, ['--import', 'tsx', '-e', "import('./src/index.ts').then((pg) => { console.log('imported'); pg.zeros([2]); })"], { env: { ...process.env, PIXELGRAD_MAX_TENSOR_BYTES: '1.5' }, encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.equal(bad.stdout, 'imported\n');
  assert.match(bad.stderr, /ArgumentError: PIXELGRAD_MAX_TENSOR_BYTES: must be a positive integer number of bytes, got '1\.5'/);
});

test('arrays allocated without clearing: own memory of the right type and length, all-ones bytes under PIXELGRAD_FILL_UNINITIALIZED=nan, and ops that ask for them still right', () => {
  // In a child process with and without the fill: small (cleared) and large (malloc) sizes, each dtype.
  const script = `import('./src/dtype.ts').then(({ allocArray }) => {
    const rows = [];
    for (const dtype of ['float32', 'float64', 'int32']) for (const n of [3, 5000]) {
      const a = allocArray('t', dtype, [n], false);
      rows.push([dtype, n, a.constructor.name, a.length, a.byteOffset % 8, a.buffer.byteLength >= a.byteLength, Array.from(a.subarray(0, 2))]);
    }
    console.log(JSON.stringify(rows));
  })`;
  const run = (fill: string | undefined) => {
    const env = { ...process.env };
    if (fill === undefined) delete env.PIXELGRAD_FILL_UNINITIALIZED; else env.PIXELGRAD_FILL_UNINITIALIZED = fill;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as [string, number, string, number, number, boolean, (number | null)[]][];
  };
  const names: Record<string, string> = { float32: 'Float32Array', float64: 'Float64Array', int32: 'Int32Array' };
  for (const [dtype, n, ctor, length, misalign, fits, head] of run('nan')) {
    assert.deepEqual([ctor, length, misalign, fits], [names[dtype], n, 0, true], `${dtype} ${n}`);
    assert.deepEqual(head, dtype === 'int32' ? [-1, -1] : [null, null], `${dtype} ${n}: all-ones bytes (NaN prints as null)`);
  }
  for (const [dtype, n, ctor, length, misalign, fits] of run(undefined)) assert.deepEqual([ctor, length, misalign, fits], [names[dtype], n, 0, true], `${dtype} ${n}`);
  // Any other value is refused at the first such allocation, naming the variable.
  const bad = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { env: { ...process.env, PIXELGRAD_FILL_UNINITIALIZED: 'zero' }, encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /ArgumentError: PIXELGRAD_FILL_UNINITIALIZED: must be 'nan' or unset, got 'zero'/);
  // Two large outputs in a row do not share memory.
  const x = tensor(Array.from({ length: 3000 }, (_, i) => i));
  const a = x.neg(), b = x.mul(2);
  assert.notEqual(a.data.buffer, b.data.buffer);
  assert.equal(a.data[2999], -2999);
  assert.equal(b.data[2999], 5998);
});

test('a gradient takes its tensor\'s dtype, as in PyTorch (torch 1.13: a float32 leaf times a float64 tensor gets a float32 .grad)', () => {
  const a = tensor([1, 2], { requiresGrad: true });
  const b = tensor([3, 4], { dtype: 'float64' });
  const y = a.mul(b);
  assert.equal(y.dtype, 'float64', 'the product is promoted');
  y.sum().backward();
  assert.equal(a.grad!.dtype, 'float32');
  assert.deepEqual(a.grad!.toArray(), [3, 4]);
  // Through an intermediate kept with retainGrad, and from a float64 output gradient.
  const a2 = tensor([1, 2], { requiresGrad: true });
  const h = a2.mul(2).retainGrad();
  h.mul(b).backward(tensor([1, 1], { dtype: 'float64' }));
  assert.equal(h.grad!.dtype, 'float32');
  assert.equal(a2.grad!.dtype, 'float32');
  assert.deepEqual(a2.grad!.toArray(), [6, 8]);
  const a3 = tensor([1, 2], { requiresGrad: true });
  a3.mul(2).backward(tensor([1, 0.5], { dtype: 'float64' }));
  assert.equal(a3.grad!.dtype, 'float32');
  assert.deepEqual(a3.grad!.toArray(), [2, 1]);
  // A float64 leaf cast to float32 gets a float64 gradient; autograd.grad too.
  const d = tensor([1, 2], { dtype: 'float64', requiresGrad: true });
  d.float().mul(3).sum().backward();
  assert.equal(d.grad!.dtype, 'float64');
  const [g] = pg.grad(a.mul(b).sum(), [a]);
  assert.equal(g!.dtype, 'float32');
  // Second order through the cast (createGraph): d/da of sum(2·a·b·a) is 4ab, its derivative 4b.
  const a4 = tensor([1, 2], { requiresGrad: true });
  const [g1] = pg.grad(a4.mul(b).mul(a4).mul(2).sum(), [a4], { createGraph: true });
  assert.equal(g1!.dtype, 'float32');
  assert.deepEqual(g1!.toArray(), [12, 32]);
  g1!.sum().backward();
  assert.equal(a4.grad!.dtype, 'float32');
  assert.deepEqual(a4.grad!.toArray(), [12, 16]);
});
