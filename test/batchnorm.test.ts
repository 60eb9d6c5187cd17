/**
 * Batch norm in training mode is one op on two per-channel kernels (channelSums, channelMix): its
 * forward and gradients must equal the composed definition (mean, variance and element-wise ops)
 * on every backend, pass float64 finite differences, differentiate twice, and the wasm kernels
 * must match the JS reference. (The PyTorch fixtures of nn.reference cover the layers.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, getBackend, grad, gradcheck, listBackends, mean, nn, randn, relu, setBackend, variance, withGradientRules, type GradientRuleContext, type Tensor } from '../src/index.js';
import { batchNorm } from '../src/nn/functional/norm.js';
import { jsBackend } from '../src/backend/backend.js';
import { createWasmBackend } from '../src/backend/wasm/index.js';
import { assertClose } from './helpers/assert.js';

/** The definition: (x − μ)/√(σ² + eps)·γ + β over dims 0, 2, 3, ... with the biased variance. */
function composed(x: Tensor, weight: Tensor, bias: Tensor, eps = 1e-5): Tensor {
  const axes = [0, ...Array.from({ length: x.ndim - 2 }, (_, i) => i + 2)];
  const shape = [1, x.shape[1], ...Array(x.ndim - 2).fill(1)];
  const xhat = x.sub(mean(x, axes, true)).div(variance(x, axes, { correction: 0, keepDim: true }).add(eps).sqrt());
  return xhat.mul(weight.reshape(shape)).add(bias.reshape(shape));
}

function inputs(shape: number[], seed: number, dtype: 'float32' | 'float64' = 'float32') {
  const g = new Generator(seed), c = shape[1];
  // An offset mean and a spread far from 1, so that the statistics matter.
  const x = randn(shape, { generator: g, dtype }).mul(3).add(2).detach().setRequiresGrad();
  const w = randn([c], { generator: g, dtype }).detach().setRequiresGrad(), b = randn([c], { generator: g, dtype }).detach().setRequiresGrad();
  return { x, w, b, gy: randn(shape, { generator: g, dtype }) };
}

test('fused training batch norm (and batch norm + ReLU) equals the composed definition, forward and gradients, on every backend', () => {
  const previous = getBackend().name;
  try {
    for (const name of listBackends()) {
      setBackend(name);
      for (const shape of [[8, 5, 6, 7], [16, 3], [4, 6, 33]]) {
        for (const withRelu of [false, true]) {
          const { x, w, b, gy } = inputs(shape, 1);
          const fused = batchNorm(x, null, null, w, b, { training: true, relu: withRelu });
          assert.equal(fused.gradFn!.op, withRelu ? 'batchNormRelu' : 'batchNorm');
          const [dx, dw, db] = grad(fused, [x, w, b], { gradOutput: gy }) as Tensor[];
          const want = withRelu ? relu(composed(x, w, b)) : composed(x, w, b);
          const [ex, ew, eb] = grad(want, [x, w, b], { gradOutput: gy }) as Tensor[];
          const what = `${name} ${JSON.stringify(shape)}${withRelu ? ' relu' : ''}`;
          assertClose(fused.data, want.data, { atol: 1e-5, rtol: 1e-4, what: `${what} y` });
          assertClose(dx.data, ex.data, { atol: 1e-5, rtol: 1e-3, what: `${what} dx` });
          assertClose(dw.data, ew.data, { atol: 1e-4, rtol: 1e-4, what: `${what} dweight` });
          assertClose(db.data, eb.data, { atol: 1e-4, rtol: 1e-4, what: `${what} dbias` });
        }
      }
    }
  } finally {
    setBackend(previous);
  }
});

test('fused training batch norm passes float64 finite differences, with and without the affine parameters and the ReLU', () => {
  const { x, w, b } = inputs([3, 2, 4, 3], 2, 'float64');
  for (const withRelu of [false, true]) {
    assert.ok(gradcheck((x, w, b) => batchNorm(x, null, null, w, b, { training: true, relu: withRelu }), [x, w, b]).ok, `affine${withRelu ? ', relu' : ''}`);
    assert.ok(gradcheck((x) => batchNorm(x, null, null, null, null, { training: true, relu: withRelu }), [x]).ok, `plain${withRelu ? ', relu' : ''}`);
  }
});

