/**
 * ONNX → pixelgrad: a graph of the common CNN operators becomes an `OnnxModel`, a Module that runs
 * the nodes in order with pixelgrad's ops (so it trains: float initializers are parameters, batch
 * norm statistics are buffers, both under the initializers' names, e.g. `conv1.weight`).
 * The file is untrusted: every size, shape, data length and attribute is checked before use, and
 * tensors stored outside the file are read only through the caller's `externalData` reader.
 * Browser-safe; `readOnnxFile` in `src/io/onnx/node.ts` reads files and their external data.
 */
import { NotSupportedError, fmtShape } from '../../errors.js';
import { Tensor } from '../../tensor.js';
import { Module } from '../../nn/module.js';
import { add, div, leakyRelu, mul, relu, sigmoid, sub, tanh } from '../../ops/elementwise.js';
import { matmul } from '../../ops/matmul.js';
import { conv2d, convTranspose2d } from '../../ops/conv.js';
import { adaptiveAvgPool2d, avgPool2d, interpolate, maxPool2d } from '../../ops/pool.js';
import { concat, pad, reshape, slice, transpose } from '../../ops/shape.js';
import { softmax } from '../../ops/reduce.js';
import { batchNorm } from '../../nn/functional/norm.js';
import { dropout } from '../../nn/functional/dropout.js';
import { AttrType, DataType, OnnxError, decodeModel, toInt, type AttributeProto, type GraphProto, type NodeProto, type TensorProto } from './proto.js';

/** Most elements one initializer may declare (2^28 floats = 1 GiB). */
export const MAX_TENSOR_ELEMENTS = 2 ** 28;

/** Reads `length` bytes at `offset` of the external file `location` (a path relative to the model). */
export type ExternalDataReader = (location: string, offset: number, length: number | null) => Uint8Array;

export interface ImportOnnxOptions {
  /** Reader for tensors stored outside the model bytes; without it such tensors are NotSupportedError. */
  externalData?: ExternalDataReader;
}

const OP = 'importOnnx';
const SUPPORTED = [
  'Conv', 'ConvTranspose', 'Gemm', 'MatMul', 'Add', 'Sub', 'Mul', 'Div', 'Relu', 'LeakyRelu', 'Sigmoid', 'Tanh',
  'MaxPool', 'AveragePool', 'GlobalAveragePool', 'BatchNormalization', 'Flatten', 'Reshape', 'Concat', 'Resize',
  'Upsample', 'Softmax', 'Dropout', 'Identity', 'Constant', 'Slice', 'Pad',
];

const nodeName = (n: NodeProto, i: number) => `node ${i} '${n.name || n.output[0] || '?'}' (${n.opType})`;

