/**
 * Optimisers, learning-rate schedulers and gradient clipping against PyTorch 1.13 (fixtures in
 * test/fixtures/optim.json, made by tools/gen_optim_fixtures.py), state dicts against PyTorch's
 * state_dict() names and values (test/fixtures/optim-state.json, tools/gen_optim_state_fixture.py),
 * plus state-dict round trips, zeroGrad, parameter groups and the error paths.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ArgumentError, DTypeError, Generator, NotSupportedError, ShapeError, Tensor, randn, tensor, zeros } from '../src/index.js';
import { clipGradNorm, clipGradValue } from '../src/nn/clip.js';
import {
  Adagrad, Adam, AdamW, CosineAnnealingLR, ExponentialLR, LinearLR, LRScheduler, MultiStepLR, OneCycleLR, Optimizer, ReduceLROnPlateau,
  RMSprop, SequentialLR, SGD, StepLR, type OptimizerStateDict,
} from '../src/optim/index.js';
import { assertClose } from './helpers/assert.js';

interface Arr { shape: number[]; data: number[] }
type Options = Record<string, any>;
type Groups = ({ params: number[] } & Options)[] | null;
interface OptCase { name: string; optimizer: string; options: Options; groups: Groups; params: Arr[]; grads: (Arr | null)[][]; after: Arr[][] }
interface SchedSpec { type: string; options: Options }
interface SchedCase {
  name: string; optimizer: { type: string; options: Options; groups: Groups }; scheduler: SchedSpec; steps: number;
  metrics: number[] | null; lrs: number[][]; momentum: number[][] | null;
}
interface ClipFixture {
  params: { shape: number[]; grad: Arr | null }[];
  norm: { maxNorm: number; normType: number | 'inf'; total: number; grads: (Arr | null)[] }[];
  value: { clipValue: number; grads: (Arr | null)[] }[];
}

const fixtures: { torch: string; optimizers: OptCase[]; schedulers: SchedCase[]; clip: ClipFixture } =
  JSON.parse(readFileSync(new URL('./fixtures/optim.json', import.meta.url), 'utf8'));

const OPTIMIZERS: Record<string, new (params: any, options: any) => Optimizer<any, any>> = { SGD, Adam, AdamW, RMSprop, Adagrad };

function makeOptimizer(kind: string, options: Options, groups: Groups, params: Tensor[]): Optimizer<any, any> {
  const ctor = OPTIMIZERS[kind];
  if (groups === null) return new ctor(params, options);
  return new ctor(groups.map(({ params: idx, ...rest }) => ({ ...rest, params: idx.map((i) => params[i]) })), options);
}

const fromArr = (a: Arr, requiresGrad = false) => tensor(Float32Array.from(a.data), { shape: a.shape, requiresGrad });

// ---- optimisers against PyTorch ----

test('the optimiser fixtures cover every optimiser and option', () => {
  assert.match(fixtures.torch, /^1\.13/);
  const seen = new Set(fixtures.optimizers.flatMap((c) => [c.optimizer, ...Object.keys(c.options).map((k) => `${c.optimizer}.${k}`)]));
  for (const k of ['SGD.momentum', 'SGD.dampening', 'SGD.nesterov', 'SGD.weightDecay', 'SGD.maximize', 'Adam.amsgrad', 'Adam.weightDecay',
    'Adam.betas', 'Adam.eps', 'Adam.maximize', 'AdamW.weightDecay', 'AdamW.amsgrad', 'RMSprop.momentum', 'RMSprop.centered', 'RMSprop.alpha',
    'RMSprop.weightDecay', 'Adagrad.lrDecay', 'Adagrad.initialAccumulatorValue', 'Adagrad.weightDecay', 'Adagrad.eps']) {
    assert.ok(seen.has(k), `no fixture sets ${k}`);
  }
  assert.ok(fixtures.optimizers.some((c) => c.groups !== null && c.groups.length === 2));
  assert.ok(fixtures.optimizers.some((c) => c.grads.some((step) => step.includes(null))), 'a fixture leaves a gradient out');
});

for (const c of fixtures.optimizers) {
  test(`${c.optimizer} ${c.name} matches PyTorch over ${c.after.length} steps`, () => {
    const params = c.params.map((a) => fromArr(a, true));
    const opt = makeOptimizer(c.optimizer, c.options, c.groups, params);
    c.grads.forEach((grads, step) => {
      params.forEach((p, i) => { p.grad = grads[i] === null ? null : fromArr(grads[i]!); });
      opt.step();
      params.forEach((p, i) => {
        assert.deepEqual([...p.shape], c.after[step][i].shape);
        assertClose(p.data, c.after[step][i].data, { atol: 1e-6, rtol: 1e-6, what: `${c.name} step ${step + 1} param ${i}` });
      });
    });
  });
}

// ---- schedulers against PyTorch ----

function makeScheduler(spec: SchedSpec, opt: Optimizer<any, any>): LRScheduler | ReduceLROnPlateau {
  const o = spec.options;
  switch (spec.type) {
    case 'StepLR': return new StepLR(opt, o as any);
    case 'MultiStepLR': return new MultiStepLR(opt, o as any);
    case 'ExponentialLR': return new ExponentialLR(opt, o as any);
    case 'CosineAnnealingLR': return new CosineAnnealingLR(opt, o as any);
    case 'LinearLR': return new LinearLR(opt, o);
    case 'OneCycleLR': return new OneCycleLR(opt, o as any);
    case 'ReduceLROnPlateau': return new ReduceLROnPlateau(opt, o);
    case 'SequentialLR':
      return new SequentialLR(opt, { schedulers: o.schedulers.map((s: SchedSpec) => makeScheduler(s, opt)), milestones: o.milestones });
    default: throw new Error(`unknown scheduler ${spec.type}`);
  }
}

const momentumOf = (opt: Optimizer<any, any>) => opt.paramGroups.map((g: any) => (g.betas ? g.betas[0] : g.momentum));

test('the scheduler fixtures cover every scheduler', () => {
  const types = new Set(fixtures.schedulers.flatMap((c) => [c.scheduler.type, ...(c.scheduler.options.schedulers ?? []).map((s: SchedSpec) => s.type)]));
  for (const t of ['StepLR', 'MultiStepLR', 'ExponentialLR', 'CosineAnnealingLR', 'LinearLR', 'SequentialLR', 'OneCycleLR', 'ReduceLROnPlateau']) {
    assert.ok(types.has(t), `no fixture for ${t}`);
  }
});

for (const c of fixtures.schedulers) {
  test(`${c.scheduler.type} ${c.name} gives PyTorch's lrs`, () => {
    const params = [zeros([3, 4], { requiresGrad: true }), zeros([4], { requiresGrad: true })];
    const opt = makeOptimizer(c.optimizer.type, c.optimizer.options, c.optimizer.groups, params);
    const sched = makeScheduler(c.scheduler, opt);
    const check = (step: number) => {
      const what = `${c.name} after ${step} steps`;
      assertClose(sched.getLastLr(), c.lrs[step], { atol: 1e-12, rtol: 2e-7, what: `${what}: getLastLr()` });
      assertClose(opt.paramGroups.map((g) => g.lr), c.lrs[step], { atol: 1e-12, rtol: 2e-7, what: `${what}: group lr` });
      if (c.momentum) assertClose(momentumOf(opt), c.momentum[step], { atol: 1e-12, rtol: 2e-7, what: `${what}: momentum` });
    };
    check(0);
    for (let i = 0; i < c.steps; i++) {
      opt.step();
      if (sched instanceof ReduceLROnPlateau) sched.step(c.metrics![i]);
      else sched.step();
      check(i + 1);
    }
  });
}

// ---- gradient clipping against PyTorch ----

function clipParams(): Tensor[] {
  return fixtures.clip.params.map(({ shape, grad }) => {
    const p = zeros(shape, { requiresGrad: true });
    p.grad = grad === null ? null : fromArr(grad);
    return p;
  });
}

for (const c of fixtures.clip.norm) {
  test(`clipGradNorm(maxNorm ${c.maxNorm}, normType ${c.normType}) matches PyTorch`, () => {
    const ps = clipParams();
    const total = clipGradNorm(ps, c.maxNorm, { normType: c.normType === 'inf' ? Infinity : c.normType });
    assertClose([total], [c.total], { atol: 1e-6, rtol: 1e-6, what: 'total norm' });
    ps.forEach((p, i) => {
      if (c.grads[i] === null) assert.equal(p.grad, null);
      else assertClose(p.grad!.data, c.grads[i]!.data, { atol: 1e-7, rtol: 1e-6, what: `grad ${i}` });
    });
  });
}

for (const c of fixtures.clip.value) {
  test(`clipGradValue(${c.clipValue}) matches PyTorch`, () => {
    const ps = clipParams();
    clipGradValue(ps, c.clipValue);
    ps.forEach((p, i) => {
      if (c.grads[i] === null) assert.equal(p.grad, null);
      else assert.deepEqual([...p.grad!.data].map((v) => Number(v.toPrecision(8))), c.grads[i]!.data, `grad ${i}`);
    });
  });
}

test('clipGradNorm: a single tensor, no gradients, non-finite norms', () => {
  const p = tensor([3, 4], { requiresGrad: true });
  assert.equal(clipGradNorm(p, 1), 0, 'no gradient: norm 0');
  p.grad = tensor([3, 4]);
  assert.equal(clipGradNorm(p, 1), 5);
  assertClose(p.grad.data, [0.6, 0.6 * 4 / 3], { atol: 1e-6 });
  p.grad = tensor([Infinity, 1]);
  assert.throws(() => clipGradNorm([p], 1, { errorIfNonfinite: true }), /^ArgumentError: clipGradNorm: the total norm of order 2 of the gradients is Infinity/);
  assert.deepEqual([...p.grad.data], [Infinity, 1], 'nothing changed when it throws');
  assert.equal(clipGradNorm([p], 1), Infinity);
  assert.ok(Number.isNaN(p.grad.data[0]) && p.grad.data[1] === 0, 'scaled by the non-finite norm, as torch');
});

// ---- state dicts ----

function seededGrads(shapes: number[][], steps: number, seed: number): Tensor[][] {
  const g = new Generator(seed);
  return Array.from({ length: steps }, () => shapes.map((s) => randn(s, { generator: g })));
}

const ROUND_TRIP: [string, (ps: Tensor[]) => Optimizer<any, any>][] = [
  ['SGD momentum, two groups', (ps) => new SGD([{ params: [ps[0]], lr: 0.1 }, { params: [ps[1], ps[2]], nesterov: true }], { lr: 0.05, momentum: 0.9 })],
  ['Adam amsgrad', (ps) => new Adam(ps, { lr: 0.01, amsgrad: true, weightDecay: 0.01 })],
  ['AdamW', (ps) => new AdamW([{ params: ps.slice(0, 2) }, { params: [ps[2]], betas: [0.5, 0.9] }], { lr: 0.01 })],
  ['RMSprop centered momentum', (ps) => new RMSprop(ps, { lr: 0.01, centered: true, momentum: 0.9 })],
  ['Adagrad', (ps) => new Adagrad(ps, { lr: 0.1, lrDecay: 0.01, initialAccumulatorValue: 0.1 })],
];

for (const [name, make] of ROUND_TRIP) {
  test(`${name}: stateDict survives JSON and resumes training identically`, () => {
    const shapes = [[3, 4], [4], [2, 2]];
    const g = new Generator(7);
    const ps = shapes.map((s) => randn(s, { generator: g, requiresGrad: true }));
    const grads = seededGrads(shapes, 5, 11);
    const opt = make(ps);
    const setGrads = (params: Tensor[], step: number) => params.forEach((p, i) => {
      // the last parameter gets no gradient at step 0, so it has less state than the others
      p.grad = step === 0 && i === 2 ? null : grads[step][i].clone();
    });
    for (let s = 0; s < 3; s++) { setGrads(ps, s); opt.step(); }
    const sd = JSON.parse(JSON.stringify(opt.stateDict())) as OptimizerStateDict;
    assert.deepEqual(sd.paramGroups.flatMap((gr) => gr.params), [0, 1, 2], 'parameters are referred to by index');
    const copies = ps.map((p) => tensor(p.data, { shape: p.shape, requiresGrad: true }));
    const fresh = make(copies);
    fresh.loadStateDict(sd);
    assert.deepEqual(fresh.stateDict(), opt.stateDict(), 'the reloaded state is the saved one');
    for (let s = 3; s < 5; s++) {
      setGrads(ps, s); opt.step();
      setGrads(copies, s); fresh.step();
    }
    ps.forEach((p, i) => assert.deepEqual([...copies[i].data], [...p.data], `param ${i} identical after resuming`));
    assert.notEqual(copies[0].data, ps[0].data);
  });
}

test('stateDict is plain data: buffers with dtype and shape, options with the group, params as indices', () => {
  const w = tensor([[1, 2], [3, 4]], { requiresGrad: true, dtype: 'float64' });
  const b = tensor([0.5], { requiresGrad: true });
  const opt = new Adam([{ params: [w] }, { params: [b], lr: 0.1 }], { lr: 0.01 });
  w.grad = tensor([[1, 1], [1, 1]], { dtype: 'float64' });
  opt.step();
  const sd = opt.stateDict();
  assert.deepEqual(Object.keys(sd.state), ['0'], 'b has no gradient yet, so no state');
  assert.equal(sd.state['0'].step, 1);
  assert.deepEqual(sd.state['0'].exp_avg, { dtype: 'float64', shape: [2, 2], data: new Array(4).fill(1 - 0.9) }); // (1 − β1)·g
  assert.deepEqual(sd.paramGroups, [
    { lr: 0.01, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0, amsgrad: false, maximize: false, params: [0] },
    { lr: 0.1, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0, amsgrad: false, maximize: false, params: [1] },
  ]);
  assert.ok(opt.state.get(w)!.expAvg instanceof Float64Array, 'state buffers follow the parameter dtype');
  sd.paramGroups[0].betas = [0, 0];
  assert.deepEqual(opt.paramGroups[0].betas, [0.9, 0.999], 'the state dict is a copy');
});

test('loadStateDict restores the group options and the scheduler fields', () => {
  const ps = [zeros([2], { requiresGrad: true })];
  const opt = new SGD(ps, { lr: 0.1, momentum: 0.9 });
  const sched = new StepLR(opt, { stepSize: 2, gamma: 0.5 });
  for (let i = 0; i < 5; i++) { opt.step(); sched.step(); }
  const saved = JSON.parse(JSON.stringify({ opt: opt.stateDict(), sched: sched.stateDict() }));
  assert.equal(saved.opt.paramGroups[0].initial_lr, 0.1);
  const opt2 = new SGD([zeros([2], { requiresGrad: true })], { lr: 0.1, momentum: 0.9 });
  const sched2 = new StepLR(opt2, { stepSize: 2, gamma: 0.5 });
  opt2.loadStateDict(saved.opt);
  sched2.loadStateDict(saved.sched);
  assert.equal(opt2.paramGroups[0].lr, 0.025);
  assert.deepEqual(sched2.getLastLr(), sched.getLastLr());
  for (let i = 0; i < 6; i++) {
    opt.step(); sched.step(); opt2.step(); sched2.step();
    assert.deepEqual(sched2.getLastLr(), sched.getLastLr(), `step ${i}`);
  }
});

test('scheduler state dicts round-trip through JSON (SequentialLR, OneCycleLR, ReduceLROnPlateau)', () => {
  const makeAll = () => {
    const mk = () => new SGD([zeros([2], { requiresGrad: true })], { lr: 0.1, momentum: 0.9 });
    const o1 = mk(), o2 = mk(), o3 = mk();
    const seq = new SequentialLR(o1, { schedulers: [new LinearLR(o1, { startFactor: 0.2, totalIters: 3 }), new CosineAnnealingLR(o1, { tMax: 10 })], milestones: [3] });
    const cyc = new OneCycleLR(o2, { maxLr: 1, totalSteps: 20 });
    const plat = new ReduceLROnPlateau(o3, { patience: 1, factor: 0.5 });
    return { opts: [o1, o2, o3], seq, cyc, plat };
  };
  const a = makeAll();
  for (let i = 0; i < 6; i++) { a.seq.step(); a.cyc.step(); a.plat.step(1 + (i % 2)); }
  const saved = JSON.parse(JSON.stringify({ opts: a.opts.map((o) => o.stateDict()), seq: a.seq.stateDict(), cyc: a.cyc.stateDict(), plat: a.plat.stateDict() }));
  assert.equal(a.plat.best, 1);
  assert.equal(JSON.parse(JSON.stringify(new ReduceLROnPlateau(a.opts[2]).stateDict())).best, 'Infinity', 'an infinite best survives JSON');
  const b = makeAll();
  b.opts.forEach((o, i) => o.loadStateDict(saved.opts[i]));
  b.seq.loadStateDict(saved.seq);
  b.cyc.loadStateDict(saved.cyc);
  b.plat.loadStateDict(saved.plat);
  for (let i = 0; i < 10; i++) {
    for (const s of [a, b]) { s.seq.step(); s.cyc.step(); s.plat.step(2); }
    assert.deepEqual(b.seq.getLastLr(), a.seq.getLastLr());
    assert.deepEqual(b.cyc.getLastLr(), a.cyc.getLastLr());
    assert.deepEqual(b.plat.getLastLr(), a.plat.getLastLr());
    assert.deepEqual(b.opts.map((o) => o.paramGroups[0].momentum), a.opts.map((o) => o.paramGroups[0].momentum));
  }
  assert.ok(a.plat.getLastLr()[0] < 0.1, 'the plateau scheduler did reduce');
});

// ---- zeroGrad, groups, closures, dtypes, training ----

test('zeroGrad sets gradients to null by default, or fills them with zeros', () => {
  const w = tensor([1, 2], { requiresGrad: true }), b = tensor([3], { requiresGrad: true });
  const opt = new SGD([w, b], { lr: 0.5, weightDecay: 1 });
  w.mul(w).sum().backward();
  const wGrad = w.grad!;
  opt.zeroGrad({ setToNone: false });
  assert.equal(w.grad, wGrad, 'the same gradient tensor, zeroed in place');
  assert.deepEqual([...w.grad!.data], [0, 0]);
  assert.equal(b.grad, null, 'a missing gradient stays missing');
  opt.step(); // zero gradient: only the weight decay moves w; b is skipped
  assert.deepEqual([...w.data], [0.5, 1]);
  assert.deepEqual([...b.data], [3]);
  opt.zeroGrad();
  assert.equal(w.grad, null);
  opt.step();
  assert.deepEqual([...w.data], [0.5, 1], 'no gradient: skipped');
});

test('group options are filled from the defaults; addParamGroup adds a group later', () => {
  const a = zeros([2], { requiresGrad: true }), b = zeros([2], { requiresGrad: true }), c = zeros([1], { requiresGrad: true });
  const opt = new SGD([{ params: [a] }, { params: [b], lr: 0.5, momentum: 0.1 }], { lr: 0.1, momentum: 0.9 });
  assert.deepEqual({ ...opt.paramGroups[0], params: null }, { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, params: null });
  assert.equal(opt.paramGroups[1].lr, 0.5);
  assert.equal(opt.paramGroups[1].momentum, 0.1);
  opt.addParamGroup({ params: [c], weightDecay: 0.01 });
  assert.equal(opt.paramGroups.length, 3);
  assert.equal(opt.paramGroups[2].lr, 0.1);
  assert.equal(opt.paramGroups[2].weightDecay, 0.01);
  c.grad = tensor([1]);
  opt.step();
  assertClose(c.data, [-0.1], { atol: 1e-7 });
  assert.throws(() => opt.addParamGroup({ params: [a] }), /^ArgumentError: SGD: paramGroups\[3\]\.params\[0\] appears more than once/);
  const noDefaultLr = new SGD([{ params: [zeros([1], { requiresGrad: true })], lr: 0.3 }], {});
  assert.equal(noDefaultLr.paramGroups[0].lr, 0.3, "lr may be given per group only, as torch's lr=required");
});

test('step runs a closure with grad mode on and returns its result', () => {
  const w = tensor([2], { requiresGrad: true });
  const opt = new SGD([w], { lr: 0.25 });
  const loss = opt.step(() => {
    opt.zeroGrad();
    const l = w.mul(w).sum();
    l.backward();
    return l.item();
  });
  assert.equal(loss, 4);
  assert.deepEqual([...w.data], [1]); // 2 − 0.25·4
  assert.equal(opt.step(), undefined);
});

test('float64 parameters get float64 state and float64 updates', () => {
  const w = tensor([1, 1e-9], { requiresGrad: true, dtype: 'float64' });
  const opt = new RMSprop([w], { lr: 0.1, momentum: 0.5, centered: true });
  w.grad = tensor([0.5, 1e-12], { dtype: 'float64' });
  opt.step();
  const s = opt.state.get(w)!;
  assert.ok(s.squareAvg instanceof Float64Array && s.momentumBuffer instanceof Float64Array && s.gradAvg instanceof Float64Array);
  assert.ok(w.data instanceof Float64Array);
  // first step: v = 0.01 g², ḡ = 0.01 g, d = √(v − ḡ²) + ε, b = g/d, θ −= 0.1 b
  const expected = [0.5, 1e-12].map((g, i) => [1, 1e-9][i] - 0.1 * (g / (Math.sqrt(0.01 * g * g - 1e-4 * g * g) + 1e-8)));
  assertClose(w.data, expected, { atol: 0, rtol: 1e-12 });
});

test('every optimiser trains a small least-squares problem through autograd', () => {
  const g = new Generator(3);
  const x = randn([16, 3], { generator: g });
  const trueW = tensor([[1.5], [-2], [0.5]]);
  const y = x.matmul(trueW);
  const makers: [string, (w: Tensor) => Optimizer<any, any>, number][] = [
    ['SGD', (w) => new SGD([w], { lr: 0.05, momentum: 0.9 }), 150],
    ['Adam', (w) => new Adam([w], { lr: 0.05 }), 400],
    ['AdamW', (w) => new AdamW([w], { lr: 0.05, weightDecay: 0 }), 400],
    ['RMSprop', (w) => new RMSprop([w], { lr: 0.01 }), 400],
    ['Adagrad', (w) => new Adagrad([w], { lr: 0.5 }), 400],
  ];
  for (const [name, make, steps] of makers) {
    const w = zeros([3, 1], { requiresGrad: true });
    const opt = make(w);
    const lossAt = () => x.matmul(w).sub(y).square().mean();
    const first = lossAt().item();
    for (let i = 0; i < steps; i++) {
      opt.zeroGrad();
      const loss = lossAt();
      loss.backward();
      opt.step();
    }
    const last = lossAt().item();
    assert.ok(last < first * 1e-3, `${name}: loss ${first} → ${last}`);
    assertClose(w.data, [1.5, -2, 0.5], { atol: 0.05, rtol: 0, what: `${name} weights` });
  }
});

test('a step is not recorded by autograd and keeps the parameter a leaf', () => {
  const w = tensor([1, 2], { requiresGrad: true });
  const opt = new Adam([w], { lr: 0.1 });
  w.mul(3).sum().backward();
  const data = w.data;
  opt.step();
  assert.equal(w.data, data, 'updated in place');
  assert.equal(w.isLeaf, true);
  assert.equal(w.gradFn, null);
  assertClose(w.data, [0.9, 1.9], { atol: 1e-6 });
});

// ---- errors ----

const w0 = () => zeros([2], { requiresGrad: true });

const OPTIMIZER_ERRORS: [string, () => unknown, RegExp, Function][] = [
  ['negative lr', () => new SGD([w0()], { lr: -1 }), /^SGD: lr must be a non-negative number, got -1$/, ArgumentError],
  ['NaN lr', () => new Adam([w0()], { lr: NaN }), /^Adam: lr must be a non-negative number, got NaN$/, ArgumentError],
  ['group lr', () => new SGD([{ params: [w0()] }, { params: [w0()], lr: -0.5 }], { lr: 0.1 }), /^SGD: paramGroups\[1\]\.lr must be a non-negative number, got -0.5$/, ArgumentError],
  ['lr missing', () => new SGD([w0()], {}), /^SGD: paramGroups\[0\]\.lr is required \(give it in the options or in every parameter group\)$/, ArgumentError],
  ['nesterov without momentum', () => new SGD([w0()], { lr: 0.1, nesterov: true }), /^SGD: nesterov requires momentum > 0 and dampening = 0, got momentum=0, dampening=0$/, ArgumentError],
  ['nesterov with dampening', () => new SGD([w0()], { lr: 0.1, nesterov: true, momentum: 0.9, dampening: 0.1 }), /^SGD: nesterov requires momentum > 0 and dampening = 0, got momentum=0.9, dampening=0.1$/, ArgumentError],
  ['negative momentum', () => new SGD([w0()], { lr: 0.1, momentum: -0.1 }), /^SGD: momentum must be a non-negative number, got -0.1$/, ArgumentError],
  ['boolean option', () => new SGD([w0()], { lr: 0.1, nesterov: 1 as never }), /^SGD: nesterov must be a boolean, got 1$/, ArgumentError],
  ['betas', () => new Adam([w0()], { betas: [0.9, 1] }), /^Adam: betas\[1\] must be a number in \[0, 1\), got 1$/, ArgumentError],
  ['betas shape', () => new AdamW([w0()], { betas: [0.9] as never }), /^AdamW: betas must be an array \[beta1, beta2\], got \[0.9\]$/, ArgumentError],
  ['eps', () => new Adagrad([w0()], { eps: -1 }), /^Adagrad: eps must be a non-negative number, got -1$/, ArgumentError],
  ['alpha', () => new RMSprop([w0()], { alpha: 1.5 }), /^RMSprop: alpha must be a number in \[0, 1\], got 1.5$/, ArgumentError],
  ['unknown option', () => new SGD([w0()], { lr: 0.1, momentom: 0.9 } as never), /^SGD: unknown option 'momentom' \(known: lr, momentum, dampening, weightDecay, nesterov, maximize\)$/, ArgumentError],
  ['snake_case option', () => new Adam([w0()], { weight_decay: 0.1 } as never), /^Adam: unknown option 'weight_decay'; did you mean 'weightDecay'\?/, ArgumentError],
  ['foreach', () => new Adam([w0()], { foreach: true } as never), /^Adam: option 'foreach' is not supported/, NotSupportedError],
  ['fused', () => new Adam([w0()], { fused: false } as never), /^Adam: option 'fused' is not supported/, NotSupportedError],
  ['capturable', () => new AdamW([w0()], { capturable: true } as never), /^AdamW: option 'capturable' is not supported/, NotSupportedError],
  ['differentiable', () => new SGD([w0()], { lr: 1, differentiable: false } as never), /^SGD: option 'differentiable' is not supported/, NotSupportedError],
  ['unknown group option', () => new SGD([{ params: [w0()], lr: 0.1, momentun: 1 } as never], { lr: 0.1 }), /^SGD: unknown option 'momentun' in paramGroups\[0\]/, ArgumentError],
  ['option of another optimiser', () => new Adagrad([w0()], { momentum: 0.9 } as never), /^Adagrad: unknown option 'momentum'/, ArgumentError],
  ['empty params', () => new SGD([], { lr: 0.1 }), /^SGD: got an empty parameter list$/, ArgumentError],
  ['a tensor, not a list', () => new SGD(w0() as never, { lr: 0.1 }), /^SGD: params must be an array of Tensors or of parameter groups, got a Tensor$/, ArgumentError],
  ['duplicate', () => { const w = w0(); return new SGD([{ params: [w] }, { params: [w] }], { lr: 0.1 }); }, /^SGD: paramGroups\[1\]\.params\[0\] appears more than once/, ArgumentError],
  ['non-leaf', () => { const w = w0(); return new SGD([w.mul(2)], { lr: 0.1 }); }, /^SGD: paramGroups\[0\]\.params\[0\] is not a leaf tensor/, ArgumentError],
  ['int32 param', () => new SGD([tensor(Int32Array.from([1]))], { lr: 0.1 }), /^SGD: paramGroups\[0\]\.params\[0\] must be a floating-point tensor, got int32$/, DTypeError],
  ['not a tensor', () => new SGD([{ params: [w0(), 3 as never] }], { lr: 0.1 }), /^SGD: paramGroups\[0\]\.params\[1\] must be a Tensor, got 3$/, ArgumentError],
  ['grad shape', () => { const w = w0(); const o = new SGD([w], { lr: 0.1 }); w.grad = zeros([3]); o.step(); }, /^SGD: the gradient of paramGroups\[0\]\.params\[0\] has shape \[3\] but the parameter has shape \[2\]$/, ShapeError],
];

for (const [name, fn, message, type] of OPTIMIZER_ERRORS) {
  test(`optimiser error: ${name}`, () => {
    assert.throws(fn, (e: Error) => {
      assert.ok(e instanceof type, `${e.name} is not a ${type.name}: ${e.message}`);
      assert.match(e.message, message);
      return true;
    });
  });
}

test('loadStateDict rejects state dicts that do not fit, and changes nothing', () => {
  const ps = [zeros([3, 4], { requiresGrad: true }), zeros([4], { requiresGrad: true })];
  const opt = new Adam([{ params: [ps[0]] }, { params: [ps[1]] }], { lr: 0.01 });
  ps.forEach((p) => { p.grad = randn(p.shape as number[]); });
  opt.step();
  const good = () => JSON.parse(JSON.stringify(opt.stateDict())) as OptimizerStateDict;
  const before = JSON.stringify(opt.stateDict());
  const cases: [string, (sd: any) => void, RegExp, Function][] = [
    ['group count', (sd) => sd.paramGroups.pop(), /^Adam\.loadStateDict: the state dict has 1 parameter groups but the optimiser has 2$/, ArgumentError],
    ['param count', (sd) => sd.paramGroups[1].params.push(2), /^Adam\.loadStateDict: paramGroups\[1\] has 2 parameters in the state dict but 1 in the optimiser$/, ArgumentError],
    ['buffer shape', (sd) => { sd.state['1'].exp_avg.shape = [2, 2]; }, /^Adam\.loadStateDict: state\[1\]\.exp_avg has shape \[2,2\] but the parameter has shape \[4\]$/, ShapeError],
    ['buffer length', (sd) => { sd.state['0'].exp_avg_sq.data.pop(); }, /^Adam\.loadStateDict: state\[0\]\.exp_avg_sq has 11 values but shape \[3,4\] needs 12$/, ShapeError],
    ['null in data', (sd) => { sd.state['0'].exp_avg.data[3] = null; }, /^Adam\.loadStateDict: state\[0\]\.exp_avg\.data\[3\] must be a number, got null/, ArgumentError],
    ['unknown state', (sd) => { sd.state['0'].momentum_buffer = 1; }, /^Adam\.loadStateDict: state\[0\]\.momentum_buffer is not part of Adam's state \(known: exp_avg, exp_avg_sq, max_exp_avg_sq, step\)$/, ArgumentError],
    ['a name twice', (sd) => { sd.state['0'].expAvg = sd.state['0'].exp_avg; }, /^Adam\.loadStateDict: state\[0\] gives 'expAvg' twice \(as 'exp_avg' and 'expAvg'\)$/, ArgumentError],
    ['state of no param', (sd) => { sd.state['5'] = sd.state['0']; }, /^Adam\.loadStateDict: state has an entry for parameter '5', which is in no parameter group$/, ArgumentError],
    ['bad option', (sd) => { sd.paramGroups[0].lr = -1; }, /^Adam: paramGroups\[0\]\.lr must be a non-negative number, got -1$/, ArgumentError],
    ['unknown option', (sd) => { sd.paramGroups[0].momentum = 0.9; }, /^Adam\.loadStateDict: unknown option 'momentum' in paramGroups\[0\]/, ArgumentError],
    ['not a state dict', (sd) => { delete sd.paramGroups; }, /^Adam\.loadStateDict: paramGroups must be an array, got undefined$/, ArgumentError],
  ];
  for (const [name, mutate, message, type] of cases) {
    const sd = good();
    mutate(sd);
    assert.throws(() => opt.loadStateDict(sd), (e: Error) => e instanceof type && message.test(e.message), name);
    assert.equal(JSON.stringify(opt.stateDict()), before, `${name}: nothing changed`);
  }
  const sgd = new SGD(ps, { lr: 0.1 });
  assert.throws(() => sgd.loadStateDict(good()), /^ArgumentError: SGD\.loadStateDict: the state dict has 2 parameter groups but the optimiser has 1$/);
});

test('scheduler errors', () => {
  const sgd = () => new SGD([w0()], { lr: 0.1, momentum: 0.9 });
  const cases: [string, () => unknown, RegExp, Function][] = [
    ['not an optimizer', () => new StepLR({} as never, { stepSize: 1 }), /^StepLR: optimizer must be an Optimizer, got object$/, ArgumentError],
    ['stepSize', () => new StepLR(sgd(), { stepSize: 0 }), /^StepLR: stepSize must be a positive integer, got 0$/, ArgumentError],
    ['milestones', () => new MultiStepLR(sgd(), { milestones: [1.5] }), /^MultiStepLR: milestones must be an array of non-negative integers, got \[1.5\]$/, ArgumentError],
    ['gamma', () => new ExponentialLR(sgd(), {} as never), /^ExponentialLR: gamma must be a positive number, got undefined$/, ArgumentError],
    ['tMax', () => new CosineAnnealingLR(sgd(), { tMax: -3 }), /^CosineAnnealingLR: tMax must be a positive integer, got -3$/, ArgumentError],
    ['T_max', () => new CosineAnnealingLR(sgd(), { T_max: 3 } as never), /^CosineAnnealingLR: unknown option 'T_max'/, ArgumentError],
    ['startFactor', () => new LinearLR(sgd(), { startFactor: 0 }), /^LinearLR: startFactor must be a number in \(0, 1\], got 0$/, ArgumentError],
    ['lastEpoch', () => new StepLR(sgd(), { stepSize: 2, lastEpoch: 4 } as never), /^StepLR: option 'lastEpoch' is not supported/, NotSupportedError],
    ['verbose', () => new ReduceLROnPlateau(sgd(), { verbose: true } as never), /^ReduceLROnPlateau: option 'verbose' is not supported/, NotSupportedError],
    ['plateau mode', () => new ReduceLROnPlateau(sgd(), { mode: 'up' as never }), /^ReduceLROnPlateau: mode must be one of 'min', 'max', got 'up'$/, ArgumentError],
    ['plateau factor', () => new ReduceLROnPlateau(sgd(), { factor: 1 }), /^ReduceLROnPlateau: factor must be a number in \[0, 1\), got 1$/, ArgumentError],
    ['plateau minLr', () => new ReduceLROnPlateau(sgd(), { minLr: [0, 0] }), /^ReduceLROnPlateau: minLr must have one value per parameter group \(1\), got 2$/, ArgumentError],
    ['onecycle steps', () => new OneCycleLR(sgd(), { maxLr: 1 }), /^OneCycleLR: give either totalSteps or both epochs and stepsPerEpoch$/, ArgumentError],
    ['onecycle epochs', () => new OneCycleLR(sgd(), { maxLr: 1, epochs: 2 }), /^OneCycleLR: stepsPerEpoch must be a positive integer, got undefined$/, ArgumentError],
    ['onecycle anneal', () => new OneCycleLR(sgd(), { maxLr: 1, totalSteps: 10, annealStrategy: 'exp' as never }), /^OneCycleLR: annealStrategy must be one of 'cos', 'linear', got 'exp'$/, ArgumentError],
    // PyTorch divides by zero on these (a first phase ending at step 0; a last phase of no length).
    ['onecycle empty phase', () => new OneCycleLR(sgd(), { maxLr: 1, totalSteps: 4, pctStart: 0.25 }), /^OneCycleLR: pctStart=0.25 with totalSteps=4 gives a phase of length zero \(it ends at step 0, where it starts\)/, ArgumentError],
    ['onecycle empty last phase', () => new OneCycleLR(sgd(), { maxLr: 1, totalSteps: 4, pctStart: 1 }), /^OneCycleLR: pctStart=1 with totalSteps=4 gives a phase of length zero \(it ends at step 3, where it starts\)/, ArgumentError],
    ['onecycle momentum', () => new OneCycleLR(new Adagrad([w0()]), { maxLr: 1, totalSteps: 10 }), /^OneCycleLR: cycleMomentum needs an optimizer with momentum or betas/, ArgumentError],
    ['sequential optimizer', () => { const a = sgd(), b = sgd(); return new SequentialLR(a, { schedulers: [new LinearLR(a), new StepLR(b, { stepSize: 2 })], milestones: [2] }); },
      /^SequentialLR: schedulers\[1\] belongs to a different optimizer/, ArgumentError],
    ['sequential milestones', () => { const a = sgd(); return new SequentialLR(a, { schedulers: [new LinearLR(a), new StepLR(a, { stepSize: 2 })], milestones: [] }); },
      /^SequentialLR: expected 1 milestones for 2 schedulers, got \[\]$/, ArgumentError],
  ];
  for (const [name, fn, message, type] of cases) {
    assert.throws(fn, (e: Error) => e instanceof type && message.test(e.message), name);
  }
  const cyc = new OneCycleLR(sgd(), { maxLr: 1, totalSteps: 4, cycleMomentum: false });
  for (let i = 0; i < 4; i++) cyc.step();
  assert.throws(() => cyc.step(), /^ArgumentError: OneCycleLR: tried to step 6 times; the schedule has totalSteps=4$/);
  const step = new StepLR(sgd(), { stepSize: 2 });
  const sd = step.stateDict();
  assert.throws(() => step.loadStateDict({ ...sd, baseLrs: [0.1, 0.2] }), /^ArgumentError: StepLR\.loadStateDict: 'baseLrs' has 2 values but the optimiser has 1 parameter groups$/);
  assert.throws(() => step.loadStateDict({ ...sd, extra: 1 }), /^ArgumentError: StepLR\.loadStateDict: unexpected entry 'extra'/);
  const { gamma: _g, ...noGamma } = sd;
  assert.throws(() => step.loadStateDict(noGamma), /^ArgumentError: StepLR\.loadStateDict: the state dict has no 'gamma'$/);
  assert.throws(() => step.loadStateDict({ ...sd, lastEpoch: 'x' }), /^ArgumentError: StepLR\.loadStateDict: 'lastEpoch' must be a number, got 'x'$/);
  assert.throws(() => new ReduceLROnPlateau(sgd()).step(tensor([1, 2])), /^ShapeError: item: only one-element tensors/);
});

test('clipping errors', () => {
  const p = w0();
  p.grad = tensor([1, 2]);
  assert.throws(() => clipGradNorm([p], -1), /^ArgumentError: clipGradNorm: maxNorm must be a non-negative number, got -1$/);
  assert.throws(() => clipGradNorm([p], 1, { normType: 0 }), /^ArgumentError: clipGradNorm: normType must be a positive number or Infinity, got 0$/);
  assert.throws(() => clipGradNorm([p], 1, { norm_type: 2 } as never), /^ArgumentError: clipGradNorm: unknown option 'norm_type'; did you mean 'normType'\?/);
  assert.throws(() => clipGradNorm([p, 3 as never], 1), /^ArgumentError: clipGradNorm: params\[1\] must be a Tensor, got 3$/);
  assert.throws(() => clipGradValue([p], -0.5), /^ArgumentError: clipGradValue: clipValue must be a non-negative number, got -0.5$/);
  assert.deepEqual([...p.grad.data], [1, 2], 'untouched');
});

interface StateCase {
  name: string; optimizer: string; options: Options; params: Arr[]; grads: (Arr | null)[][];
  state: Record<string, Record<string, Arr | number>>; param_groups: Record<string, unknown>[];
}
const stateFixtures: { cases: StateCase[] } = JSON.parse(readFileSync(new URL('./fixtures/optim-state.json', import.meta.url), 'utf8'));

/** Group options PyTorch 1.13 serialises that pixelgrad does not implement (see src/options.ts). */
const TORCH_ONLY_GROUP_KEYS = ['foreach', 'fused', 'capturable', 'differentiable'];

