/** Training progress on the terminal: a live bar on a TTY, plain log lines otherwise. */
import cliProgress from 'cli-progress';
import type { BatchInfo, Callback, EpochRecord, TrainContext } from '../train/fit.js';

const pct = (v: number | undefined) => (v === undefined ? '-' : `${(100 * v).toFixed(2)}%`);
const num = (v: number) => Math.round(v).toLocaleString('en-US');

/** One line per epoch summary, e.g. "epoch 3/12  loss 0.1234 acc 96.10%  val loss 0.0811 acc 97.45%  lr 0.0812  2,345 img/s  3.4 s". */
export function epochLine(r: EpochRecord, epochs: number): string {
  const val = r.valLoss === undefined ? '' : `  val loss ${r.valLoss.toFixed(4)} acc ${pct(r.valAccuracy)}`;
  return `epoch ${r.epoch}/${epochs}  loss ${r.trainLoss.toFixed(4)} acc ${pct(r.trainAccuracy)}${val}  lr ${r.lr.toPrecision(3)}  ${num(r.imagesPerSecond)} img/s  ${r.seconds.toFixed(1)} s`;
}

export class ProgressReporter implements Callback {
  private bar: cliProgress.SingleBar | null = null;
  private nextLog = 0;

  constructor(private readonly out: NodeJS.WriteStream = process.stdout, private readonly tty = Boolean(process.stdout.isTTY)) {}

  onEpochBegin(ctx: TrainContext, epoch: number): void {
    this.nextLog = 0.25;
    if (!this.tty) return;
    this.bar = new cliProgress.SingleBar({
      stream: this.out,
      format: `epoch ${epoch}/${ctx.epochs} |{bar}| {value}/{total} batches | loss {loss} | acc {acc} | {ips} img/s | ETA {eta_formatted}`,
      barCompleteChar: '█', barIncompleteChar: '░', hideCursor: true, clearOnComplete: true, etaBuffer: 50,
    });
    this.bar.start(1, 0, { loss: '-', acc: '-', ips: '-' });
  }

  onBatchEnd(ctx: TrainContext, info: BatchInfo): void {
    const fields = { loss: info.loss.toFixed(4), acc: pct(info.accuracy), ips: num(info.imagesPerSecond) };
    if (this.bar) {
      this.bar.setTotal(Number.isFinite(info.batches) ? info.batches : info.batch + 1);
      this.bar.update(info.batch + 1, fields);
      return;
    }
    const done = (info.batch + 1) / info.batches;
    if (Number.isFinite(done) && done >= this.nextLog && done < 1) {
      this.out.write(`epoch ${info.epoch}/${ctx.epochs}  batch ${info.batch + 1}/${info.batches}  loss ${fields.loss}  acc ${fields.acc}  ${fields.ips} img/s\n`);
      this.nextLog += 0.25;
    }
  }

  onEpochEnd(ctx: TrainContext, record: EpochRecord): void {
    this.bar?.stop();
    this.bar = null;
    this.out.write(epochLine(record, ctx.epochs) + '\n');
  }

  onTrainEnd(): void {
    this.bar?.stop();
    this.bar = null;
  }
}

/**
 * Progress of a long count (e.g. images decoded), as `(done, total) => void`: a live bar on a TTY;
 * otherwise a plain line at most every `intervalMs`, so work that ends sooner prints nothing.
 */
export function countProgress(label: string, unit: string, out: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout, tty = Boolean(out.isTTY), intervalMs = 5000): (done: number, total: number) => void {
  let bar: cliProgress.SingleBar | null = null;
  let last = Date.now();
  return (done, total) => {
    if (tty) {
      if (!bar) {
        bar = new cliProgress.SingleBar({
          stream: out as NodeJS.WriteStream, format: `${label} |{bar}| {value}/{total} ${unit} | ETA {eta_formatted}`,
          barCompleteChar: '█', barIncompleteChar: '░', hideCursor: true, clearOnComplete: true, etaBuffer: 200,
        });
        bar.start(total, 0);
      }
      bar.update(done);
      if (done >= total) bar.stop();
      return;
    }
    const now = Date.now();
    if (done < total && now - last >= intervalMs) {
      last = now;
      out.write(`${label}: ${num(done)}/${num(total)} ${unit} (${pct(done / total)})\n`);
    }
  };
}
