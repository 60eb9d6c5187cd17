/** A table of a model's layers with their output shapes and parameter counts. */
import { zeros } from '../creation.js';
import { noGrad } from '../autograd/grad-mode.js';
import { fmtShape } from '../errors.js';
import type { Tensor } from '../tensor.js';
import type { Module } from './module.js';

export interface SummaryRow {
  /** Dotted path of the layer, e.g. 'features.0'. */
  name: string;
  type: string;
  outputShape: number[] | null;
  params: number;
  trainable: number;
}

export interface ModelSummary {
  rows: SummaryRow[];
  totalParams: number;
  trainableParams: number;
  /** The table as text. */
  toString(): string;
}

/**
 * Runs one forward pass on zeros of `inputShape` (in eval mode, without recording gradients) and
 * lists every leaf layer with its output shape and parameter count.
 * @example console.log(summary(models.lenet5(), [1, 1, 28, 28]).toString())
 */
export function summary(model: Module<[Tensor], Tensor>, inputShape: readonly number[]): ModelSummary {
  const rows: SummaryRow[] = [];
  const removers: (() => void)[] = [];
  for (const [name, m] of model.namedModules()) {
    if (m.children().length > 0) continue;
    const own = m.parameters({ recurse: false });
    const row: SummaryRow = {
      name: name || '(model)', type: m.constructor.name, outputShape: null,
      params: own.reduce((s, p) => s + p.size, 0), trainable: own.filter((p) => p.requiresGrad).reduce((s, p) => s + p.size, 0),
    };
    rows.push(row);
    removers.push(m.registerForwardHook((_m, _in, out) => { if (row.outputShape === null && isTensor(out)) row.outputShape = [...out.shape]; }));
  }
  const wasTraining = model.training;
  model.eval();
  try {
    noGrad(() => model.forward(zeros(inputShape)));
  } finally {
    removers.forEach((r) => r());
    model.train(wasTraining);
  }
  const all = model.parameters();
  const totalParams = all.reduce((s, p) => s + p.size, 0);
  const trainableParams = all.filter((p) => p.requiresGrad).reduce((s, p) => s + p.size, 0);
  return { rows, totalParams, trainableParams, toString: () => formatTable(rows, totalParams, trainableParams) };
}

function isTensor(x: unknown): x is Tensor {
  return typeof x === 'object' && x !== null && 'shape' in x && 'data' in x;
}

function formatTable(rows: SummaryRow[], total: number, trainable: number): string {
  const head = ['Layer', 'Type', 'Output shape', 'Params'];
  const body = rows.map((r) => [r.name, r.type, r.outputShape ? fmtShape(r.outputShape) : '-', r.params.toLocaleString('en-US')]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  const rule = '-'.repeat(widths.reduce((a, b) => a + b + 2, -2));
  return [line(head), rule, ...body.map(line), rule,
    `Total params: ${total.toLocaleString('en-US')}`, `Trainable params: ${trainable.toLocaleString('en-US')}`,
    `Non-trainable params: ${(total - trainable).toLocaleString('en-US')}`].join('\n');
}