for (const c of stateFixtures.cases) {
  test(`${c.name}: stateDict uses PyTorch's names and values (torch 1.13 state_dict())`, () => {
    const ps = c.params.map((a) => tensor(Float32Array.from(a.data), { shape: a.shape, requiresGrad: true }));
    const opt = makeOptimizer(c.optimizer, c.options, null, ps);
    for (const step of c.grads) {
      ps.forEach((p, i) => { p.grad = step[i] === null ? null : tensor(Float32Array.from(step[i]!.data), { shape: step[i]!.shape }); });
      opt.step();
    }
    const sd = JSON.parse(JSON.stringify(opt.stateDict())) as OptimizerStateDict;
    assert.deepEqual(Object.keys(sd.state).sort(), Object.keys(c.state).sort(), 'parameters with state');
    for (const [index, expected] of Object.entries(c.state)) {
      const got = sd.state[index];
      assert.deepEqual(Object.keys(got).sort(), Object.keys(expected).sort(), `state[${index}] names`);
      for (const [key, value] of Object.entries(expected)) {
        if (typeof value === 'number') assert.equal(got[key], value, `state[${index}].${key}`);
        else assertClose((got[key] as { data: number[] }).data, value.data, { what: `state[${index}].${key}` });
      }
    }
    c.param_groups.forEach((torchGroup, gi) => {
      const group = sd.paramGroups[gi] as Record<string, unknown>;
      const torchKeys = Object.keys(torchGroup).filter((k) => !TORCH_ONLY_GROUP_KEYS.includes(k));
      assert.deepEqual(Object.keys(group).sort(), torchKeys.sort(), `paramGroups[${gi}] names`);
      for (const k of torchKeys) assert.deepEqual(group[k], torchGroup[k], `paramGroups[${gi}].${k}`);
    });
  });
}

