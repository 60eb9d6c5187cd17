/** Module mechanics, containers, summary, dropout and construction-time errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, manualSeed, models, nn, ones, randn, tensor, zeros, type Tensor } from '../src/index.js';
import { assertTensor } from './helpers/assert.js';

class Block extends nn.Module {
  readonly lin: nn.Linear;
  readonly bn: nn.BatchNorm1d;
  constructor() {
    super();
    this.lin = this.registerModule('lin', new nn.Linear(3, 2));
    this.bn = this.registerModule('bn', new nn.BatchNorm1d(2));
    this.registerBuffer('scratch', zeros([1]), { persistent: false });
  }
  override forward(x: Tensor): Tensor { return this.bn.forward(this.lin.forward(x)); }
}

test('parameters, buffers and children have dotted names; shared parameters are listed once', () => {
  const shared = new nn.Linear(2, 2);
  const net = new nn.Sequential(new Block(), new nn.ReLU(), shared, shared);
  assert.deepEqual(net.namedParameters().map(([n]) => n), ['0.lin.weight', '0.lin.bias', '0.bn.weight', '0.bn.bias', '2.weight', '2.bias']);
  assert.deepEqual(net.namedBuffers().map(([n]) => n), ['0.scratch', '0.bn.running_mean', '0.bn.running_var', '0.bn.num_batches_tracked']);
  assert.deepEqual(Object.keys(net.stateDict()), ['0.lin.weight', '0.lin.bias', '0.bn.weight', '0.bn.bias', '0.bn.running_mean', '0.bn.running_var', '0.bn.num_batches_tracked', '2.weight', '2.bias'],
    'non-persistent buffers stay out of the state dict');
  assert.equal(net.children().length, 4);
  assert.deepEqual(net.namedModules().next().value, ['', net]);
  assert.ok(net.parameters().every((p) => p.requiresGrad));
});

test('registration rejects clashing and dotted names', () => {
  const m = new nn.Linear(2, 2);
  assert.throws(() => m.registerBuffer('weight', zeros([1])), /Linear: name 'weight' is already used/);
  assert.throws(() => m.registerModule('a.b', new nn.ReLU()), /Linear: invalid name 'a.b'/);
});

test('train() and eval() recurse; requiresGrad(false) freezes; zeroGrad clears', () => {
  const net = new nn.Sequential(new Block(), new nn.Dropout(0.5));
  net.eval();
  assert.ok(net.modules().every((m) => !m.training));
  net.train();
  assert.ok(net.modules().every((m) => m.training));
  net.at(0).requiresGrad(false);
  assert.ok(net.at(0).parameters().every((p) => !p.requiresGrad));
  const y = net.forward(randn([4, 3]));
  assert.equal(y.requiresGrad, false, 'frozen layers give no graph');
  net.requiresGrad(true);
  net.forward(randn([4, 3])).sum().backward();
  assert.ok(net.parameters().some((p) => p.grad));
  net.zeroGrad();
  assert.ok(net.parameters().every((p) => p.grad === null));
});

test('stateDict round-trips and loadStateDict names what is missing, unexpected or mis-shaped', () => {
  manualSeed(1);
  const a = new Block(), b = new Block();
  b.loadStateDict(a.stateDict());
  assert.deepEqual([...b.lin.weight.data], [...a.lin.weight.data]);
  assert.notEqual(b.lin.weight.data, a.lin.weight.data, 'copied, not shared');
  const sd = a.stateDict();
  delete sd['bn.bias'];
  sd['extra'] = zeros([1]);
  sd['lin.weight'] = zeros([3, 3]);
  assert.throws(() => b.loadStateDict(sd), /loadStateDict: Block: mis-shaped: lin.weight: checkpoint \[3,3\] vs model \[2,3\] \| missing: bn.bias \| unexpected: extra/);
  const before = [...b.lin.bias!.data];
  delete sd['lin.weight'];
  const r = b.loadStateDict({ ...sd, 'lin.bias': ones([2]) }, { strict: false });
  assert.deepEqual(r, { missingKeys: ['lin.weight', 'bn.bias'], unexpectedKeys: ['extra'] });
  assert.notDeepEqual([...b.lin.bias!.data], before);
  assertTensor(b.lin.bias!, [2], [1, 1]);
});

test('forward hooks see inputs and outputs and can replace them; removing a hook stops it', () => {
  const lin = new nn.Linear(2, 2);
  const seen: number[][] = [];
  const removePre = lin.registerForwardPreHook((_m, [x]) => [x.mul(0)]);
  const removePost = lin.registerForwardHook((_m, _in, out) => { seen.push([...out.shape]); return out.add(1); });
  const y = new nn.Sequential(lin).forward(ones([3, 2]));
  assert.deepEqual(seen, [[3, 2]]);
  assertTensor(y, [3, 2], [...lin.bias!.data, ...lin.bias!.data, ...lin.bias!.data].map((v) => v + 1));
  removePre();
  removePost();
  const z = lin.forward(zeros([1, 2]));
  assertTensor(z, [1, 2], [...lin.bias!.data]);
});

test('resetParameters re-initialises every layer that has parameters', () => {
  const net = new nn.Sequential(new nn.Linear(4, 4), new nn.Conv2d(1, 2, 3));
  const before = net.parameters().map((p) => [...p.data]);
  net.resetParameters();
  net.parameters().forEach((p, i) => assert.notDeepEqual([...p.data], before[i]));
});

test('toString shows the module tree', () => {
  const s = new nn.Sequential(new nn.Conv2d(1, 6, 5, { padding: 2 }), new nn.ReLU(), new nn.MaxPool2d(2)).toString();
  assert.equal(s, 'Sequential(\n  (0): Conv2d(1, 6, kernelSize=[5,5], stride=[1,1], padding=[2,2])\n  (1): ReLU()\n  (2): MaxPool2d(kernelSize=[2,2])\n)');
});

test('containers: ModuleList and ModuleDict register their modules', () => {
  const list = new nn.ModuleList([new nn.Linear(1, 1), new nn.Linear(1, 2)]);
  assert.deepEqual(list.namedParameters().map(([n]) => n), ['0.weight', '0.bias', '1.weight', '1.bias']);
  assert.equal(list.at(-1), [...list][1]);
  const dict = new nn.ModuleDict({ enc: new nn.Linear(1, 1) });
  dict.set('dec', new nn.Linear(1, 1));
  assert.deepEqual(dict.namedParameters().map(([n]) => n), ['enc.weight', 'enc.bias', 'dec.weight', 'dec.bias']);
  assert.throws(() => dict.get('x'), /ModuleDict: no module named 'x' \(have: enc, dec\)/);
  const named = new nn.Sequential({ features: new nn.Linear(2, 2), act: new nn.ReLU() });
  assert.deepEqual(named.namedParameters().map(([n]) => n), ['features.weight', 'features.bias']);
});

test('summary lists output shapes and parameter counts: a conv needs far fewer parameters than a dense layer', () => {
  const s = nn.summary(models.lenet5(), [1, 1, 28, 28]);
  assert.deepEqual(s.rows.map((r) => [r.name, r.outputShape, r.params]), [
    ['conv1', [1, 6, 28, 28], 6 * 25 + 6],
    ['conv2', [1, 16, 10, 10], 16 * 6 * 25 + 16],
    ['fc1', [1, 120], 400 * 120 + 120],
    ['fc2', [1, 84], 120 * 84 + 84],
    ['fc3', [1, 10], 84 * 10 + 10],
  ]);
  assert.equal(s.totalParams, 61706);
  assert.match(s.toString(), /conv1\s+Conv2d\s+\[1,6,28,28\]\s+156\n/);
  assert.match(s.toString(), /Total params: 61,706/);
  // The same 28×28 → 6×28×28 map as a dense layer would need (784·4704 + 4704) parameters.
  const conv = nn.summary(new nn.Sequential(new nn.Conv2d(1, 6, 5, { padding: 2 })), [1, 1, 28, 28]).totalParams;
  const dense = nn.summary(new nn.Sequential(new nn.Flatten(), new nn.Linear(784, 6 * 28 * 28)), [1, 1, 28, 28]).totalParams;
  assert.equal(conv, 156);
  assert.equal(dense, 784 * 4704 + 4704);
});

test('dropout worked example: inputs (5, 1, 7, 2), weights (2, 1, 1, 2), p = 0.5', () => {
  const x = tensor([5, 1, 7, 2]), w = tensor([2, 1, 1, 2]);
  // Every mask of kept inputs, each kept input scaled by 1/(1 − p) = 2: 16 possible outputs.
  const possible = Array.from({ length: 16 }, (_, m) => [0, 1, 2, 3].reduce((s, i) => s + ((m >> i) & 1 ? 2 * x.data[i] * w.data[i] : 0), 0));
  assert.equal(Math.max(...possible), 44, 'all kept: 2·(10 + 1 + 7 + 4)');
  assert.equal(Math.min(...possible), 0, 'all dropped');
  const drop = new nn.Dropout(0.5, { generator: new Generator(3) });
  const seen = new Set<number>();
  for (let i = 0; i < 400; i++) {
    const y = drop.forward(x).mul(w).sum().item();
    assert.ok(possible.includes(y), `output ${y} is one of the 16`);
    seen.add(y);
  }
  assert.ok(seen.has(44) && seen.has(0), 'both extremes occur');
  drop.eval();
  assert.equal(drop.forward(x).mul(w).sum().item(), 22, 'eval: the plain weighted sum');
});

test('dropout keeps the mean, drops about p of the units, and Dropout2d drops whole channels', () => {
  const x = ones([200, 100]);
  const y = new nn.Dropout(0.3, { generator: new Generator(1) }).forward(x);
  const zeroFrac = [...y.data].filter((v) => v === 0).length / y.size;
  assert.ok(Math.abs(zeroFrac - 0.3) < 0.01, `dropped ${zeroFrac}`);
  assert.ok(Math.abs(y.mean().item() - 1) < 0.02);
  const z = new nn.Dropout2d(0.5, { generator: new Generator(2) }).forward(ones([4, 8, 3, 3]));
  for (let c = 0; c < 32; c++) {
    const plane = [...z.data.subarray(c * 9, c * 9 + 9)];
    assert.ok(plane.every((v) => v === plane[0]) && (plane[0] === 0 || plane[0] === 2), 'a channel is all dropped or all kept ×2');
  }
});

test('bad configurations throw at construction, naming the layer and argument', () => {
  assert.throws(() => new nn.Conv2d(3, 4, 3, { groups: 2 }), /Conv2d: groups=2 must divide inChannels=3 and outChannels=4/);
  assert.throws(() => new nn.Conv2d(3, 4, 3, { padding: -1 }), /Conv2d: padding must be an integer ≥ 0/);
  assert.throws(() => new nn.Conv2d(3, 4, 0), /Conv2d: kernelSize must be an integer ≥ 1/);
  assert.throws(() => new nn.Conv2d(3, 4, 3, { stride: 2, padding: 'same' }), /Conv2d: padding='same' needs stride 1/);
  assert.throws(() => new nn.Linear(0, 3), /Linear: inFeatures must be a positive integer, got 0/);
  assert.throws(() => new nn.Dropout(1.5), /Dropout: p must be a probability in \[0, 1\], got 1.5/);
  assert.throws(() => new nn.Dropout(-0.1), /Dropout: p must be a probability/);
  assert.throws(() => new nn.MaxPool2d(2, { padding: 2 }), /MaxPool2d: padding 2,2 must be at most half the kernel size 2x2/);
  assert.throws(() => new nn.BatchNorm2d(4, { momentum: 2 }), /BatchNorm2d: momentum must be in \[0, 1\] or null, got 2/);
  assert.throws(() => new nn.GroupNorm(3, 4), /GroupNorm: numGroups=3 must divide numChannels=4/);
  assert.throws(() => new nn.ConvTranspose2d(2, 2, 3, { stride: 2, outputPadding: 2 }), /ConvTranspose2d: outputPadding \[2,2\] must be smaller than stride or dilation/);
  assert.throws(() => new nn.Upsample({ size: 4, scaleFactor: 2 }), /Upsample: give exactly one of size and scaleFactor/);
  assert.throws(() => models.resnet({ depth: 21 }), /ResNet: depth must be 6n \+ 2/);
});

test('mis-shaped inputs throw at the first forward, naming the layer and the shapes', () => {
  assert.throws(() => new nn.Conv2d(3, 4, 3).forward(zeros([1, 1, 8, 8])), /conv2d: input has 1 channels but weight expects 3 \(input \[1,1,8,8\], weight \[4,3,3,3\], groups 1\)/);
  assert.throws(() => new nn.Conv2d(1, 4, 3).forward(zeros([8, 8])), /conv2d: input must be 4-D \(batched\) or 3-D \(unbatched\), got shape \[8,8\]/);
  assert.throws(() => new nn.Conv2d(1, 1, 5).forward(zeros([1, 1, 3, 3])), /conv2d: kernel 5x5 \(with dilation\) is larger than the padded input 3x3/);
  assert.throws(() => new nn.Linear(4, 2).forward(zeros([3, 5])), /linear: input has 5 features in its last dim but weight expects 4 \(input \[3,5\], weight \[2,4\]\)/);
  assert.throws(() => new nn.BatchNorm2d(3).forward(zeros([2, 4, 2, 2])), /BatchNorm2d: expected input of rank 4 with 3 channels in dim 1, got \[2,4,2,2\]/);
  assert.throws(() => new nn.BatchNorm1d(3).forward(zeros([1, 3])), /batchNorm: expected more than 1 value per channel when training/);
  assert.throws(() => new nn.MaxPool2d(4).forward(zeros([1, 1, 3, 3])), /maxPool2d: the window 4x4 .* does not fit the input \[1,1,3,3\]/);
  const x64 = zeros([1, 1, 4, 4], { dtype: 'float64' });
  assert.throws(() => new nn.Conv2d(1, 2, 3).forward(x64), /conv2d: weight is float32 but the input is float64 \(cast one of them\)/);
  assert.throws(() => nn.functional.conv2d(x64, zeros([2, 1, 3, 3], { dtype: 'float64' }), zeros([2])), /conv2d: bias is float32 but the input is float64/);
  assert.throws(() => new nn.ConvTranspose2d(1, 2, 3).forward(x64), /convTranspose2d: weight is float32 but the input is float64/);
});

test('unknown or unsupported options are errors, never silently ignored', () => {
  assert.throws(() => new nn.Conv2d(1, 2, 3, { padding_mode: 'zeros' } as never), /Conv2d: unknown option 'padding_mode'; did you mean 'paddingMode'\?/);
  assert.throws(() => new nn.MaxPool2d(2, { returnIndices: true } as never), /MaxPool2d: option 'returnIndices' is not supported \(use nn.functional.maxPool2dWithIndices\)/);
  assert.throws(() => new nn.Linear(2, 2, { device: 'cuda' } as never), /Linear: option 'device' is not supported/);
  assert.throws(() => new nn.BatchNorm2d(2, { track_running_stats: false } as never), /BatchNorm2d: unknown option 'track_running_stats'; did you mean 'trackRunningStats'\?/);
  assert.throws(() => nn.functional.conv2d(zeros([1, 1, 3, 3]), zeros([1, 1, 3, 3]), null, { bias: true } as never), /conv2d: unknown option 'bias'/);
  assert.throws(() => nn.functional.interpolate(zeros([1, 1, 2, 2]), { scaleFactor: 2, antialias: true } as never), /interpolate: unknown option 'antialias'/);
});
