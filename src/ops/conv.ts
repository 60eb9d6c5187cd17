/**
 * Convolutions as fused primitives. Three ops — the convolution, its input-gradient (which is the
 * transposed convolution) and its weight-gradient — each have a VJP written with the other two,
 * so gradients of any order flow through them.
 */
import type { ConvGeometry, PoolGeometry } from '../backend/backend.js';
import { hasGradientRule, record } from '../autograd/engine.js';
import { ArgumentError, DTypeError, ShapeError, fmtShape } from '../errors.js';
import { isFloat } from '../dtype.js';
import { Tensor } from '../tensor.js';
import { add, recordRelu, relu } from './elementwise.js';
import { maxPool2d, poolGeometry, type MaxPool2dOptions } from './pool.js';
import { sum } from './reduce.js';
import { pad, reshape, squeeze, unsqueeze } from './shape.js';
import { allocUninitialized, expectTensor, kernels, pair, recordsGrad, type Pair } from './util.js';
import { checkKeys } from '../options.js';

export type Padding = Pair | 'same' | 'valid';

export interface Conv2dOptions {
  stride?: Pair;
  /** Zero padding on each side, or 'valid' (none), or 'same' (output size = input size; stride 1). */
  padding?: Padding;
  dilation?: Pair;
  groups?: number;
}

export interface ConvTranspose2dOptions {
  stride?: Pair;
  padding?: Pair;
  /** Extra rows/columns on the bottom/right of the output, to pick among the sizes a stride allows. */
  outputPadding?: Pair;
  dilation?: Pair;
  groups?: number;
}

function checkFloat(op: string, arg: string, t: Tensor, like?: Tensor): void {
  expectTensor(op, arg, t);
  if (!isFloat(t.dtype)) throw new DTypeError(op, `${arg} must be floating point, got ${t.dtype}`);
  if (like && t.dtype !== like.dtype) throw new DTypeError(op, `${arg} is ${t.dtype} but the input is ${like.dtype} (cast one of them)`);
}

/**
 * The convolution primitive (symmetric padding), with the bias added in the same kernel call when
 * given: one output array instead of two, and no broadcast pass over it.
 */
function convForward(x: Tensor, w: Tensor, bias: Tensor | null, g: ConvGeometry): Tensor {
  const out = allocUninitialized('conv2d', x.dtype, [g.batch, g.outChannels, g.outH, g.outW]);
  kernels().conv2d(x.data, w.data, bias ? bias.data : null, out.data, g);
  return recordConv(out, x, w, bias, g);
}

/** Records `out` as the convolution of x by w (+ bias); its VJP does not read `out`. */
function recordConv(out: Tensor, x: Tensor, w: Tensor, bias: Tensor | null, g: ConvGeometry): Tensor {
  return record(out, 'conv2d', bias ? [x, w, bias] : [x, w], (gy, needs) => [
    needs[0] ? convInputGrad(gy, w, g) : null,
    needs[1] ? convWeightGrad(x, gy, g) : null,
    needs[2] ? sum(gy, [0, 2, 3]) : null,
  ], { stride: [g.strideH, g.strideW], padding: [g.padH, g.padW], dilation: [g.dilationH, g.dilationW], groups: g.groups });
}

/** dL/dx of the convolution for dL/dy = gy; as a forward op, the transposed convolution. */
function convInputGrad(gy: Tensor, w: Tensor, g: ConvGeometry): Tensor {
  const out = allocUninitialized('convTranspose2d', gy.dtype, [g.batch, g.inChannels, g.inH, g.inW]);
  kernels().conv2dBackwardInput(gy.data, w.data, out.data, g);
  return record(out, 'convTranspose2d', [gy, w], (gx, needs) => [
    needs[0] ? convForward(gx, w, null, g) : null,
    needs[1] ? convWeightGrad(gx, gy, g) : null,
  ]);
}

/** dL/dw of the convolution of x for dL/dy = gy. */
function convWeightGrad(x: Tensor, gy: Tensor, g: ConvGeometry): Tensor {
  const out = allocUninitialized('conv2dWeightGrad', x.dtype, [g.outChannels, g.inChannels / g.groups, g.kH, g.kW]);
  kernels().conv2dBackwardWeight(x.data, gy.data, out.data, g);
  return record(out, 'conv2dWeightGrad', [x, gy], (gw, needs) => [
    needs[0] ? convInputGrad(gy, gw, g) : null,
    needs[1] ? convForward(x, gw, null, g) : null,
  ]);
}

