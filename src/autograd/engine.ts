/**
 * Reverse-mode automatic differentiation on the dynamic graph. Each op that has an input requiring
 * grad attaches a `Node` to its output: the op name, its inputs and its vector-Jacobian product.
 * `backward` orders the graph topologically (iteratively, so 100,000-op chains are fine), seeds the
 * output gradient and runs the VJPs in reverse, summing gradients of tensors used more than once.
 * VJPs may return a gradient in the broadcast (output) shape: the sum back to the input's shape
 * happens here, in one place, not in each rule.
 */
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { sameShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { isGradEnabled, withGradMode } from './grad-mode.js';
import { add, cast, sumTo } from '../ops/index.js';
import { onesLike } from '../creation.js';
import { logAllocations, ownsBuffer, recycleBuffer } from '../dtype.js';

/** Given the gradient of the output, the gradients of the inputs (null where not needed). */
export type VJP = (grad: Tensor, needsGrad: readonly boolean[]) => readonly (Tensor | null)[];

export class Node {
  private vjp: VJP | null;

  constructor(
    /** The op that made the output, e.g. 'mul'. */
    readonly op: string,
    /** All inputs, including constants, so that the drawn graph shows them. */
    readonly inputs: readonly Tensor[],
    vjp: VJP,
    /** The op's arguments, for display (e.g. { dim: 1 }). */
    readonly attrs: Readonly<Record<string, unknown>> = {},
  ) {
    this.vjp = vjp;
  }

  get released(): boolean {
    return this.vjp === null;
  }

  apply(grad: Tensor): readonly (Tensor | null)[] {
    if (!this.vjp) {
      throw new ArgumentError('backward', `the graph through '${this.op}' was already freed by an earlier backward(); pass { retainGraph: true } to backward twice`);
    }
    return this.vjp(grad, this.inputs.map((t) => t.requiresGrad));
  }

  /** Drops the VJP closure and with it the saved tensors. */
  release(): void {
    this.vjp = null;
  }
}

/**
 * Gives `out` a node if grad mode is on and some input requires grad; returns `out`.
 * Every differentiable op calls this right beside its forward kernel.
 */
export function record(out: Tensor, op: string, inputs: readonly Tensor[], vjp: VJP, attrs?: Record<string, unknown>): Tensor {
  if (isGradEnabled() && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    const rule = gradientRules?.get(op);
    out.gradFn = new Node(op, inputs, rule ? (g, needsGrad) => rule(g, { inputs, output: out, needsGrad, vjp }) : vjp, attrs);
    if (!rule) ownVjps.add(out.gradFn);
  }
  return out;
}

/**
 * Nodes whose VJP is one of pixelgrad's own (recorded by `record`, not replaced by a gradient
 * rule): it keeps no reference to the gradient it is given, and what it returns is new or that
 * gradient (or views of it). Other VJPs (user nodes, gradient rules, module hooks) may keep either.
 */
const ownVjps = new WeakSet<Node>();

/** Marks `t`'s node as one whose VJP keeps the gradient it is given (module backward hooks); returns `t`. */
export function keepsGrad(t: Tensor): Tensor {
  if (t.gradFn) ownVjps.delete(t.gradFn);
  return t;
}

/** What a replacement gradient rule sees: the op's inputs and output, and its own VJP to call or ignore. */
export interface GradientRuleContext {
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  readonly needsGrad: readonly boolean[];
  readonly vjp: VJP;
}

/** A replacement VJP for one op, e.g. guided backprop's relu: `(g, c) => c.vjp(relu(g), c.needsGrad)`. */
export type GradientRule = (grad: Tensor, context: GradientRuleContext) => readonly (Tensor | null)[];

let gradientRules: ReadonlyMap<string, GradientRule> | null = null;

/**
 * Runs `fn` with the VJPs of the named ops replaced, for graphs recorded inside it (the rule is
 * fixed when the op runs, so a backward pass later still uses it). The rule follows the op, not a
 * module, so functional calls (`relu(x)` inside a model's forward) are covered as well as layers.
 * Scopes nest; an inner rule for the same op wins.
 * @example withGradientRules({ relu: (g, c) => c.vjp(relu(g), c.needsGrad) }, () => model.forward(x).sum().backward());
 */
export function withGradientRules<T>(rules: Readonly<Record<string, GradientRule>>, fn: () => T): T {
  const saved = gradientRules;
  gradientRules = new Map([...(saved ?? []), ...Object.entries(rules)]);
  try {
    return fn();
  } finally {
    gradientRules = saved;
  }
}

/** Whether a gradient rule for `op` is in force (fused paths that skip recording `op` must not be taken then). */
export const hasGradientRule = (op: string): boolean => gradientRules?.has(op) ?? false;

export interface BackwardOptions {
  /** Keep the saved tensors so that backward can run through this graph again. */
  retainGraph?: boolean;
  /** Record the backward pass itself, for higher-order gradients (implies retainGraph). */
  createGraph?: boolean;
}

/**
 * The tensors reachable from `root` through `gradFn.inputs` (following only those `include`
 * accepts), inputs before the tensors made from them. Iterative, so deep graphs do not overflow.
 */
export function postOrder(root: Tensor, include: (t: Tensor) => boolean = () => true): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>([root]);
  const stack: { t: Tensor; next: number }[] = [{ t: root, next: 0 }];
  while (stack.length) {
    const top = stack[stack.length - 1];
    const inputs = top.t.gradFn?.inputs ?? [];
    if (top.next < inputs.length) {
      const child = inputs[top.next++];
      if (include(child) && !seen.has(child)) {
        seen.add(child);
        stack.push({ t: child, next: 0 });
      }
    } else {
      order.push(top.t);
      stack.pop();
    }
  }
  return order;
}

