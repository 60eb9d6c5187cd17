/**
 * `Module`: the base of every layer and model. Parameters, buffers and child modules are registered
 * explicitly and kept apart; names are dotted paths (`features.0.weight`) in `namedParameters()`
 * and `stateDict()`. Training/eval mode is per module and `train()`/`eval()` recurse.
 */
import { noGrad } from '../autograd/grad-mode.js';
import { keepsGrad, record } from '../autograd/engine.js';
import { ArgumentError, NotSupportedError, ShapeError, describeValue, fmtShape, fmtText } from '../errors.js';
import { Tensor } from '../tensor.js';
import { sameShape } from '../shape.js';

export type ForwardPreHook<Args extends unknown[]> = (module: Module<Args, any>, inputs: Args) => Args | void;
export type ForwardHook<Args extends unknown[], Out> = (module: Module<Args, Out>, inputs: Args, output: Out) => Out | void;
/**
 * Called when the gradient with respect to the module's input is known: `gradInput` has one entry
 * per positional argument (null for non-tensors and inputs that need no gradient), `gradOutput`
 * one for the output. It may return a replacement `gradInput`.
 */
export type BackwardHook = (module: Module<any, any>, gradInput: readonly (Tensor | null)[], gradOutput: readonly (Tensor | null)[]) => readonly (Tensor | null)[] | void;

/**
 * Which modules `freeze`/`unfreeze` act on: dotted module paths (`'features'`, `'layer1.0'`; each
 * takes everything below it), or a predicate on (path, module).
 */
export type ModuleSelector = string | readonly string[] | ((path: string, module: Module<any, any>) => boolean);

export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

export class Module<Args extends unknown[] = [Tensor], Out = Tensor> {
  /** Whether the module is in training mode (dropout active, batch statistics used). */
  training = true;
  /** Set by `freeze()`: its parameters are not trained and its buffers (running statistics) not updated. */
  frozen = false;
  private readonly params = new Map<string, Tensor | null>();
  private readonly bufs = new Map<string, Tensor | null>();
  private readonly nonPersistent = new Set<string>();
  private readonly children_ = new Map<string, Module<any, any> | null>();
  private preHooks: ForwardPreHook<Args>[] = [];
  private postHooks: ForwardHook<Args, Out>[] = [];
  private backwardHooks: BackwardHook[] = [];

  /** The computation. Subclasses define it as a method (not an arrow-function field). */
  forward(..._inputs: Args): Out {
    throw new NotSupportedError(this.constructor.name, 'forward() is not implemented');
  }

  // ---- registration ----

  /** Registers a trainable tensor under `name` (it is made to require grad); returns it. */
  registerParameter<T extends Tensor | null>(name: string, param: T): T {
    this.checkName(name, this.params);
    if (param) param.setRequiresGrad(true);
    this.params.set(name, param);
    return param;
  }

  /** Registers state that is not trained (e.g. running means); `persistent: false` keeps it out of stateDict. */
  registerBuffer<T extends Tensor | null>(name: string, buffer: T, options: { persistent?: boolean } = {}): T {
    this.checkName(name, this.bufs);
    this.bufs.set(name, buffer);
    if (options.persistent === false) this.nonPersistent.add(name);
    return buffer;
  }

  registerModule<M extends Module<any, any> | null>(name: string, module: M): M {
    this.checkName(name, this.children_);
    this.children_.set(name, module);
    return module;
  }

  private checkName(name: string, own: Map<string, unknown>): void {
    if (!name || name.includes('.')) throw new ArgumentError(this.constructor.name, `invalid name '${name}': must be non-empty and contain no '.'`);
    for (const m of [this.params, this.bufs, this.children_]) {
      if (m !== own && m.has(name)) throw new ArgumentError(this.constructor.name, `name '${name}' is already used by another parameter, buffer or module`);
    }
  }

  /** Replaces a registered parameter or buffer tensor (e.g. after loading), keeping its kind. */
  protected setTensor(name: string, t: Tensor): void {
    if (this.params.has(name)) this.params.set(name, t);
    else if (this.bufs.has(name)) this.bufs.set(name, t);
    else throw new ArgumentError(this.constructor.name, `no parameter or buffer named '${name}'`);
  }

  // ---- traversal ----

  *namedChildren(): Generator<[string, Module<any, any>]> {
    for (const [n, m] of this.children_) if (m) yield [n, m];
  }

  children(): Module<any, any>[] {
    return [...this.namedChildren()].map(([, m]) => m);
  }

