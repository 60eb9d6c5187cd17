/**
 * A fork-join pool for the wasm kernels: worker threads that each instantiate the threaded kernel
 * module on one shared memory, so that a kernel call cut into tasks (ranges of rows, columns or
 * images) runs them at once. The calling thread takes part and returns when every task is done,
 * so kernels stay synchronous.
 *
 * Tasks are claimed, not assigned: each thread takes the next unclaimed task until none is left.
 * A worker that is slow to wake, or shares its core with the engine's garbage collector, then
 * costs at most the task it holds, instead of stalling the caller for a fixed share of the work.
 *
 * Protocol, over small SharedArrayBuffers apart from the wasm memory: the caller writes the task
 * table (kernel index and arguments; the executing thread appends its own scratch pointer), sets
 * DONE to 0, publishes a ticket word (generation, task count, next task) and bumps GENERATION.
 * Claiming is a compare-exchange on the ticket, so a thread still holding an old generation can
 * never take a task of the new one. Workers poll briefly after a run, then sleep on Atomics.wait.
 *
 * Node runs the workers with worker_threads; browsers with Web Workers, which need cross-origin
 * isolation for SharedArrayBuffer (and there the calling thread polls instead of blocking, since a
 * window may not call Atomics.wait).
 */

/** The kernels a pool can run; a task names one by its index here. Each takes its scratch pointer last. */
export const POOL_KERNELS = ['gemm', 'conv2dFused', 'conv2dBackwardInput', 'conv2dBackwardWeight', 'lstmSequence', 'lstmSequenceBackward'] as const;
export type PoolKernel = (typeof POOL_KERNELS)[number];
/** One task: the kernel and its arguments (i32s and pointers), without the scratch pointer. */
export type Task = readonly [PoolKernel, ...number[]];
/** Per-thread scratch: thread t (the caller is 0) passes `base + t·stride` to its kernels. */
export interface Scratch { base: number; stride: number }

const GENERATION = 0, DONE = 1, FAILED = 2;
/** Doubles per task: kernel index, argument count, up to 14 arguments. */
const SLOT = 16;
/** Tasks one run can hold. */
export const MAX_TASKS = 256;
/** The task table starts after the scratch base and stride. */
const TABLE = 2;
/** Milliseconds a worker polls for the next run before it sleeps (waking a thread costs tens of µs). */
const WORKER_POLL_MS = 0.2;
/** Milliseconds the caller polls for the tasks still running elsewhere before it sleeps. */
const CALLER_POLL_MS = 1;

/**
 * The claiming loop, shared by the caller and the workers as source text (the workers get it in
 * their own script). Runs tasks of generation `gen` until none is left.
 */
const CLAIM = `
function claim(gen, thread, control, ticket, table, fns) {
  const want = BigInt(gen >>> 0);
  for (;;) {
    const t = Atomics.load(ticket, 0);
    if (t >> 32n !== want) return;
    const count = Number((t >> 16n) & 0xffffn), next = Number(t & 0xffffn);
    if (next >= count) return;
    if (Atomics.compareExchange(ticket, 0, t, t + 1n) !== t) continue;
    const slot = ${TABLE} + next * ${SLOT};
    const args = Array.from(table.subarray(slot + 2, slot + 2 + table[slot + 1]));
    args.push(table[0] + thread * table[1]);
    try {
      fns[table[slot]](...args);
    } catch {
      Atomics.store(control, ${FAILED}, 1);
    }
    if (Atomics.add(control, ${DONE}, 1) + 1 === count) Atomics.notify(control, ${DONE});
  }
}`;
type Claim = (gen: number, thread: number, control: Int32Array, ticket: BigUint64Array, table: Float64Array, fns: KernelFn[]) => void;

/** The worker's side. */
const SERVE = `${CLAIM}
function serve(d, ready) {
  const instance = new WebAssembly.Instance(d.module, { env: { memory: d.memory } });
  const fns = d.kernels.map((name) => instance.exports[name]);
  const control = new Int32Array(d.control), ticket = new BigUint64Array(d.ticket), table = new Float64Array(d.table);
  let seen = 0;
  ready();
  for (;;) {
    for (let spin = 1, since = performance.now(); Atomics.load(control, ${GENERATION}) === seen; spin++) {
      if ((spin & 255) === 0 && performance.now() - since > ${WORKER_POLL_MS}) {
        Atomics.wait(control, ${GENERATION}, seen);
        since = performance.now();
      }
    }
    seen = Atomics.load(control, ${GENERATION});
    claim(seen, d.thread, control, ticket, table, fns);
  }
}`;
const NODE_WORKER = `${SERVE}
const { parentPort, workerData } = require('node:worker_threads');
serve(workerData, () => parentPort.postMessage('ready'));`;
const BROWSER_WORKER = `${SERVE}
onmessage = (e) => serve(e.data, () => postMessage('ready'));`;

type KernelFn = (...args: number[]) => void;

/** The part of node:worker_threads used here (imported dynamically: the module stays browser-safe). */
interface NodeWorkerThreads {
  Worker: new (source: string, options: { eval: true; workerData: unknown }) => {
    unref(): void;
    once(event: 'message' | 'error', listener: (value: unknown) => void): void;
  };
}

interface StartedWorker {
  /** Resolves once the worker has instantiated the module and entered its loop. */
  ready: Promise<void>;
}

const isNode = (): boolean => typeof process === 'object' && typeof process.versions?.node === 'string';

