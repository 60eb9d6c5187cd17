/**
 * pixelgrad → ONNX: Sequential stacks of the built-in layers, LeNet-5, ResNet and U-Net (and any
 * module made of these) as an ONNX model, opset 13, with a dynamic batch dim named 'N'. Parameters
 * and buffers become initializers under their state-dict names, so `importOnnx` of the result has
 * the same `stateDict()` keys (without `num_batches_tracked`). The graph is the model in eval mode:
 * dropout is left out and batch norm uses its running statistics. Browser-safe.
 */
import { NotSupportedError, fmtShape } from '../../errors.js';
import type { Tensor } from '../../tensor.js';
import { Module } from '../../nn/module.js';
import { Sequential } from '../../nn/layers/container.js';
import { Conv2d, ConvTranspose2d } from '../../nn/layers/conv.js';
import { Linear } from '../../nn/layers/linear.js';
import { BatchNorm1d, BatchNorm2d } from '../../nn/layers/norm.js';
import { Flatten, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh } from '../../nn/layers/activation.js';
import { Dropout, Dropout2d } from '../../nn/layers/dropout.js';
import { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d, Upsample } from '../../nn/layers/pool.js';
import { poolParams } from '../../ops/pool.js';
import { zeros } from '../../creation.js';
import { noGrad } from '../../autograd/grad-mode.js';
import { LeNet5 } from '../../models/lenet.js';
import { BasicBlock, ResNet } from '../../models/resnet.js';
import { UNet } from '../../models/unet.js';
import { AttrType, DataType, encodeModel } from './proto.js';

const OP = 'exportOnnx';
/** The opset written (13: Softmax over one axis, Resize with scales as an input). */
export const ONNX_OPSET = 13;

export interface ExportOnnxOptions {
  /** The input's shape without the batch dim, e.g. [1, 28, 28]. */
  inputShape: readonly number[];
  /** The graph's name. Default the model's class name. */
  name?: string;
}

/** An attribute value: an INT, INTS, STRING, or `{ f }` for a FLOAT. */
type Attr = number | readonly number[] | string | { f: number };

/** Collects the nodes and initializers of one graph; names values 'v1', 'v2', .... */
class GraphBuilder {
  readonly nodes: object[] = [];
  readonly initializers: object[] = [];
  private count = 0;

  tensor(name: string, t: Tensor): string {
    if (t.dtype === 'int32') throw new NotSupportedError(OP, `tensor '${name}' is int32; only float tensors are exported`);
    const data = Float32Array.from(t.data);
    this.initializers.push({ name, dims: [...t.shape], dataType: DataType.FLOAT, rawData: new Uint8Array(data.buffer) });
    return name;
  }

  /** A Constant node holding `values` as INT64 (shapes, pads, slice bounds) or FLOAT (resize scales). */
  constant(values: number[], type: typeof DataType.INT64 | typeof DataType.FLOAT): string {
    let raw: Uint8Array;
    if (type === DataType.FLOAT) raw = new Uint8Array(Float32Array.from(values).buffer);
    else {
      const view = new DataView(new ArrayBuffer(8 * values.length));
      values.forEach((v, i) => view.setBigInt64(8 * i, BigInt(v), true));
      raw = new Uint8Array(view.buffer);
    }
    const out = `v${++this.count}`;
    this.nodes.push({ opType: 'Constant', input: [], output: [out], name: `Constant_${this.nodes.length}`, attribute: [{ name: 'value', type: AttrType.TENSOR, t: { dims: [values.length], dataType: type, rawData: raw } }] });
    return out;
  }

  node(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, name = '', out = `v${++this.count}`): string {
    const attribute = Object.entries(attrs).map(([name, v]) => (
      typeof v === 'string' ? { name, type: AttrType.STRING, s: new TextEncoder().encode(v) }
        : typeof v === 'number' ? { name, type: AttrType.INT, i: v }
          : 'f' in v ? { name, type: AttrType.FLOAT, f: v.f } : { name, type: AttrType.INTS, ints: v }));
    this.nodes.push({ opType, input: inputs, output: [out], attribute, name: name || `${opType}_${this.nodes.length}` });
    return out;
  }
}

const join = (path: string, name: string) => (path ? `${path}.${name}` : name);