/** The bias checked against the input's dtype and the output's channels; null when absent. */
function checkBias(op: string, bias: Tensor | null | undefined, input: Tensor, channels: number): Tensor | null {
  if (!bias) return null;
  checkFloat(op, 'bias', bias, input);
  if (bias.ndim !== 1 || bias.shape[0] !== channels) throw new ShapeError(op, `bias has shape ${fmtShape(bias.shape)} but the output has ${channels} channels (expected [${channels}])`);
  return bias;
}

function addBias(op: string, y: Tensor, bias: Tensor | null | undefined, channels: number): Tensor {
  const b = checkBias(op, bias, y, channels);
  return b ? add(y, reshape(b, [1, channels, 1, 1])) : y;
}

/** Accepts [N,C,H,W] or unbatched [C,H,W]; returns the 4-D view and whether to squeeze back. */
function batched(op: string, x: Tensor, spatial: 1 | 2): [Tensor, boolean] {
  const want = spatial + 2;
  if (x.ndim === want) return [x, false];
  if (x.ndim === want - 1) return [unsqueeze(x, 0), true];
  throw new ShapeError(op, `input must be ${want}-D (batched) or ${want - 1}-D (unbatched), got shape ${fmtShape(x.shape)}`);
}

/** conv2d's checks and geometry: the 4-D input (padded for an odd 'same'), and whether to squeeze the output back. */
function convSetup(op: string, input: Tensor, weight: Tensor, options: Conv2dOptions): { x: Tensor; g: ConvGeometry; unbatched: boolean } {
  checkKeys(op, options, ['stride', 'padding', 'dilation', 'groups']);
  checkFloat(op, 'input', input);
  checkFloat(op, 'weight', weight, input);
  const [x0, unbatched] = batched(op, input, 2);
  if (weight.ndim !== 4) throw new ShapeError(op, `weight must be 4-D [out, in/groups, kH, kW], got ${fmtShape(weight.shape)}`);
  const groups = options.groups ?? 1;
  const [strideH, strideW] = pair(op, 'stride', options.stride ?? 1, 1);
  const [dilationH, dilationW] = pair(op, 'dilation', options.dilation ?? 1, 1);
  const [, , kH, kW] = weight.shape;
  let x = x0;
  let padH: number, padW: number;
  const padding = options.padding ?? 0;
  if (padding === 'valid') [padH, padW] = [0, 0];
  else if (padding === 'same') {
    if (strideH !== 1 || strideW !== 1) throw new ArgumentError(op, `padding='same' needs stride 1, got stride ${JSON.stringify(options.stride)}`);
    // Total padding d(k−1); an odd total puts the extra row/column at the bottom/right, as PyTorch.
    const totH = dilationH * (kH - 1), totW = dilationW * (kW - 1);
    [padH, padW] = [totH >> 1, totW >> 1];
    if (totH % 2 || totW % 2) x = pad(x, [0, totW % 2, 0, totH % 2]);
  } else [padH, padW] = pair(op, 'padding', padding, 0);
  return { x, g: convGeometry(op, x, weight, { strideH, strideW, padH, padW, dilationH, dilationW, groups }), unbatched };
}

/**
 * 2-D convolution (cross-correlation) of NCHW input with an OIHW weight, like
 * `torch.nn.functional.conv2d`. Output size per dim: ⌊(in + 2p − d(k − 1) − 1)/s⌋ + 1.
 * @example conv2d(randn([8, 3, 32, 32]), randn([16, 3, 3, 3]), null, { padding: 1 }).shape // [8,16,32,32]
 */
export function conv2d(input: Tensor, weight: Tensor, bias?: Tensor | null, options: Conv2dOptions = {}): Tensor {
  const { x, g, unbatched } = convSetup('conv2d', input, weight, options);
  const y = convForward(x, weight, checkBias('conv2d', bias, x, g.outChannels), g);
  return unbatched ? squeeze(y, 0) : y;
}

export interface Conv2dFusedOptions extends Conv2dOptions {
  /** ReLU after the bias. */
  relu?: boolean;
  /** Max pooling last: its window, and its options as maxPool2d's. */
  maxPool?: { kernelSize: Pair } & MaxPool2dOptions;
}

