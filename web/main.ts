/**
 * The workbench page: the core package running in the tab. Draw a digit and see LeNet-5's answer
 * with its saliency and Grad-CAM; push it with FGSM; train a LeNet-5 for one epoch in a Web Worker
 * (train-worker.ts) with a live learning curve; watch t-SNE map the test digits in another
 * (tsne-worker.ts). Query parameters: ?train=n (training digits), ?tsne=n and ?tsneIter=n (the
 * map), ?threads=n (the wasm backend's threads). The starting network is the
 * zoo's LeNet-5 trained on the same digits (its weights are checked against the zoo's SHA-256).
 * `window.workbench` exposes the state for the browser test.
 */
import * as pg from '../src/index.js';
import zooUrl from '../zoo/lenet5-mnist.safetensors?url';
import { decodeDigits, type DigitSet } from './digits-format.js';
import { mnistLike } from './preprocess.js';
import { StandardisedLeNet, fromPlain, type PlainStateDict } from './network.js';
import type { TrainRequest } from './train-worker.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const state = {
  ready: false,
  backend: pg.backendInfo(),
  prediction: null as number | null,
  heatmaps: 0,
  adversarialPrediction: null as number | null,
  trainingBackend: null as pg.BackendInfo | null,
  training: null as null | { accuracyBefore: number; accuracy: number; seconds: number; samples: number },
  tsne: null as null | { n: number; iterations: number; kl: number | null; embedding: number[] },
  errors: [] as string[],
};
(window as unknown as { workbench: typeof state }).workbench = state;

let model: pg.nn.Module<[pg.Tensor], pg.Tensor>;
let digits: { train: DigitSet; test: DigitSet };
let current: Float32Array | null = null;

// ---------------------------------------------------------------- pictures

/** Paints an image [1 or 3, H, W] in [0, 1] onto a canvas, scaled up with crisp pixels. */
function paint(canvas: HTMLCanvasElement, image: pg.Tensor): void {
  const [c, h, w] = image.shape, plane = h * w, px = new ImageData(w, h);
  for (let j = 0; j < plane; j++) {
    for (let k = 0; k < 3; k++) px.data[4 * j + k] = Math.round(255 * Math.min(Math.max(image.data[(c === 1 ? 0 : k) * plane + j], 0), 1));
    px.data[4 * j + 3] = 255;
  }
  const tmp = new OffscreenCanvas(w, h);
  tmp.getContext('2d')!.putImageData(px, 0, 0);
  const ctx = canvas.getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tmp, 0, 0, canvas.width, canvas.height);
}

const asBatch = (pixels: Float32Array) => new pg.Tensor(pixels, [1, 1, 28, 28]);

function predict(x: pg.Tensor): Float32Array {
  return pg.noGrad(() => pg.softmax(model.forward(x), 1)).data as Float32Array;
}
const top = (p: ArrayLike<number>) => Array.from(p).reduce((best, v, i, a) => (v > a[best] ? i : best), 0);

function showBars(p: Float32Array): void {
  $('bars').replaceChildren(...Array.from(p).flatMap((v, i) => {
    const label = document.createElement('span'), bar = document.createElement('div'), value = document.createElement('span');
    label.textContent = String(i);
    bar.className = 'bar';
    bar.style.width = `${(100 * v).toFixed(1)}%`;
    value.textContent = `${(100 * v).toFixed(1)}%`;
    return [label, bar, value];
  }));
}

/** Prediction, saliency and Grad-CAM of the current digit, then the attack at the slider's ε. */
function analyse(): void {
  if (!current) return;
  const x = asBatch(current);
  const p = predict(x), cls = top(p);
  state.prediction = cls;
  $('prediction').textContent = `${cls} (${(100 * p[cls]).toFixed(1)}%)`;
  showBars(p);
  const image = x.reshape([1, 28, 28]);
  paint($('input28'), image);
  const sal = pg.explain.saliency(model, x, cls).reshape([1, 28, 28]);
  paint($('saliency'), pg.viz.applyColormap(pg.viz.normalizeMap(pg.viz.channelMap(sal))));
  const cam = pg.explain.gradCam(model, x, cls).reshape([1, 28, 28]);
  paint($('gradcam'), pg.viz.overlayHeatmap(image, pg.viz.applyColormap(pg.viz.normalizeMap(cam)), 0.6));
  state.heatmaps++;
  attack();
}

function attack(): void {
  if (!current || state.prediction === null) return;
  const eps = Number(($('eps') as HTMLInputElement).value);
  $('eps-value').textContent = eps.toFixed(2);
  const x = asBatch(current);
  // Untargeted FGSM against the network's own answer: how far ε must go before it changes its mind.
  const adv = pg.attack.fgsm(model, x, new pg.Tensor(Int32Array.of(state.prediction), [1]), { eps });
  const p = predict(adv), cls = top(p);
  state.adversarialPrediction = cls;
  $('adv-prediction').textContent = `${cls} (${(100 * p[cls]).toFixed(1)}%)${cls !== state.prediction ? ' — flipped' : ''}`;
  paint($('adversarial'), adv.reshape([1, 28, 28]));
  const delta = pg.sub(adv, x).reshape([1, 28, 28]);
  paint($('perturbation'), pg.viz.applyColormap(pg.viz.normalizeMap(delta, { signed: true, percentile: 100 }), 'coolwarm'));
}

