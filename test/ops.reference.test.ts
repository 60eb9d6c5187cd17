/**
 * Every op against PyTorch: forward values and input gradients for a random upstream gradient,
 * from test/fixtures/ops.json (made by tools/gen_op_fixtures.py with Debian's python3-torch).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as pg from '../src/index.js';
import { Tensor, tensor } from '../src/index.js';
import { assertTensor } from './helpers/assert.js';

interface Arr { shape: number[]; data: number[]; dtype?: 'float32' | 'int32'; grad?: boolean }
interface Case {
  name: string; op: string; args: Record<string, any>;
  inputs: Arr[]; output: Arr | { parts: Arr[] }; upstream: Arr | { parts: Arr[] } | null; grads: (Arr | null)[] | null;
}

const fixtures: { torch: string; cases: Case[] } = JSON.parse(readFileSync(new URL('./fixtures/ops.json', import.meta.url), 'utf8'));

type OpFn = (inputs: Tensor[], args: Record<string, any>) => Tensor | Tensor[];
const binary = (name: 'add' | 'sub' | 'mul' | 'div' | 'maximum' | 'minimum' | 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge'): OpFn => ([a, b]) => pg[name](a, b);
const unary = (name: 'neg' | 'exp' | 'log' | 'sqrt' | 'abs' | 'relu' | 'sigmoid' | 'tanh'): OpFn => ([x]) => pg[name](x);

/** pixelgrad's call for each fixture op name. */
const OPS: Record<string, OpFn> = {
  add: binary('add'), sub: binary('sub'), mul: binary('mul'), div: binary('div'),
  maximum: binary('maximum'), minimum: binary('minimum'),
  eq: binary('eq'), ne: binary('ne'), lt: binary('lt'), le: binary('le'), gt: binary('gt'), ge: binary('ge'),
  pow: ([a, b], args) => (b ? pg.pow(a, b) : pg.pow(a, args.exponent)),
  neg: unary('neg'), exp: unary('exp'), log: unary('log'), sqrt: unary('sqrt'), abs: unary('abs'),
  relu: unary('relu'), sigmoid: unary('sigmoid'), tanh: unary('tanh'),
  leakyRelu: ([x], a) => pg.leakyRelu(x, a.negativeSlope),
  elu: ([x], a) => pg.elu(x, a.alpha),
  gelu: ([x], a) => pg.gelu(x, { approximate: a.approximate }),
  softplus: ([x], a) => pg.softplus(x, { beta: a.beta, threshold: a.threshold }),
  clamp: ([x], a) => pg.clamp(x, a.min, a.max),
  where: ([c, a, b]) => pg.where(c, a, b),
  sum: ([x], a) => pg.sum(x, a.dim, a.keepDim),
  mean: ([x], a) => pg.mean(x, a.dim, a.keepDim),
  max: ([x], a) => pg.max(x, a.dim, a.keepDim),
  min: ([x], a) => pg.min(x, a.dim, a.keepDim),
  argmax: ([x], a) => pg.argmax(x, a.dim, a.keepDim),
  argmin: ([x], a) => pg.argmin(x, a.dim, a.keepDim),
  var: ([x], a) => pg.var(x, a.dim, { correction: a.correction, keepDim: a.keepDim }),
  std: ([x], a) => pg.std(x, a.dim, { correction: a.correction, keepDim: a.keepDim }),
  logsumexp: ([x], a) => pg.logsumexp(x, a.dim, a.keepDim),
  softmax: ([x], a) => pg.softmax(x, a.dim),
  logSoftmax: ([x], a) => pg.logSoftmax(x, a.dim),
  matmul: ([a, b]) => pg.matmul(a, b),
  reshape: ([x], a) => pg.reshape(x, a.shape),
  flatten: ([x], a) => pg.flatten(x, a.startDim, a.endDim),
  squeeze: ([x], a) => pg.squeeze(x, a.dim),
  unsqueeze: ([x], a) => pg.unsqueeze(x, a.dim),
  permute: ([x], a) => pg.permute(x, a.dims),
  transpose: ([x], a) => pg.transpose(x, a.dim0, a.dim1),
  expand: ([x], a) => pg.expand(x, a.shape),
  concat: (xs, a) => pg.concat(xs, a.dim),
  stack: (xs, a) => pg.stack(xs, a.dim),
  split: ([x], a) => pg.split(x, a.splitSizeOrSections, a.dim),
  narrow: ([x], a) => pg.narrow(x, a.dim, a.start, a.length),
  slice: ([x], a) => pg.slice(x, a.dim, a.start, a.end, a.step),
  indexSelect: ([x, i], a) => pg.indexSelect(x, a.dim, i),
  gather: ([x, i], a) => pg.gather(x, a.dim, i),
  pad: ([x], a) => pg.pad(x, a.pads, a.mode, a.value),
};

const parts = (a: Arr | { parts: Arr[] }): Arr[] => ('parts' in a ? a.parts : [a]);

test('the fixtures cover every op mapped here, and every op is mapped', () => {
  assert.deepEqual(new Set(fixtures.cases.map((c) => c.op)), new Set(Object.keys(OPS)));
});

for (const c of fixtures.cases) {
  test(`${c.op}: ${c.name} matches PyTorch ${fixtures.torch}`, () => {
    const inputs = c.inputs.map((i) => tensor(i.dtype === 'int32' ? Int32Array.from(i.data) : Float32Array.from(i.data), { shape: i.shape, requiresGrad: i.grad && i.dtype !== 'int32' }));
    const raw = OPS[c.op](inputs, c.args);
    const outs = Array.isArray(raw) ? raw : [raw];
    const expected = parts(c.output);
    assert.equal(outs.length, expected.length, 'number of outputs');
    outs.forEach((o, k) => {
      assert.equal(o.dtype, expected[k].dtype ?? 'float32', 'dtype');
      assertTensor(o, expected[k].shape, expected[k].data, { what: `output ${k}` });
    });
    if (!c.upstream || !c.grads) {
      assert.ok(outs.every((o) => !o.requiresGrad), 'non-differentiable outputs do not require grad');
      return;
    }
    const ups = parts(c.upstream).map((u) => tensor(Float32Array.from(u.data), { shape: u.shape }));
    // One backward through the sum of <output, upstream> gives Σ upstream·∂output/∂input.
    outs.map((o, k) => o.mul(ups[k]).sum()).reduce((a, b) => a.add(b)).backward();
    c.grads.forEach((g, k) => {
      if (!g) return;
      const grad = inputs[k].grad;
      assert.ok(grad, `input ${k} has a gradient`);
      assertTensor(grad, g.shape, g.data, { what: `grad of input ${k}` });
    });
  });
}
