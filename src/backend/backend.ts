/**
 * The backend boundary. A backend is a name plus a kernel table; the ops layer (src/ops) checks
 * shapes, allocates outputs and records gradients, then calls a kernel. Kernels work on flat
 * row-major typed arrays and never see Tensor objects. `Kernels` is an interface, so a backend
 * that lacks a kernel does not compile.
 */
import type { FloatArray, TypedArray } from '../dtype.js';
import type { Shape } from '../shape.js';
import { ArgumentError } from '../errors.js';
import { jsKernels } from './js/index.js';

/** Element-wise functions of one input with up to two scalar parameters. */
export type UnaryOp =
  | 'neg' | 'exp' | 'log' | 'sqrt' | 'abs' | 'sign' | 'erf'
  | 'relu' | 'sigmoid' | 'tanh'
  | 'leakyRelu'  // p0 = negative slope
  | 'elu'        // p0 = alpha
  | 'gelu' | 'geluTanh'
  | 'softplus'   // p0 = beta, p1 = threshold
  | 'clamp';     // p0 = min, p1 = max (±Infinity when absent)

/** Element-wise functions of two inputs, NumPy-broadcast. Comparisons write 0/1. */
export type BinaryOp =
  | 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum'
  | 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge'
  | 'reluGrad'; // 0 where b ≤ 0, else a (NaN b passes a, as PyTorch): relu's gradient masked by its input

export type ReduceOp = 'sum' | 'max' | 'min';

/**
 * Per-axis index maps for `take`: `maps[d][j]` is the source index along axis d of output index j,
 * or -1 for "use the fill value"; `null` means the identity along that axis.
 */
export type AxisMaps = readonly (Int32Array | null)[];

/** Sizes of a 2-D convolution (NCHW input, OIHW weight); groups divide both channel counts. */
export interface ConvGeometry {
  batch: number; inChannels: number; inH: number; inW: number;
  outChannels: number; kH: number; kW: number;
  strideH: number; strideW: number; padH: number; padW: number; dilationH: number; dilationW: number;
  groups: number; outH: number; outW: number;
}

/** Sizes of a 2-D pooling window over NCHW input. */
export interface PoolGeometry {
  batch: number; channels: number; inH: number; inW: number;
  kH: number; kW: number; strideH: number; strideW: number; padH: number; padW: number;
  dilationH: number; dilationW: number; outH: number; outW: number;
}

/**
 * Output arrays arrive zero-filled, and kernels that accumulate into them (`takeAdd`, for one) rely
 * on it — except the outputs of unary, binary, where, copyStrided, matmul,
 * linear, take, concat, gather, conv2d, conv2dFused, conv2dBackwardInput, conv2dBackwardWeight,
 * maxPool2d (both), maxPool2dBackward, avgPool2d, avgPool2dBackward, channelMix, lstmSequence (hs,
 * cs) and lstmSequenceBackward (dPre, dWhh), logSoftmax and logSoftmaxBackward, which arrive with
 * unspecified contents: these kernels must write every element (clearing their own region first
 * where they add into it; the tests run with PIXELGRAD_FILL_UNINITIALIZED=nan to catch one that
 * does not).
 */