  /** This module and all below it, depth first, each once. */
  *namedModules(prefix = '', seen = new Set<Module<any, any>>()): Generator<[string, Module<any, any>]> {
    if (seen.has(this)) return;
    seen.add(this);
    yield [prefix, this];
    for (const [n, m] of this.namedChildren()) yield* m.namedModules(prefix ? `${prefix}.${n}` : n, seen);
  }

  modules(): Module<any, any>[] {
    return [...this.namedModules()].map(([, m]) => m);
  }

  /**
   * The module at a dotted path below this one ('' is this module), like torch's `get_submodule`.
   * @example model.getSubmodule('layer1.0.conv1')
   */
  getSubmodule(path: string, op = 'getSubmodule'): Module<any, any> {
    let m: Module<any, any> = this;
    if (path === '') return m;
    const parts = path.split('.');
    parts.forEach((part, i) => {
      const next = m.children_.get(part);
      if (!next) {
        const known = [...m.children_.keys()], at = i ? ` in ${fmtText(parts.slice(0, i).join('.'))}` : '';
        throw new ArgumentError(op, `${this.constructor.name} has no module ${fmtText(path)} (modules${at}: ${known.length ? known.slice(0, 20).join(', ') : 'none'})`);
      }
      m = next;
    });
    return m;
  }

  /**
   * Replaces the child module at a dotted path (which must exist), e.g. a new classifier head:
   * `model.setChild('fc3', new nn.Linear(84, 5))`. Fields of the parent that held the old child
   * (a property such as `this.fc3`, an array or Map entry such as a Sequential's list) are pointed
   * at the new one too, so `forward` uses it.
   */
  setChild(path: string, module: Module<any, any>): this {
    if (!(module instanceof Module)) throw new ArgumentError('setChild', `the module for ${fmtText(path)} must be a Module, got ${describeValue(module)}`);
    const cut = path.lastIndexOf('.');
    const parent = this.getSubmodule(cut < 0 ? '' : path.slice(0, cut), 'setChild'), name = path.slice(cut + 1);
    const old = this.getSubmodule(path, 'setChild');
    parent.children_.set(name, module);
    const fields = parent as unknown as Record<string, unknown>;
    for (const key of Object.keys(fields)) {
      const v = fields[key];
      if (v === old) fields[key] = module;
      else if (Array.isArray(v)) v.forEach((x, i) => { if (x === old) v[i] = module; });
      else if (v instanceof Map) for (const [k, x] of v) if (x === old) v.set(k, module);
    }
    return this;
  }

  /** The modules a selector names (see `ModuleSelector`); none: this module. A path that names no module is an error. */
  selectModules(select?: ModuleSelector, op = 'selectModules'): Module<any, any>[] {
    if (select === undefined) return [this];
    if (typeof select === 'function') return [...this.namedModules()].filter(([n, m]) => select(n, m)).map(([, m]) => m);
    return (typeof select === 'string' ? [select] : select).map((p) => this.getSubmodule(p, op));
  }

  /** Parameters with dotted names; a tensor shared by two modules is listed once. */
  namedParameters(options: { recurse?: boolean } = {}): [string, Tensor][] {
    return this.namedTensors((m) => m.params, options.recurse ?? true);
  }

  parameters(options: { recurse?: boolean } = {}): Tensor[] {
    return this.namedParameters(options).map(([, p]) => p);
  }

  namedBuffers(options: { recurse?: boolean } = {}): [string, Tensor][] {
    return this.namedTensors((m) => m.bufs, options.recurse ?? true);
  }

  buffers(options: { recurse?: boolean } = {}): Tensor[] {
    return this.namedBuffers(options).map(([, b]) => b);
  }

