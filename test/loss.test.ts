/**
 * Losses: every case of test/fixtures/loss.json (made by tools/gen_loss_fixtures.py with
 * Debian's python3-torch) forward and backward, float64 gradient checks, stability for huge
 * logits, the module forms, and the error paths.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  ArgumentError, DTypeError, Generator, NotSupportedError, ShapeError, Tensor, gradcheck, rand, randn,
  randint, tensor, zeros,
} from '../src/index.js';
import {
  bceWithLogits, binaryCrossEntropy, crossEntropy, diceLoss, l1Loss, mseLoss, nllLoss, smoothL1Loss,
  validateLossOptions, type LossName,
} from '../src/nn/functional/loss.js';
import {
  BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, DiceLoss, L1Loss, MSELoss, NLLLoss, SmoothL1Loss,
} from '../src/nn/layers/loss.js';
import { assertClose, assertTensor } from './helpers/assert.js';

interface Arr { shape: number[]; data: number[]; dtype?: 'float32' | 'int32' }
interface Case {
  name: string; loss: LossName; options: Record<string, any>;
  tensors: { input: Arr; target: Arr; weight?: Arr; posWeight?: Arr };
  output: Arr; upstream: Arr | null; grad: Arr;
}
const fixtures: { torch: string; cases: Case[] } = JSON.parse(readFileSync(new URL('./fixtures/loss.json', import.meta.url), 'utf8'));

type LossFn = (input: Tensor, target: Tensor, options?: any) => Tensor;
const LOSSES: Record<LossName, LossFn> = { mseLoss, l1Loss, smoothL1Loss, crossEntropy, nllLoss, binaryCrossEntropy, bceWithLogits, diceLoss };

const arr = (a: Arr): Tensor => tensor(a.dtype === 'int32' ? Int32Array.from(a.data) : Float32Array.from(a.data), { shape: a.shape });

test('the fixtures cover every loss', () => {
  assert.deepEqual(new Set(fixtures.cases.map((c) => c.loss)), new Set(Object.keys(LOSSES)));
  assert.ok(fixtures.cases.length >= 80);
});

for (const c of fixtures.cases) {
  test(`${c.loss}: ${c.name} matches PyTorch ${fixtures.torch}`, () => {
    const input = arr(c.tensors.input).setRequiresGrad(true);
    const options = { ...c.options };
    if (c.tensors.weight) options.weight = arr(c.tensors.weight);
    if (c.tensors.posWeight) options.posWeight = arr(c.tensors.posWeight);
    const out = LOSSES[c.loss](input, arr(c.tensors.target), options);
    assert.equal(out.dtype, 'float32');
    assertTensor(out, c.output.shape, c.output.data, { what: 'loss', atol: 1e-5, rtol: 1e-4 });
    if (c.upstream) out.mul(arr(c.upstream)).sum().backward();
    else out.backward();
    assert.ok(input.grad, 'input has a gradient');
    assertTensor(input.grad, c.grad.shape, c.grad.data, { what: 'grad', atol: 1e-5, rtol: 1e-3 });
  });
}

// ---- float64 gradient checks ------------------------------------------------------------

const gen = new Generator(99);
const f64 = (shape: number[], scale = 1): Tensor => randn(shape, { dtype: 'float64', generator: gen }).mul(scale).setRequiresGrad(true);
const i32 = (v: number[], shape = [v.length]) => tensor(Int32Array.from(v), { shape });
const labels = (classes: number, shape: number[]) => randint(0, classes, shape, { generator: gen });
/** float64 probabilities in [0.05, 0.95]. */
const probs = (shape: number[], grad = true) => {
  const t = rand(shape, { dtype: 'float64', generator: gen }).mul(0.9).add(0.05).detach();
  return grad ? t.setRequiresGrad(true) : t;
};
/** Values kept ≥ 0.1 from the kinks listed (for l1 / smoothL1 differences). */
function away(t: Tensor, kinks: number[]): Tensor {
  for (let i = 0; i < t.size; i++) for (const k of kinks) if (Math.abs(t.data[i] - k) < 0.1) t.data[i] = k + (t.data[i] < k ? -0.2 : 0.2);
  return t;
}
const w64 = (v: number[]) => tensor(v, { dtype: 'float64' });

