/**
 * `npm run bench [-- W1 W2 ...]`: the workloads of the shared benchmark (../shared/bench/WORKLOADS.md)
 * that pixelgrad can run, one JSON line per case on stdout in the peers' protocol, so the shared
 * runner can put pixelgrad in the same table. Inputs for W2/W3 come from the harness's data/ folder.
 * Runs on the package's default backend: native (else WebAssembly SIMD) on every hardware thread
 * (PIXELGRAD_THREADS to change), or the one PIXELGRAD_BACKEND=native|wasm|js names; every line's
 * `info` says which (backend, instruction set, threads, Node version).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Generator, Tensor, matmul, models, nn, noGrad, optim, rand, randint } from '../src/index.js';
import { emit, measure, median, seconds } from './protocol.js';
import { dataDir, readBundle } from './bundle.js';
import { w5 } from './w5.js';
import { w7 } from './w7.js';

const QUICK = process.env.PEER_BENCH_QUICK === '1';
const TRAIN_BUDGET_S = Number(process.env.PEER_BENCH_TRAIN_BUDGET_S ?? (QUICK ? 20 : 60));

function guarded(workload: string, caseName: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    emit({ workload, case: caseName, error: String((err as Error).message ?? err) });
  }
}

/** W1: C[M,N] = A[M,K]·B[K,N], row-major fp32, A and B uniform in [0, 1). */
function w1(): void {
  const g = new Generator(0);
  const cases: [string, number, number, number][] = [['gemm_256', 256, 256, 256], ['gemm_512', 512, 512, 512], ['gemm_1024', 1024, 1024, 1024], ['gemm_lenet_conv2_im2col_b64', 64 * 8 * 8, 6 * 5 * 5, 16]];
  for (const [name, M, K, N] of cases) {
    guarded('W1', name, () => {
      const a = rand([M, K], { generator: g }), b = rand([K, N], { generator: g });
      const m = measure(() => { matmul(a, b); }, (2 * M * N * K) / 1e9);
      emit({ workload: 'W1', case: name, metric: 'gflops', unit: 'GFLOP/s', higher_is_better: true, ...m, shape: [M, K, N] });
    });
  }
}

/** LeNet-5 with the benchmark's initial weights. */
function lenetFromBundle(): nn.Module {
  const model = models.lenet5();
  model.loadStateDict(readBundle('lenet5_init'));
  return model;
}

/** W2: LeNet-5 training, 3 epochs of 125 batches of 64 in the bundle's permutations, SGD 0.05/0.9. */
function w2(): void {
  guarded('W2', 'lenet5_mnist_train', () => {
    const d = readBundle('mnist_8k2k');
    const model = lenetFromBundle();
    const opt = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
    const bs = 64, n = d.train_x.shape[0];
    const epochs = QUICK ? 1 : 3, batches = QUICK ? 20 : Math.floor(n / bs);
    const epochIps: number[] = [], epochLoss: number[] = [];
    let firstLoss: number | null = null, budgetHit = false, done = 0, warmStart = 0;
    const start = seconds();
    model.train();
    for (let e = 0; e < epochs && !budgetHit; e++) {
      const perm = d.epoch_perm.data.subarray(e * n, (e + 1) * n);
      const t0 = seconds();
      let total = 0, b = 0;
      for (; b < batches; b++) {
        const index = new Tensor(perm.slice(b * bs, (b + 1) * bs), [bs]);
        const x = d.train_x.indexSelect(0, index), y = d.train_y.indexSelect(0, index);
        const loss = nn.functional.crossEntropy(model.forward(x), y);
        opt.zeroGrad();
        loss.backward();
        opt.step();
        const l = loss.item();
        firstLoss ??= l;
        total += l;
        if (++done === 2) warmStart = seconds();
        if (TRAIN_BUDGET_S > 0 && seconds() - start > TRAIN_BUDGET_S) { budgetHit = true; b++; break; }
      }
      epochIps.push((b * bs) / (seconds() - t0));
      epochLoss.push(total / b);
      process.stderr.write(`epoch ${e}: ${epochIps[epochIps.length - 1].toFixed(0)} img/s loss ${epochLoss[epochLoss.length - 1].toFixed(4)}\n`);
    }
    let accuracy: number | null = null;
    if (!budgetHit) {
      model.eval();
      accuracy = noGrad(() => {
        let correct = 0;
        for (let i = 0; i < d.test_x.shape[0]; i += 500) {
          const idx = new Tensor(Int32Array.from({ length: 500 }, (_, k) => i + k), [500]);
          const pred = model.forward(d.test_x.indexSelect(0, idx)).argmax(1);
          const y = d.test_y.indexSelect(0, idx);
          for (let k = 0; k < 500; k++) if (pred.data[k] === y.data[k]) correct++;
        }
        return correct / d.test_x.shape[0];
      });
    }
    const value = budgetHit ? ((done - 2) * bs) / (seconds() - warmStart) : median(epochIps);
    emit({
      workload: 'W2', case: 'lenet5_mnist_train', metric: 'train_images_per_s', unit: 'img/s', higher_is_better: true, value,
      samples: epochIps, epoch_loss: epochLoss, first_batch_loss: firstLoss, test_accuracy: accuracy, budget_limited: budgetHit,
      self_peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    });
  });
}

