/**
 * Backpropagation written out: for every tensor of a small graph, its forward value and, for those
 * that require grad, ∂L/∂t as the chain-rule sum over the ops that consumed it — each term the
 * consumer's upstream gradient times the local derivative of the consumer with respect to it — with
 * numbers, the way a worked exam solution writes it. The local derivatives come from the ops' own
 * VJPs (a VJP of a unit vector is one row of the Jacobian), so nothing is differentiated twice by
 * hand here.
 */
import { postOrder } from '../autograd/engine.js';
import { noGrad } from '../autograd/grad-mode.js';
import { zerosLike } from '../creation.js';
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { sumTo } from '../ops/index.js';
import { checkKeys } from '../options.js';
import { sameShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { renderSvg } from './graph.js';

export interface ExplainOptions {
  /** The largest tensor (in elements) the explanation accepts; Jacobians grow as its square. Default 16. */
  maxElements?: number;
  /** Significant digits of the numbers written. Default 4. */
  precision?: number;
}

/** One term of a chain-rule sum: the gradient that reaches `of` through one input slot of `via`. */
export interface ChainTerm {
  /** Id of the consuming tensor. */
  via: string;
  /** Which input of `via` this is (an op can use one tensor twice, as in x·x). */
  slot: number;
  /** ∂L/∂via, flat. */
  upstream: number[];
  /** ∂via/∂of as a Jacobian: one row per element of `via`, one column per element of `of`. */
  local: number[][];
  /** upstream · local, flat in the shape of `of`. */
  product: number[];
}

export interface ExplainStep {
  id: string;
  /** The name given to the tensor, or its id. */
  label: string;
  op: string | null;
  /** Ids of the op's inputs (empty for leaves and constants). */
  inputs: string[];
  shape: readonly number[];
  value: number[];
  requiresGrad: boolean;
  /** ∂L/∂t, flat; undefined for tensors that do not require grad. */
  grad: number[] | undefined;
  /** The chain-rule terms that sum to `grad` (empty for L itself, whose gradient is the seed 1). */
  terms: ChainTerm[];
}

export interface Explanation {
  /** Inputs before the tensors made from them; the loss last. */
  steps: ExplainStep[];
  /** The forward table and the backward derivation, as Markdown. */
  markdown: string;
  /** Graphviz DOT: forward values above each node, gradients below, local derivatives on the edges. */
  dot: string;
  /** The DOT graph laid out and drawn by Graphviz. */
  svg(): Promise<string>;
}

const flat = (t: Tensor): number[] => Array.from(t.data, Number);

/**
 * The chain rule through the graph of the scalar `loss`, with numbers. The graph must still hold
 * its saved tensors: call it before `backward()`, or after `backward({ retainGraph: true })`.
 * @example
 * const w = tensor(2, { requiresGrad: true, name: 'w' }); const L = w.mul(3).pow(2); L.name = 'L';
 * console.log(inspect.explain(L).markdown); // ∂L/∂w = ∂L/∂t1 · ∂t1/∂w = 12 · 3 = 36
 */
export function explain(loss: Tensor, options: ExplainOptions = {}): Explanation {
  checkKeys('inspect.explain', options, ['maxElements', 'precision']);
  const maxElements = options.maxElements ?? 16, precision = options.precision ?? 4;
  if (!loss.requiresGrad) throw new ArgumentError('inspect.explain', 'the loss does not require grad and has no graph');
  if (loss.size !== 1) throw new ShapeError('inspect.explain', `the loss must have one element, got shape ${fmtShape(loss.shape)}`);
  const order = postOrder(loss); // the same order, hence the same ids, as inspect.graph
  const ids = new Map(order.map((t, i) => [t, `t${i}`]));
  for (const t of order) {
    if (t.size > maxElements) {
      throw new ArgumentError('inspect.explain', `tensor ${t.name ?? ids.get(t)} of shape ${fmtShape(t.shape)} has more than maxElements = ${maxElements} elements; explain is for small graphs (inspect.graph draws large ones)`);
    }
    if (t.gradFn?.released) {
      throw new ArgumentError('inspect.explain', `the graph through '${t.gradFn.op}' was freed by backward(); call explain before backward, or use backward({ retainGraph: true })`);
    }
  }
  const steps = new Map<Tensor, ExplainStep>(order.map((t) => [t, {
    id: ids.get(t)!, label: t.name ?? ids.get(t)!, op: t.gradFn?.op ?? null,
    inputs: (t.gradFn?.inputs ?? []).map((i) => ids.get(i)!), shape: t.shape, value: flat(t),
    requiresGrad: t.requiresGrad, grad: undefined, terms: [],
  }]));
  noGrad(() => {
    // Reverse topological order: a tensor's gradient is complete before its inputs are visited.
    const grads = new Map<Tensor, Tensor>([[loss, zerosLike(loss).add(1)]]);
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i], g = grads.get(t);
      if (!t.requiresGrad || !g) continue;
      steps.get(t)!.grad = flat(g);
      const node = t.gradFn;
      if (!node) continue;
      const toInput = (gs: readonly (Tensor | null)[], k: number): Tensor => {
        const input = node.inputs[k], gk = gs[k] ?? zerosLike(input);
        return sameShape(gk.shape, input.shape) ? gk : sumTo(gk, input.shape);
      };
      const products = node.apply(g);
      const rows = Array.from({ length: t.size }, (_, r) => {
        const unit = zerosLike(t);
        unit.data[r] = 1;
        return node.apply(unit);
      });
      node.inputs.forEach((input, k) => {
        if (!input.requiresGrad) return;
        const product = toInput(products, k);
        steps.get(input)!.terms.push({
          via: ids.get(t)!, slot: k, upstream: flat(g), product: flat(product),
          local: rows.map((row) => flat(toInput(row, k))),
        });
        const prev = grads.get(input);
        grads.set(input, prev ? prev.add(product) : product);
      });
    }
  });
  const list = order.map((t) => steps.get(t)!);
  const dot = toDot(list, precision);
  return { steps: list, markdown: toMarkdown(list, precision), dot, svg: () => renderSvg(dot) };
}

