/**
 * One epoch of LeNet-5 training off the page's thread (SGD with Nesterov momentum, one-cycle
 * schedule, batches of 32). Here the wasm backend's thread pool may block on Atomics.wait, which a
 * page's main thread may not, and the page stays responsive. Receives the digits; posts
 * { step, steps, loss, acc } per step, then { done, stateDict, accuracyBefore, accuracy, seconds }.
 */
import * as pg from '../src/index.js';
import { StandardisedLeNet, accuracy, batchOf, toPlain } from './network.js';

export interface TrainRequest { train: { images: Float32Array; labels: Int32Array }; test: { images: Float32Array; labels: Int32Array }; n: number; threads?: number }

const BATCH = 32, LR = 0.05;

onmessage = async (event: MessageEvent<TrainRequest>) => {
  try {
    const { train, test, n, threads } = event.data;
    const info = threads ? await pg.useFastestBackend({ threads }) : pg.backendInfo();
    postMessage({ backend: info });
    pg.manualSeed(0);
    const net = new StandardisedLeNet();
    const accuracyBefore = accuracy(net, test.images, test.labels);
    const steps = Math.ceil(n / BATCH);
    const optimizer = new pg.optim.SGD(net.parameters(), { lr: LR, momentum: 0.9, nesterov: true });
    const schedule = new pg.optim.OneCycleLR(optimizer, { maxLr: LR, totalSteps: steps });
    const start = performance.now();
    for (let s = 0; s < steps; s++) {
      const { x, y } = batchOf(train.images, train.labels, s * BATCH, Math.min(n, (s + 1) * BATCH));
      optimizer.zeroGrad();
      const logits = net.forward(x), loss = pg.nn.functional.crossEntropy(logits, y);
      loss.backward();
      optimizer.step();
      schedule.step();
      const pred = pg.argmax(logits.detach(), 1).data;
      let right = 0;
      y.data.forEach((label, j) => { right += Number(pred[j]) === label ? 1 : 0; });
      postMessage({ step: s + 1, steps, loss: loss.item(), acc: right / y.size });
    }
    const seconds = (performance.now() - start) / 1000;
    postMessage({ done: true, stateDict: toPlain(net.stateDict()), accuracyBefore, accuracy: accuracy(net, test.images, test.labels), seconds, samples: n });
  } catch (err) {
    postMessage({ error: (err as Error).message });
  }
};

postMessage({ ready: true });