// ---------------------------------------------------------------- drawing

function setUpPad(): void {
  const pad = $<HTMLCanvasElement>('pad'), ctx = pad.getContext('2d', { willReadFrequently: true })!;
  const clear = () => { ctx.fillStyle = 'black'; ctx.fillRect(0, 0, pad.width, pad.height); };
  clear();
  let last: [number, number] | null = null;
  const at = (e: PointerEvent): [number, number] => {
    const r = pad.getBoundingClientRect();
    return [(e.clientX - r.left) * pad.width / r.width, (e.clientY - r.top) * pad.height / r.height];
  };
  const readInk = () => {
    const { data } = ctx.getImageData(0, 0, pad.width, pad.height);
    const ink = new Float32Array(pad.width * pad.height);
    for (let j = 0; j < ink.length; j++) ink[j] = data[4 * j] / 255;
    current = mnistLike(ink, pad.width, pad.height);
    analyse();
  };
  pad.addEventListener('pointerdown', (e) => { pad.setPointerCapture(e.pointerId); last = at(e); });
  pad.addEventListener('pointermove', (e) => {
    if (!last) return;
    const p = at(e);
    ctx.strokeStyle = 'white'; ctx.lineWidth = 22; ctx.lineCap = 'round';
    ctx.beginPath(); ctx.moveTo(...last); ctx.lineTo(...p); ctx.stroke();
    last = p;
  });
  const end = () => { if (last) { last = null; readInk(); } };
  pad.addEventListener('pointerup', end);
  pad.addEventListener('pointercancel', end);
  $('clear').addEventListener('click', () => { clear(); current = null; state.prediction = null; $('prediction').textContent = '–'; });
  $('sample').addEventListener('click', () => {
    const i = Math.floor(Math.random() * digits.test.count);
    current = digits.test.images.slice(i * 784, (i + 1) * 784);
    analyse();
  });
  $('eps').addEventListener('input', attack);
}

// ---------------------------------------------------------------- training

function drawCurve(points: { step: number; loss: number; acc: number }[], total: number): void {
  const c = $<HTMLCanvasElement>('curve'), ctx = c.getContext('2d')!, m = 30;
  ctx.clearRect(0, 0, c.width, c.height);
  ctx.strokeStyle = '#999'; ctx.strokeRect(m, 5, c.width - m - 5, c.height - m);
  const X = (s: number) => m + (c.width - m - 5) * s / total, Y = (v: number) => 5 + (c.height - m) * (1 - v);
  const line = (colour: string, value: (p: (typeof points)[number]) => number) => {
    ctx.strokeStyle = colour; ctx.beginPath();
    points.forEach((p, i) => (i ? ctx.lineTo(X(p.step), Y(value(p))) : ctx.moveTo(X(p.step), Y(value(p)))));
    ctx.stroke();
  };
  line('#e53935', (p) => Math.min(p.loss / 2.5, 1));
  line('#1e88e5', (p) => p.acc);
  ctx.fillStyle = '#333'; ctx.font = '11px sans-serif';
  ctx.fillText('loss/2.5 (red), batch accuracy (blue), over training steps', m + 4, c.height - 8);
  ctx.fillText('1', m - 12, Y(1) + 8);
  ctx.fillText('0', m - 12, Y(0));
  ctx.fillText(String(total), c.width - 30, c.height - 8);
}

function trainInTab(): void {
  const button = $<HTMLButtonElement>('train');
  button.disabled = true;
  const n = Math.min(Number(params.get('train') ?? digits.train.count), digits.train.count);
  const points: { step: number; loss: number; acc: number }[] = [];
  const threads = params.has('threads') ? Number(params.get('threads')) : undefined;
  const worker = new Worker(new URL('./train-worker.ts', import.meta.url), { type: 'module' });
  const stop = (message?: string) => {
    worker.terminate();
    button.disabled = false;
    if (message) fail(new Error(message));
  };
  worker.onmessage = (e: MessageEvent<TrainMessage>) => {
    const m = e.data;
    if ('error' in m) { stop(`training: ${m.error}`); return; }
    if ('ready' in m) {
      worker.postMessage({ train: { images: digits.train.images, labels: digits.train.labels }, test: { images: digits.test.images, labels: digits.test.labels }, n, threads } satisfies TrainRequest);
      return;
    }
    if ('backend' in m) { state.trainingBackend = m.backend; return; }
    if ('step' in m) {
      points.push(m);
      if (m.step % 5 === 0 || m.step === m.steps) {
        drawCurve(points, m.steps);
        $('train-result').textContent = `step ${m.step}/${m.steps}, loss ${m.loss.toFixed(3)}`;
      }
      return;
    }
    const net = new StandardisedLeNet();
    net.loadStateDict(fromPlain(m.stateDict));
    model = net;
    const { accuracyBefore, accuracy, seconds, samples } = m;
    state.training = { accuracyBefore, accuracy, seconds, samples };
    $('train-result').textContent = `${samples} digits in ${seconds.toFixed(1)} s on a worker; test accuracy ${(100 * accuracyBefore).toFixed(1)}% → ${(100 * accuracy).toFixed(1)}% (the digit above is now judged by this network)`;
    stop();
    analyse();
  };
  worker.onerror = (e) => stop(`training worker: ${e.message}`);
}

