/**
 * The README's training example: a small CNN learns which quadrant of a random 12×12 image is the
 * brightest. Prints the loss every 10 steps; the loss goes down.
 *
 *   npx tsx examples/train-small.ts
 */
import { pathToFileURL } from 'node:url';
import { manualSeed, nn, optim, rand, noGrad, type Tensor } from '../src/index.js';

/** Trains for `steps` steps and returns the loss of each step. */
export function trainSmall(steps = 60, log: (s: string) => void = () => {}): number[] {
  manualSeed(0);
  const model = new nn.Sequential(
    new nn.Conv2d(1, 8, 3, { padding: 1 }), new nn.BatchNorm2d(8), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Conv2d(8, 16, 3, { padding: 1 }), new nn.ReLU(), new nn.AdaptiveAvgPool2d(2),
    new nn.Flatten(), new nn.Linear(64, 4));
  const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true });
  const sched = new optim.CosineAnnealingLR(opt, { tMax: steps });
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const x = rand([32, 1, 12, 12]);
    const target = brightestQuadrant(x);                     // int32 labels in 0..3
    const loss = nn.functional.crossEntropy(model.forward(x), target);
    opt.zeroGrad();
    loss.backward();
    opt.step();
    sched.step();
    losses.push(loss.item());
    if (step % 10 === 0) log(`step ${step}: loss ${loss.item().toFixed(3)}`);
  }
  return losses;
}

function brightestQuadrant(x: Tensor): Tensor {
  return noGrad(() => {
    const q = nn.functional.avgPool2d(x, 6).flatten(1);      // [N, 4] quadrant means
    return q.argmax(1);
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) trainSmall(60, console.log);