test('fused training batch norm differentiates twice (createGraph): the same second derivatives as the composed definition', () => {
  const { x, w, b, gy } = inputs([4, 3, 5], 3, 'float64');
  const second = (f: (x: Tensor, w: Tensor, b: Tensor) => Tensor) => {
    const [dx] = grad(f(x, w, b), [x], { gradOutput: gy, createGraph: true }) as Tensor[];
    return grad(dx.square().sum(), [x, w]) as Tensor[];
  };
  for (const withRelu of [false, true]) {
    const got = second((x, w, b) => batchNorm(x, null, null, w, b, { training: true, relu: withRelu }));
    const want = second(withRelu ? (x, w, b) => relu(composed(x, w, b)) : composed);
    assertClose(got[0].data, want[0].data, { atol: 1e-10, rtol: 1e-8, what: `d²/dx²${withRelu ? ' relu' : ''}` });
    assertClose(got[1].data, want[1].data, { atol: 1e-10, rtol: 1e-8, what: `d²/dx dweight${withRelu ? ' relu' : ''}` });
  }
});

test('batch norm + ReLU: a gradient rule for relu gets the composed ops; eval mode composes; Sequential fuses BatchNorm + ReLU unless hooked', () => {
  const { x, w, b, gy } = inputs([4, 3, 5, 5], 5);
  let ruleInputs = 0;
  const guided = { relu: (g: Tensor, c: GradientRuleContext) => { ruleInputs++; return c.vjp(relu(g), c.needsGrad); } };
  const [dxRule] = withGradientRules(guided, () => grad(batchNorm(x, null, null, w, b, { training: true, relu: true }), [x], { gradOutput: gy })) as Tensor[];
  const [dxWant] = withGradientRules(guided, () => grad(relu(composed(x, w, b)), [x], { gradOutput: gy })) as Tensor[];
  assert.equal(ruleInputs, 2, 'the rule ran for both');
  assertClose(dxRule.data, dxWant.data, { atol: 1e-5, rtol: 1e-3, what: 'guided dx' });
  const rm = randn([3]), rv = randn([3]).abs().add(0.5);
  assertClose(batchNorm(x, rm, rv, w, b, { relu: true }).data, relu(batchNorm(x, rm, rv, w, b)).data, { atol: 0, rtol: 0, what: 'eval mode' });
  // In a Sequential: one op in training, the layers' own steps when a hook is on either.
  const bn = new nn.BatchNorm2d(3), act = new nn.ReLU();
  const net = new nn.Sequential(bn, act);
  const input = x.detach();
  assert.equal(net.forward(input).gradFn!.op, 'batchNormRelu');
  assertClose(bn.runningMean!.data, mean(input, [0, 2, 3]).mul(0.1).data, { atol: 1e-6, rtol: 1e-5, what: 'running mean updated once' });
  assert.equal(bn.numBatchesTracked!.data[0], 1);
  const remove = act.registerForwardHook(() => undefined);
  assert.equal(net.forward(input).gradFn!.op, 'relu');
  remove();
  net.eval();
  assertClose(net.forward(input).data, relu(bn.forward(input)).data, { atol: 0, rtol: 0, what: 'Sequential in eval mode' });
});