type GC = [string, (...a: Tensor[]) => Tensor, () => Tensor[]];
const GRADCHECKS: GC[] = [
  ['mseLoss mean', (x, y) => mseLoss(x, y), () => [f64([3, 4]), f64([3, 4])]],
  ['mseLoss none (both inputs)', (x, y) => mseLoss(x, y, { reduction: 'none' }), () => [f64([2, 3]), f64([2, 3])]],
  ['l1Loss sum', (d) => l1Loss(d, zeros([3, 4], { dtype: 'float64' }), { reduction: 'sum' }), () => [away(f64([3, 4]), [0])]],
  ['smoothL1Loss beta 0.7 none', (d) => smoothL1Loss(d, zeros([3, 4], { dtype: 'float64' }), { beta: 0.7, reduction: 'none' }), () => [away(f64([3, 4], 1.5), [-0.7, 0.7, 0])]],
  ['smoothL1Loss beta 0', (d) => smoothL1Loss(d, zeros([5], { dtype: 'float64' }), { beta: 0 }), () => [away(f64([5]), [0])]],
  ['nllLoss weight ignore', (x) => nllLoss(x, i32([0, 2, -100, 1]), { weight: w64([0.5, 2, 1]) }), () => [f64([4, 3])]],
  ['crossEntropy mean', (x, t) => crossEntropy(x, t), () => [f64([4, 5]), labels(5, [4])]],
  ['crossEntropy weight labelSmoothing ignore', (x) => crossEntropy(x, i32([0, 2, 1, 1]), { weight: w64([0.5, 2, 1]), labelSmoothing: 0.2, ignoreIndex: 1 }), () => [f64([4, 3])]],
  ['crossEntropy [N,C,H,W] weight ignore none', (x) => crossEntropy(x, i32([0, 1, 255, 2, 2, 255, 0, 1], [2, 2, 2]), { weight: w64([1, 2, 3]), ignoreIndex: 255, reduction: 'none' }), () => [f64([2, 3, 2, 2])]],
  ['crossEntropy probabilities weight labelSmoothing', (x, q) => crossEntropy(x, q, { weight: w64([1, 0.5, 2]), labelSmoothing: 0.1 }), () => [f64([4, 3]), probs([4, 3])]],
  ['crossEntropy [C]', (x) => crossEntropy(x, i32([2], [])), () => [f64([4])]],
  ['binaryCrossEntropy weight (both inputs)', (p, t) => binaryCrossEntropy(p, t, { weight: w64([1, 2, 0.5]) }), () => [probs([2, 3]), probs([2, 3])]],
  ['bceWithLogits weight posWeight none', (x, t) => bceWithLogits(x, t, { weight: w64([1, 2, 0.5]), posWeight: w64([3, 1, 0.5]), reduction: 'none' }), () => [f64([2, 3], 3), probs([2, 3])]],
  ['bceWithLogits large logits', (x, t) => bceWithLogits(x, t), () => [tensor([-60, -25, 25, 60], { dtype: 'float64', requiresGrad: true }), probs([4], false)]],
  ['diceLoss [N,C,H,W] ignore', (x) => diceLoss(x, i32([0, 1, 2, 255, 1, 1, 0, 2], [2, 2, 2]), { ignoreIndex: 255, smooth: 0.5 }), () => [f64([2, 3, 2, 2])]],
  ['diceLoss [N,C] none', (x, t) => diceLoss(x, t, { reduction: 'none' }), () => [f64([3, 4]), labels(4, [3])]],
];

for (const [name, fn, inputs] of GRADCHECKS) {
  test(`gradcheck ${name}`, () => {
    const r = gradcheck(fn, inputs());
    assert.ok(r.ok, `${name}: analytic ${r.failure?.analytic} vs numeric ${r.failure?.numeric} at input ${r.failure?.input}[${r.failure?.index}]`);
  });
}

// ---- stability ---------------------------------------------------------------------------

const allFinite = (t: Tensor) => Array.from(t.data).every(Number.isFinite);