  private namedTensors(pick: (m: Module<any, any>) => Map<string, Tensor | null>, recurse: boolean): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    const mods: [string, Module<any, any>][] = recurse ? [...this.namedModules()] : [['', this]];
    for (const [prefix, m] of mods) {
      for (const [n, t] of pick(m)) {
        if (!t || seen.has(t)) continue;
        seen.add(t);
        out.push([prefix ? `${prefix}.${n}` : n, t]);
      }
    }
    return out;
  }

  /** Calls fn on every module (children first, then this), like torch's `apply`. */
  apply(fn: (m: Module<any, any>) => void): this {
    for (const c of this.children()) c.apply(fn);
    fn(this);
    return this;
  }

  // ---- modes and gradients ----

  /** Sets training mode here and below; frozen modules with buffers (batch norm) stay in eval mode. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode && !m.keepsEval();
    return this;
  }

  /** A frozen module with buffers keeps them fixed: batch norm uses its running statistics instead of updating them. */
  private keepsEval(): boolean {
    return this.frozen && this.namedBuffers({ recurse: false }).length > 0;
  }

  /**
   * Freezes the selected modules (default: all) and everything below them: their parameters stop
   * requiring gradients (and lose any they had), and batch norm keeps its running statistics,
   * staying in eval mode even under `train()`.
   * @example model.freeze().unfreeze('fc3');   // train only the head
   */
  freeze(select?: ModuleSelector): this {
    return this.setFrozen(select, true, 'freeze');
  }

  /** Undoes `freeze` on the selected modules (default: all); they take this module's training mode. */
  unfreeze(select?: ModuleSelector): this {
    return this.setFrozen(select, false, 'unfreeze');
  }

  private setFrozen(select: ModuleSelector | undefined, flag: boolean, op: string): this {
    for (const top of this.selectModules(select, op)) {
      for (const m of top.modules()) {
        m.frozen = flag;
        for (const p of m.parameters({ recurse: false })) {
          p.requiresGrad = !flag;
          if (flag) p.grad = null;
        }
        m.training = this.training && !m.keepsEval();
      }
    }
    return this;
  }

  /** Evaluation mode: dropout off, batch norm uses running statistics. */
  eval(): this {
    return this.train(false);
  }

  /** Freezes (false) or unfreezes (true) every parameter here and below. */
  requiresGrad(flag = true): this {
    for (const p of this.parameters()) p.requiresGrad = flag;
    return this;
  }

  /** Clears every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Re-initialises the parameters of every module below that defines its own `resetParameters`. */
  resetParameters(): void {
    for (const c of this.children()) c.resetParameters();
  }

  // ---- state ----

  /** Parameters and persistent buffers by dotted name (detached, sharing data with the module). */
  stateDict(): Record<string, Tensor> {
    const sd: Record<string, Tensor> = {};
    for (const [prefix, m] of this.namedModules()) {
      const put = (n: string, t: Tensor | null) => { if (t) sd[prefix ? `${prefix}.${n}` : n] = t.detach(); };
      for (const [n, t] of m.params) put(n, t);
      for (const [n, t] of m.bufs) if (!m.nonPersistent.has(n)) put(n, t);
    }
    return sd;
  }

  /**
   * Copies tensors from `sd` into this module's parameters and buffers. Shapes must match; with
   * `strict` (default) missing and unexpected keys are errors too. Nothing is copied when it throws.
   */
  loadStateDict(sd: Record<string, Tensor>, options: { strict?: boolean } = {}): LoadResult {
    const strict = options.strict ?? true;
    const own = this.stateDict();
    // Own keys only: a file's tensor named 'constructor' or 'toString' is unexpected, not inherited.
    const cut = (k: string) => (k.length > 100 ? `${k.slice(0, 97)}...` : k);
    const missingKeys = Object.keys(own).filter((k) => !Object.hasOwn(sd, k));
    const unexpectedKeys = Object.keys(sd).filter((k) => !Object.hasOwn(own, k));
    const misShaped = Object.keys(sd).filter((k) => Object.hasOwn(own, k) && fmtShape(own[k].shape) !== fmtShape(sd[k].shape))
      .map((k) => `${cut(k)}: checkpoint ${describeValue(sd[k].shape)} vs model ${fmtShape(own[k].shape)}`);
    // The keys may come from a file: at most ten of each, each cut short.
    const list = (items: string[], sep: string) => items.slice(0, 10).join(sep) + (items.length > 10 ? `${sep}and ${items.length - 10} more` : '');
    const problems: string[] = [];
    if (misShaped.length) problems.push(`mis-shaped: ${list(misShaped, '; ')}`);
    if (strict && missingKeys.length) problems.push(`missing: ${list(missingKeys, ', ')}`);
    if (strict && unexpectedKeys.length) problems.push(`unexpected: ${list(unexpectedKeys.map(cut), ', ')}`);
    if (problems.length) throw new ShapeError('loadStateDict', `${this.constructor.name}: ${problems.join(' | ')}`);
    noGrad(() => {
      for (const [k, t] of Object.entries(sd)) if (Object.hasOwn(own, k)) own[k].data.set(t.data);
    });
    return { missingKeys, unexpectedKeys };
  }

  // ---- hooks ----

  /** Runs `hook(module, inputs)` before forward; it may return replacement inputs. */
  registerForwardPreHook(hook: ForwardPreHook<Args>): () => void {
    this.preHooks.push(hook);
    this.wrapForward();
    return () => { this.preHooks = this.preHooks.filter((h) => h !== hook); };
  }

  /** Runs `hook(module, inputs, output)` after forward; it may return a replacement output. */
  registerForwardHook(hook: ForwardHook<Args, Out>): () => void {
    this.postHooks.push(hook);
    this.wrapForward();
    return () => { this.postHooks = this.postHooks.filter((h) => h !== hook); };
  }

  /**
   * `register_full_backward_hook`: `hook(module, gradInput, gradOutput)` runs during backward once
   * the gradient with respect to the module's tensor input is complete, and may return a
   * replacement. Modules with one tensor argument and a tensor output (every layer here).
   * @example relu.registerFullBackwardHook((_m, [gi]) => [clamp(gi!, 0)]); // guided backprop on nn.ReLU
   */
  registerFullBackwardHook(hook: BackwardHook): () => void {
    this.backwardHooks.push(hook);
    this.wrapForward();
    return () => { this.backwardHooks = this.backwardHooks.filter((h) => h !== hook); };
  }

  /** Whether hooks are registered: a fused path that skips this module's `forward` must not be taken then. */
  hasHooks(): boolean {
    return this.preHooks.length + this.postHooks.length + this.backwardHooks.length > 0;
  }

  /** Hooks run inside `forward` itself: the first hook replaces it by a wrapper on this instance. */
  private wrapForward(): void {
    if (Object.prototype.hasOwnProperty.call(this, 'forward')) return;
    const inner = this.forward;
    this.forward = (...inputs: Args): Out => {
      for (const h of this.preHooks) inputs = h(this, inputs) ?? inputs;
      const tap = this.backwardHooks.length ? this.backwardTap(inputs) : null;
      let out = inner.apply(this, tap ? tap.inputs : inputs);
      for (const h of this.postHooks) out = h(this, inputs, out) ?? out;
      return tap ? tap.output(out) : out;
    };
  }

  /**
   * Identity ops around the forward call: the one on the output keeps gradOutput, the one on the
   * input receives the complete gradInput (the engine sums every use inside the module before it)
   * and runs the hooks. With no input needing a gradient, the hooks run at the output with nulls.
   */
  private backwardTap(inputs: Args): { inputs: Args; output: (out: Out) => Out } {
    const op = `${this.constructor.name}.backwardHook`;
    const tensorArgs = inputs.filter((a) => a instanceof Tensor);
    if (tensorArgs.length !== 1) throw new NotSupportedError(op, `full backward hooks need exactly one tensor argument, got ${tensorArgs.length}`);
    const k = inputs.findIndex((a) => a instanceof Tensor);
    const x = inputs[k] as Tensor;
    let gradOutput: Tensor | null = null;
    const runHooks = (gi: Tensor | null): (Tensor | null)[] => {
      let gradInput = inputs.map((_, i) => (i === k ? gi : null));
      for (const h of this.backwardHooks) {
        const r = h(this, gradInput, [gradOutput]);
        if (!r) continue;
        if (r.length !== inputs.length) throw new ArgumentError(op, `a backward hook returned ${r.length} gradients for ${inputs.length} inputs`);
        const g = r[k];
        if (gi && g && !(g instanceof Tensor && sameShape(g.shape, x.shape))) {
          throw new ShapeError(op, `a backward hook returned a gradient of shape ${g instanceof Tensor ? fmtShape(g.shape) : typeof g} for an input of shape ${fmtShape(x.shape)}`);
        }
        gradInput = [...r];
      }
      return gradInput;
    };
    // The hooks see (and may keep) the gradients that pass through these nodes.
    const alias = (t: Tensor, name: string, onGrad: (g: Tensor) => Tensor | null) => keepsGrad(record(new Tensor(t.data, t.shape), name, [t], (g) => [onGrad(g)]));
    const tapped = [...inputs] as Args;
    if (x.requiresGrad) tapped[k] = alias(x, 'backwardHookInput', (g) => runHooks(g)[k]);
    return {
      inputs: tapped,
      output: (out) => {
        if (!(out instanceof Tensor)) throw new NotSupportedError(op, 'full backward hooks need a tensor output');
        return alias(out, 'backwardHookOutput', (g) => {
          gradOutput = g;
          if (!x.requiresGrad) runHooks(null);
          return g;
        }) as Out;
      },
    };
  }

  // ---- display ----

  /** The arguments shown in `toString()`, e.g. "1, 6, kernelSize=[5,5]". */
  extraRepr(): string {
    return '';
  }

  toString(): string {
    const kids = [...this.namedChildren()];
    const head = `${this.constructor.name}(${this.extraRepr()}`;
    if (!kids.length) return `${head})`;
    const body = kids.map(([n, m]) => `  (${n}): ${m.toString().split('\n').join('\n  ')}`).join('\n');
    return `${head}\n${body}\n)`;
  }
}
