/**
 * Transfer learning: freezing (batch norm kept in eval), replacing children, the channel-adaptation
 * rules against their definitions, parameter groups, SHA-256, and the zoo's checked weights.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { concat, manualSeed, models, nn, noGrad, optim, randn } from '../src/index.js';
import { loadZooModel, readZooFile, zooFolder } from '../src/node.js';
import { mnist } from '../src/data/node/mnist.js';
import { sha256Hex } from '../src/io/sha256.js';
import { ArgumentError } from '../src/errors.js';
import { assertClose } from './helpers/assert.js';

const grads = (m: nn.Module) => m.namedParameters().map(([n, p]) => [n, p.grad !== null] as const);

function backwardOnce(model: nn.Module): void {
  model.forward(randn([2, 1, 28, 28])).sum().backward();
}

test('freeze and unfreeze by module path or predicate: frozen parameters get no gradient', () => {
  manualSeed(0);
  const net = new models.LeNet5();
  backwardOnce(net);
  net.freeze(['conv1', 'conv2']);
  assert.ok(net.conv1.weight.grad === null && net.conv2.bias!.grad === null, 'freezing drops the gradients the layers had');
  net.zeroGrad();
  backwardOnce(net);
  assert.deepEqual(grads(net).filter(([, g]) => g).map(([n]) => n), ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias', 'fc3.weight', 'fc3.bias']);
  assert.ok(net.conv1.frozen && !net.fc1.frozen);

  net.unfreeze().freeze((_path, m) => m instanceof nn.Linear);
  net.zeroGrad();
  backwardOnce(net);
  assert.deepEqual(grads(net).filter(([, g]) => g).map(([n]) => n), ['conv1.weight', 'conv1.bias', 'conv2.weight', 'conv2.bias']);

  net.unfreeze();
  assert.ok(net.parameters().every((p) => p.requiresGrad) && net.modules().every((m) => !m.frozen));
  // Paths are whole module names: 'conv' is not a prefix of conv1's path.
  assert.throws(() => net.freeze('conv'), (e: Error) => e instanceof ArgumentError && /^freeze: LeNet5 has no module "conv" \(modules: conv1, conv2, fc1, fc2, fc3\)/.test(e.message));
  assert.throws(() => new nn.Sequential(new nn.Sequential(new nn.ReLU())).freeze('0.1'), /no module "0\.1" \(modules in "0": 0\)/);
});

test('a frozen batch norm stays in eval mode: running statistics are used, not updated', () => {
  manualSeed(1);
  const net = new nn.Sequential(new nn.Conv2d(1, 3, 3), new nn.BatchNorm2d(3), new nn.ReLU(), new nn.Dropout(0.5));
  const bn = net.at(1) as nn.BatchNorm2d;
  noGrad(() => { bn.runningMean!.data.set([0.5, -1, 2]); bn.runningVar!.data.set([2, 3, 0.5]); });
  const before = [...bn.runningMean!.data, ...bn.runningVar!.data];
  net.freeze('1');
  net.train();
  assert.deepEqual(net.modules().map((m) => m.training), [true, true, false, true, true], 'only the frozen batch norm is in eval mode');
  const x = randn([4, 1, 6, 6]);
  const out = net.at(1).forward(net.at(0).forward(x));
  assert.deepEqual([...bn.runningMean!.data, ...bn.runningVar!.data], before, 'running statistics unchanged');
  const reference = new nn.BatchNorm2d(3);
  reference.loadStateDict(bn.stateDict());
  const expected = reference.eval().forward(net.at(0).forward(x));
  assertClose(out.data, expected.data, { what: 'frozen batch norm output = eval-mode output' });

  net.unfreeze('1');
  assert.equal(bn.training, true);
  net.forward(x);
  assert.notDeepEqual([...bn.runningMean!.data], before.slice(0, 3), 'unfrozen: statistics are updated again');
  net.freeze();
  net.eval();
  net.train();
  assert.equal(bn.training, false);
});

test('setChild replaces a child by dotted path, in the fields forward uses', () => {
  manualSeed(2);
  const net = new models.LeNet5();
  net.setChild('fc3', new nn.Linear(84, 5));
  assert.deepEqual(net.forward(randn([3, 1, 28, 28])).shape, [3, 5], 'LeNet5.forward uses this.fc3');
  assert.deepEqual(net.stateDict()['fc3.weight'].shape, [5, 84]);

  const inner = new nn.Linear(2, 2);
  const seq = new nn.Sequential(new nn.Sequential(inner, new nn.ReLU()), new nn.Linear(2, 1));
  const zero = new nn.Linear(2, 2);
  noGrad(() => { zero.weight.data.fill(0); zero.bias!.data.fill(0); });
  seq.setChild('0.0', zero);
  assert.equal(seq.getSubmodule('0.0'), zero);
  const last = seq.at(1) as nn.Linear;
  assertClose(seq.forward(randn([4, 2])).data, new Array(4).fill(last.bias!.data[0]), { what: 'Sequential runs the new child' });
  assert.ok(!seq.parameters().includes(inner.weight));

  assert.throws(() => net.setChild('fc4', new nn.Linear(84, 5)), /^ArgumentError: setChild: LeNet5 has no module "fc4"/);
  assert.throws(() => net.setChild('fc3', {} as nn.Module), /setChild: the module for "fc3" must be a Module/);
});

test('channel adaptation: each rule against its definition, and the input it keeps exactly', () => {
  manualSeed(3);
  const conv = new nn.Conv2d(3, 4, 3, { padding: 1 });
  const w = conv.weight; // [4,3,3,3]
  for (const n of [1, 2, 3, 6]) {
    const avg = nn.adaptFilters(w, n, 'average');
    const rep = nn.adaptFilters(w, n, 'replicate');
    // average: W'[:, j] = (1/n) Σᵢ W[:, i]; replicate: W'[:, j] = W[:, j mod 3]·3/n
    const sum = w.sum(1, true);
    const expectAvg = concat(Array.from({ length: n }, () => sum.div(n)), 1);
    const expectRep = concat(Array.from({ length: n }, (_, j) => w.narrow(1, j % 3, 1).mul(3 / n)), 1);
    assertClose(avg, expectAvg.data, { what: `average, n=${n}` });
    assertClose(rep, expectRep.data, { what: `replicate, n=${n}` });
  }
  const x = randn([2, 1, 8, 8]), rgb = concat([x, x, x], 1);
  const gray = nn.adaptInputChannels(new nn.Sequential(conv), 1).at(0) as nn.Conv2d;
  assert.equal(gray.inChannels, 1);
  assertClose(gray.forward(x).data, conv.forward(rgb).data, { what: 'RGB → gray: the gray image gives what its RGB copy gave' });
  assertClose(gray.bias!.data, conv.bias!.data, { what: 'bias kept' });

  const gray1 = new nn.Conv2d(1, 4, 3);
  const toRgb = nn.adaptInputChannels(new nn.Sequential(gray1), 3, { rule: 'replicate' }).at(0) as nn.Conv2d;
  assertClose(toRgb.forward(rgb).data, gray1.forward(x).data, { what: 'gray → RGB' });
  const six = nn.adaptInputChannels(new nn.Sequential(conv), 6, { rule: 'replicate' }).at(0) as nn.Conv2d;
  const y = randn([2, 3, 8, 8]);
  assertClose(six.forward(concat([y, y], 1)).data, conv.forward(y).data, { what: 'RGB → 6 bands (two copies)' });

  const net = nn.adaptInputChannels(new models.LeNet5(), 3);
  assert.deepEqual(net.forward(randn([1, 3, 28, 28])).shape, [1, 10]);
  assert.throws(() => nn.adaptFilters(w, 2, 'sum' as nn.ChannelRule), /adaptFilters: rule must be 'average' or 'replicate', got "sum"/);
  assert.throws(() => nn.adaptInputChannels(new models.LeNet5(), 3, { layer: 'fc1' }), /adaptInputChannels: "fc1" is a Linear, not a Conv2d/);
});

test('replaceHead and the paths of the first convolution and the head', () => {
  manualSeed(4);
  const net = nn.replaceHead(new models.LeNet5(), 5);
  assert.equal(net.fc3.outFeatures, 5);
  assert.deepEqual([nn.firstConvPath(net), nn.headPath(net)], ['conv1', 'fc3']);
  const resnet = models.resnet({ depth: 8, inChannels: 3, numClasses: 10 });
  assert.deepEqual([nn.firstConvPath(resnet), nn.headPath(resnet)], ['conv1', 'fc']);
  assert.throws(() => nn.headPath(new nn.Sequential(new nn.ReLU())), /headPath: Sequential has no Linear layer/);
  // Re-initialising one layer: getSubmodule(path).resetParameters() draws new values there only.
  const conv = Float32Array.from(net.conv1.weight.data), fc1 = Float32Array.from(net.fc1.weight.data);
  net.getSubmodule('fc1').resetParameters();
  assert.deepEqual(net.conv1.weight.data, conv);
  assert.notDeepEqual(net.fc1.weight.data, fc1);
  assert.ok(net.fc1.weight.data.every((v) => Math.abs(v) <= 1 / Math.sqrt(256)), 'PyTorch bound 1/√fanIn');
});

test('parameter groups: each its own learning rate, the rest with the defaults', () => {
  manualSeed(5);
  const net = new models.LeNet5();
  const groups = nn.parameterGroups<optim.SGDOptions>(net, [{ modules: ['conv1', 'conv2'], lr: 0.01 }, { modules: 'fc3', lr: 1 }]);
  assert.deepEqual(groups.map((g) => g.params.length), [4, 2, 4]);
  const opt = new optim.SGD(groups, { lr: 0.1 });
  assert.deepEqual(opt.paramGroups.map((g) => g.lr), [0.01, 1, 0.1]);
  const before = net.parameters().map((p) => Float32Array.from(p.data));
  backwardOnce(net);
  opt.step();
  const lrOf = (name: string) => (name.startsWith('conv') ? 0.01 : name.startsWith('fc3') ? 1 : 0.1);
  net.namedParameters().forEach(([name, p], i) => {
    const expected = before[i].map((v, k) => v - lrOf(name) * p.grad!.data[k]);
    assertClose(p.data, expected, { what: name, atol: 1e-6 });
  });
  assert.throws(() => nn.parameterGroups(net, [{ modules: 'conv1' }, { modules: (path) => path.startsWith('conv') }]), /parameterGroups: parameter "weight" of Conv2d is selected by groups 0 and 1/);
});

test('sha256Hex agrees with node:crypto on every padding case', () => {
  assert.equal(sha256Hex(new TextEncoder().encode('abc')), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 5000]) {
    const b = randomBytes(n);
    assert.equal(sha256Hex(b), createHash('sha256').update(b).digest('hex'), `${n} bytes`);
  }
});

test('the zoo: every file matches its checksum; LeNet-5 on MNIST reaches its recorded accuracy', () => {
  for (const entry of models.ZOO) {
    assert.equal(createHash('sha256').update(readFileSync(join(zooFolder(), entry.file))).digest('hex'), entry.sha256, entry.file);
  }
  const net = models.lenet5({ pretrained: 'mnist' }).eval();
  const test = mnist({ train: false });
  const logits = noGrad(() => net.forward(test.inputs));
  const predicted = logits.argmax(1).data, labels = test.targets.data;
  let correct = 0;
  for (let i = 0; i < labels.length; i++) correct += predicted[i] === labels[i] ? 1 : 0;
  const entry = models.zooEntry('lenet5-mnist');
  assert.ok(Math.abs(correct / labels.length - entry.testAccuracy) <= 0.002, `accuracy ${correct / labels.length} vs recorded ${entry.testAccuracy}`);
  assert.deepEqual(loadZooModel('lenet5-fashion-mnist').stateDict()['fc3.weight'].shape, [10, 84]);
});

test('the zoo refuses a changed file and misused options', () => {
  const bytes = Uint8Array.from(readZooFile(models.zooEntry('lenet5-mnist')));
  bytes[bytes.length - 1] ^= 1;
  assert.throws(() => models.lenet5({ pretrained: 'mnist', weights: bytes }),
    (e: Error) => e instanceof models.ZooError && /^lenet5: lenet5-mnist\.safetensors is not the file shipped with pixelgrad \(SHA-256 [0-9a-f]{64}, expected [0-9a-f]{64}\)/.test(e.message));
  assert.throws(() => models.lenet5({ pretrained: 'cifar10' }), /lenet5: no model "lenet5-cifar10" in the zoo \(it has: lenet5-mnist, lenet5-fashion-mnist\)/);
  assert.throws(() => models.lenet5({ pretrained: 'mnist', numClasses: 5 }), /lenet5: pretrained weights fix the network's shape: leave out numClasses/);
  assert.throws(() => models.lenet5({ weights: bytes }), /'weights' needs 'pretrained'/);
});