/** The elements of a TensorProto as a pixelgrad tensor (float32, float64, or int32 for INT32/INT64). */
export function tensorFromProto(t: TensorProto, what: string, options: ImportOnnxOptions = {}): Tensor {
  const shape = t.dims.map((d) => toInt(d, `${what}: dim`, OP));
  if (shape.some((d) => d < 0)) throw new OnnxError(OP, `${what}: negative dim in ${fmtShape(shape)}`);
  const size = shape.reduce((a, b) => a * b, 1);
  if (size > MAX_TENSOR_ELEMENTS) throw new OnnxError(OP, `${what}: ${fmtShape(shape)} has ${size} elements, more than the limit ${MAX_TENSOR_ELEMENTS}`);
  const width = { [DataType.FLOAT]: 4, [DataType.DOUBLE]: 8, [DataType.INT32]: 4, [DataType.INT64]: 8 }[t.dataType];
  if (!width) throw new NotSupportedError(OP, `${what}: ONNX data type ${t.dataType} (pixelgrad reads FLOAT, DOUBLE, INT32 and INT64)`);
  let raw: Uint8Array | null = t.rawData.length ? t.rawData : null;
  if (t.dataLocation === 1) {
    const entry = (k: string) => t.externalData.find((e) => e.key === k)?.value;
    const location = entry('location');
    if (!location) throw new OnnxError(OP, `${what}: external data without a location`);
    if (!options.externalData) throw new NotSupportedError(OP, `${what}: data stored in the external file '${location}' (read the model with readOnnxFile)`);
    const offset = toInt(entry('offset') ?? 0, `${what}: external data offset`, OP);
    const length = entry('length') === undefined ? null : toInt(entry('length')!, `${what}: external data length`, OP);
    if (offset < 0 || (length !== null && length !== size * width)) throw new OnnxError(OP, `${what}: external data offset ${offset} / length ${length} do not hold ${fmtShape(shape)}`);
    raw = options.externalData(location, offset, size * width);
  }
  if (raw) {
    if (raw.length !== size * width) throw new OnnxError(OP, `${what}: ${raw.length} bytes of data for ${fmtShape(shape)} (needs ${size * width})`);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    if (t.dataType === DataType.FLOAT) { const a = new Float32Array(size); for (let i = 0; i < size; i++) a[i] = view.getFloat32(4 * i, true); return new Tensor(a, shape); }
    if (t.dataType === DataType.DOUBLE) { const a = new Float64Array(size); for (let i = 0; i < size; i++) a[i] = view.getFloat64(8 * i, true); return new Tensor(a, shape); }
    if (t.dataType === DataType.INT32) { const a = new Int32Array(size); for (let i = 0; i < size; i++) a[i] = view.getInt32(4 * i, true); return new Tensor(a, shape); }
    return int32Of(Array.from({ length: size }, (_, i) => view.getBigInt64(8 * i, true)), shape, what);
  }
  const field = { [DataType.FLOAT]: t.floatData, [DataType.DOUBLE]: t.doubleData, [DataType.INT32]: t.int32Data, [DataType.INT64]: t.int64Data }[t.dataType]!;
  if (field.length !== size) throw new OnnxError(OP, `${what}: ${field.length} values for ${fmtShape(shape)}`);
  if (t.dataType === DataType.FLOAT) return new Tensor(Float32Array.from(field as number[]), shape);
  if (t.dataType === DataType.DOUBLE) return new Tensor(Float64Array.from(field as number[]), shape);
  return int32Of(field.map((v) => BigInt(v)), shape, what);
}

function int32Of(values: bigint[], shape: number[], what: string): Tensor {
  const a = new Int32Array(values.length);
  values.forEach((v, i) => {
    if (v < -(2n ** 31n) || v >= 2n ** 31n) throw new OnnxError(OP, `${what}: int64 value ${v} does not fit int32`);
    a[i] = Number(v);
  });
  return new Tensor(a, shape);
}

/** A node's attributes by name, read with checked types. */
class Attrs {
  private readonly map = new Map<string, AttributeProto>();
  constructor(private readonly where: string, list: AttributeProto[]) { for (const a of list) this.map.set(a.name, a); }
  private get(name: string, type: number): AttributeProto | undefined {
    const a = this.map.get(name);
    if (a && a.type !== type) throw new OnnxError(OP, `${this.where}: attribute '${name}' has type ${a.type}, expected ${type}`);
    return a;
  }
  int(name: string, dflt: number): number { const a = this.get(name, AttrType.INT); return a ? toInt(a.i, `${this.where}: attribute '${name}'`, OP) : dflt; }
  float(name: string, dflt: number): number { return this.get(name, AttrType.FLOAT)?.f ?? dflt; }
  str(name: string, dflt: string): string { const a = this.get(name, AttrType.STRING); return a ? new TextDecoder().decode(a.s) : dflt; }
  ints(name: string, dflt: number[]): number[] { const a = this.get(name, AttrType.INTS); return a ? a.ints.map((v) => toInt(v, `${this.where}: attribute '${name}'`, OP)) : dflt; }
  tensor(name: string): TensorProto | undefined { return this.get(name, AttrType.TENSOR)?.t ?? undefined; }
}

/** Symmetric 2-D pads [top, left, bottom, right] → [h, w], or an error naming the node. */
function pads2(where: string, a: Attrs): [number, number] {
  if (a.str('auto_pad', 'NOTSET') !== 'NOTSET') throw new NotSupportedError(OP, `${where}: auto_pad '${a.str('auto_pad', '')}' (give explicit pads)`);
  const [t, l, b, r] = a.ints('pads', [0, 0, 0, 0]);
  if (t !== b || l !== r) throw new NotSupportedError(OP, `${where}: asymmetric pads [${a.ints('pads', [])}]`);
  return [t, l];
}

function pair(where: string, name: string, v: number[]): [number, number] {
  if (v.length !== 2) throw new NotSupportedError(OP, `${where}: ${name} [${v}] (pixelgrad imports 2-D operators)`);
  return [v[0], v[1]];
}

interface Step { node: NodeProto; where: string; attrs: Attrs }