test('a mean large against the spread cancels nothing: float32 results as close to the float64 definition as float32 inputs allow, on every backend', () => {
  const previous = getBackend().name;
  try {
    for (const name of listBackends()) {
      setBackend(name);
      const g = new Generator(5);
      const x = randn([16, 4, 8, 8], { generator: g }).mul(0.01).add(1000).detach().setRequiresGrad();
      const gy = randn([16, 4, 8, 8], { generator: g });
      const ones = randn([4], { generator: g }).mul(0).add(1), zeros = ones.mul(0);
      const y = batchNorm(x, null, null, null, null, { training: true });
      const [dx] = grad(y, [x], { gradOutput: gy }) as Tensor[];
      const x64 = x.detach().to('float64').setRequiresGrad();
      const want = composed(x64, ones.to('float64'), zeros.to('float64'));
      const [dx64] = grad(want, [x64], { gradOutput: gy.to('float64') }) as Tensor[];
      // x itself is float32: a step of 2⁻²⁴·1000 ≈ 6e-5 is 6e-3 standard deviations.
      assertClose(y.data, want.data, { atol: 2e-2, rtol: 0, what: `${name} y` });
      const scale = Math.max(...Array.from(dx64.data, Math.abs));
      assertClose(dx.data, dx64.data, { atol: 1e-3 * scale, rtol: 0, what: `${name} dx` });
    }
  } finally {
    setBackend(previous);
  }
});

test('the wasm per-channel kernels match the JS reference (centred or not, one and two inputs, odd run lengths)', async () => {
  const wasm = (await createWasmBackend({ threads: 1 })).kernels, js = jsBackend.kernels;
  const g = new Generator(4);
  for (const [N, C, P] of [[4, 3, 37], [2, 8, 256], [5, 2, 1], [3, 6, 9]]) {
    const a = Float32Array.from({ length: N * C * P }, () => 2 + 3 * g.normal()), b = Float32Array.from(a, () => g.normal());
    const center = () => Float32Array.from({ length: C }, () => 2 + g.normal());
    // A ReLU's output as the mask: negative, zero (both signs), positive and NaN values.
    const mask = Float32Array.from({ length: N * C * P }, (_, i) => [-1, 0, -0, 2, NaN, 0.5][i % 6]);
    for (const [second, aCenter, bCenter] of [[null, null, null], [null, center(), null], [b, null, center()], [b, center(), center()]]) {
      for (const aMask of [null, mask]) {
        const [s1, s2, r1, r2] = [0, 0, 0, 0].map(() => new Float64Array(C));
        wasm.channelSums(a, aCenter, second, bCenter, N, C, P, s1, s2, aMask); js.channelSums(a, aCenter, second, bCenter, N, C, P, r1, r2, aMask);
        // The wasm kernel sums each run of P in float32 lanes: error ≤ P·2⁻²³·Σ|terms| (the reference sums in float64).
        const [m1, m2] = [0, 0].map(() => new Float64Array(C));
        const abs = (x: Float32Array | null, c: Float32Array | null) => x && Float64Array.from(x, (v, i) => Math.abs(v - (c ? c[Math.floor(i / P) % C] : 0)));
        js.channelSums(abs(a, aCenter)!, null, abs(second, bCenter), null, N, C, P, m1, m2, null);
        const bound = (m: Float64Array) => Math.max(...m) * P * 2 ** -23;
        const what = `channelSums ${N},${C},${P}${aCenter ? ' centred a' : ''}${bCenter ? ' centred b' : ''}${aMask ? ' masked' : ''}`;
        assertClose(s1, r1, { atol: bound(m1), rtol: 0, what: `${what} Σa` });
        assertClose(s2, r2, { atol: bound(m2), rtol: 0, what: `${what} Σab` });
        const scale = Float64Array.from({ length: C }, () => g.normal()), bScale = Float64Array.from(scale, () => g.normal());
        const shift = Float64Array.from(scale, () => g.normal());
        for (const relu of [false, true]) {
          const got = new Float32Array(a.length), want = new Float32Array(a.length);
          wasm.channelMix(a, aCenter, scale, second, bCenter, second ? bScale : null, shift, N, C, P, got, aMask, relu);
          js.channelMix(a, aCenter, scale, second, bCenter, second ? bScale : null, shift, N, C, P, want, aMask, relu);
          assertClose(got, want, { atol: 1e-5, rtol: 1e-5, what: `channelMix ${N},${C},${P}${aMask ? ' masked' : ''}${relu ? ' relu' : ''}` });
        }
      }
    }
  }
});