/** W3: LeNet-5 inference on the first 256 test digits; logits written for the runner's comparison. */
function w3(): void {
  guarded('W3', 'lenet5_infer_b256', () => {
    const d = readBundle('mnist_8k2k');
    const x = d.test_x.narrow(0, 0, 256);
    const model = lenetFromBundle().eval();
    noGrad(() => {
      const logits = model.forward(x);
      const raw = join(dataDir(), '..', 'results', 'raw');
      mkdirSync(raw, { recursive: true });
      writeFileSync(join(raw, `W3_logits_${process.env.PEER_ID ?? 'pixelgrad'}.f32`), new Uint8Array(logits.data.buffer, logits.data.byteOffset, logits.data.byteLength));
      const m = measure(() => { model.forward(x); }, 256);
      emit({ workload: 'W3', case: 'lenet5_infer_b256', metric: 'images_per_s', unit: 'img/s', higher_is_better: true, ...m, logits_sum: logits.sum().item() });
    });
  });
}

/** A training step (forward, mean CE, backward, SGD 0.9 momentum) on one fixed batch, measured. */
function trainStepBench(workload: string, caseName: string, model: nn.Module, x: Tensor, y: Tensor, lr: number): void {
  const opt = new optim.SGD(model.parameters(), { lr, momentum: 0.9 });
  model.train();
  const step = () => {
    const loss = nn.functional.crossEntropy(model.forward(x), y);
    opt.zeroGrad();
    loss.backward();
    opt.step();
    return loss;
  };
  const first = step().item();
  const m = measure(() => { step(); }, x.shape[0]);
  emit({ workload, case: caseName, metric: 'train_images_per_s', unit: 'img/s', higher_is_better: true, ...m, first_step_loss: first });
}

/** W4: CIFAR-shaped CNN with BatchNorm, batch 32 of random 3×32×32 images. */
function w4(): void {
  guarded('W4', 'cifar_cnn_bn_train_b32', () => {
    const g = new Generator(0);
    const block = (i: number, o: number) => [new nn.Conv2d(i, o, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(o), new nn.ReLU()];
    const model = new nn.Sequential(...block(3, 32), ...block(32, 32), new nn.MaxPool2d(2), ...block(32, 64), ...block(64, 64), new nn.MaxPool2d(2),
      new nn.AdaptiveAvgPool2d(1), new nn.Flatten(), new nn.Linear(64, 10));
    trainStepBench('W4', 'cifar_cnn_bn_train_b32', model, rand([32, 3, 32, 32], { generator: g }), randint(0, 10, [32], { generator: g }), 0.01);
  });
}

/** W6: the 3-level U-Net (16-32-64) on 8 random 64×64 images; target = pixel > 0.5. */
function w6(): void {
  guarded('W6', 'unet3_64px_train_b8', () => {
    const x = rand([8, 1, 64, 64], { generator: new Generator(0) });
    const y = x.squeeze(1).gt(0.5);
    trainStepBench('W6', 'unet3_64px_train_b8', models.unet(), x, y, 0.01);
  });
}

const WORKLOADS: Record<string, () => void> = { W1: w1, W2: w2, W3: w3, W4: w4, W5: () => w5(), W6: w6, W7: w7 };

// Workload ids, without options and the value of --cases (W5's case list, as the peers take it).
const requested = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--cases');
for (const id of requested.length ? requested : Object.keys(WORKLOADS)) {
  if (WORKLOADS[id]) WORKLOADS[id]();
  else { console.error(`bench: unknown workload '${id}' (known: ${Object.keys(WORKLOADS).join(', ')})`); process.exitCode = 2; }
}