test('crossEntropy is stable for logits of ±1e4', () => {
  const x = tensor([[1e4, -1e4, 0], [-1e4, 1e4, 0], [1e4, 1e4, -1e4]], { requiresGrad: true });
  const loss = crossEntropy(x, i32([0, 0, 2]), { reduction: 'none' });
  assertTensor(loss, [3], [0, 2e4, 2e4 + Math.log(2)], { atol: 1e-3 });
  loss.sum().backward();
  assert.ok(allFinite(x.grad!));
  // softmax − onehot
  assertTensor(x.grad!, [3, 3], [0, 0, 0, -1, 1, 0, 0.5, 0.5, -1], { atol: 1e-6 });
  // with label smoothing, weights and probabilities too
  const x2 = tensor([[1e4, -1e4, 0]], { requiresGrad: true });
  for (const l of [
    crossEntropy(x2, i32([1]), { labelSmoothing: 0.1, weight: tensor([1, 2, 3]) }),
    crossEntropy(x2, tensor([[0.2, 0.3, 0.5]])),
    nllLoss(x2.logSoftmax(1), i32([1])),
    diceLoss(x2.reshape(1, 3, 1), i32([1], [1, 1])),
  ]) {
    assert.ok(Number.isFinite(l.item()), `finite loss ${l.item()}`);
    x2.grad = null;
    l.backward();
    assert.ok(allFinite(x2.grad!), 'finite gradient');
  }
});

test('bceWithLogits is stable for logits of ±1e4 and matches the closed forms', () => {
  const x = tensor([1e4, -1e4, 1e4, -1e4, 0], { requiresGrad: true });
  const loss = bceWithLogits(x, tensor([1, 0, 0, 1, 1]), { reduction: 'none', posWeight: tensor([2]) });
  assertTensor(loss, [5], [0, 0, 1e4, 2e4, 2 * Math.log(2)], { atol: 1e-3 });
  loss.sum().backward();
  // d/dx = (1 − t)·σ(x) … = σ(x)·(1 + (pw − 1)t) − pw·t
  assertTensor(x.grad!, [5], [0, 0, 1, -2, 0.5 * 2 - 2], { atol: 1e-6 });
});

test('binaryCrossEntropy clamps the log at −100, with finite gradients at 0 and 1', () => {
  const p = tensor([0, 1, 0, 1], { requiresGrad: true });
  const loss = binaryCrossEntropy(p, tensor([1, 0, 0, 1]), { reduction: 'none' });
  assertTensor(loss, [4], [100, 100, 0, 0]);
  loss.sum().backward();
  assert.ok(allFinite(p.grad!));
});

test('crossEntropy mean with every target ignored is NaN, as torch (0/0)', () => {
  assert.ok(Number.isNaN(crossEntropy(randn([2, 3]), i32([-100, -100])).item()));
  assert.equal(crossEntropy(randn([2, 3]), i32([-100, -100]), { reduction: 'sum' }).item(), 0);
});

test('crossEntropy equals nllLoss of logSoftmax, and float64 stays float64', () => {
  const x = randn([4, 3], { dtype: 'float64' }), t = i32([0, 2, 1, 2]);
  const w = tensor([1, 2, 3], { dtype: 'float64' });
  assertClose(crossEntropy(x, t, { weight: w }).data, nllLoss(x.logSoftmax(1), t, { weight: w }).data, { atol: 1e-12 });
  assert.equal(crossEntropy(x, t).dtype, 'float64');
});

test('diceLoss: a perfect prediction gives ≈ 0, the formula by hand for one sample', () => {
  const target = i32([0, 1, 1, 0], [1, 2, 2]);
  const logits = tensor([[[[50, -50], [-50, 50]], [[-50, 50], [50, -50]]]]); // [1,2,2,2]
  assert.ok(diceLoss(logits, target).item() < 1e-6);
  // uniform softmax (p = 0.5 everywhere): per class I = 1, P = 2, T = 2 → dice = (2 + 1)/(4 + 1)
  assertClose(diceLoss(zeros([1, 2, 2, 2]), target, { reduction: 'none' }).data, [1 - 3 / 5]);
});

