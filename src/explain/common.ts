/**
 * What every explanation method shares: the model put in evaluation mode with its parameters
 * frozen for the duration (and restored after), targets resolved to one class per input, the
 * target scores of a forward pass, and a named layer's output captured by a forward hook.
 */
import { grad, withGradientRules, type GradientRule } from '../autograd/engine.js';
import { ArgumentError, NotSupportedError, ShapeError, fmtShape } from '../errors.js';
import { isFloat } from '../dtype.js';
import type { Module } from '../nn/module.js';
import { Conv2d } from '../nn/layers/conv.js';
import { relu } from '../ops/elementwise.js';
import { gather, reshape } from '../ops/shape.js';
import { sum } from '../ops/reduce.js';
import { Tensor } from '../tensor.js';

/** The model being explained: one NCHW (or [N, ...]) input, class scores [N, classes] out. */
export type Classifier = Module<[Tensor], Tensor>;

/** One class for all inputs, one per input, or an int32 tensor [N]. */
export type Target = number | readonly number[] | Tensor;

/** Checks `input` is a float batch [N, ...] with N ≥ 1; returns N. */
export function batchSize(op: string, input: Tensor): number {
  if (!(input instanceof Tensor)) throw new ArgumentError(op, 'input must be a Tensor');
  if (input.ndim < 2 || input.shape[0] < 1) throw new ShapeError(op, `input must be a batch [N, ...] with N ≥ 1, got shape ${fmtShape(input.shape)}`);
  if (!isFloat(input.dtype)) throw new ArgumentError(op, `input must be float32 or float64, got ${input.dtype}`);
  return input.shape[0];
}

/** The target class of each of the `n` inputs (range-checked against `classes` when known). */
export function resolveTargets(op: string, target: Target, n: number, classes?: number): number[] {
  let list: number[];
  if (typeof target === 'number') list = new Array<number>(n).fill(target);
  else if (target instanceof Tensor) {
    if (target.ndim !== 1) throw new ShapeError(op, `target must be a 1-D tensor [N], got shape ${fmtShape(target.shape)}`);
    list = [...target.data];
  } else if (Array.isArray(target)) list = [...target];
  else throw new ArgumentError(op, 'target must be a class index, an array of them, or a 1-D tensor');
  if (list.length !== n) throw new ShapeError(op, `got ${list.length} targets for ${n} inputs`);
  list.forEach((t, i) => {
    if (!Number.isInteger(t) || t < 0 || (classes !== undefined && t >= classes)) {
      throw new ArgumentError(op, `target[${i}] must be a class index in [0, ${classes ?? '∞'}), got ${t}`);
    }
  });
  return list;
}

/**
 * Runs `fn` with the model in evaluation mode and its parameters not requiring grad (so backward
 * computes no weight gradients and leaves every `.grad` alone); both are restored afterwards,
 * module by module and parameter by parameter.
 */
export function withExplainScope<T>(model: Classifier, fn: () => T): T {
  const modes = model.modules().map((m) => [m, m.training] as const);
  const params = model.parameters().map((p) => [p, p.requiresGrad] as const);
  model.eval();
  for (const [p] of params) p.requiresGrad = false;
  try {
    return fn();
  } finally {
    for (const [m, t] of modes) m.training = t;
    for (const [p, r] of params) p.requiresGrad = r;
  }
}

/** out[i, targets[i]] as [N], after checking the model returned class scores [N, classes]. */
export function targetScores(op: string, out: Tensor, targets: readonly number[]): Tensor {
  if (out.ndim !== 2 || out.shape[0] !== targets.length) {
    throw new ShapeError(op, `the model must return class scores [N, classes] for N = ${targets.length} inputs, got shape ${fmtShape(out.shape)}`);
  }
  const bad = targets.findIndex((t) => t >= out.shape[1]);
  if (bad >= 0) throw new ArgumentError(op, `target[${bad}] = ${targets[bad]} but the model has ${out.shape[1]} classes`);
  return reshape(gather(out, 1, new Tensor(Int32Array.from(targets), [targets.length, 1])), [targets.length]);
}