/** Whether this engine can share wasm memory between threads (SharedArrayBuffer and shared memories). */
export function sharedMemorySupported(): boolean {
  try {
    if (typeof SharedArrayBuffer !== 'function' || typeof Atomics !== 'object') return false;
    return new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer;
  } catch {
    return false;
  }
}

/** The number of hardware threads, or 1 where the engine does not say. */
export async function hardwareThreads(): Promise<number> {
  if (isNode()) {
    const osModule = 'node:os';
    const os = (await import(osModule)) as { availableParallelism?: () => number; cpus(): unknown[] };
    return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  }
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return typeof n === 'number' && n > 0 ? n : 1;
}

async function startWorker(data: Record<string, unknown>): Promise<StartedWorker> {
  if (isNode()) {
    const wtModule = 'node:worker_threads';
    const { Worker } = (await import(wtModule)) as NodeWorkerThreads;
    const worker = new Worker(NODE_WORKER, { eval: true, workerData: data });
    // Idle workers must not keep the process alive.
    worker.unref();
    const ready = new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    return { ready };
  }
  const url = URL.createObjectURL(new Blob([BROWSER_WORKER], { type: 'text/javascript' }));
  const worker = new Worker(url);
  const ready = new Promise<void>((resolve, reject) => {
    worker.onmessage = () => resolve();
    worker.onerror = (e) => reject(new Error(e.message));
  });
  worker.postMessage(data);
  return { ready };
}

export class ThreadPool {
  private readonly control: Int32Array;
  private readonly ticket: BigUint64Array;
  private readonly table: Float64Array;
  private readonly local: KernelFn[];
  /** The caller's copy of the claiming loop (made from the same source as the workers'). */
  private readonly claim: Claim;
  /** Atomics.wait is allowed here (Node, workers), not on a browser's main thread. */
  private readonly canBlock: boolean;

  private constructor(readonly size: number, buffers: PoolBuffers, exports: Record<string, unknown>, claim: Claim) {
    this.claim = claim;
    this.control = new Int32Array(buffers.control);
    this.ticket = new BigUint64Array(buffers.ticket);
    this.table = new Float64Array(buffers.table);
    this.local = POOL_KERNELS.map((name) => exports[name] as KernelFn);
    this.canBlock = isNode() || typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined';
  }

  /**
   * Starts `threads − 1` workers on `memory`, each with its own instance of `module`; the calling
   * thread, running `exports` (its own instance on the same memory), is thread 0.
   */
  static async create(module: WebAssembly.Module, memory: WebAssembly.Memory, exports: Record<string, unknown>, threads: number): Promise<ThreadPool> {
    // Evaluated here, not at import: a page whose content security policy forbids it loses only the threads.
    const claim = new Function(`${CLAIM}; return claim;`)() as Claim;
    const buffers: PoolBuffers = {
      control: new SharedArrayBuffer(4 * Int32Array.BYTES_PER_ELEMENT),
      ticket: new SharedArrayBuffer(BigUint64Array.BYTES_PER_ELEMENT),
      table: new SharedArrayBuffer((TABLE + MAX_TASKS * SLOT) * Float64Array.BYTES_PER_ELEMENT),
    };
    const workers = await Promise.all(Array.from({ length: threads - 1 }, (_, i) =>
      startWorker({ module, memory, ...buffers, thread: i + 1, kernels: [...POOL_KERNELS] })));
    await Promise.all(workers.map((w) => w.ready));
    return new ThreadPool(threads, buffers, exports, claim);
  }

  /** Runs the tasks (at most MAX_TASKS), spread over the threads; returns when all are done. */
  run(tasks: readonly Task[], scratch: Scratch): void {
    const count = tasks.length;
    if (count === 0) return;
    if (count > MAX_TASKS) throw new RangeError(`ThreadPool.run: ${count} tasks, more than ${MAX_TASKS}`);
    const { control, table } = this;
    table[0] = scratch.base;
    table[1] = scratch.stride;
    tasks.forEach((task, i) => {
      if (task.length - 1 > SLOT - 2) throw new RangeError(`ThreadPool.run: ${task[0]} has more than ${SLOT - 2} arguments`);
      const slot = TABLE + i * SLOT;
      table[slot] = POOL_KERNELS.indexOf(task[0]);
      table[slot + 1] = task.length - 1;
      for (let a = 1; a < task.length; a++) table[slot + 1 + a] = task[a] as number;
    });
    const gen = (Atomics.load(control, GENERATION) + 1) | 0;
    Atomics.store(control, DONE, 0);
    Atomics.store(control, FAILED, 0);
    Atomics.store(this.ticket, 0, (BigInt(gen >>> 0) << 32n) | (BigInt(count) << 16n));
    Atomics.store(control, GENERATION, gen);
    Atomics.notify(control, GENERATION);
    this.claim(gen, 0, control, this.ticket, table, this.local);
    for (let spin = 1, since = performance.now(); ; spin++) {
      const done = Atomics.load(control, DONE);
      if (done === count) break;
      if (this.canBlock && (spin & 255) === 0 && performance.now() - since > CALLER_POLL_MS) {
        Atomics.wait(control, DONE, done);
        since = performance.now();
      }
    }
    if (Atomics.load(control, FAILED)) throw new Error('wasm backend: a kernel failed on a worker thread');
  }
}

interface PoolBuffers { control: SharedArrayBuffer; ticket: SharedArrayBuffer; table: SharedArrayBuffer }