/**
 * A pixelgrad Module made from an ONNX graph with one input and one output. Parameters and buffers
 * carry the initializers' names, so `stateDict()` of a model exported from PyTorch has PyTorch's keys.
 */
export class OnnxModel extends Module {
  readonly inputName: string;
  readonly outputName: string;
  /** The opset of the default domain the graph was written for. */
  readonly opset: number;
  private readonly steps: Step[] = [];
  private readonly tensors = new Map<string, Tensor>();

  constructor(graph: GraphProto, opset: number, options: ImportOnnxOptions = {}) {
    super();
    this.opset = opset;
    // Batch-norm statistics become buffers; shapes, scales, pads and the like stay constants.
    const stats = new Set<string>(), settings = new Set<string>();
    for (const n of graph.node) {
      if (n.opType === 'BatchNormalization') { stats.add(n.input[3]); stats.add(n.input[4]); }
      if (['Reshape', 'Resize', 'Upsample', 'Slice', 'Pad', 'Dropout'].includes(n.opType)) n.input.slice(1).forEach((i) => settings.add(i));
    }
    const known = new Set<string>();
    for (const init of graph.initializer) {
      const t = tensorFromProto(init, `initializer '${init.name}'`, options);
      if (!init.name || known.has(init.name)) throw new OnnxError(OP, `initializer name '${init.name}' is empty or repeated`);
      known.add(init.name);
      this.tensors.set(init.name, t);
      if (t.dtype !== 'int32' && !settings.has(init.name)) this.place(init.name, t, stats.has(init.name));
    }
    const inputs = graph.input.filter((v) => !known.has(v.name));
    if (inputs.length !== 1 || graph.output.length !== 1) throw new NotSupportedError(OP, `graphs with one input and one output, got ${inputs.length} inputs and ${graph.output.length} outputs`);
    this.inputName = inputs[0].name;
    this.outputName = graph.output[0].name;
    known.add(this.inputName);
    graph.node.forEach((node, i) => {
      const where = nodeName(node, i);
      if (node.domain && node.domain !== 'ai.onnx') throw new NotSupportedError(OP, `${where}: operator domain '${node.domain}'`);
      if (!SUPPORTED.includes(node.opType)) throw new NotSupportedError(OP, `operator '${node.opType}' of ${where} (pixelgrad imports ${SUPPORTED.join(', ')})`);
      for (const name of node.input) if (name && !known.has(name)) throw new OnnxError(OP, `${where}: input '${name}' is not produced by an earlier node`);
      const attrs = new Attrs(where, node.attribute);
      if (node.opType === 'Constant') {
        const value = attrs.tensor('value');
        if (!value) throw new NotSupportedError(OP, `${where}: Constant without a 'value' tensor`);
        this.tensors.set(node.output[0], tensorFromProto(value, where, options));
      } else this.steps.push({ node, where, attrs });
      for (const name of node.output) known.add(name);
    });
    if (!known.has(this.outputName)) throw new OnnxError(OP, `the graph output '${this.outputName}' is not produced by any node`);
  }

  /** Registers `t` under its dotted name in nested child modules. */
  private place(name: string, t: Tensor, buffer: boolean): void {
    const parts = name.split('.');
    if (parts.some((p) => !p)) throw new OnnxError(OP, `initializer name '${name}' has an empty part`);
    let m: Module<any, any> = this;
    for (const p of parts.slice(0, -1)) {
      const child = [...m.namedChildren()].find(([n]) => n === p)?.[1];
      m = child ?? m.registerModule(p, new Module());
    }
    const last = parts[parts.length - 1];
    if (buffer) m.registerBuffer(last, t); else m.registerParameter(last, t);
  }

  override forward(x: Tensor): Tensor {
    const env = new Map<string, Tensor>();
    for (const [n, m] of this.namedParameters()) env.set(n, m);
    for (const [n, m] of this.namedBuffers()) env.set(n, m);
    for (const [n, t] of this.tensors) if (!env.has(n)) env.set(n, t);
    env.set(this.inputName, x);
    for (const s of this.steps) {
      const ins = s.node.input.map((n) => (n ? env.get(n)! : null));
      const outs = this.run(s, ins);
      s.node.output.forEach((n, i) => { if (n && outs[i]) env.set(n, outs[i]); });
    }
    return env.get(this.outputName)!;
  }

