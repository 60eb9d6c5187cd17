/**
 * Transfer learning on modules: a new number of input channels for the first convolution, a new
 * classifier head, and parameter groups with their own options (discriminative fine-tuning).
 * Freezing is `Module.freeze()` / `unfreeze()`, replacing a child `Module.setChild()`.
 */
import { ArgumentError, NotSupportedError, fmtText } from '../errors.js';
import { noGrad } from '../autograd/grad-mode.js';
import type { ParamGroupInput } from '../optim/optimizer.js';
import type { Tensor } from '../tensor.js';
import { Conv2d } from './layers/conv.js';
import { Linear, positiveInt } from './layers/linear.js';
import type { Module, ModuleSelector } from './module.js';

/**
 * How pretrained filters W [O, c, kH, kW] become filters W' [O, n, kH, kW] for n input channels:
 * - `'average'`: every new channel gets the average filter, scaled by c/n:
 *   W'[:, j] = (1/n)·Σᵢ W[:, i]. When the n new channels all hold the same image x, the output is
 *   exactly the old layer's on c channels all equal to x (RGB → gray: W' = Σᵢ W[:, i], the sum of
 *   the colour filters; gray → RGB: W/3 on each colour).
 * - `'replicate'`: the old filters are repeated in order and scaled by c/n: W'[:, j] = W[:, j mod c]·c/n.
 *   When the new channels are the old ones repeated (n a multiple of c, e.g. RGB → 6 bands as
 *   two copies of RGB), the output is exactly the old layer's.
 * Either way the scale keeps the activations at their pretrained size.
 */
export type ChannelRule = 'average' | 'replicate';

/** The path of the first `Conv2d` below `model` (depth first, in registration order). */
export function firstConvPath(model: Module<any, any>): string {
  for (const [path, m] of model.namedModules()) if (m instanceof Conv2d) return path;
  throw new ArgumentError('firstConvPath', `${model.constructor.name} has no Conv2d layer`);
}

/** The path of the last `Linear` below `model`: the classifier head of the built-in models. */
export function headPath(model: Module<any, any>): string {
  let found: string | null = null;
  for (const [path, m] of model.namedModules()) if (m instanceof Linear) found = path;
  if (found === null) throw new ArgumentError('headPath', `${model.constructor.name} has no Linear layer`);
  return found;
}

/** The filters W' for `n` input channels from W [O, c, kH, kW] by `rule` (see `ChannelRule`). */
export function adaptFilters(weight: Tensor, n: number, rule: ChannelRule): Float32Array | Float64Array {
  const op = 'adaptFilters';
  positiveInt(op, 'inChannels', n);
  if (rule !== 'average' && rule !== 'replicate') throw new ArgumentError(op, `rule must be 'average' or 'replicate', got ${fmtText(String(rule))}`);
  if (weight.ndim !== 4) throw new ArgumentError(op, `weight must be [outChannels, inChannels, kH, kW], got rank ${weight.ndim}`);
  const [o, c, kh, kw] = weight.shape, k = kh * kw, w = weight.data;
  const out = new (w instanceof Float64Array ? Float64Array : Float32Array)(o * n * k);
  for (let f = 0; f < o; f++) {
    for (let j = 0; j < n; j++) {
      const dst = (f * n + j) * k;
      for (let t = 0; t < k; t++) {
        let v = 0;
        if (rule === 'average') for (let i = 0; i < c; i++) v += w[(f * c + i) * k + t];
        else v = w[(f * c + (j % c)) * k + t] * c;
        out[dst + t] = v / n;
      }
    }
  }
  return out;
}

/**
 * Replaces the first convolution (or the `Conv2d` at `layer`) by one for `inChannels` input
 * channels whose filters come from the pretrained ones by `rule` (default `'average'`); the bias
 * and every other setting are kept. Returns the model.
 * @example nn.adaptInputChannels(models.lenet5({ pretrained: 'mnist' }), 3);   // a gray network on RGB images
 */
export function adaptInputChannels<M extends Module<any, any>>(model: M, inChannels: number, options: { layer?: string; rule?: ChannelRule } = {}): M {
  const op = 'adaptInputChannels';
  const path = options.layer ?? firstConvPath(model);
  const old = model.getSubmodule(path, op);
  if (!(old instanceof Conv2d)) throw new ArgumentError(op, `${fmtText(path)} is a ${old.constructor.name}, not a Conv2d`);
  if (old.groups !== 1) throw new NotSupportedError(op, `${fmtText(path)} is a grouped convolution (groups=${old.groups})`);
  const filters = adaptFilters(old.weight, inChannels, options.rule ?? 'average');
  const conv = new Conv2d(inChannels, old.outChannels, old.kernelSize, {
    stride: old.stride, padding: old.padding, dilation: old.dilation, bias: old.bias !== null, paddingMode: old.paddingMode,
  });
  noGrad(() => {
    conv.weight.data.set(filters);
    if (old.bias) conv.bias!.data.set(old.bias.data);
  });
  model.setChild(path, conv);
  return model;
}

/**
 * Replaces the classifier head (the last `Linear`, or the one at `layer`) by a freshly initialised
 * `Linear` with `numClasses` outputs. Returns the model.
 * @example nn.replaceHead(model, 5).freeze().unfreeze(nn.headPath(model));
 */
export function replaceHead<M extends Module<any, any>>(model: M, numClasses: number, options: { layer?: string } = {}): M {
  const op = 'replaceHead';
  positiveInt(op, 'numClasses', numClasses);
  const path = options.layer ?? headPath(model);
  const old = model.getSubmodule(path, op);
  if (!(old instanceof Linear)) throw new ArgumentError(op, `${fmtText(path)} is a ${old.constructor.name}, not a Linear`);
  model.setChild(path, new Linear(old.inFeatures, numClasses, { bias: old.bias !== null }));
  return model;
}

/**
 * Parameter groups for an optimiser, one per entry of `groups` with its own options (e.g. `lr`),
 * selecting modules as `freeze` does; the parameters no entry selects form a last group with the
 * optimiser's defaults. A parameter selected twice is an error.
 * @example
 * // discriminative fine-tuning: the features learn ten times slower than the new head
 * const opt = new optim.SGD(nn.parameterGroups(model, [{ modules: ['conv1', 'conv2', 'fc1', 'fc2'], lr: 0.01 }]), { lr: 0.1 });
 */
export function parameterGroups<O extends object = Record<string, unknown>>(model: Module<any, any>, groups: readonly ({ modules: ModuleSelector } & Partial<NoInfer<O>>)[]): ParamGroupInput<O>[] {
  const op = 'parameterGroups';
  const owner = new Map<Tensor, number>();
  const out = groups.map(({ modules, ...options }, g) => {
    const params: Tensor[] = [];
    for (const m of model.selectModules(modules, op)) {
      for (const [name, p] of m.namedParameters()) {
        const before = owner.get(p);
        if (before !== undefined && before !== g) throw new ArgumentError(op, `parameter ${fmtText(name)} of ${m.constructor.name} is selected by groups ${before} and ${g}`);
        if (before === undefined) params.push(p);
        owner.set(p, g);
      }
    }
    if (!params.length) throw new ArgumentError(op, `group ${g} selects no parameters`);
    return { ...options, params } as unknown as ParamGroupInput<O>;
  });
  const rest = model.parameters().filter((p) => !owner.has(p));
  if (rest.length) out.push({ params: rest } as unknown as ParamGroupInput<O>);
  return out;
}