// ---- module forms ---------------------------------------------------------------------

test('module forms equal the functional forms', () => {
  const x = randn([4, 3]), y = randn([4, 3]), p = rand([4, 3]).mul(0.9).add(0.05), t01 = rand([4, 3]);
  const lbl = i32([0, 2, 1, -100]), w = tensor([1, 2, 0.5]), pw = tensor([2, 1, 3]);
  const seg = randn([2, 3, 2, 2]), segT = i32([0, 1, 2, 255, 1, 1, 0, 2], [2, 2, 2]);
  const pairs: [Tensor, Tensor][] = [
    [new MSELoss({ reduction: 'sum' }).forward(x, y), mseLoss(x, y, { reduction: 'sum' })],
    [new L1Loss({ reduction: 'none' }).forward(x, y), l1Loss(x, y, { reduction: 'none' })],
    [new SmoothL1Loss({ beta: 0.5 }).forward(x, y), smoothL1Loss(x, y, { beta: 0.5 })],
    [new CrossEntropyLoss({ weight: w, labelSmoothing: 0.1 }).forward(x, lbl), crossEntropy(x, lbl, { weight: w, labelSmoothing: 0.1 })],
    [new NLLLoss({ weight: w, reduction: 'none' }).forward(x, lbl), nllLoss(x, lbl, { weight: w, reduction: 'none' })],
    [new BCELoss({ weight: w }).forward(p, t01), binaryCrossEntropy(p, t01, { weight: w })],
    [new BCEWithLogitsLoss({ weight: w, posWeight: pw, reduction: 'sum' }).forward(x, t01), bceWithLogits(x, t01, { weight: w, posWeight: pw, reduction: 'sum' })],
    [new DiceLoss({ smooth: 0.5, ignoreIndex: 255, reduction: 'none' }).forward(seg, segT), diceLoss(seg, segT, { smooth: 0.5, ignoreIndex: 255, reduction: 'none' })],
  ];
  pairs.forEach(([m, f], i) => assertTensor(m, f.shape, f.data, { what: `pair ${i}`, atol: 0, rtol: 0 }));
});

test('loss modules register weight and posWeight as buffers, and use loaded values', () => {
  const w = tensor([1, 2, 3]);
  const ce = new CrossEntropyLoss({ weight: w });
  assert.deepEqual(ce.namedBuffers().map(([n]) => n), ['weight']);
  assert.equal(ce.weight, w);
  assert.deepEqual(ce.parameters(), []);
  assert.deepEqual(Object.keys(ce.stateDict()), ['weight']);
  const x = randn([2, 3]), t = i32([0, 2]);
  ce.loadStateDict({ weight: tensor([3, 2, 1]) });
  assertClose(ce.forward(x, t).data, crossEntropy(x, t, { weight: tensor([3, 2, 1]) }).data, { atol: 0, rtol: 0 });
  assert.deepEqual(new CrossEntropyLoss().namedBuffers(), []);
  assert.equal(new CrossEntropyLoss().weight, null);
  const bce = new BCEWithLogitsLoss({ weight: tensor([1, 2]), posWeight: tensor([3, 4]) });
  assert.deepEqual(bce.namedBuffers().map(([n]) => n), ['weight', 'posWeight']);
  assert.deepEqual(new NLLLoss({ weight: w }).buffers(), [w]);
  assert.deepEqual(new BCELoss({ weight: w }).buffers(), [w]);
});

test('loss modules: extraRepr and toString', () => {
  assert.equal(new MSELoss().toString(), "MSELoss(reduction='mean')");
  assert.equal(new SmoothL1Loss({ beta: 0.5, reduction: 'sum' }).extraRepr(), "reduction='sum', beta=0.5");
  assert.equal(new CrossEntropyLoss({ weight: tensor([1, 2, 3]), labelSmoothing: 0.1 }).extraRepr(),
    "reduction='mean', ignoreIndex=-100, labelSmoothing=0.1, weight=Tensor[3]");
  assert.equal(new NLLLoss({ ignoreIndex: 255 }).extraRepr(), "reduction='mean', ignoreIndex=255");
  assert.equal(new BCEWithLogitsLoss({ posWeight: tensor([2]) }).extraRepr(), "reduction='mean', posWeight=Tensor[1]");
  assert.equal(new DiceLoss({ ignoreIndex: 0 }).extraRepr(), "reduction='mean', smooth=1, ignoreIndex=0");
  assert.equal(new BCELoss().extraRepr(), "reduction='mean'");
  assert.equal(new L1Loss({ reduction: 'none' }).extraRepr(), "reduction='none'");
});