  private run({ node, where, attrs: a }: Step, ins: (Tensor | null)[]): (Tensor | null)[] {
    const need = (i: number) => {
      const t = ins[i];
      if (!t) throw new OnnxError(OP, `${where}: input ${i} is missing`);
      return t;
    };
    const x = need(0);
    switch (node.opType) {
      case 'Conv': return [conv2d(x, need(1), ins[2], { stride: pair(where, 'strides', a.ints('strides', [1, 1])), padding: pads2(where, a), dilation: pair(where, 'dilations', a.ints('dilations', [1, 1])), groups: a.int('group', 1) })];
      case 'ConvTranspose': return [convTranspose2d(x, need(1), ins[2], { stride: pair(where, 'strides', a.ints('strides', [1, 1])), padding: pads2(where, a), outputPadding: pair(where, 'output_padding', a.ints('output_padding', [0, 0])), dilation: pair(where, 'dilations', a.ints('dilations', [1, 1])), groups: a.int('group', 1) })];
      case 'Gemm': {
        const A = a.int('transA', 0) ? transpose(x, 0, 1) : x, B = a.int('transB', 0) ? transpose(need(1), 0, 1) : need(1);
        const alpha = a.float('alpha', 1), beta = a.float('beta', 1);
        let y = matmul(A, B);
        if (alpha !== 1) y = mul(y, alpha);
        return [ins[2] ? add(y, beta === 1 ? ins[2] : mul(ins[2], beta)) : y];
      }
      case 'MatMul': return [matmul(x, need(1))];
      case 'Add': return [add(x, need(1))];
      case 'Sub': return [sub(x, need(1))];
      case 'Mul': return [mul(x, need(1))];
      case 'Div': return [div(x, need(1))];
      case 'Relu': return [relu(x)];
      case 'LeakyRelu': return [leakyRelu(x, a.float('alpha', 0.01))];
      case 'Sigmoid': return [sigmoid(x)];
      case 'Tanh': return [tanh(x)];
      case 'Softmax': return [softmax(x, a.int('axis', this.opset >= 13 ? -1 : 1))];
      case 'Identity': return [x];
      case 'Dropout': return [dropout(x, { p: ins[1] ? ins[1].data[0] : a.float('ratio', 0.5), training: this.training })];
      case 'MaxPool': {
        if (a.int('storage_order', 0)) throw new NotSupportedError(OP, `${where}: storage_order 1`);
        return [maxPool2d(x, pair(where, 'kernel_shape', a.ints('kernel_shape', [])), { stride: pair(where, 'strides', a.ints('strides', [1, 1])), padding: pads2(where, a), dilation: pair(where, 'dilations', a.ints('dilations', [1, 1])), ceilMode: a.int('ceil_mode', 0) === 1 })];
      }
      case 'AveragePool': return [avgPool2d(x, pair(where, 'kernel_shape', a.ints('kernel_shape', [])), { stride: pair(where, 'strides', a.ints('strides', [1, 1])), padding: pads2(where, a), ceilMode: a.int('ceil_mode', 0) === 1, countIncludePad: a.int('count_include_pad', 0) === 1 })];
      case 'GlobalAveragePool': return [adaptiveAvgPool2d(x, 1)];
      case 'BatchNormalization': {
        if (a.int('training_mode', 0)) throw new NotSupportedError(OP, `${where}: training_mode 1 (export the model in eval mode)`);
        // ONNX's momentum weighs the old statistics; PyTorch's (and pixelgrad's) the new batch.
        return [batchNorm(x, need(3), need(4), need(1), need(2), { training: this.training, eps: a.float('epsilon', 1e-5), momentum: 1 - a.float('momentum', 0.9) })];
      }
      case 'Flatten': {
        const axis = a.int('axis', 1), k = axis < 0 ? axis + x.ndim : axis;
        if (k < 0 || k > x.ndim) throw new OnnxError(OP, `${where}: axis ${axis} out of range for input ${fmtShape(x.shape)}`);
        return [reshape(x, [x.shape.slice(0, k).reduce((p, d) => p * d, 1), x.shape.slice(k).reduce((p, d) => p * d, 1)])];
      }
      case 'Reshape': {
        if (a.int('allowzero', 0)) throw new NotSupportedError(OP, `${where}: allowzero 1`);
        const shape = Array.from(need(1).data, (d, i) => (d === 0 ? x.shape[i] : d));
        return [reshape(x, shape)];
      }
      case 'Concat': return [concat(ins.filter((t): t is Tensor => t !== null), a.int('axis', 0))];
      case 'Slice': {
        const starts = need(1).data, ends = need(2).data, axes = ins[3]?.data ?? starts.map((_, i) => i), steps = ins[4]?.data ?? starts.map(() => 1);
        let y = x;
        starts.forEach((st, i) => {
          const dim = axes[i] < 0 ? axes[i] + x.ndim : axes[i], n = x.shape[dim];
          if (!(dim >= 0 && dim < x.ndim) || !(steps[i] > 0)) throw new NotSupportedError(OP, `${where}: axis ${axes[i]} with step ${steps[i]} on input ${fmtShape(x.shape)}`);
          const clampIndex = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
          y = slice(y, dim, clampIndex(st), clampIndex(ends[i]), steps[i]);
        });
        return [y];
      }
      case 'Pad': {
        const mode = a.str('mode', 'constant'), p = need(1).data, r = x.ndim;
        if (mode !== 'constant' && mode !== 'reflect') throw new NotSupportedError(OP, `${where}: Pad mode '${mode}'`);
        if (p.length !== 2 * r) throw new OnnxError(OP, `${where}: ${p.length} pads for input ${fmtShape(x.shape)}`);
        // ONNX lists all begins then all ends, first dim first; pixelgrad (like PyTorch) pairs from the last dim.
        const pairs = Array.from({ length: r }, (_, k) => [p[r - 1 - k], p[2 * r - 1 - k]]).flat();
        return [pad(x, pairs, mode, ins[2] ? ins[2].data[0] : 0)];
      }
      case 'Resize': return [this.resize(where, a, x, ins[2], ins[3], false)];
      case 'Upsample': return [this.resize(where, a, x, ins[1], null, true)];
      default: throw new NotSupportedError(OP, `operator '${node.opType}' of ${where}`);
    }
  }