type TrainMessage =
  | { error: string }
  | { ready: true }
  | { backend: pg.BackendInfo }
  | { step: number; steps: number; loss: number; acc: number }
  | { done: true; stateDict: PlainStateDict; accuracyBefore: number; accuracy: number; seconds: number; samples: number };

// ---------------------------------------------------------------- t-SNE

/** matplotlib's tab10: ten classes told apart at a glance. */
const TAB10 = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

function drawMap(embedding: Float32Array, labels: Int32Array): void {
  const c = $<HTMLCanvasElement>('map'), ctx = c.getContext('2d')!, n = labels.length;
  let lo = [Infinity, Infinity], hi = [-Infinity, -Infinity];
  for (let i = 0; i < n; i++) for (const k of [0, 1]) { lo[k] = Math.min(lo[k], embedding[2 * i + k]); hi[k] = Math.max(hi[k], embedding[2 * i + k]); }
  const span = Math.max(hi[0] - lo[0], hi[1] - lo[1]) || 1;
  ctx.fillStyle = 'white'; ctx.fillRect(0, 0, c.width, c.height);
  ctx.font = 'bold 11px sans-serif'; ctx.textAlign = 'center'; ctx.textBaseline = 'middle';
  for (let i = 0; i < n; i++) {
    ctx.fillStyle = TAB10[labels[i]];
    ctx.fillText(String(labels[i]), 15 + (c.width - 30) * (embedding[2 * i] - lo[0]) / span, 15 + (c.height - 30) * (embedding[2 * i + 1] - lo[1]) / span);
  }
}

function embedTestDigits(): void {
  const n = Math.min(Number(params.get('tsne') ?? 500), digits.test.count), nIter = Number(params.get('tsneIter') ?? 500);
  const labels = digits.test.labels.slice(0, n);
  const worker = new Worker(new URL('./tsne-worker.ts', import.meta.url), { type: 'module' });
  $<HTMLButtonElement>('tsne').disabled = true;
  worker.onmessage = (e: MessageEvent<{ embedding: Float32Array; iteration: number; done: boolean; kl: number | null; error?: string }>) => {
    if (e.data.error) { state.errors.push(e.data.error); $('tsne-status').textContent = e.data.error; worker.terminate(); return; }
    drawMap(e.data.embedding, labels);
    $('tsne-status').textContent = `iteration ${e.data.iteration}/${nIter}${e.data.kl !== null ? `, KL ${e.data.kl.toFixed(3)}` : ''}`;
    if (e.data.done) {
      state.tsne = { n, iterations: e.data.iteration, kl: e.data.kl, embedding: Array.from(e.data.embedding) };
      worker.terminate();
      $<HTMLButtonElement>('tsne').disabled = false;
    }
  };
  worker.onerror = (e) => { state.errors.push(e.message); $('tsne-status').textContent = e.message; };
  worker.postMessage({ points: digits.test.images.slice(0, n * 784), d: 784, nIter });
}

// ---------------------------------------------------------------- start

async function start(): Promise<void> {
  // ?threads=n: the wasm backend on n threads instead of the hardware's count.
  if (params.has('threads')) state.backend = await pg.useFastestBackend({ threads: Number(params.get('threads')) });
  const [weights, file] = await Promise.all([zooUrl, './digits.bin'].map(async (url) => {
    const r = await fetch(url);
    if (!r.ok) throw new Error(`fetching ${url}: ${r.status} ${r.statusText}`);
    return new Uint8Array(await r.arrayBuffer());
  }));
  model = pg.models.lenet5({ pretrained: 'mnist', weights });
  digits = decodeDigits(file);
  $('train-count').textContent = `${Math.min(Number(params.get('train') ?? digits.train.count), digits.train.count)}`;
  $('tsne-count').textContent = `${Math.min(Number(params.get('tsne') ?? 500), digits.test.count)}`;
  setUpPad();
  $('train').addEventListener('click', trainInTab);
  $('tsne').addEventListener('click', embedTestDigits);
  const b = state.backend;
  $('status').textContent = `backend ${b.backend}${b.backend === 'wasm' ? `, ${b.threads} thread${b.threads > 1 ? 's' : ''}` : ''}${crossOriginIsolated ? ', cross-origin isolated' : ''}${b.fallbackReason ? ` (${b.fallbackReason})` : ''}`;
  state.ready = true;
}

function fail(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  state.errors.push(message);
  $('status').textContent = `error: ${message}`;
}

start().catch(fail);