test('loss modules validate their options in the constructor', () => {
  const throwsLike = (fn: () => unknown, type: Function, message: RegExp) => assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof type, `expected ${type.name}, got ${String(e)}`);
    assert.match((e as Error).message, message);
    return true;
  });
  throwsLike(() => new MSELoss({ reduction: 'avg' as never }), ArgumentError, /^MSELoss: reduction must be 'mean', 'sum' or 'none', got 'avg'$/);
  throwsLike(() => new CrossEntropyLoss({ labelSmoothing: 1.5 }), ArgumentError, /^CrossEntropyLoss: labelSmoothing must be between 0 and 1, got 1.5$/);
  throwsLike(() => new CrossEntropyLoss({ weight: tensor([[1, 2]]) }), ShapeError, /^CrossEntropyLoss: weight must be 1-D/);
  throwsLike(() => new SmoothL1Loss({ beta: -1 }), ArgumentError, /^SmoothL1Loss: beta must be a finite number ≥ 0, got -1$/);
  throwsLike(() => new NLLLoss({ sizeAverage: true } as never), NotSupportedError, /^NLLLoss: the deprecated size_average is not supported/);
  throwsLike(() => new DiceLoss({ smooth: -1 }), ArgumentError, /^DiceLoss: smooth must be a finite number ≥ 0, got -1$/);
  throwsLike(() => new BCEWithLogitsLoss({ posWeight: i32([1]) }), DTypeError, /^BCEWithLogitsLoss: posWeight must be a float tensor, got int32 with shape \[1\]$/);
  throwsLike(() => new BCELoss({ pos_weight: tensor([1]) } as never), ArgumentError, /^BCELoss: unknown option 'pos_weight' \(options: weight, reduction\)$/);
});

// ---- errors --------------------------------------------------------------------------------