export function backward(root: Tensor, grad?: Tensor, options: BackwardOptions = {}): void {
  propagate('backward', root, grad, options, null);
}

export interface GradOptions extends BackwardOptions {
  /** The gradient of `output`; needed unless it has one element. */
  gradOutput?: Tensor;
  /** Return null for inputs the output does not depend on, instead of throwing. */
  allowUnused?: boolean;
}

/**
 * The gradients of `output` with respect to `inputs`, returned instead of accumulated into
 * `.grad` (like `torch.autograd.grad`). With `createGraph` the results are differentiable.
 * @example const [dx] = grad(x.pow(3).sum(), [x], { createGraph: true }); // 3x², itself differentiable
 */
export function grad(output: Tensor, inputs: readonly Tensor[], options: GradOptions = {}): (Tensor | null)[] {
  inputs.forEach((t, i) => {
    if (!t.requiresGrad) throw new ArgumentError('grad', `inputs[${i}] does not require grad`);
  });
  const captured = propagate('grad', output, options.gradOutput, options, new Set(inputs));
  return inputs.map((t, i) => {
    const g = captured.get(t) ?? null;
    if (!g && !options.allowUnused) throw new ArgumentError('grad', `inputs[${i}] is not part of the graph of the output; pass allowUnused: true to get null for it`);
    return g;
  });
}

/**
 * Runs the VJPs from `root` back to the leaves. Without `capture`, gradients accumulate into
 * `.grad` of leaves (and retainGrad tensors); with it, the gradients of the captured tensors are
 * returned and no `.grad` changes.
 */
function propagate(op: string, root: Tensor, seed: Tensor | undefined, options: BackwardOptions, capture: Set<Tensor> | null): Map<Tensor, Tensor> {
  if (!root.requiresGrad) {
    throw new ArgumentError(op, 'the tensor does not require grad and has no graph (did you forget requiresGrad: true, or call it inside noGrad?)');
  }
  if (!seed && root.size !== 1) {
    throw new ShapeError(op, `a gradient can be created implicitly only for a one-element output, got shape ${fmtShape(root.shape)}; pass the output gradient explicitly`);
  }
  if (seed && !sameShape(seed.shape, root.shape)) {
    throw new ShapeError(op, `the output gradient has shape ${fmtShape(seed.shape)} but the output has shape ${fmtShape(root.shape)}`);
  }
  const createGraph = options.createGraph ?? false;
  const retain = options.retainGraph ?? createGraph;
  const captured = new Map<Tensor, Tensor>();
  // Gradients made during this pass whose buffers may be reused once their tensor's VJP has run
  // (see `recycle` below); a recorded pass (createGraph) keeps every gradient.
  const made = createGraph ? null : new WeakSet<ArrayBuffer>();
  const outerLog = logAllocations(made);
  try {
    propagateGraph(root, seed, createGraph, retain, capture, captured, made);
  } finally {
    logAllocations(outerLog);
  }
  return captured;
}