function fmtNumber(v: number, precision: number): string {
  return String(Number(v.toPrecision(precision))).replace('-', '−');
}

/** A scalar as a number, anything else as a (nested) bracketed list. */
function fmtValues(v: number[] | number[][], precision: number, scalar: boolean): string {
  const one = (x: number[]) => (x.length === 1 && scalar ? fmtNumber(x[0], precision) : `[${x.map((n) => fmtNumber(n, precision)).join(', ')}]`);
  if (typeof v[0] === 'number') return one(v as number[]);
  const rows = v as number[][];
  return rows.length === 1 && rows[0].length === 1 && scalar ? fmtNumber(rows[0][0], precision) : `[${rows.map((r) => one(r)).join(', ')}]`;
}

/** A factor in a product: negative numbers in parentheses, so "(−2) · 2" reads unambiguously. */
const factor = (s: string) => (s.startsWith('−') ? `(${s})` : s);

function toMarkdown(steps: ExplainStep[], precision: number): string {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const loss = steps[steps.length - 1];
  const d = (s: ExplainStep) => `∂${loss.label}/∂${s.label}`;
  const isScalar = (s: ExplainStep) => s.value.length === 1;
  const lines = ['## Forward pass', '', '| tensor | computed as | value |', '|---|---|---|'];
  for (const s of steps) {
    const how = s.op ? `${s.op}(${s.inputs.map((i) => byId.get(i)!.label).join(', ')})` : s.requiresGrad ? 'parameter' : 'constant';
    lines.push(`| ${s.label} | ${how} | ${fmtValues(s.value, precision, isScalar(s))} |`);
  }
  lines.push('', `## Backward pass, from ${loss.label} back to the leaves`, '');
  lines.push(`- ${d(loss)} = 1 (the seed)`);
  for (let i = steps.length - 2; i >= 0; i--) {
    const s = steps[i];
    if (!s.grad) continue;
    const symbolic = s.terms.map((c) => `${d(byId.get(c.via)!)} · ∂${byId.get(c.via)!.label}/∂${s.label}`);
    const numeric = s.terms.map((c) => {
      const via = byId.get(c.via)!;
      return `${factor(fmtValues(c.upstream, precision, isScalar(via)))} · ${factor(fmtValues(c.local, precision, isScalar(via) && isScalar(s)))}`;
    });
    const parts = [symbolic.join(' + '), numeric.join(' + ')];
    if (s.terms.length > 1) parts.push(s.terms.map((c) => factor(fmtValues(c.product, precision, isScalar(s)))).join(' + '));
    lines.push(`- ${d(s)} = ${parts.join(' = ')} = **${fmtValues(s.grad, precision, isScalar(s))}**`);
  }
  return lines.join('\n') + '\n';
}

function toDot(steps: ExplainStep[], precision: number): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const loss = steps[steps.length - 1];
  const lines = ['digraph explain {', '  rankdir=TB;', '  node [fontname="Helvetica", fontsize=11, shape=plaintext];', '  edge [fontname="Helvetica", fontsize=9, fontcolor="#555555"];'];
  for (const s of steps) {
    // Parameters green, constants grey, op results blue, as in inspect.graph.
    const fill = s.op ? '#dbe9f6' : s.requiresGrad ? '#d5f0d5' : '#eeeeee';
    const title = s.op ? (s.label === s.id ? s.op : `${s.label} = ${s.op}`) : s.label;
    const scalar = s.value.length === 1;
    const value = `<TR><TD BORDER="0"><FONT COLOR="#1f5fa8">${esc(fmtValues(s.value, precision, scalar))}</FONT></TD></TR>`;
    const grad = s.grad ? `<TR><TD BORDER="0"><FONT COLOR="#b02a2a">∂${esc(loss.label)}/∂· = ${esc(fmtValues(s.grad, precision, scalar))}</FONT></TD></TR>` : '';
    const border = s === loss ? ' BORDER="2"' : '';
    lines.push(`  ${s.id} [label=<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4">${value}<TR><TD BGCOLOR="${fill}"${border}>${esc(title)}</TD></TR>${grad}</TABLE>>];`);
  }
  const byId = new Map(steps.map((s) => [s.id, s]));
  for (const s of steps) {
    s.inputs.forEach((input, k) => {
      const term = byId.get(input)!.terms.find((c) => c.via === s.id && c.slot === k);
      const label = term ? ` [label="local ${fmtValues(term.local, precision, term.local.length === 1 && term.local[0].length === 1).replace(/"/g, '\\"')}"]` : '';
      lines.push(`  ${input} -> ${s.id}${label};`);
    });
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}