const x45 = randn([4, 5]);
const ERRORS: [string, () => unknown, RegExp, Function][] = [
  ['ce target shape', () => crossEntropy(x45, i32([0, 1, 2])), /^crossEntropy: target has shape \[3\] but input \[4,5\] needs \[4\] \(int32 class indices\) or \[4,5\] \(float class probabilities\)$/, ShapeError],
  ['ce float target for indices', () => crossEntropy(x45, tensor([0, 1, 2, 3])), /^crossEntropy: target of class indices must be int32, got float32 with shape \[4\] \(input \[4,5\]\); class probabilities need the input's shape \[4,5\]$/, DTypeError],
  ['ce int target of the input shape', () => crossEntropy(x45, zeros([4, 5], { dtype: 'int32' })), /^crossEntropy: target of the input's shape \[4,5\] holds class probabilities and must be a float tensor, got int32$/, DTypeError],
  ['ce class out of range', () => crossEntropy(x45, i32([0, 1, 5, 2])), /^crossEntropy: target holds class index 5 \(flat position 2\), out of range for 5 classes \(input \[4,5\]\); only ignoreIndex -100 may lie outside \[0, 5\)$/, ArgumentError],
  ['ce negative class', () => crossEntropy(x45, i32([0, -1, 0, 0])), /^crossEntropy: target holds class index -1/, ArgumentError],
  ['ce weight length', () => crossEntropy(x45, i32([0, 1, 2, 3]), { weight: tensor([1, 2, 3]) }), /^crossEntropy: weight has shape \[3\] but input \[4,5\] has 5 classes, needs \[5\]$/, ShapeError],
  ['ce reduction', () => crossEntropy(x45, i32([0, 1, 2, 3]), { reduction: 'avg' as never }), /^crossEntropy: reduction must be 'mean', 'sum' or 'none', got 'avg'$/, ArgumentError],
  ['ce 0-d input', () => crossEntropy(tensor(1), i32([0], [])), /^crossEntropy: input must have a class dim/, ShapeError],
  ['ce int input', () => crossEntropy(zeros([2, 3], { dtype: 'int32' }), i32([0, 1])), /^crossEntropy: input must be a float tensor, got int32 with shape \[2,3\]$/, DTypeError],
  ['ce 4-d target shape', () => crossEntropy(randn([2, 3, 4, 4]), i32([0, 1], [2, 1])), /^crossEntropy: target has shape \[2,1\] but input \[2,3,4,4\] needs \[2,4,4\]/, ShapeError],
  ['ce ignoreIndex with probabilities', () => crossEntropy(x45, rand([4, 5]), { ignoreIndex: 0 }), /^crossEntropy: ignoreIndex 0 cannot be used with class-probability targets/, ArgumentError],
  ['ce labelSmoothing range', () => crossEntropy(x45, i32([0, 1, 2, 3]), { labelSmoothing: -0.1 }), /^crossEntropy: labelSmoothing must be between 0 and 1, got -0.1$/, ArgumentError],
  ['ce ignoreIndex not integer', () => crossEntropy(x45, i32([0, 1, 2, 3]), { ignoreIndex: 1.5 }), /^crossEntropy: ignoreIndex must be an integer, got 1.5$/, ArgumentError],
  ['ce weight not a tensor', () => crossEntropy(x45, i32([0, 1, 2, 3]), { weight: [1, 2] as never }), /^crossEntropy: weight must be a Tensor, got object$/, DTypeError],
  ['ce size_average', () => crossEntropy(x45, i32([0, 1, 2, 3]), { size_average: false } as never), /^crossEntropy: the deprecated size_average is not supported/, NotSupportedError],
  ['ce reduce', () => crossEntropy(x45, i32([0, 1, 2, 3]), { reduce: false } as never), /^crossEntropy: the deprecated reduce is not supported; use reduction: 'none'$/, NotSupportedError],
  ['ce snake-case option', () => crossEntropy(x45, i32([0, 1, 2, 3]), { label_smoothing: 0.1 } as never), /^crossEntropy: unknown option 'label_smoothing'; did you mean 'labelSmoothing'\?$/, ArgumentError],
  ['ce unknown option', () => crossEntropy(x45, i32([0, 1, 2, 3]), { posWeight: tensor([1]) } as never), /^crossEntropy: unknown option 'posWeight' \(options: weight, ignoreIndex, reduction, labelSmoothing, weightMap\)$/, ArgumentError],
  ['nll float target', () => nllLoss(x45, tensor([0, 1, 2, 3])), /^nllLoss: target of class indices must be int32, got float32 with shape \[4\] \(input \[4,5\]\)$/, DTypeError],
  ['nll target shape', () => nllLoss(x45, i32([0, 1, 2])), /^nllLoss: target has shape \[3\] but input \[4,5\] needs \[4\]$/, ShapeError],
  ['nll out of range with ignoreIndex', () => nllLoss(x45, i32([0, 1, 7, 3]), { ignoreIndex: 255 }), /^nllLoss: target holds class index 7 \(flat position 2\), out of range for 5 classes \(input \[4,5\]\); only ignoreIndex 255 may lie outside \[0, 5\)$/, ArgumentError],
  ['nll weight 2-D', () => nllLoss(x45, i32([0, 1, 2, 3]), { weight: zeros([1, 5]) }), /^nllLoss: weight must be 1-D \(one value per class\), got shape \[1,5\]$/, ShapeError],
  ['mse shapes', () => mseLoss(randn([4]), randn([3])), /^mseLoss: target has shape \[3\] but input \[4\] needs \[4\]$/, ShapeError],
  ['mse int target', () => mseLoss(randn([3]), i32([1, 2, 3])), /^mseLoss: target must be a float tensor, got int32 with shape \[3\]$/, DTypeError],
  ['mse size_average', () => mseLoss(randn([3]), randn([3]), { sizeAverage: true } as never), /^mseLoss: the deprecated size_average is not supported/, NotSupportedError],
  ['l1 unknown option', () => l1Loss(randn([3]), randn([3]), { beta: 1 } as never), /^l1Loss: unknown option 'beta' \(options: reduction\)$/, ArgumentError],
  ['smoothL1 negative beta', () => smoothL1Loss(randn([3]), randn([3]), { beta: -1 }), /^smoothL1Loss: beta must be a finite number ≥ 0, got -1$/, ArgumentError],
  ['bce input range', () => binaryCrossEntropy(tensor([0.5, 1.5]), tensor([0, 1])), /^binaryCrossEntropy: input holds 1.5 at flat position 1; probabilities must lie in \[0, 1\]/, ArgumentError],
  ['bce shapes', () => binaryCrossEntropy(rand([2, 3]), rand([3])), /^binaryCrossEntropy: target has shape \[3\] but input \[2,3\] needs \[2,3\]$/, ShapeError],
  ['bce weight broadcast', () => binaryCrossEntropy(rand([2, 3]), rand([2, 3]), { weight: tensor([1, 2]) }), /^binaryCrossEntropy: weight has shape \[2\], which does not broadcast to input \[2,3\]$/, ShapeError],
  ['bce weight enlarges', () => binaryCrossEntropy(rand([3]), rand([3]), { weight: rand([2, 3]) }), /^binaryCrossEntropy: weight has shape \[2,3\], which does not broadcast to input \[3\]$/, ShapeError],
  ['bceWithLogits posWeight', () => bceWithLogits(randn([2, 3]), rand([2, 3]), { posWeight: tensor([1, 2]) }), /^bceWithLogits: posWeight has shape \[2\], which does not broadcast to input \[2,3\]$/, ShapeError],
  ['bceWithLogits reduce', () => bceWithLogits(randn([2]), rand([2]), { reduce: true } as never), /^bceWithLogits: the deprecated reduce is not supported/, NotSupportedError],
  ['dice 1-D input', () => diceLoss(randn([3]), i32([0], [])), /^diceLoss: input must be logits \[N,C\] or \[N,C,d1,...\], got shape \[3\]$/, ShapeError],
  ['dice target shape', () => diceLoss(randn([2, 3, 4, 4]), i32([0, 1], [2, 1])), /^diceLoss: target has shape \[2,1\] but input \[2,3,4,4\] needs \[2,4,4\]$/, ShapeError],
  ['dice target float', () => diceLoss(randn([2, 3, 2]), zeros([2, 2])), /^diceLoss: target of class indices must be int32, got float32 with shape \[2,2\] \(input \[2,3,2\]\)$/, DTypeError],
  ['dice class out of range', () => diceLoss(randn([1, 3, 2]), i32([0, 3], [1, 2])), /^diceLoss: target holds class index 3 \(flat position 1\), out of range for 3 classes \(input \[1,3,2\]\)$/, ArgumentError],
  ['dice smooth', () => diceLoss(randn([1, 3, 2]), i32([0, 1], [1, 2]), { smooth: Number.NaN }), /^diceLoss: smooth must be a finite number ≥ 0, got NaN$/, ArgumentError],
  ['options not an object', () => mseLoss(randn([2]), randn([2]), 'sum' as never), /^mseLoss: options must be an object, got string$/, ArgumentError],
];

for (const [name, fn, message, type] of ERRORS) {
  test(`error: ${name}`, () => {
    assert.throws(fn, (err: unknown) => {
      assert.ok(err instanceof type, `expected ${type.name}, got ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
      assert.match((err as Error).message, message);
      return true;
    });
  });
}

test('validateLossOptions fills in the defaults', () => {
  assert.deepEqual(validateLossOptions('x', 'crossEntropy', undefined), {
    reduction: 'mean', weight: null, posWeight: null, ignoreIndex: -100, labelSmoothing: 0, beta: 1, smooth: 1,
    weightMap: null, includeBackground: true, classIndex: null, batch: false,
  });
  assert.equal(validateLossOptions('x', 'diceLoss', {}).ignoreIndex, null);
  assert.equal(validateLossOptions('x', 'mseLoss', { reduction: undefined }).reduction, 'mean');
});