function propagateGraph(root: Tensor, seed: Tensor | undefined, createGraph: boolean, retain: boolean, capture: Set<Tensor> | null,
  captured: Map<Tensor, Tensor>, made: WeakSet<ArrayBuffer> | null): void {
  withGradMode(createGraph, () => {
    const grads = new Map<Tensor, Tensor>();
    // Sums made here for tensors used more than once, referenced nowhere else until their tensor's
    // VJP runs: further contributions are added into them in place instead of allocating a new sum
    // each time (an RNN's weights get one per step). Not under createGraph, where sums are recorded ops.
    const owned = new Set<Tensor>();
    const accumulate = (prev: Tensor, gi: Tensor): Tensor => {
      if (owned.has(prev)) {
        const p = prev.data, d = gi.data;
        for (let j = 0; j < p.length; j++) p[j] += d[j];
        return prev;
      }
      const total = add(prev, gi);
      if (!createGraph) owned.add(total);
      return total;
    };
    grads.set(root, seed ? toDTypeOf(seed, root) : onesLike(root));
    const order = postOrder(root, (t) => t.requiresGrad);
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      let g = grads.get(t);
      grads.delete(t);
      if (!g) continue;
      // From here on g may be passed on (a VJP can return it as it is): it is no longer added to.
      owned.delete(g);
      for (const hook of t.hooks) g = hook(g) ?? g;
      if (capture) {
        if (capture.has(t)) captured.set(t, g);
      } else if (!t.gradFn || t.retainsGrad) {
        t.grad = t.grad ? add(t.grad, g) : createGraph ? g : g.clone();
      }
      const node = t.gradFn;
      if (!node) continue;
      const inputGrads = node.apply(g);
      node.inputs.forEach((input, k) => {
        let gi = inputGrads[k];
        if (!input.requiresGrad || !gi) return;
        if (!sameShape(gi.shape, input.shape)) gi = sumTo(gi, input.shape);
        gi = toDTypeOf(gi, input);
        const prev = grads.get(input);
        grads.set(input, prev ? accumulate(prev, gi) : gi);
      });
      if (!retain) node.release();
      if (made) {
        if (ownVjps.has(node) && t.hooks.length === 0) recycle(g, made, grads, captured);
        // What another VJP returns may be kept by it: never reused.
        else for (const gi of inputGrads) if (gi) made.delete(gi.data.buffer as ArrayBuffer);
      }
    }
  });
}

/**
 * Gives g's buffer back for reuse (dtype.ts `recycleBuffer`) when nothing can reach it: it was
 * made during this pass (not the seed, not a tensor from the forward pass), it is the whole of its
 * buffer, its tensor's hooks did not see it and its own VJP (which keeps nothing) has run, and no
 * gradient still waiting for its VJP, nor one returned by grad(), is it or a view of it.
 */
function recycle(g: Tensor, made: WeakSet<ArrayBuffer>, pending: Map<Tensor, Tensor>, captured: Map<Tensor, Tensor>): void {
  const buffer = g.data.buffer as ArrayBuffer;
  if (!made.has(buffer) || !ownsBuffer(g.data)) return;
  for (const held of [pending, captured]) for (const other of held.values()) if (other.data.buffer === buffer) return;
  made.delete(buffer);
  recycleBuffer(buffer);
}

/** A gradient in its tensor's dtype: as in PyTorch, a float32 tensor used with float64 ones gets a float32 gradient. */
function toDTypeOf(g: Tensor, t: Tensor): Tensor {
  return g.dtype === t.dtype ? g : cast(g, t.dtype);
}