test('loadStateDict reads the camelCase names of older checkpoints', () => {
  const make = () => {
    const ps = [tensor([1, 2], { requiresGrad: true }), tensor([3], { requiresGrad: true })];
    const opt = new Adam(ps, { lr: 0.01, weightDecay: 0.1, amsgrad: true });
    return { ps, opt };
  };
  const a = make();
  for (let s = 0; s < 2; s++) { a.ps.forEach((p) => { p.grad = p.mul(0.5).detach(); }); a.opt.step(); }
  const sd = a.opt.stateDict();
  // The layout pixelgrad wrote before (camelCase inside the state and the groups).
  const camel = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/_([a-z])/g, (_, ch: string) => ch.toUpperCase()), v]));
  const old = { state: Object.fromEntries(Object.entries(sd.state).map(([i, e]) => [i, camel(e)])), paramGroups: sd.paramGroups.map(camel) } as OptimizerStateDict;
  assert.ok('expAvgSq' in old.state['0'] && 'maxExpAvgSq' in old.state['0'] && 'weightDecay' in old.paramGroups[0]);
  const b = make();
  b.opt.loadStateDict(old);
  assert.deepEqual(b.opt.stateDict(), sd);
  assert.equal(b.opt.paramGroups[0].weightDecay, 0.1);
});