/** The sum of out[i, targets[i]] over the batch: its gradient gives every input its own ∂y_c/∂x. */
export function targetScore(op: string, out: Tensor, targets: readonly number[]): Tensor {
  return sum(targetScores(op, out, targets));
}

/** A leaf sharing the input's values that requires grad (the caller's tensor is not touched). */
export function leafOf(x: Tensor): Tensor {
  return x.detach().setRequiresGrad(true);
}

/**
 * ∂(Σ_i y_i,targets[i])/∂x for a batch: the gradient of each input's own target score (inputs do
 * not interact in evaluation mode). `rules` replaces ops' gradient rules for this pass.
 */
export function inputGradient(op: string, model: Classifier, input: Tensor, targets: readonly number[], rules: Readonly<Record<string, GradientRule>> = {}): Tensor {
  const x = leafOf(input);
  return withGradientRules(rules, () => {
    const out = model.forward(x);
    const [g] = grad(targetScore(op, out, targets), [x], { allowUnused: true });
    return g ?? x.detach().mul(0);
  });
}

/**
 * Guided backpropagation's relu (Springenberg et al.): the gradient passes only where it is
 * positive and the forward input was positive. It replaces the rule of the `relu` op, so
 * `nn.ReLU` layers and functional `relu(x)` calls in a model's forward are both covered; other
 * activations (leakyRelu, gelu, ...) keep their ordinary gradients.
 */
export const GUIDED_RELU: Readonly<Record<string, GradientRule>> = { relu: (g, c) => c.vjp(relu(g), c.needsGrad) };

/** DeconvNet's relu (Zeiler & Fergus): the gradient passes where it is positive, whatever the input. */
export const DECONV_RELU: Readonly<Record<string, GradientRule>> = { relu: (g) => [relu(g)] };

/** The module named `name` (a dotted path from `namedModules`), or an error listing the layers. */
export function findLayer(op: string, model: Classifier, name: string): Module<any, any> {
  for (const [n, m] of model.namedModules()) if (n === name && n !== '') return m;
  const names = model.namedModules();
  const leaves = [...names].filter(([n, m]) => n !== '' && m.children().length === 0).map(([n]) => n);
  throw new ArgumentError(op, `the model has no layer '${name}' (layers: ${leaves.join(', ')})`);
}

/** The names of the model's convolution layers (modules with a 4-D `weight`), in order. */
export function convLayerNames(model: Classifier): string[] {
  return [...model.namedModules()].filter(([n, m]) => n !== '' && m instanceof Conv2d).map(([n]) => n);
}

/**
 * Runs `fn` while the output of `layer` is captured; `take()` returns the output of the forward
 * pass since the last `take()`. With `cut`, the output is replaced by a fresh leaf that requires
 * grad, so a backward pass stops there (Grad-CAM needs nothing below the layer).
 */
export function withLayerOutput<T>(op: string, layer: Module<any, any>, cut: boolean, fn: (take: () => Tensor) => T): T {
  let outs: Tensor[] = [];
  const remove = layer.registerForwardHook((_m, _in, o) => {
    if (!(o instanceof Tensor)) throw new NotSupportedError(op, "the layer's output is not a tensor");
    const kept = cut ? o.detach().setRequiresGrad(true) : o;
    outs.push(kept);
    return kept;
  });
  try {
    return fn(() => {
      const got = outs;
      outs = [];
      if (got.length === 0) throw new ArgumentError(op, 'the layer did not run during the forward pass');
      if (got.length > 1) throw new NotSupportedError(op, `the layer ran ${got.length} times in one forward pass; pick a layer used once`);
      return got[0];
    });
  } finally {
    remove();
  }
}