/**
 * A CNN block, maxPool2d(relu(conv2d(input, weight, bias))) with the ReLU and the pooling
 * optional: one kernel call when no gradient is recorded (inference: no arrays between the
 * stages). When one is, the convolution and the ReLU are one kernel call recorded as the two ops,
 * the ReLU in place (see `recordRelu`), then the pooling; with a gradient rule for either op in
 * force, the composed ops.
 * @example conv2dFused(x, w, b, { padding: 2, relu: true, maxPool: { kernelSize: 2 } })
 */
export function conv2dFused(input: Tensor, weight: Tensor, bias?: Tensor | null, options: Conv2dFusedOptions = {}): Tensor {
  checkKeys('conv2dFused', options, ['stride', 'padding', 'dilation', 'groups', 'relu', 'maxPool']);
  const { relu: withRelu = false, maxPool, ...convOptions } = options;
  if (!recordsGrad(input, weight, bias)) return convChain(input, weight, bias, convOptions, withRelu, maxPool, false);
  const inPlace = withRelu && !hasGradientRule('conv2d') && !hasGradientRule('relu');
  const y = inPlace ? convChain(input, weight, bias, convOptions, true, undefined, true) : conv2d(input, weight, bias, convOptions);
  const r = withRelu && !inPlace ? relu(y) : y;
  if (!maxPool) return r;
  const { kernelSize, ...poolOptions } = maxPool;
  return maxPool2d(r, kernelSize, poolOptions);
}

/**
 * The conv2dFused kernel call. With `recordOps` (ReLU, no pooling), its output is recorded as the
 * convolution's and a ReLU's in place on it (see `recordRelu`).
 */
function convChain(input: Tensor, weight: Tensor, bias: Tensor | null | undefined, convOptions: Conv2dOptions, withRelu: boolean,
  maxPool: Conv2dFusedOptions['maxPool'], recordOps: boolean): Tensor {
  const { x, g, unbatched } = convSetup('conv2d', input, weight, convOptions);
  const b = checkBias('conv2d', bias, x, g.outChannels);
  let pool: PoolGeometry | null = null;
  if (maxPool) {
    const { kernelSize, ...poolOptions } = maxPool;
    checkKeys('maxPool2d', poolOptions, ['stride', 'padding', 'dilation', 'ceilMode']);
    pool = poolGeometry('maxPool2d', [g.batch, g.outChannels, g.outH, g.outW], kernelSize, poolOptions);
  }
  const out = allocUninitialized('conv2dFused', x.dtype, pool ? [g.batch, g.outChannels, pool.outH, pool.outW] : [g.batch, g.outChannels, g.outH, g.outW]);
  kernels().conv2dFused(x.data, weight.data, b ? b.data : null, out.data, g, withRelu, pool);
  const y = recordOps ? recordRelu(new Tensor(out.data, out.shape), recordConv(out, x, weight, b, g)) : out;
  return unbatched ? squeeze(y, 0) : y;
}

function convGeometry(op: string, x: Tensor, w: Tensor, p: Pick<ConvGeometry, 'strideH' | 'strideW' | 'padH' | 'padW' | 'dilationH' | 'dilationW' | 'groups'>): ConvGeometry {
  const [batch, inChannels, inH, inW] = x.shape;
  const [outChannels, wIn, kH, kW] = w.shape;
  const { groups } = p;
  if (!Number.isInteger(groups) || groups < 1) throw new ArgumentError(op, `groups must be a positive integer, got ${groups}`);
  if (inChannels % groups !== 0 || outChannels % groups !== 0) {
    throw new ArgumentError(op, `groups=${groups} must divide both the input channels (${inChannels}) and the output channels (${outChannels})`);
  }
  if (wIn * groups !== inChannels) {
    throw new ShapeError(op, `input has ${inChannels} channels but weight expects ${wIn * groups} (input ${fmtShape(x.shape)}, weight ${fmtShape(w.shape)}, groups ${groups})`);
  }
  const effH = p.dilationH * (kH - 1) + 1, effW = p.dilationW * (kW - 1) + 1;
  const paddedH = inH + 2 * p.padH, paddedW = inW + 2 * p.padW;
  if (effH > paddedH || effW > paddedW) {
    throw new ShapeError(op, `kernel ${effH}x${effW} (with dilation) is larger than the padded input ${paddedH}x${paddedW} (input ${fmtShape(x.shape)}, weight ${fmtShape(w.shape)})`);
  }
  return {
    batch, inChannels, inH, inW, outChannels, kH, kW, ...p,
    outH: Math.floor((paddedH - effH) / p.strideH) + 1, outW: Math.floor((paddedW - effW) / p.strideW) + 1,
  };
}

