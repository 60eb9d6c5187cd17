/**
 * The native backend's convolution, pooling and batch-norm kernels: against the JS reference under
 * each instruction set (child processes, test/helpers/native-conv-check.ts: every kind of
 * convolution and its gradients, the transposed convolution, pooling with NaN and ties, the
 * batch-norm sums and mixes) with the same bits for 1 and 2 threads; that the kernel table sends
 * float32 data to them; and the addon's argument checks. The addon must be built
 * (`npm run build:native`; the install does it): without it these tests fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { jsBackend, type ConvGeometry, type PoolGeometry } from '../src/backend/backend.js';
import { createNativeBackend } from '../src/backend/native/index.js';
import { Generator } from '../src/random.js';

const native = await createNativeBackend();
const helper = fileURLToPath(new URL('./helpers/native-conv-check.ts', import.meta.url));

for (const isa of ['portable', 'avx2', '']) {
  test(`conv, pooling and batch-norm kernels match the reference with PIXELGRAD_NATIVE_ISA=${isa || '(unset: the best the CPU has)'}, the same bits on 1 and 2 threads`, () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', helper], {
      env: { ...process.env, PIXELGRAD_BACKEND: '', PIXELGRAD_THREADS: '', PIXELGRAD_NATIVE_ISA: isa }, encoding: 'utf8',
    });
    const r = JSON.parse(out.trim().split('\n').pop()!) as { isa: string; failures: string[]; digests: Record<string, string> };
    assert.deepEqual(r.failures, []);
    if (isa === 'portable') assert.equal(r.isa, 'portable');
    if (isa === 'avx2') assert.ok(r.isa === 'avx2' || r.isa === 'portable', `asked for avx2, runs ${r.isa}`);
    if (isa === '') assert.equal(r.isa, native.isa);
    assert.equal(r.digests[1], r.digests[2], 'outputs differ between 1 and 2 threads');
  });
}

const floats = (g: Generator, n: number) => Float32Array.from({ length: n }, () => g.normal());
const conv: ConvGeometry = {
  batch: 2, inChannels: 3, inH: 4, inW: 5, outChannels: 4, kH: 3, kW: 3, strideH: 1, strideW: 1, padH: 1, padW: 1,
  dilationH: 1, dilationW: 1, groups: 1, outH: 4, outW: 5,
};
const pool: PoolGeometry = {
  batch: 2, channels: 3, inH: 4, inW: 6, kH: 2, kW: 2, strideH: 2, strideW: 2, padH: 0, padW: 0, dilationH: 1, dilationW: 1, outH: 2, outW: 3,
};

test('the kernel table runs float32 convolutions, pooling and batch norm on the addon', () => {
  const g = new Generator(1), k = native.kernels, a = native.addon;
  const x = floats(g, 2 * 3 * 4 * 5), w = floats(g, 4 * 3 * 9);
  const viaTable = new Float32Array(2 * 4 * 4 * 5), viaAddon = new Float32Array(viaTable.length), viaJs = new Float32Array(viaTable.length);
  k.conv2d(x, w, null, viaTable, conv); a.conv2d!(x, w, null, viaAddon, conv); jsBackend.kernels.conv2d(x, w, null, viaJs, conv);
  assert.deepEqual(viaTable, viaAddon);
  assert.notDeepEqual(viaTable, viaJs, 'float32 sums in another order than the reference give other bits somewhere');
  // Pooling and the fused chain are bit-exact with the composed kernels, so the addon shows itself by
  // refusing what the reference would write out of bounds.
  assert.throws(() => k.conv2dFused(x, w, null, new Float32Array(5), conv, true, null), /pixelgrad native conv2dFused: 'out' has 5 elements/);
  const argmax = new Int32Array(2 * 3 * 2 * 3).fill(24);
  assert.throws(() => k.maxPool2dBackward(floats(g, argmax.length), argmax, new Float32Array(2 * 3 * 4 * 6), pool),
    /pixelgrad native maxPool2dBackward: 'argmax' holds 24 at 0, outside the input plane \[H=4, W=6\]/);
  const sumA = new Float64Array(3), sumAB = new Float64Array(3);
  assert.throws(() => k.channelSums(floats(g, 2 * 3 * 5), null, null, null, 2, 3, 4, sumA, sumAB, null), /pixelgrad native channelSums: 'a' has 30 elements/);
});

test('bad arguments are refused with the op, the argument and the shapes', () => {
  const a = native.addon, g = new Generator(2);
  const x = floats(g, 120), w = floats(g, 108), out = new Float32Array(160);
  assert.throws(() => a.conv2d!(floats(g, 100), w, null, out, conv),
    /pixelgrad native conv2d: 'x' has 100 elements, but the input \[N=2, C=3, H=4, W=5\] needs 120/);
  assert.throws(() => a.conv2d!(x, floats(g, 100), null, out, conv),
    /pixelgrad native conv2d: 'w' has 100 elements, but the weight \[O=4, I\/groups=3, kH=3, kW=3\] needs 108/);
  assert.throws(() => a.conv2d!(x, w, floats(g, 3), out, conv), /'bias' has 3 elements, but \[outChannels=4\] needs 4/);
  assert.throws(() => a.conv2dBackwardInput!(out, w, floats(g, 119), conv), /conv2dBackwardInput: 'gx' has 119 elements/);
  assert.throws(() => a.conv2dBackwardWeight!(x, floats(g, 159), floats(g, 108), conv),
    /conv2dBackwardWeight: 'gOut' has 159 elements, but the output \[N=2, C=4, H=4, W=5\] needs 160/);
  assert.throws(() => a.conv2d!(x, w, null, out, { ...conv, groups: 2 }),
    /conv2d: groups must divide both channel counts, got \[groups=2, inChannels=3, outChannels=4\]/);
  assert.throws(() => a.conv2d!(x, w, null, new Float32Array(200), { ...conv, outH: 5 }),
    /conv2d: output size \[outH=5, outW=5\] exceeds what the input \[inH=4, inW=5\] and the window give \[outH=4, outW=5\]/);
  assert.throws(() => a.conv2d!(x, w, null, out, { ...conv, strideH: 0 }), /conv2d: kernel, stride and dilation must be at least 1/);
  assert.throws(() => a.conv2d!(x, w, null, out, { ...conv, padW: -1 }), /conv2d: 'geometry.padW' must be an integer in \[0, 2\^31\)/);
  assert.throws(() => a.conv2d!(x, w, null, out, { ...conv, padW: undefined } as unknown as ConvGeometry), /'geometry.padW' must be an integer/);
  assert.throws(() => a.conv2d!(Float64Array.from(x) as unknown as Float32Array, w, null, out, conv), /conv2d: argument 'x' must be a Float32Array/);
  const pooled: PoolGeometry = { ...pool, channels: 4, inH: 4, inW: 5, outH: 2, outW: 2 };
  assert.throws(() => a.conv2dFused!(x, w, null, new Float32Array(32), conv, true, { ...pooled, channels: 3 }),
    /conv2dFused: the pool's input \[N=2, C=3, H=4, W=5\] must be the convolution's output \[N=2, C=4, H=4, W=5\]/);
  assert.throws(() => a.conv2dFused!(x, w, null, new Float32Array(30), conv, false, pooled),
    /conv2dFused: 'out' has 30 elements, but the pooled output \[N=2, C=4, H=2, W=2\] needs 32/);
  assert.throws(() => a.conv2dFused!(x, w, null, new Float32Array(32), conv, false, { ...pooled, strideW: 0 }),
    /conv2dFused: kernel, stride and dilation must be at least 1/);
  assert.throws(() => a.conv2dFused!(x, w, null, new Float32Array(32), conv, false, { ...pooled, kH: -1 }), /'pool.kH' must be an integer/);
  assert.throws(() => a.maxPool2d!(floats(g, 144), new Float32Array(36), new Int32Array(35), pool),
    /maxPool2d: 'argmax' has 35 elements, but the output \[N=2, C=3, H=2, W=3\] needs 36/);
  assert.throws(() => a.maxPool2dBackward!(floats(g, 36), new Int32Array(36).fill(-1), new Float32Array(144), pool), /'argmax' holds -1 at 0/);
  const late = new Int32Array(36).fill(3);
  late[29] = 24; late[31] = -2;
  assert.throws(() => a.maxPool2dBackward!(floats(g, 36), late, new Float32Array(144), pool), /'argmax' holds 24 at 29, outside the input plane \[H=4, W=6\]/);
  assert.throws(() => a.avgPool2d!(floats(g, 143), new Float32Array(36), pool, true, 0), /avgPool2d: 'x' has 143 elements, but the input \[N=2, C=3, H=4, W=6\] needs 144/);
  assert.throws(() => a.avgPool2dBackward!(floats(g, 36), new Float32Array(144), { ...pool, kW: 0 }, true, 0), /avgPool2dBackward: kernel, stride and dilation must be at least 1/);
  const s = () => new Float64Array(3);
  assert.throws(() => a.channelSums!(floats(g, 24), floats(g, 2), null, null, 2, 3, 4, s(), s(), null), /channelSums: 'aCenter' has 2 elements, but \[C=3\] needs 3/);
  assert.throws(() => a.channelSums!(floats(g, 24), null, null, null, 2, 3, 4, s(), new Float64Array(2), null), /channelSums: 'sumAB' has 2 elements/);
  assert.throws(() => a.channelSums!(floats(g, 24), null, null, null, 2, -3, -4, s(), s(), null), /channelSums: N, C and P must not be negative/);
  assert.throws(() => a.channelSums!(floats(g, 24), null, null, null, 2, 3, 4, s(), s(), floats(g, 12)), /channelSums: 'aMask' has 12 elements, but the data \[N=2, C=3, P=4\] needs 24/);
  assert.throws(() => a.channelMix!(floats(g, 24), null, new Float32Array(3) as unknown as Float64Array, null, null, null, s(), 2, 3, 4, new Float32Array(24), null, false),
    /channelMix: argument 'aScale' must be a Float64Array/);
  assert.throws(() => a.channelMix!(floats(g, 24), null, s(), floats(g, 23), null, s(), s(), 2, 3, 4, new Float32Array(24), null, false),
    /channelMix: 'b' has 23 elements, but the data \[N=2, C=3, P=4\] needs 24/);
  assert.throws(() => a.channelMix!(floats(g, 24), null, s(), null, null, null, s(), 2, 3, 4, new Float32Array(24), floats(g, 25), true),
    /channelMix: 'aMask' has 25 elements, but the data \[N=2, C=3, P=4\] needs 24/);
});
