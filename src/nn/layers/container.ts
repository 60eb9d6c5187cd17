/** Containers: modules made of other modules. */
import { ArgumentError } from '../../errors.js';
import type { Tensor } from '../../tensor.js';
import { Module } from '../module.js';
import { ReLU } from './activation.js';
import { Conv2d } from './conv.js';
import { BatchNorm } from './norm.js';

/**
 * Runs its children in order, each on the previous one's output. Children are named 0, 1, 2, ...
 * (or by the keys of an object), so parameters are called `0.weight`, `3.bias`, ...
 * @example new Sequential(new Linear(784, 128), new ReLU(), new Linear(128, 10))
 */
export class Sequential extends Module {
  private readonly layers: Module<[Tensor], Tensor>[] = [];

  constructor(...modules: Module<[Tensor], Tensor>[] | [Record<string, Module<[Tensor], Tensor>>]) {
    super();
    const named: [string, Module<[Tensor], Tensor>][] = modules.length === 1 && !(modules[0] instanceof Module)
      ? Object.entries(modules[0])
      : (modules as Module<[Tensor], Tensor>[]).map((m, i) => [String(i), m]);
    for (const [name, m] of named) this.append(m, name);
  }

  /** Adds a module at the end (named by its position unless a name is given). */
  append(module: Module<[Tensor], Tensor>, name = String(this.layers.length)): this {
    if (!(module instanceof Module)) throw new ArgumentError('Sequential', `item ${name} is not a Module`);
    this.registerModule(name, module);
    this.layers.push(module);
    return this;
  }

  get length(): number { return this.layers.length; }

  /** The i-th layer (negative counts from the end). */
  at(i: number): Module<[Tensor], Tensor> {
    const m = this.layers.at(i);
    if (!m) throw new ArgumentError('Sequential', `index ${i} is out of range for ${this.layers.length} layers`);
    return m;
  }

  [Symbol.iterator](): Iterator<Module<[Tensor], Tensor>> { return this.layers[Symbol.iterator](); }

  /**
   * Each layer on the previous one's output; a Conv2d or a batch norm followed by a ReLU (both as
   * the library defines them, without hooks: those replace `forward`) runs as one fused op
   * (their `forwardFused`).
   */
  override forward(x: Tensor): Tensor {
    const layers = this.layers;
    for (let i = 0; i < layers.length; i++) {
      const m = layers[i];
      if (layers[i + 1]?.forward === ReLU.prototype.forward && fusesRelu(m)) {
        x = m.forwardFused(x, { relu: true });
        i++;
      } else {
        x = m.forward(x);
      }
    }
    return x;
  }
}

/** Whether m is a layer whose own forward (not a subclass's, nor a hook's) can take a following ReLU fused. */
const fusesRelu = (m: Module<[Tensor], Tensor>): m is Conv2d | BatchNorm =>
  (m instanceof Conv2d && m.forward === Conv2d.prototype.forward) || (m instanceof BatchNorm && m.forward === BatchNorm.prototype.forward);

/** A list of modules whose parameters are registered (named 0, 1, ...); it has no forward. */
export class ModuleList<M extends Module<any, any> = Module<any, any>> extends Module<any, any> {
  private readonly items: M[] = [];

  constructor(modules: readonly M[] = []) {
    super();
    for (const m of modules) this.append(m);
  }

  append(module: M): this {
    this.registerModule(String(this.items.length), module);
    this.items.push(module);
    return this;
  }

  get length(): number { return this.items.length; }
  at(i: number): M {
    const m = this.items.at(i);
    if (!m) throw new ArgumentError('ModuleList', `index ${i} is out of range for ${this.items.length} modules`);
    return m;
  }
  [Symbol.iterator](): Iterator<M> { return this.items[Symbol.iterator](); }
}

/** Modules by name, registered under those names; it has no forward. */
export class ModuleDict<M extends Module<any, any> = Module<any, any>> extends Module<any, any> {
  private readonly items = new Map<string, M>();

  constructor(modules: Record<string, M> = {}) {
    super();
    for (const [k, m] of Object.entries(modules)) this.set(k, m);
  }

  set(name: string, module: M): this {
    this.registerModule(name, module);
    this.items.set(name, module);
    return this;
  }

  get(name: string): M {
    const m = this.items.get(name);
    if (!m) throw new ArgumentError('ModuleDict', `no module named '${name}' (have: ${[...this.items.keys()].join(', ')})`);
    return m;
  }

  has(name: string): boolean { return this.items.has(name); }
  keys(): string[] { return [...this.items.keys()]; }
  entries(): [string, M][] { return [...this.items.entries()]; }
}
