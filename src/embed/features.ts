/**
 * Features from any layer of a model: the activations of a named module (dotted name, as in
 * `namedModules()`: `fc2`, `layer3.2`), captured by a forward hook while the model runs on a
 * tensor or a dataset in batches, in eval mode and without a graph, flattened to [N, D].
 */
import { noGrad } from '../autograd/grad-mode.js';
import { DataLoader } from '../data/dataloader.js';
import type { Dataset, Sample } from '../data/dataset.js';
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { Linear } from '../nn/layers/linear.js';
import type { Module } from '../nn/module.js';
import { checkBoolean, checkOneOf, checkPositiveInt, resolveOptions } from '../options.js';
import { Tensor } from '../tensor.js';
import { unitRows } from './matrix.js';

/** The dotted names of every sub-module of `model` (the names `extractFeatures` accepts). */
export function layerNames(model: Module<any, any>): string[] {
  return [...model.namedModules()].map(([name]) => name).filter((name) => name !== '');
}

/** The sub-module called `name`; an unknown name is an error listing the valid ones. */
export function findLayer(model: Module<any, any>, name: string): Module<any, any> {
  for (const [n, m] of model.namedModules()) if (n === name && n !== '') return m;
  throw new ArgumentError('extractFeatures', `unknown layer '${name}'; the model's layers are: ${layerNames(model).join(', ')}`);
}

/** The name of the model's last `Linear` (the classifier): its input is the usual feature space. */
export function lastLinear(model: Module<any, any>): string {
  const linears = [...model.namedModules()].filter(([n, m]) => n !== '' && m instanceof Linear);
  if (!linears.length) throw new ArgumentError('extractFeatures', `the model has no Linear layer; name one of: ${layerNames(model).join(', ')}`);
  return linears[linears.length - 1][0];
}

export interface FeatureOptions {
  /** Capture the layer's output (default) or its (first) input. */
  at?: 'output' | 'input';
  /** Samples per forward pass. Default 256. */
  batchSize?: number;
  /** Scale each feature vector to unit L2 norm (zero vectors stay zero). Default false. */
  normalize?: boolean;
  /** Called after each batch with the samples done and the total (a progress bar). */
  onBatch?: (done: number, total: number) => void;
}

export interface Features {
  /** [N, D] float32 (or the layer's dtype): one flattened activation per sample. */
  features: Tensor;
  /** The integer targets of a dataset's samples (null for a tensor input or non-integer targets). */
  labels: Int32Array | null;
}

/**
 * Runs `model` on `data` (a tensor batch [N, ...] or a dataset of `{ input, target }`) and returns
 * the flattened activations of `layer`. The model is in eval mode during the passes, and every
 * module's mode is restored afterwards; the hook is removed even when a pass throws. A layer used
 * more than once in a forward pass contributes its last call.
 * @example const { features, labels } = extractFeatures(model, 'fc3', testSet, { at: 'input' });
 */
export function extractFeatures(model: Module<any, any>, layer: string, data: Tensor | Dataset<Sample>, options: FeatureOptions = {}): Features {
  const op = 'extractFeatures';
  const o = resolveOptions<Required<Omit<FeatureOptions, 'onBatch'>> & Pick<FeatureOptions, 'onBatch'>>(op, options, { at: 'output', batchSize: 256, normalize: false }, ['at', 'batchSize', 'normalize', 'onBatch']);
  if (o.onBatch !== undefined && typeof o.onBatch !== 'function') throw new ArgumentError(op, `onBatch must be a function, got ${typeof o.onBatch}`);
  checkOneOf(op, 'at', o.at, ['output', 'input']);
  checkPositiveInt(op, 'batchSize', o.batchSize);
  checkBoolean(op, 'normalize', o.normalize);
  const target = findLayer(model, layer);
  let captured: Tensor | null = null;
  const remove = target.registerForwardHook((_m, inputs: unknown[], output: unknown) => {
    const v = o.at === 'input' ? inputs[0] : output;
    if (!(v instanceof Tensor)) throw new ArgumentError(op, `layer '${layer}' ${o.at === 'input' ? 'takes' : 'returns'} ${Array.isArray(v) ? 'a list' : typeof v}, not a tensor`);
    captured = v;
  });
  const modes = model.modules().map((m) => [m, m.training] as const);
  model.eval();
  const chunks: Tensor[] = [];
  const labels: number[] = [];
  let integerLabels = true;
  const total = data instanceof Tensor ? data.shape[0] : data?.length;
  let done = 0;
  const run = (input: Tensor) => {
    captured = null;
    model.forward(input);
    if (!captured) throw new ArgumentError(op, `layer '${layer}' was not called by the model's forward pass`);
    const t: Tensor = captured;
    if (t.ndim === 0 || t.shape[0] !== input.shape[0]) throw new ShapeError(op, `layer '${layer}' gave shape ${fmtShape(t.shape)} for a batch of ${input.shape[0]}`);
    chunks.push(t);
    done += input.shape[0];
    o.onBatch?.(done, total);
  };
  try {
    noGrad(() => {
      if (data instanceof Tensor) {
        if (data.ndim < 1 || data.shape[0] === 0) throw new ShapeError(op, `data must be a non-empty batch [N, ...], got shape ${fmtShape(data.shape)}`);
        for (let s = 0; s < data.shape[0]; s += o.batchSize) run(data.narrow(0, s, Math.min(o.batchSize, data.shape[0] - s)));
        integerLabels = false;
        return;
      }
      if (!data || typeof data.get !== 'function' || !(data.length > 0)) throw new ArgumentError(op, 'data must be a tensor or a non-empty dataset');
      for (const batch of new DataLoader(data, { batchSize: o.batchSize })) {
        run(batch.input as Tensor);
        const t = batch.target as Tensor;
        if (t.ndim === 1 && t.dtype === 'int32') labels.push(...t.data);
        else integerLabels = false;
      }
    });
  } finally {
    remove();
    for (const [m, mode] of modes) m.training = mode;
  }
  const n = chunks.reduce((s, c) => s + c.shape[0], 0);
  const d = chunks[0].size / chunks[0].shape[0];
  const out = new (chunks[0].data.constructor as Float32ArrayConstructor)(n * d);
  let at = 0;
  for (const c of chunks) { out.set(c.data, at); at += c.size; }
  return { features: new Tensor(o.normalize ? unitRows({ data: out, rows: n, cols: d }) : out, [n, d]), labels: integerLabels ? Int32Array.from(labels) : null };
}
