/**
 * W7 of the shared benchmark (WORKLOADS.md): one training step of a 1-layer LSTM over image rows —
 * batch 64 of 28 steps × 28 features (x uniform [0, 1), labels uniform 0..9, the same batch every
 * step), LSTM 28 → 128 (PyTorch gate order and initialisation), the last step's hidden state →
 * Linear 128 → 10, mean softmax cross-entropy, backward, SGD lr 0.01 momentum 0.9.
 * Metric `train_images_per_s` (sequences/s), case `lstm_rows_train_b64`, with the throughput protocol.
 */
import { Generator, manualSeed, narrow, nn, optim, rand, randint, reshape } from '../src/index.js';
import { LSTM } from '../src/nn/layers/recurrent.js';
import { emit, info, measure } from './protocol.js';


const BATCH = 64, STEPS = 28, FEATURES = 28, HIDDEN = 128, CLASSES = 10;

/** The W7 model and one training step on a fixed batch; returns the step function (for tests too). */
export function w7Step(batch = BATCH): { step: () => number; model: { lstm: LSTM; fc: nn.Linear } } {
  manualSeed(0);
  const g = new Generator(0);
  const x = rand([batch, STEPS, FEATURES], { generator: g });
  const y = randint(0, CLASSES, [batch], { generator: g });
  const lstm = new LSTM(FEATURES, HIDDEN, { batchFirst: true });
  const fc = new nn.Linear(HIDDEN, CLASSES);
  const opt = new optim.SGD([...lstm.parameters(), ...fc.parameters()], { lr: 0.01, momentum: 0.9 });
  const step = (): number => {
    const [, [hN]] = lstm.forward(x);
    const logits = fc.forward(reshape(narrow(hN, 0, 0, 1), [batch, HIDDEN]));
    const loss = nn.functional.crossEntropy(logits, y);
    opt.zeroGrad();
    loss.backward();
    opt.step();
    return loss.item();
  };
  return { step, model: { lstm, fc } };
}

/**
 * W7: training sequences per second of the row LSTM at batch 64, on the current backend (bench/run.ts
 * selects the fastest one first).
 */
export function w7(): void {
  const name = 'lstm_rows_train_b64';
  try {
    const { step } = w7Step();
    const first = step();
    const m = measure(() => { step(); }, BATCH);
    emit({
      workload: 'W7', case: name, metric: 'train_images_per_s', unit: 'img/s', higher_is_better: true, ...m,
      first_step_loss: first, shape: [BATCH, STEPS, FEATURES, HIDDEN], info: info(),
    });
  } catch (err) {
    emit({ workload: 'W7', case: name, error: String((err as Error).message ?? err) });
  }
}