/**
 * 2-D transposed convolution ("deconvolution"), like `torch.nn.functional.conv_transpose2d`:
 * the gradient of conv2d with respect to its input. Weight [in, out/groups, kH, kW]; output size
 * per dim: (in − 1)s − 2p + d(k − 1) + outputPadding + 1.
 */
export function convTranspose2d(input: Tensor, weight: Tensor, bias?: Tensor | null, options: ConvTranspose2dOptions = {}): Tensor {
  const op = 'convTranspose2d';
  checkKeys(op, options, ['stride', 'padding', 'outputPadding', 'dilation', 'groups']);
  checkFloat(op, 'input', input);
  checkFloat(op, 'weight', weight, input);
  const [x, unbatched] = batched(op, input, 2);
  if (weight.ndim !== 4) throw new ShapeError(op, `weight must be 4-D [in, out/groups, kH, kW], got ${fmtShape(weight.shape)}`);
  const groups = options.groups ?? 1;
  const [strideH, strideW] = pair(op, 'stride', options.stride ?? 1, 1);
  const [padH, padW] = pair(op, 'padding', options.padding ?? 0, 0);
  const [dilationH, dilationW] = pair(op, 'dilation', options.dilation ?? 1, 1);
  const [opH, opW] = pair(op, 'outputPadding', options.outputPadding ?? 0, 0);
  if (opH >= Math.max(strideH, dilationH) || opW >= Math.max(strideW, dilationW)) {
    throw new ArgumentError(op, `outputPadding ${opH},${opW} must be smaller than stride or dilation`);
  }
  const [batch, inC, inH, inW] = x.shape;
  const [wIn, wOut, kH, kW] = weight.shape;
  if (!Number.isInteger(groups) || groups < 1 || inC % groups !== 0) throw new ArgumentError(op, `groups=${groups} must divide the input channels (${inC})`);
  if (wIn !== inC) throw new ShapeError(op, `input has ${inC} channels but weight expects ${wIn} (input ${fmtShape(x.shape)}, weight ${fmtShape(weight.shape)})`);
  const outH = (inH - 1) * strideH - 2 * padH + dilationH * (kH - 1) + opH + 1;
  const outW = (inW - 1) * strideW - 2 * padW + dilationW * (kW - 1) + opW + 1;
  if (outH <= 0 || outW <= 0) throw new ShapeError(op, `output size ${outH}x${outW} is not positive (input ${fmtShape(x.shape)}, weight ${fmtShape(weight.shape)}, padding ${padH},${padW})`);
  // The convolution whose input-gradient this is maps [N, out, outH, outW] to [N, in, inH, inW].
  const g: ConvGeometry = {
    batch, inChannels: wOut * groups, inH: outH, inW: outW, outChannels: inC, kH, kW,
    strideH, strideW, padH, padW, dilationH, dilationW, groups, outH: inH, outW: inW,
  };
  const y = addBias(op, convInputGrad(x, weight, g), bias, wOut * groups);
  return unbatched ? squeeze(y, 0) : y;
}

/** 1-D convolution of [N, C, L] input with an [out, in/groups, k] weight (a 2-D convolution of height 1). */
export function conv1d(input: Tensor, weight: Tensor, bias?: Tensor | null, options: { stride?: number; padding?: number | 'same' | 'valid'; dilation?: number; groups?: number } = {}): Tensor {
  const op = 'conv1d';
  checkFloat(op, 'input', input);
  checkFloat(op, 'weight', weight, input);
  const [x, unbatched] = batched(op, input, 1);
  if (weight.ndim !== 3) throw new ShapeError(op, `weight must be 3-D [out, in/groups, k], got ${fmtShape(weight.shape)}`);
  const padding = options.padding ?? 0;
  const y = conv2d(unsqueeze(x, 2), unsqueeze(weight, 2), bias, {
    stride: [1, options.stride ?? 1], dilation: [1, options.dilation ?? 1], groups: options.groups,
    padding: typeof padding === 'number' ? [0, padding] : padding,
  });
  const out = squeeze(y, 2);
  return unbatched ? squeeze(out, 0) : out;
}
