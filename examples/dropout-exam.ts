/**
 * The dropout exam question: a dense unit (no bias) with inputs x = (5, 1, 7, 2) and weights
 * w = (2, 1, 1, 2), inverted dropout p = 0.5 on its inputs. Every keep/drop mask is produced by the
 * library's `nn.Dropout` (drawn from a seeded generator until all 2⁴ have appeared) and pushed
 * through `nn.Linear`, so each number printed is computed, not worked by hand.
 *
 * Kept inputs are scaled by 1/(1 − p) = 2. Among the six masks that drop exactly half of the inputs
 * the output lies between 10 (only x2, x4 kept) and 34 (x1, x3 kept); over all sixteen it runs from 0
 * (all dropped) to 44 (all kept). At test time dropout is the identity: w·x = 22, which is also the
 * mean of the training outputs over the masks — the point of the 1/(1 − p) scale.
 *
 *   npx tsx examples/dropout-exam.ts
 */
import { pathToFileURL } from 'node:url';
import { ArgumentError } from '../src/errors.js';
import { Generator, nn, noGrad, tensor } from '../src/index.js';

export interface MaskOutput {
  /** 1 where the input was kept, 0 where dropout zeroed it. */
  mask: number[];
  /** The inputs after dropout (kept ones scaled by 1/(1 − p)). */
  dropped: number[];
  /** The unit's output w · dropped. */
  output: number;
}

export interface DropoutExam {
  /** Every mask, ordered as binary numbers with the first input most significant. */
  masks: MaskOutput[];
  /** The masks that drop exactly half of the inputs (the exam's reading of p = 0.5). */
  half: { largest: MaskOutput; smallest: MaskOutput };
  all: { largest: MaskOutput; smallest: MaskOutput };
  /** The output in eval mode (dropout off). */
  testTime: number;
  /** The mean training output over all masks (each equally likely at p = 0.5). */
  meanTraining: number;
}

/** Runs the exam's unit through every dropout mask; `maxDraws` bounds the search for masks. */
export function dropoutExam(x = [5, 1, 7, 2], w = [2, 1, 1, 2], p = 0.5, maxDraws = 10_000): DropoutExam {
  const unit = new nn.Linear(x.length, 1, { bias: false });
  noGrad(() => unit.weight.data.set(w));
  const dropout = new nn.Dropout(p, { generator: new Generator(0) });
  const input = tensor([x]);
  const run = (t: typeof input) => noGrad(() => unit.forward(t).item());
  const found = new Map<number, MaskOutput>();
  for (let draw = 0; draw < maxDraws && found.size < 2 ** x.length; draw++) {
    const dropped = noGrad(() => dropout.forward(input));
    const mask = Array.from(dropped.data, (v): number => (v === 0 ? 0 : 1));
    const key = mask.reduce((k, bit) => 2 * k + bit, 0);
    if (!found.has(key)) found.set(key, { mask, dropped: Array.from(dropped.data, Number), output: run(dropped) });
  }
  if (found.size < 2 ** x.length) throw new ArgumentError('dropoutExam', `only ${found.size} of ${2 ** x.length} masks appeared in ${maxDraws} draws (p = ${p})`);
  const masks = [...found.entries()].sort((a, b) => a[0] - b[0]).map(([, m]) => m);
  const extremes = (list: MaskOutput[]) => {
    const sorted = [...list].sort((a, b) => a.output - b.output);
    return { largest: sorted[sorted.length - 1], smallest: sorted[0] };
  };
  dropout.eval();
  return {
    masks,
    half: extremes(masks.filter((m) => 2 * m.mask.reduce((s, b) => s + b, 0) === x.length)),
    all: extremes(masks),
    testTime: run(dropout.forward(input)),
    meanTraining: masks.reduce((s, m) => s + m.output, 0) / masks.length,
  };
}

function main(): void {
  const exam = dropoutExam();
  const show = (m: MaskOutput) => `mask (${m.mask.join(', ')})  inputs after dropout (${m.dropped.join(', ')})  output ${m.output}`;
  console.log('Dense unit, x = (5, 1, 7, 2), w = (2, 1, 1, 2), inverted dropout p = 0.5 (kept inputs × 2):\n');
  for (const m of exam.masks) console.log(`  ${show(m)}`);
  console.log(`\nDropping exactly half of the inputs:\n  largest   ${show(exam.half.largest)}\n  smallest  ${show(exam.half.smallest)}`);
  console.log(`Over all masks: largest ${exam.all.largest.output}, smallest ${exam.all.smallest.output}`);
  console.log(`Test time (eval mode, dropout is the identity): ${exam.testTime}; mean training output over the masks: ${exam.meanTraining}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main();
