/**
 * The conformance harness: runs every kernel of a backend and of the JS reference on the same
 * random inputs (odd sizes, size-1 dims, broadcasting, batch 1) and reports where they disagree.
 * A new backend is ready when `checkConformance(backend)` returns no mismatches.
 */
import type { TypedArray } from '../dtype.js';
import { Generator } from '../random.js';
import { broadcastShapes, sizeOf, stridesOf, type Shape } from '../shape.js';
import { jsBackend, type Backend, type BinaryOp, type Kernels, type UnaryOp } from './backend.js';

export interface Mismatch {
  kernel: keyof Kernels;
  /** What was run, e.g. "binary mul [3,1,5] [4,1]". */
  detail: string;
  index: number;
  expected: number;
  actual: number;
}

export interface ConformanceOptions {
  seed?: number;
  /** Random cases per kernel variant. */
  trials?: number;
  rtol?: number;
  atol?: number;
}

const UNARY: Record<UnaryOp, [number, number]> = {
  neg: [0, 0], exp: [0, 0], log: [0, 0], sqrt: [0, 0], abs: [0, 0], sign: [0, 0], erf: [0, 0],
  relu: [0, 0], sigmoid: [0, 0], tanh: [0, 0], leakyRelu: [0.1, 0], elu: [1.3, 0], gelu: [0, 0],
  geluTanh: [0, 0], softplus: [2, 3], clamp: [-0.5, 0.7],
};
const BINARY: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'reluGrad'];

