/**
 * js vs wasm backend: GEMM GFLOP/s (the W1 shapes) and LeNet-5 training images/s (batch 64, SGD
 * with momentum, 1×28×28 inputs). Not part of the tests.
 *
 *   npx tsx bench/wasm-compare.ts [gemm] [lenet] [--quick]
 *
 * Each figure is the median of several timed repeats after a warm-up (wall clock; the machine may
 * be shared, so the best repeat is printed too).
 */
import { Generator, matmul, models, nn, optim, rand, randint, randn, manualSeed, setBackend } from '../src/index.js';
import { registerWasmBackend } from '../src/backend/wasm/index.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const want = (name: string) => !args.some((a) => !a.startsWith('--')) || args.includes(name);
const now = () => performance.now() / 1000;

function timeIt(fn: () => void, work: number, minSeconds = quick ? 0.2 : 0.5, repeats = quick ? 3 : 7): { median: number; best: number } {
  const start = now();
  let calls = 0;
  while (calls < 2 || now() - start < minSeconds / 2) { fn(); calls++; } // warm-up
  const per = (now() - start) / calls;
  const k = Math.max(1, Math.ceil(minSeconds / 2 / per));
  const rates: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t = now();
    for (let i = 0; i < k; i++) fn();
    rates.push((work * k) / (now() - t));
  }
  rates.sort((a, b) => a - b);
  return { median: rates[rates.length >> 1], best: rates[rates.length - 1] };
}

await registerWasmBackend();
const backends = ['js', 'wasm'];

if (want('gemm')) {
  const cases: [string, number, number, number][] = [
    ['gemm_256', 256, 256, 256], ['gemm_512', 512, 512, 512], ['gemm_1024', 1024, 1024, 1024],
    ['lenet_im2col (4096x150x16)', 4096, 150, 16],
  ];
  console.log('GEMM, GFLOP/s (median / best)');
  for (const [name, M, K, N] of cases) {
    const g = new Generator(0);
    const a = rand([M, K], { generator: g }), b = rand([K, N], { generator: g });
    const row = [name.padEnd(28)];
    for (const be of backends) {
      setBackend(be);
      const r = timeIt(() => { matmul(a, b); }, (2 * M * N * K) / 1e9);
      row.push(`${be} ${r.median.toFixed(2).padStart(6)} / ${r.best.toFixed(2).padStart(6)}`);
    }
    console.log(row.join('   '));
  }
}

if (want('lenet')) {
  console.log('LeNet-5 training, batch 64, SGD momentum 0.9: images/s (median / best)');
  const row = ['lenet5_train_b64'.padEnd(28)];
  for (const be of backends) {
    setBackend(be);
    manualSeed(0);
    const model = new models.LeNet5();
    const opt = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
    const x = randn([64, 1, 28, 28]), y = randint(0, 10, [64]);
    const step = () => {
      const loss = nn.functional.crossEntropy(model.forward(x), y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
    };
    const r = timeIt(step, 64, quick ? 1 : 3, quick ? 3 : 5);
    row.push(`${be} ${r.median.toFixed(0).padStart(6)} / ${r.best.toFixed(0).padStart(6)}`);
  }
  console.log(row.join('   '));
}
setBackend('js');