/** Emits `module` applied to the value `x`; returns the output value's name. */
function emit(g: GraphBuilder, m: Module<any, any>, x: string, path: string): string {
  const p = (name: string) => join(path, name);
  const child = (c: Module<any, any>, name: string, v: string) => emit(g, c, v, p(name));
  if (m instanceof Sequential) {
    for (const [name, c] of m.namedChildren()) x = child(c, name, x);
    return x;
  }
  if (m instanceof Conv2d) {
    if (m.paddingMode !== 'zeros') throw new NotSupportedError(OP, `${path} (Conv2d): paddingMode '${m.paddingMode}'`);
    const k = m.kernelSize, d = m.dilation;
    // padding 'same' puts the odd pixel after (bottom/right), as PyTorch does.
    const total = m.padding === 'same' ? [d[0] * (k[0] - 1), d[1] * (k[1] - 1)] : null;
    const pads = total ? [total[0] >> 1, total[1] >> 1, total[0] - (total[0] >> 1), total[1] - (total[1] >> 1)]
      : typeof m.padding === 'string' ? [0, 0, 0, 0] : [...m.padding, ...m.padding];
    const ins = [x, g.tensor(p('weight'), m.weight), ...(m.bias ? [g.tensor(p('bias'), m.bias)] : [])];
    return g.node('Conv', ins, { kernel_shape: [...k], strides: [...m.stride], pads, dilations: [...d], group: m.groups }, path);
  }
  if (m instanceof ConvTranspose2d) {
    const o = m.options;
    const ins = [x, g.tensor(p('weight'), m.weight), ...(m.bias ? [g.tensor(p('bias'), m.bias)] : [])];
    return g.node('ConvTranspose', ins, { kernel_shape: [...m.kernelSize], strides: [...o.stride], pads: [...o.padding, ...o.padding], output_padding: [...o.outputPadding], dilations: [...o.dilation], group: o.groups }, path);
  }
  if (m instanceof Linear) {
    const ins = [x, g.tensor(p('weight'), m.weight), ...(m.bias ? [g.tensor(p('bias'), m.bias)] : [])];
    return g.node('Gemm', ins, { transB: 1 }, path);
  }
  if (m instanceof BatchNorm1d || m instanceof BatchNorm2d) {
    if (!m.runningMean || !m.runningVar || !m.weight || !m.bias) throw new NotSupportedError(OP, `${path} (${m.constructor.name}): batch norm without running statistics or affine parameters`);
    const ins = [x, g.tensor(p('weight'), m.weight), g.tensor(p('bias'), m.bias), g.tensor(p('running_mean'), m.runningMean), g.tensor(p('running_var'), m.runningVar)];
    return g.node('BatchNormalization', ins, { epsilon: { f: m.eps }, momentum: { f: 1 - (m.momentum ?? 0.1) } }, path);
  }
  if (m instanceof ReLU) return g.node('Relu', [x]);
  if (m instanceof LeakyReLU) return g.node('LeakyRelu', [x], { alpha: { f: m.negativeSlope } });
  if (m instanceof Sigmoid) return g.node('Sigmoid', [x]);
  if (m instanceof Tanh) return g.node('Tanh', [x]);
  if (m instanceof Softmax) return g.node('Softmax', [x], { axis: m.dim });
  if (m instanceof Identity || m instanceof Dropout || m instanceof Dropout2d) return x;
  if (m instanceof Flatten) {
    if (m.startDim !== 1 || m.endDim !== -1) throw new NotSupportedError(OP, `${path} (Flatten): startDim ${m.startDim}, endDim ${m.endDim} (ONNX Flatten keeps dims before startDim 1 only)`);
    return g.node('Flatten', [x], { axis: 1 });
  }
  if (m instanceof MaxPool2d || m instanceof AvgPool2d) {
    const o = m.options as { ceilMode?: boolean; countIncludePad?: boolean; divisorOverride?: number };
    const pp = poolParams(m.constructor.name, m.kernelSize, m.options);
    const attrs: Record<string, Attr> = { kernel_shape: [...m.kernelSize], strides: [pp.strideH, pp.strideW], pads: [pp.padH, pp.padW, pp.padH, pp.padW], ceil_mode: o.ceilMode ? 1 : 0 };
    if (m instanceof MaxPool2d) return g.node('MaxPool', [x], { ...attrs, dilations: [pp.dilationH, pp.dilationW] });
    if (o.divisorOverride !== undefined) throw new NotSupportedError(OP, `${path} (AvgPool2d): divisorOverride`);
    return g.node('AveragePool', [x], { ...attrs, count_include_pad: o.countIncludePad === false ? 0 : 1 });
  }
  if (m instanceof AdaptiveAvgPool2d) {
    const s = m.outputSize;
    if (s !== 1 && !(Array.isArray(s) && s[0] === 1 && s[1] === 1)) throw new NotSupportedError(OP, `${path} (AdaptiveAvgPool2d): output size ${JSON.stringify(s)} (only 1, global average pooling)`);
    return g.node('GlobalAveragePool', [x]);
  }
  if (m instanceof Upsample) return upsample(g, x, m, path);
  if (m instanceof LeNet5) {
    const pool = (v: string) => g.node('MaxPool', [v], { kernel_shape: [2, 2], strides: [2, 2] });
    x = pool(g.node('Relu', [child(m.conv1, 'conv1', x)]));
    x = pool(g.node('Relu', [child(m.conv2, 'conv2', x)]));
    x = g.node('Relu', [child(m.fc1, 'fc1', g.node('Flatten', [x], { axis: 1 }))]);
    return child(m.fc3, 'fc3', g.node('Relu', [child(m.fc2, 'fc2', x)]));
  }
  if (m instanceof BasicBlock) {
    const out = child(m.bn2, 'bn2', child(m.conv2, 'conv2', g.node('Relu', [child(m.bn1, 'bn1', child(m.conv1, 'conv1', x))])));
    return g.node('Relu', [g.node('Add', [out, shortcut(g, m, x, p)])]);
  }
  if (m instanceof ResNet) {
    x = g.node('Relu', [child(m.bn1, 'bn1', child(m.conv1, 'conv1', x))]);
    for (const name of ['layer1', 'layer2', 'layer3'] as const) x = child(m[name], name, x);
    return child(m.fc, 'fc', g.node('Flatten', [g.node('GlobalAveragePool', [x])], { axis: 1 }));
  }
  if (m instanceof UNet) {
    const skips: string[] = [];
    [...m.encoders].forEach((enc, i) => {
      x = child(enc, `encoders.${i}`, x);
      skips.push(x);
      x = g.node('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] });
    });
    x = child(m.bottleneck, 'bottleneck', x);
    [...m.ups].forEach((up, i) => {
      x = g.node('Concat', [child(up, `ups.${i}`, x), skips[skips.length - 1 - i]], { axis: 1 });
      x = child(m.decoders.at(i), `decoders.${i}`, x);
    });
    return child(m.head, 'head', x);
  }
  throw new NotSupportedError(OP, `module '${path || '(model)'}' of class ${m.constructor.name} (pixelgrad exports Sequential stacks of the built-in layers, LeNet5, ResNet and UNet)`);
}

/** The shortcut of a ResNet basic block: projection, identity, or type A (strided subsampling, zero channels). */
function shortcut(g: GraphBuilder, m: BasicBlock, x: string, p: (n: string) => string): string {
  if (m.shortcut) return emit(g, m.shortcut, x, p('shortcut'));
  if (m.stride === 1 && m.inPlanes === m.planes) return x;
  const big = 2 ** 31 - 1;
  const sub = m.stride === 1 ? x : g.node('Slice', [x, g.constant([0, 0], DataType.INT64), g.constant([big, big], DataType.INT64), g.constant([2, 3], DataType.INT64), g.constant([m.stride, m.stride], DataType.INT64)]);
  const extra = m.planes - m.inPlanes;
  return g.node('Pad', [sub, g.constant([0, extra >> 1, 0, 0, 0, extra - (extra >> 1), 0, 0], DataType.INT64)], { mode: 'constant' });
}

function upsample(g: GraphBuilder, x: string, m: Upsample, path: string): string {
  const o = m.options;
  if (o.scaleFactor === undefined) throw new NotSupportedError(OP, `${path} (Upsample): a fixed output size (give scaleFactor, so the graph fits any image size)`);
  const [sh, sw] = Array.isArray(o.scaleFactor) ? o.scaleFactor : [o.scaleFactor, o.scaleFactor];
  const attrs: Record<string, Attr> = (o.mode ?? 'nearest') === 'nearest'
    ? { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }
    : { mode: 'linear', coordinate_transformation_mode: o.alignCorners ? 'align_corners' : 'pytorch_half_pixel' };
  return g.node('Resize', [x, '', g.constant([1, 1, sh, sw], DataType.FLOAT)], attrs, path);
}

/**
 * The ONNX bytes of `model` (in eval mode) for inputs [N, ...inputShape].
 * @example const bytes = exportOnnx(models.lenet5(), { inputShape: [1, 28, 28] });
 */
export function exportOnnx(model: Module<any, any>, options: ExportOnnxOptions): Uint8Array {
  const shape = options.inputShape;
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 1)) throw new NotSupportedError(OP, `inputShape must list positive sizes without the batch dim, got ${Array.isArray(shape) ? fmtShape(shape) : String(shape)}`);
  const g = new GraphBuilder();
  const out = emit(g, model, 'input', '');
  const valueInfo = (name: string, dims: (number | string)[]) => ({
    name, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
  });
  g.node('Identity', [out], {}, 'output', 'output'); // a named graph output even when the model is an identity
  // The output's shape from one forward pass in eval mode (which also checks inputShape).
  const wasTraining = model.training;
  const outShape = noGrad(() => (model.eval().forward(zeros([1, ...shape])) as Tensor).shape);
  model.train(wasTraining);
  return encodeModel({
    irVersion: 8, producerName: 'pixelgrad', opsetImport: [{ domain: '', version: ONNX_OPSET }],
    graph: {
      name: options.name ?? model.constructor.name, node: g.nodes, initializer: g.initializers,
      input: [valueInfo('input', ['N', ...shape])], output: [valueInfo('output', ['N', ...outShape.slice(1)])],
    },
  });
}