export function checkConformance(backend: Backend, options: ConformanceOptions = {}): Mismatch[] {
  const ref = jsBackend.kernels, k = backend.kernels;
  const g = new Generator(options.seed ?? 0);
  const trials = options.trials ?? 4;
  const rtol = options.rtol ?? 1e-5, atol = options.atol ?? 1e-6;
  const mismatches: Mismatch[] = [];

  const dim = () => [1, 2, 3, 5, 7, 16, 17][g.integer(0, 7)];
  const shape = (nd: number) => Array.from({ length: nd }, dim);
  const floats = (s: Shape, positive = false) => Float32Array.from({ length: sizeOf(s) }, () => (positive ? 0.1 + 2 * g.random() : 3 * g.normal()));
  /** A shape that broadcasts against `s`: some dims set to 1, some leading dims dropped. */
  const partner = (s: Shape) => s.slice(g.integer(0, s.length + 1)).map((d) => (g.random() < 0.3 ? 1 : d));
  /** `exact`: the same bits (NaN matching NaN), whatever the tolerances. */
  const compare = (kernel: keyof Kernels, detail: string, expected: TypedArray, actual: TypedArray, exact = false) => {
    for (let i = 0; i < expected.length; i++) {
      const e = expected[i], a = actual[i];
      if (Object.is(e, a) || (!exact && Math.abs(e - a) <= atol + rtol * Math.abs(e))) continue;
      mismatches.push({ kernel, detail, index: i, expected: e, actual: a });
      return;
    }
  };
  const both = (n: number) => [new Float32Array(n), new Float32Array(n)] as const;
  const fmt = (...shapes: Shape[]) => shapes.map((s) => `[${s.join(',')}]`).join(' ');

  for (let t = 0; t < trials; t++) {
    for (const [op, [p0, p1]] of Object.entries(UNARY) as [UnaryOp, [number, number]][]) {
      const s = shape(g.integer(0, 4));
      const x = floats(s, op === 'log' || op === 'sqrt');
      const [e, a] = both(x.length);
      ref.unary(op, x, e, p0, p1); k.unary(op, x, a, p0, p1);
      compare('unary', `unary ${op} ${fmt(s)}`, e, a);
    }
    for (const op of BINARY) {
      const sa = shape(g.integer(0, 4)), sb = partner(sa);
      const [s1, s2] = g.random() < 0.5 ? [sa, sb] : [sb, sa];
      const a = floats(s1, op === 'pow'), b = floats(s2);
      const out = broadcastShapes('conformance', s1, s2);
      const [e, r] = both(sizeOf(out));
      ref.binary(op, a, s1, b, s2, e, out); k.binary(op, a, s1, b, s2, r, out);
      compare('binary', `binary ${op} ${fmt(s1, s2)}`, e, r);
    }
    {
      const s = shape(3), sc = partner(s), sb = partner(s);
      const cond = Int32Array.from({ length: sizeOf(sc) }, () => g.integer(0, 2));
      const a = floats(s), b = floats(sb);
      const out = broadcastShapes('conformance', broadcastShapes('conformance', sc, s), sb);
      const [e, r] = both(sizeOf(out));
      ref.where(cond, sc, a, s, b, sb, e, out); k.where(cond, sc, a, s, b, sb, r, out);
      compare('where', `where ${fmt(sc, s, sb)}`, e, r);
    }
    for (const op of ['sum', 'max', 'min'] as const) {
      const s = shape(g.integer(1, 5));
      const axes = s.map((_, i) => i).filter(() => g.random() < 0.5);
      const x = floats(s);
      const n = sizeOf(s.filter((_, i) => !axes.includes(i)));
      const [e, r] = both(n);
      ref.reduce(op, x, s, axes, e); k.reduce(op, x, s, axes, r);
      compare('reduce', `reduce ${op} ${fmt(s)} axes ${axes}`, e, r);
    }
    for (const op of ['argmax', 'argmin'] as const) {
      const s = shape(g.integer(1, 4));
      const axis = g.random() < 0.3 ? null : g.integer(0, s.length);
      const x = floats(s);
      const n = axis === null ? 1 : sizeOf(s) / s[axis];
      const e = new Int32Array(n), r = new Int32Array(n);
      ref.argReduce(op, x, s, axis, e); k.argReduce(op, x, s, axis, r);
      compare('argReduce', `${op} ${fmt(s)} axis ${axis}`, e, r);
    }
    {
      const M = dim() + g.integer(0, 40), K = dim() + g.integer(0, 300), N = dim() + g.integer(0, 40);
      const batch = shape(g.integer(0, 3)), batchB = partner(batch);
      const sa = [...batch, M, K], sb = [...batchB, K, N];
      const out = [...broadcastShapes('conformance', batch, batchB), M, N];
      const a = floats(sa), b = floats(sb);
      const [e, r] = both(sizeOf(out));
      ref.matmul(a, sa, b, sb, e, out); k.matmul(a, sa, b, sb, r, out);
      compare('matmul', `matmul ${fmt(sa, sb)}`, e, r);
    }
    {
      const s = shape(g.integer(1, 5));
      const perm = s.map((_, i) => i).sort(() => g.random() - 0.5);
      const st = stridesOf(s);
      const out = perm.map((p) => s[p]);
      const strides = perm.map((p) => (g.random() < 0.2 ? 0 : st[p]));
      const x = floats(s);
      const [e, r] = both(sizeOf(out));
      ref.copyStrided(x, strides, e, out); k.copyStrided(x, strides, r, out);
      compare('copyStrided', `copyStrided ${fmt(s)} strides ${strides}`, e, r);
    }
    {
      const s = shape(g.integer(1, 4));
      const maps = s.map((n) => (g.random() < 0.4 ? null : Int32Array.from({ length: g.integer(1, 2 * n + 2) }, () => g.integer(-1, n))));
      const out = maps.map((m, d) => (m ? m.length : s[d]));
      const x = floats(s), gr = floats(out);
      const [e, r] = both(sizeOf(out));
      ref.take(x, s, maps, 0.25, e, out); k.take(x, s, maps, 0.25, r, out);
      compare('take', `take ${fmt(s)} → ${fmt(out)}`, e, r);
      const [e2, r2] = both(sizeOf(s));
      ref.takeAdd(gr, out, maps, e2, s); k.takeAdd(gr, out, maps, r2, s);
      compare('takeAdd', `takeAdd ${fmt(out)} → ${fmt(s)}`, e2, r2);
    }
    {
      const base = shape(g.integer(1, 4));
      const axis = g.integer(0, base.length);
      const shapes = Array.from({ length: g.integer(1, 4) }, () => base.map((d, i) => (i === axis ? dim() : d)));
      const xs = shapes.map((s) => floats(s));
      const out = base.map((d, i) => (i === axis ? shapes.reduce((sum, s) => sum + s[axis], 0) : d));
      const [e, r] = both(sizeOf(out));
      ref.concat(xs, shapes, axis, e, out); k.concat(xs, shapes, axis, r, out);
      compare('concat', `concat ${fmt(...shapes)} axis ${axis}`, e, r);
    }
    {
      const s = shape(g.integer(1, 4));
      const axis = g.integer(0, s.length);
      const is = s.map((d, i) => (i === axis ? dim() : g.integer(1, d + 1)));
      const index = Int32Array.from({ length: sizeOf(is) }, () => g.integer(0, s[axis]));
      const x = floats(s), src = floats(is);
      const [e, r] = both(sizeOf(is));
      ref.gather(x, s, axis, index, is, e); k.gather(x, s, axis, index, is, r);
      compare('gather', `gather ${fmt(s)} index ${fmt(is)} axis ${axis}`, e, r);
      const [e2, r2] = both(sizeOf(s));
      ref.scatterAdd(src, index, is, axis, e2, s); k.scatterAdd(src, index, is, axis, r2, s);
      compare('scatterAdd', `scatterAdd ${fmt(is)} → ${fmt(s)} axis ${axis}`, e2, r2);
    }
    {
      // hw, bias and c each present or absent (null: zero), as at a sequence's first step.
      const B = dim(), H = dim(), G = 4 * H;
      const opt = (n: number) => (g.random() < 0.5 ? floats([n]) : null);
      const xw = floats([B, G]), hw = opt(B * G), bias = opt(G), c = opt(B * H);
      const detail = `lstmCell B=${B} H=${H}${hw ? '' : ' no hw'}${bias ? '' : ' no bias'}${c ? '' : ' no c'}`;
      const [ge, gr] = both(B * G), [he, hr] = both(B * H), [ce, cr] = both(B * H);
      ref.lstmCell(xw, hw, bias, c, B, H, ge, he, ce); k.lstmCell(xw, hw, bias, c, B, H, gr, hr, cr);
      compare('lstmCell', `${detail} gates`, ge, gr);
      compare('lstmCell', `${detail} h'`, he, hr);
      compare('lstmCell', `${detail} c'`, ce, cr);
      const inPlace = Float32Array.from(xw);
      k.lstmCell(inPlace, hw, bias, c, B, H, inPlace, hr, cr);
      compare('lstmCell', `${detail} gates written over xw`, ge, inPlace);
      const gH = floats([B * H]), gC = floats([B * H]);
      const [de, dr] = both(B * G), [dce, dcr] = c ? both(B * H) : [null, null];
      ref.lstmCellBackward(ge, c, he, gH, gC, B, H, de, dce); k.lstmCellBackward(ge, c, he, gH, gC, B, H, dr, dcr);
      compare('lstmCellBackward', `${detail} dPre`, de, dr);
      if (dce && dcr) compare('lstmCellBackward', `${detail} dc`, dce, dcr);
    }
    {
      // A whole sequence each way, with h0, c0 and bias each present or absent (null: zero) and each
      // gradient output asked for or not. Weights and output gradients are small, so that the products'
      // float32 sums stay within the tolerance.
      const L = g.integer(1, 5), B = dim(), H = dim(), G = 4 * H, n = B * H, reverse = g.random() < 0.5;
      const small = (len: number) => Float32Array.from({ length: len }, () => 0.3 * g.normal());
      const opt = (len: number) => (g.random() < 0.5 ? small(len) : null);
      const xw = floats([L * B * G]), wHh = small(G * H), bias = opt(G), h0 = opt(n), c0 = opt(n);
      const detail = `lstmSequence L=${L} B=${B} H=${H}${reverse ? ' reverse' : ''}${bias ? '' : ' no bias'}${h0 ? '' : ' no h0'}${c0 ? '' : ' no c0'}`;
      const ge = Float32Array.from(xw), gr = Float32Array.from(xw), [he, hr] = both(L * n), [ce, cr] = both(L * n);
      ref.lstmSequence(ge, wHh, bias, h0, c0, L, B, H, reverse, he, ce); k.lstmSequence(gr, wHh, bias, h0, c0, L, B, H, reverse, hr, cr);
      compare('lstmSequence', `${detail} gates`, ge, gr);
      compare('lstmSequence', `${detail} hs`, he, hr);
      compare('lstmSequence', `${detail} cs`, ce, cr);
      const gHs = small(L * n), gCs = small(L * n);
      const maybe = (len: number) => (g.random() < 0.5 ? both(len) : [null, null] as const);
      const [de, dr] = both(L * B * G), [dwe, dwr] = maybe(G * H), [dhe, dhr] = maybe(n), [dce, dcr] = maybe(n);
      ref.lstmSequenceBackward(ge, wHh, h0, c0, he, ce, gHs, gCs, L, B, H, reverse, de, dwe, dhe, dce);
      k.lstmSequenceBackward(ge, wHh, h0, c0, he, ce, gHs, gCs, L, B, H, reverse, dr, dwr, dhr, dcr);
      compare('lstmSequenceBackward', `${detail} dPre`, de, dr);
      if (dwe && dwr) compare('lstmSequenceBackward', `${detail} dWhh`, dwe, dwr);
      if (dhe && dhr) compare('lstmSequenceBackward', `${detail} dh0`, dhe, dhr);
      if (dce && dcr) compare('lstmSequenceBackward', `${detail} dc0`, dce, dcr);
    }
    {
      // The optimiser updates, exactly: every option drawn, two steps on the same state (the first
      // writes the momentum buffer), sizes that split across a thread pool included.
      const n = t === 0 ? 70_001 + g.integer(0, 64) : sizeOf(shape(g.integer(1, 4)));
      const pick = <T>(...xs: T[]) => xs[g.integer(0, xs.length)];
      const x = floats([n]), x2 = Float32Array.from(x);
      const grads = [floats([n]), floats([n])];
      const momentum = pick(0, 0.9), dampening = momentum && pick(0, 0.1), nesterov = momentum > 0 && dampening === 0 && pick(false, true);
      const sgd = { lr: 0.05, momentum, dampening, weightDecay: pick(0, 0.01), nesterov, maximize: pick(false, true) };
      const [be, br] = momentum ? both(n) : [null, null];
      const detail = `sgdStep n=${n} ${JSON.stringify(sgd)}`;
      grads.forEach((gr, step) => {
        ref.sgdStep(x, gr, be, { ...sgd, first: step === 0 }); k.sgdStep(x2, gr, br, { ...sgd, first: step === 0 });
        compare('sgdStep', `${detail} step ${step + 1} x`, x, x2, true);
        if (be && br) compare('sgdStep', `${detail} step ${step + 1} buf`, be, br, true);
      });
      const beta1 = 0.9, beta2 = 0.999, lr = 1e-3;
      const adam = { lr, beta1, beta2, eps: 1e-8, weightDecay: pick(0, 0.01), maximize: pick(false, true), decoupled: pick(false, true) };
      const amsgrad = pick(false, true);
      const [me, mr] = both(n), [ve, vr] = both(n), [vme, vmr] = amsgrad ? both(n) : [null, null];
      const adamDetail = `adamStep n=${n} ${JSON.stringify(adam)}${amsgrad ? ' amsgrad' : ''}`;
      grads.forEach((gr, step) => {
        const o = { ...adam, stepSize: lr / (1 - beta1 ** (step + 1)), bc2Sqrt: Math.sqrt(1 - beta2 ** (step + 1)) };
        ref.adamStep(x, gr, me, ve, vme, o); k.adamStep(x2, gr, mr, vr, vmr, o);
        for (const [name, e, r] of [['x', x, x2], ['m', me, mr], ['v', ve, vr], ['vMax', vme, vmr]] as const) {
          if (e && r) compare('adamStep', `${adamDetail} step ${step + 1} ${name}`, e, r, true);
        }
      });
    }
    {
      // Log-softmax along an axis first, middle or last (inner 1 or more), with special values in some
      // columns: all −∞, one +∞, one NaN, a −∞ among finite values. Wide inner sizes cross the native
      // kernel's column tiles. The output gradient is small, so that exp(out)·Σ g stays within the tolerance.
      const s = shape(g.integer(1, 4));
      if (t === 0) s.push(300 + g.integer(0, 40));
      const axis = g.integer(0, s.length);
      const outer = sizeOf(s.slice(0, axis)), L = s[axis], inner = sizeOf(s.slice(axis + 1));
      const x = floats(s);
      for (const v of [-Infinity, Infinity, NaN]) {
        if (g.random() < 0.5) continue;
        const o = g.integer(0, outer), i = g.integer(0, inner), at = (j: number) => (o * L + j) * inner + i;
        if (v === -Infinity && g.random() < 0.5) for (let j = 0; j < L; j++) x[at(j)] = v;
        else x[at(g.integer(0, L))] = v;
      }
      const detail = `logSoftmax ${fmt(s)} axis ${axis}`;
      const [e, r] = both(x.length);
      ref.logSoftmax(x, outer, L, inner, e); k.logSoftmax(x, outer, L, inner, r);
      compare('logSoftmax', detail, e, r);
      const gr = Float32Array.from({ length: x.length }, () => 0.3 * g.normal());
      const [ge, grr] = both(x.length);
      ref.logSoftmaxBackward(gr, e, outer, L, inner, ge); k.logSoftmaxBackward(gr, e, outer, L, inner, grr);
      compare('logSoftmaxBackward', `${detail} backward`, ge, grr);
    }
    {
      // A convolution block (groups, stride, padding, bias, ReLU and a 2×2 or 3×3 stride-2 pooling
      // each drawn) and a dense layer.
      const N = dim(), groups = g.random() < 0.3 ? 2 : 1, C = groups * g.integer(1, 3), O = groups * dim(), H = g.integer(3, 12), W = g.integer(3, 12), kk = g.integer(1, 4);
      const s = g.integer(1, 3), p = g.integer(0, 2), outH = Math.floor((H + 2 * p - kk) / s) + 1, outW = Math.floor((W + 2 * p - kk) / s) + 1;
      const conv = { batch: N, inChannels: C, inH: H, inW: W, outChannels: O, kH: kk, kW: kk, strideH: s, strideW: s, padH: p, padW: p, dilationH: 1, dilationW: 1, groups, outH, outW };
      const pk = g.random() < 0.7 ? 2 : 3, pooled = outH >= pk && outW >= pk && g.random() < 0.7;
      const pool = pooled ? { batch: N, channels: O, inH: outH, inW: outW, kH: pk, kW: pk, strideH: 2, strideW: 2, padH: 0, padW: 0, dilationH: 1, dilationW: 1, outH: ((outH - pk) >> 1) + 1, outW: ((outW - pk) >> 1) + 1 } : null;
      const relu = g.random() < 0.5, bias = g.random() < 0.5 ? floats([O]) : null;
      const x = floats([N, C, H, W]), w = floats([O, C / groups, kk, kk]);
      const [ce, cr] = both(N * O * (pool ? pool.outH * pool.outW : outH * outW));
      const detail = `conv2dFused x ${fmt([N, C, H, W])} w ${fmt([O, C / groups, kk, kk])} groups ${groups} stride ${s} pad ${p}${bias ? '' : ' no bias'}${relu ? ' relu' : ''}${pool ? ` pool ${pk}` : ''}`;
      ref.conv2dFused(x, w, bias, ce, conv, relu, pool); k.conv2dFused(x, w, bias, cr, conv, relu, pool);
      compare('conv2dFused', detail, ce, cr);
      const M = dim(), K = dim(), F = dim(), a = floats([M, K]), lw = floats([F, K]), lb = g.random() < 0.5 ? floats([F]) : null;
      const [le, lr] = both(M * F);
      ref.linear(a, lw, lb, le, M, K, F, relu); k.linear(a, lw, lb, lr, M, K, F, relu);
      compare('linear', `linear ${fmt([M, K])} · ${fmt([F, K])}ᵀ${lb ? '' : ' no bias'}${relu ? ' relu' : ''}`, le, lr);
    }
  }
  return mismatches;
}