export interface Kernels {
  unary(op: UnaryOp, x: TypedArray, out: TypedArray, p0: number, p1: number): void;
  binary(op: BinaryOp, a: TypedArray, aShape: Shape, b: TypedArray, bShape: Shape, out: TypedArray, outShape: Shape): void;
  /** out = cond != 0 ? a : b, all three broadcast to outShape. */
  where(cond: TypedArray, cShape: Shape, a: TypedArray, aShape: Shape, b: TypedArray, bShape: Shape, out: TypedArray, outShape: Shape): void;
  /** Reduces the sorted `axes` of x; `out` has the size of the kept dims. */
  reduce(op: ReduceOp, x: TypedArray, shape: Shape, axes: readonly number[], out: TypedArray): void;
  /** Index of the first largest (smallest) value along `axis`, or over all elements when null. */
  argReduce(op: 'argmax' | 'argmin', x: TypedArray, shape: Shape, axis: number | null, out: Int32Array): void;
  /** Batched matrix product of tensors with ≥ 2 dims; batch dims broadcast to outShape. */
  matmul(a: TypedArray, aShape: Shape, b: TypedArray, bShape: Shape, out: TypedArray, outShape: Shape): void;
  /** out[i] = x[Σ_d i_d · strides[d]]: permutations and broadcasts (stride 0) in one kernel. */
  copyStrided(x: TypedArray, strides: readonly number[], out: TypedArray, outShape: Shape): void;
  /** out[i_0, i_1, ...] = x[maps[0][i_0], maps[1][i_1], ...], or `fill` where a map says -1. */
  take(x: TypedArray, shape: Shape, maps: AxisMaps, fill: number, out: TypedArray, outShape: Shape): void;
  /** The adjoint of take: out (zeroed by the caller, shape `shape`) += g scattered through maps. */
  takeAdd(g: TypedArray, gShape: Shape, maps: AxisMaps, out: TypedArray, shape: Shape): void;
  concat(xs: readonly TypedArray[], shapes: readonly Shape[], axis: number, out: TypedArray, outShape: Shape): void;
  /** torch.gather: out[..i..] = x[..index[..i..] at axis..]; out has index's shape. */
  gather(x: TypedArray, shape: Shape, axis: number, index: Int32Array, indexShape: Shape, out: TypedArray): void;
  /** The adjoint of gather: out (shape `shape`) += src scattered through index. */
  scatterAdd(src: TypedArray, index: Int32Array, indexShape: Shape, axis: number, out: TypedArray, shape: Shape): void;
  /** out[N, Cout, OH, OW] = x ⋆ w (cross-correlation), plus bias[Cout] per output channel when given. */
  conv2d(x: TypedArray, w: TypedArray, bias: TypedArray | null, out: TypedArray, g: ConvGeometry): void;
  /** gx[N, Cin, H, W] = the gradient of conv2d wrt its input (also the transposed convolution). */
  conv2dBackwardInput(gOut: TypedArray, w: TypedArray, gx: TypedArray, g: ConvGeometry): void;
  /** gw[Cout, Cin/groups, kH, kW] = the gradient of conv2d wrt its weight. */
  conv2dBackwardWeight(x: TypedArray, gOut: TypedArray, gw: TypedArray, g: ConvGeometry): void;
  /**
   * Per-channel sums over a and b viewed as [N, C, P], accumulated in float64, of values centred
   * per channel (null centres are 0; b and its centre default to a's): sumA[c] = Σ (a − aCenter[c])
   * and sumAB[c] = Σ (a − aCenter[c])·(b − bCenter[c]). Batch-norm statistics and gradients;
   * centring near the mean keeps float32 sums free of cancellation. With `aMask` (a ReLU's output),
   * a counts as 0 where the mask is ≤ 0: the gradient through the ReLU, as reluGrad gives it.
   */
  channelSums(a: TypedArray, aCenter: TypedArray | null, b: TypedArray | null, bCenter: TypedArray | null,
    N: number, C: number, P: number, sumA: Float64Array, sumAB: Float64Array, aMask: TypedArray | null): void;
  /**
   * out = (a − aCenter[c])·aScale[c] (+ (b − bCenter[c])·bScale[c]) + shift[c] over [N, C, P]:
   * batch norm's forward and input gradient in one pass each. Centres share the data's dtype.
   * `aMask` masks a as in channelSums; `relu` applies the ReLU to out (batch norm + ReLU).
   */
  channelMix(a: TypedArray, aCenter: TypedArray | null, aScale: Float64Array, b: TypedArray | null, bCenter: TypedArray | null,
    bScale: Float64Array | null, shift: Float64Array, N: number, C: number, P: number, out: TypedArray, aMask: TypedArray | null, relu: boolean): void;
  /** Max over each window; `argmax` gets the winner's index within its H×W plane. */
  maxPool2d(x: TypedArray, out: TypedArray, argmax: Int32Array, g: PoolGeometry): void;
  maxPool2dBackward(gOut: TypedArray, argmax: Int32Array, gx: TypedArray, g: PoolGeometry): void;
  /** Mean over each window: divided by `divisor` if non-zero, else by the window's size (with or without padding). */
  avgPool2d(x: TypedArray, out: TypedArray, g: PoolGeometry, countIncludePad: boolean, divisor: number): void;
  avgPool2dBackward(gOut: TypedArray, gx: TypedArray, g: PoolGeometry, countIncludePad: boolean, divisor: number): void;
  /**
   * A convolution block's inference chain in one call: out = maxPool(relu(conv2d(x, w) + bias)), the
   * ReLU when `relu`, the max pooling (argmax not kept) when `pool` gives its window over the
   * convolution's output. Exactly the composed kernels' result, without the arrays between them.
   */
  conv2dFused(x: TypedArray, w: TypedArray, bias: TypedArray | null, out: TypedArray, g: ConvGeometry, relu: boolean, pool: PoolGeometry | null): void;
  /** A dense layer: out[M, N] = x[M, K]·w[N, K]ᵀ (+ bias[N]), then ReLU when `relu`; the weight is read in place. */
  linear(x: TypedArray, w: TypedArray, bias: TypedArray | null, out: TypedArray, M: number, K: number, N: number, relu: boolean): void;
  /**
   * One LSTM step after its two products, over B rows of H units in PyTorch's gate order (i, f, g, o):
   * pre = xw + hw + bias ([B, 4H]; a null hw or bias adds nothing), i, f, o = σ(pre), g = tanh(pre),
   * c' = f ⊙ c + i ⊙ g (c null: zero), h' = o ⊙ tanh(c'). Writes the activated gates (kept for the
   * backward pass) and h', c' ([B, H] each). `gates` may be xw itself: the gates then replace the
   * products in place (a whole sequence's gates are made in the array of its input products).
   */
  lstmCell(xw: TypedArray, hw: TypedArray | null, bias: TypedArray | null, c: TypedArray | null,
    B: number, H: number, gates: TypedArray, hOut: TypedArray, cOut: TypedArray): void;
  /**
   * The gradient of lstmCell from its gates, c (null: zero), h' and the gradients gH, gC of h' and
   * c': dPre [B, 4H] (the gradient of xw and of hw; summed over rows, of the bias) and, when given,
   * dc [B, H]. Written, not accumulated.
   */
  lstmCellBackward(gates: TypedArray, c: TypedArray | null, hOut: TypedArray, gH: TypedArray, gC: TypedArray,
    B: number, H: number, dPre: TypedArray, dc: TypedArray | null): void;
  /**
   * An LSTM layer's recurrence over L steps of B rows: `gates` [L, B, 4H] holds every step's x·W_ihᵀ
   * (time order) and receives its activated gates; per step (t from L−1 down when `reverse`)
   * hw = h·W_hhᵀ (wHh [4H, H]; skipped while h is a null h0) and the lstmCell step, h' and c' written
   * to hs[t] and cs[t] ([L, B, H] each). Null h0, c0: zeros. Exactly lstmCell after matmul per step.
   */
  lstmSequence(gates: TypedArray, wHh: TypedArray, bias: TypedArray | null, h0: TypedArray | null, c0: TypedArray | null,
    L: number, B: number, H: number, reverse: boolean, hs: TypedArray, cs: TypedArray): void;
  /**
   * The gradient of lstmSequence from its gates, hs, cs, h0, c0 and the gradients gHs, gCs of hs and
   * cs (read only): dPre [L, B, 4H] (the gradient of every step's x·W_ihᵀ and of its hw; summed over
   * rows and steps, of the bias), and when given dWhh = Σ_t dPre[t]ᵀ·(the h step t read) [4H, H], dh0,
   * dc0 [B, H]. Written, not accumulated.
   */
  lstmSequenceBackward(gates: TypedArray, wHh: TypedArray, h0: TypedArray | null, c0: TypedArray | null, hs: TypedArray, cs: TypedArray,
    gHs: TypedArray, gCs: TypedArray, L: number, B: number, H: number, reverse: boolean,
    dPre: TypedArray, dWhh: TypedArray | null, dh0: TypedArray | null, dc0: TypedArray | null): void;
  /**
   * One SGD update of a parameter x with gradient g, in place (src/optim/sgd.ts has the formula):
   * `buf` is the momentum buffer (null when momentum is 0), written, not read, on the `first` step.
   */
  sgdStep(x: FloatArray, g: TypedArray, buf: FloatArray | null, o: SgdStepParams): void;
  /**
   * One Adam / AdamW update of x with gradient g, in place, with moments m, v and, for AMSGrad, the
   * running maximum vMax of v (src/optim/adam.ts has the formula).
   */
  adamStep(x: FloatArray, g: TypedArray, m: FloatArray, v: FloatArray, vMax: FloatArray | null, o: AdamStepParams): void;
  /**
   * out = x − m − log Σ exp(x − m) along the axis of x viewed as [outer, axisLength, inner], m the
   * axis's largest value, as PyTorch computes it (an infinite m makes the column NaN; src/backend/js/softmax.ts).
   */
  logSoftmax(x: TypedArray, outer: number, axisLength: number, inner: number, out: TypedArray): void;
  /** gx = g − exp(out)·Σ_axis g: logSoftmax's gradient from its output `out` (same view as logSoftmax). */
  logSoftmaxBackward(g: TypedArray, out: TypedArray, outer: number, axisLength: number, inner: number, gx: TypedArray): void;
}