  private resize(where: string, a: Attrs, x: Tensor, scales: Tensor | null, sizes: Tensor | null, upsample: boolean): Tensor {
    const mode = a.str('mode', 'nearest');
    const ctm = upsample ? 'asymmetric' : a.str('coordinate_transformation_mode', 'half_pixel');
    if (x.ndim !== 4) throw new NotSupportedError(OP, `${where}: input ${fmtShape(x.shape)} (pixelgrad resizes NCHW images)`);
    // Upsample (opset 7-9) has no such attributes: its nearest mode is PyTorch's (floor of the scaled index).
    const nearest = upsample ? 'floor' : a.str('nearest_mode', 'round_prefer_floor');
    let opts: { mode: 'nearest' | 'bilinear'; alignCorners?: boolean };
    if (mode === 'nearest' && (upsample || ctm === 'asymmetric') && nearest === 'floor') opts = { mode: 'nearest' };
    else if (mode === 'linear' && ['half_pixel', 'pytorch_half_pixel', 'align_corners'].includes(ctm)) opts = { mode: 'bilinear', alignCorners: ctm === 'align_corners' };
    else throw new NotSupportedError(OP, `${where}: ${upsample ? 'Upsample' : 'Resize'} mode '${mode}' with coordinate_transformation_mode '${ctm}' and nearest_mode '${nearest}'`);
    if (sizes && sizes.size === 4) {
      if (sizes.data[0] !== x.shape[0] || sizes.data[1] !== x.shape[1]) throw new NotSupportedError(OP, `${where}: resizing the batch or channel dims`);
      return interpolate(x, { ...opts, size: [sizes.data[2], sizes.data[3]] });
    }
    if (!scales || scales.size !== 4) throw new OnnxError(OP, `${where}: needs 4 scales or 4 sizes`);
    if (scales.data[0] !== 1 || scales.data[1] !== 1) throw new NotSupportedError(OP, `${where}: resizing the batch or channel dims`);
    return interpolate(x, { ...opts, scaleFactor: [scales.data[2], scales.data[3]] });
  }
}

/**
 * An ONNX model (bytes) as a trainable pixelgrad Module.
 * @example const net = importOnnx(bytes); const y = net.forward(x);
 */
export function importOnnx(bytes: Uint8Array, options: ImportOnnxOptions = {}): OnnxModel {
  const model = decodeModel(bytes);
  if (!model.graph) throw new OnnxError(OP, 'the model has no graph');
  const def = model.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  const opset = def ? toInt(def.version, 'opset version', OP) : 1;
  if (opset < 7) throw new NotSupportedError(OP, `opset ${opset} (pixelgrad reads opset 7 and later)`);
  return new OnnxModel(model.graph, opset, options);
}
