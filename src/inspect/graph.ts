/**
 * The computational graph of a result, as data, Graphviz DOT, Mermaid and SVG. Every tensor that
 * took part is a node (leaves, constants and intermediate results), labelled with its name or the
 * op that made it, its shape, its values when small, and its gradient once backward has run.
 */
import { postOrder } from '../autograd/engine.js';
import { fmtShape } from '../errors.js';
import type { Tensor } from '../tensor.js';

export interface GraphOptions {
  /** Show values (and gradients) of tensors with at most this many elements. Default 6. */
  maxValues?: number;
  /** Significant digits of the values shown. Default 4. */
  precision?: number;
}

export interface GraphNode {
  id: string;
  /** The op that made the tensor; null for leaves and constants. */
  op: string | null;
  name: string | undefined;
  shape: readonly number[];
  requiresGrad: boolean;
  /** Values (flat) when the tensor is small enough. */
  value: number[] | undefined;
  /** The gradient (flat) when computed and small enough: leaves, and tensors with retainGrad(). */
  grad: number[] | undefined;
}

export interface ComputationalGraph {
  nodes: GraphNode[];
  /** [from, to] ids: an input of an op to the op's result. */
  edges: [string, string][];
  /** Graphviz DOT text. */
  dot: string;
  /** Mermaid flowchart text. */
  mermaid: string;
  /** The DOT graph laid out and drawn by Graphviz (compiled to WebAssembly). */
  svg(): Promise<string>;
}

/**
 * The graph that produced `root`.
 * @example
 * const y = x.mul(w).sum(); y.backward();
 * const g = inspect.graph(y); console.log(g.dot); const svg = await g.svg();
 */
export function graph(root: Tensor, options: GraphOptions = {}): ComputationalGraph {
  const maxValues = options.maxValues ?? 6, precision = options.precision ?? 4;
  const order = postOrder(root); // inputs first, so ids read in evaluation order
  const ids = new Map(order.map((t, i) => [t, `t${i}`]));
  const small = (t: Tensor | null) => (t && t.size <= maxValues ? Array.from(t.data, (v) => Number(v.toPrecision(precision))) : undefined);
  const nodes: GraphNode[] = order.map((t) => ({
    id: ids.get(t)!, op: t.gradFn?.op ?? null, name: t.name, shape: t.shape,
    requiresGrad: t.requiresGrad, value: small(t), grad: small(t.grad),
  }));
  const edges: [string, string][] = order.flatMap((t) => (t.gradFn?.inputs ?? []).map((i): [string, string] => [ids.get(i)!, ids.get(t)!]));
  const dot = toDot(nodes, edges);
  return { nodes, edges, dot, mermaid: toMermaid(nodes, edges), svg: () => renderSvg(dot) };
}

function labelLines(n: GraphNode): string[] {
  const fmt = (v: number[]) => (v.length === 1 && n.shape.length === 0 ? String(v[0]) : `[${v.join(', ')}]`);
  const title = n.op ? (n.name ? `${n.name} = ${n.op}` : n.op) : (n.name ?? (n.requiresGrad ? 'leaf' : 'const'));
  const lines = [title, `shape ${fmtShape(n.shape)}`];
  if (n.value) lines.push(`value ${fmt(n.value)}`);
  if (n.grad) lines.push(`grad ${fmt(n.grad)}`);
  return lines;
}

function toDot(nodes: GraphNode[], edges: [string, string][]): string {
  const rootId = nodes[nodes.length - 1].id;
  const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  const lines = ['digraph computation {', '  rankdir=TB;', '  node [fontname="Helvetica", fontsize=11, shape=box, style="rounded,filled"];'];
  for (const n of nodes) {
    // Parameters (leaves that require grad) green, constants grey, op results blue.
    const fill = n.op ? '#dbe9f6' : n.requiresGrad ? '#d5f0d5' : '#eeeeee';
    const pen = n.id === rootId ? ', penwidth=2' : '';
    lines.push(`  ${n.id} [label="${labelLines(n).map(esc).join('\\n')}", fillcolor="${fill}"${pen}];`);
  }
  for (const [a, b] of edges) lines.push(`  ${a} -> ${b};`);
  lines.push('}');
  return lines.join('\n') + '\n';
}

function toMermaid(nodes: GraphNode[], edges: [string, string][]): string {
  const esc = (s: string) => s.replace(/"/g, '#quot;');
  const lines = ['flowchart TB'];
  for (const n of nodes) lines.push(`  ${n.id}["${labelLines(n).map(esc).join('<br/>')}"]`);
  for (const [a, b] of edges) lines.push(`  ${a} --> ${b}`);
  lines.push('  classDef param fill:#d5f0d5;', '  classDef constant fill:#eeeeee;', '  classDef result fill:#dbe9f6;');
  const cls = (kind: string, pick: (n: GraphNode) => boolean) => {
    const ids = nodes.filter(pick).map((n) => n.id);
    if (ids.length) lines.push(`  class ${ids.join(',')} ${kind};`);
  };
  cls('param', (n) => !n.op && n.requiresGrad);
  cls('constant', (n) => !n.op && !n.requiresGrad);
  cls('result', (n) => n.op !== null);
  return lines.join('\n') + '\n';
}

let vizPromise: Promise<{ renderString(dot: string, options: { format: string }): string }> | null = null;

export async function renderSvg(dot: string): Promise<string> {
  // Loaded on first use: Graphviz in WebAssembly is about 1.5 MB and most programs never draw.
  vizPromise ??= import('@viz-js/viz').then((m) => m.instance());
  return (await vizPromise).renderString(dot, { format: 'svg' });
}