export interface SgdStepParams {
  lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean; maximize: boolean;
  /** The momentum buffer's first step: it becomes the gradient. */
  first: boolean;
}

export interface AdamStepParams {
  lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; maximize: boolean;
  /** Weight decay applied to the parameter (AdamW) instead of added to the gradient (Adam). */
  decoupled: boolean;
  /** γ / (1 − β1^t) and √(1 − β2^t) at this step t. */
  stepSize: number; bc2Sqrt: number;
}

export interface Backend {
  readonly name: string;
  readonly kernels: Kernels;
}

/** The JavaScript reference backend, registered and selected by default. */
export const jsBackend: Backend = { name: 'js', kernels: jsKernels };

const backends = new Map<string, Backend>([['js', jsBackend]]);
let current: Backend = jsBackend;

/** Makes a backend selectable by name with `setBackend`. */
export function registerBackend(backend: Backend): void {
  backends.set(backend.name, backend);
}

/** Selects the backend that runs every following op. */
export function setBackend(name: string): void {
  const b = backends.get(name);
  if (!b) throw new ArgumentError('setBackend', `unknown backend '${name}' (registered: ${[...backends.keys()].join(', ')})`);
  current = b;
}

export function getBackend(): Backend {
  return current;
}

export function listBackends(): string[] {
  return [...backends.keys()];
}
