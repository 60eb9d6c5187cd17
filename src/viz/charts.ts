/**
 * Chart specifications for training diagnostics: learning curves, confusion matrices, capacity
 * sweeps (under/over-fitting), and generic line and scatter charts. Every function is pure and
 * returns a Vega-Lite spec (plain JSON), so this module runs in browsers too: embed the spec with
 * vega-embed there, or render it to SVG/PNG in Node with `renderSvg`/`renderPng`/`saveChart` from
 * `pixelgrad/node`.
 *
 * Data go into the spec's top-level `datasets` (long format, one row per plotted value); values
 * that are not finite numbers (a diverged NaN loss, a missing validation metric) are left out.
 */
import type { Config, TopLevelSpec } from 'vega-lite';
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';

/** A Vega-Lite specification (JSON). */
export type VegaLiteSpec = TopLevelSpec;

/** Width and height in pixels of one panel (the plotting area, without axes and legend). */
export const PANEL_WIDTH = 420;
export const PANEL_HEIGHT = 300;

/** Line colours shared by every chart: training blue, validation orange, the gap grey. */
export const COLORS = { train: '#4c78a8', validation: '#f58518', gap: '#b0b0b0', best: '#54a24b' } as const;

const FONT = 'DejaVu Sans, Helvetica Neue, Helvetica, Arial, sans-serif';

/** The look shared by every chart (fonts, sizes, grid, white background). */
export const chartConfig: Config = {
  font: FONT,
  background: 'white',
  padding: 12,
  title: { fontSize: 16, fontWeight: 'bold', anchor: 'start', offset: 14, subtitleFontSize: 12, subtitleColor: '#555', subtitlePadding: 4 },
  axis: { titleFontSize: 13, titleFontWeight: 'normal', labelFontSize: 11, titlePadding: 8, gridColor: '#e8e8e8', domainColor: '#888', tickColor: '#888' },
  legend: { titleFontSize: 12, titleFontWeight: 'normal', labelFontSize: 12, symbolSize: 120 },
  view: { stroke: '#cccccc' },
  concat: { spacing: 48 },
  line: { strokeWidth: 2 },
  point: { size: 36, filled: true },
};

/** Options common to the charts. */
export interface ChartOptions {
  /** Chart title. */
  title?: string;
  /** Panel width in pixels. Default 420. */
  width?: number;
  /** Panel height in pixels. Default 300. */
  height?: number;
}

/* ------------------------------------------------------------------------------------------ */
/* helpers                                                                                      */

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** A number in at most 3 significant digits, for titles. */
function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(2);
  return String(Number(v.toPrecision(3)));
}

const pct = (v: number, digits = 1) => `${(v * 100).toFixed(digits)}%`;

function size(fn: string, options: ChartOptions): { width: number; height: number } {
  const width = options.width ?? PANEL_WIDTH, height = options.height ?? PANEL_HEIGHT;
  for (const [k, v] of [['width', width], ['height', height]] as const) {
    if (!(isNum(v) && v > 0)) throw new ArgumentError(fn, `${k} must be a positive number, got ${v}`);
  }
  return { width, height };
}

function titleOf(text: string, subtitle?: string): { text: string; subtitle?: string } {
  return subtitle ? { text, subtitle } : { text };
}

const GAP = 'generalisation gap';
const LEGEND = { orient: 'top', direction: 'horizontal', labelLimit: 240, columnPadding: 14 } as const;

/** The colour scale (and legend) of the 'train' and 'validation' lines (those of `splits` that occur). */
function splitColor(splits: readonly string[] = ['train', 'validation']) {
  const domain = ['train', 'validation'].filter((s) => splits.includes(s));
  return {
    field: 'split', type: 'nominal', title: null,
    scale: { domain, range: domain.map((s) => (s === 'train' ? COLORS.train : COLORS.validation)) },
    legend: { ...LEGEND, symbolType: 'stroke', symbolStrokeWidth: 3 },
  } as const;
}

/**
 * A layer that draws nothing but brings the train/validation legend first (Vega lays legends out
 * in layer order, and the gap band must be drawn under the lines); the legend's entries come from
 * the colour scale's explicit domain.
 */
function legendLayer(data: string, x: object, y: object, color: object) {
  return {
    data: { name: data },
    transform: [{ filter: 'false' }],
    mark: { type: 'line' },
    encoding: { x, y, color },
  } as const;
}

/** The grey band between two curves, with its own one-entry legend 'generalisation gap'. */
function gapArea(data: string, x: object, lower: string, upper: string) {
  return {
    data: { name: data },
    mark: { type: 'area', opacity: 0.35, interpolate: 'linear' },
    encoding: {
      x,
      y: { field: lower, type: 'quantitative' },
      y2: { field: upper },
      fill: {
        datum: GAP, type: 'nominal', title: null,
        scale: { domain: [GAP], range: [COLORS.gap] },
        legend: { ...LEGEND, symbolType: 'square', symbolOpacity: 0.6, symbolSize: 150 },
      },
    },
  } as const;
}

/* ------------------------------------------------------------------------------------------ */
/* learning curves                                                                              */

/** One epoch of training history. Accuracies may be fractions (0..1) or percentages. */
export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  valLoss?: number;
  trainAccuracy?: number;
  valAccuracy?: number;
  lr?: number;
}

export interface LearningCurvesOptions extends ChartOptions {
  /** Shade the generalisation gap between the training and validation curves. Default true. */
  gap?: boolean;
  /** Add a third panel with the learning rate (when the history has `lr`). Default false. */
  lr?: boolean;
}

/**
 * Learning curves: loss (and, when the history has accuracies, accuracy) against epoch, training
 * and validation as coloured lines with points, and the generalisation gap between them shaded.
 * The subtitle names the epoch with the best validation loss.
 *
 * Datasets: `curves` rows `{epoch, metric: 'loss'|'accuracy'|'learning rate', split: 'train'|'validation', value}`;
 * `gap` rows `{epoch, metric, train, validation}` (epochs where both are known).
 * @example
 * const spec = viz.learningCurvesSpec(history, { title: 'LeNet-5 on MNIST' });
 * await saveChart(spec, 'runs/lenet/curves.png');
 */
export function learningCurvesSpec(history: readonly EpochRecord[], options: LearningCurvesOptions = {}): VegaLiteSpec {
  const fn = 'learningCurvesSpec';
  const { width, height } = size(fn, options);
  if (!Array.isArray(history) || history.length === 0) throw new ArgumentError(fn, 'history must be a non-empty array of epoch records');
  history.forEach((r, i) => {
    if (r === null || typeof r !== 'object') throw new ArgumentError(fn, `history[${i}] must be an object, got ${r}`);
    if (!isNum(r.epoch)) throw new ArgumentError(fn, `history[${i}].epoch must be a finite number, got ${r.epoch}`);
    if (typeof r.trainLoss !== 'number') throw new ArgumentError(fn, `history[${i}].trainLoss must be a number, got ${r.trainLoss}`);
  });
  const records = [...history].sort((a, b) => a.epoch - b.epoch);

  const curves: { epoch: number; metric: string; split: string; value: number }[] = [];
  const gap: { epoch: number; metric: string; train: number; validation: number }[] = [];
  const metrics = [
    { metric: 'loss', train: 'trainLoss', val: 'valLoss' },
    { metric: 'accuracy', train: 'trainAccuracy', val: 'valAccuracy' },
  ] as const;
  for (const r of records) {
    for (const m of metrics) {
      const t = r[m.train], v = r[m.val];
      if (isNum(t)) curves.push({ epoch: r.epoch, metric: m.metric, split: 'train', value: t });
      if (isNum(v)) curves.push({ epoch: r.epoch, metric: m.metric, split: 'validation', value: v });
      if (isNum(t) && isNum(v)) gap.push({ epoch: r.epoch, metric: m.metric, train: t, validation: v });
    }
    if (options.lr && isNum(r.lr)) curves.push({ epoch: r.epoch, metric: 'learning rate', split: 'train', value: r.lr });
  }

  const has = (metric: string) => curves.some((c) => c.metric === metric);
  const color = splitColor([...new Set(curves.filter((c) => c.metric !== 'learning rate').map((c) => c.split))]);
  const epochs = records.map((r) => r.epoch);
  const integerEpochs = epochs.every(Number.isInteger);
  const x = {
    field: 'epoch', type: 'quantitative', title: 'epoch',
    scale: { nice: false, padding: 10 },
    axis: integerEpochs ? { tickMinStep: 1, format: 'd' } : {},
  } as const;

  const panel = (metric: string, yTitle: string, yAxis: object) => {
    const y = { field: 'value', type: 'quantitative', title: yTitle, scale: { zero: false }, axis: yAxis };
    const layers: object[] = [];
    if (options.gap !== false && gap.some((g) => g.metric === metric)) {
      layers.push(legendLayer('curves', x, y, color));
      layers.push({ ...gapArea('gap', x, 'train', 'validation'), transform: [{ filter: { field: 'metric', equal: metric } }] });
    }
    layers.push({
      data: { name: 'curves' },
      transform: [{ filter: { field: 'metric', equal: metric } }],
      mark: { type: 'line', point: records.length <= 60, interpolate: 'linear' },
      encoding: {
        x,
        y,
        color: metric === 'learning rate' ? { value: COLORS.best } : color,
        tooltip: [
          { field: 'epoch', type: 'quantitative' },
          { field: 'split', type: 'nominal' },
          { field: 'value', type: 'quantitative', title: metric, format: '.4~g' },
        ],
      },
    });
    return { title: { text: metric, fontSize: 14, anchor: 'middle' }, width, height, layer: layers };
  };

  const accValues = curves.filter((c) => c.metric === 'accuracy').map((c) => c.value);
  const fractions = accValues.every((v) => v >= 0 && v <= 1);
  const panels = [panel('loss', 'loss', {})];
  if (has('accuracy')) panels.push(panel('accuracy', 'accuracy', fractions ? { format: '.0%' } : {}));
  if (has('learning rate')) panels.push(panel('learning rate', 'learning rate', { format: '.3~g' }));

  // Subtitle: the best validation loss, or the final training loss.
  const val = curves.filter((c) => c.metric === 'loss' && c.split === 'validation');
  let subtitle: string | undefined;
  if (val.length) {
    const best = val.reduce((a, b) => (b.value < a.value ? b : a));
    const g = gap.filter((r) => r.metric === 'loss').at(-1);
    subtitle = `best validation loss ${fmt(best.value)} at epoch ${best.epoch}` +
      (g ? `; final gap ${fmt(g.validation - g.train)} (validation − train loss)` : '');
  } else {
    const last = curves.filter((c) => c.metric === 'loss').at(-1);
    if (last) subtitle = `final training loss ${fmt(last.value)} at epoch ${last.epoch}`;
  }

  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: titleOf(options.title ?? 'Learning curves', subtitle),
    config: chartConfig,
    datasets: { curves, gap },
    hconcat: panels,
    resolve: { scale: { y: 'independent' } },
  } as VegaLiteSpec;
}

/* ------------------------------------------------------------------------------------------ */
/* confusion matrix                                                                             */

export interface ConfusionMatrixOptions {
  /** Colour each row by its fraction of the true class (the cell shows the percentage and the count). Default false. */
  normalize?: boolean;
  /** Title; the accuracy is appended. Default 'Confusion matrix'. */
  title?: string;
  /** Write the numbers in the cells. Default: when there are at most 30 classes. */
  showValues?: boolean;
  /** Cell side in pixels. Default: about 420 (normalised: 540) / number of classes, between 24 and 80. */
  cellSize?: number;
}

/** Checks a confusion matrix against its class names; returns the number of classes. */
function checkConfusion(fn: string, matrix: readonly (readonly number[])[], classNames: readonly string[]): number {
  if (!Array.isArray(matrix) || matrix.length === 0) throw new ShapeError(fn, 'matrix must be a non-empty n×n array of counts');
  const n = matrix.length;
  const lengths = matrix.map((row) => (Array.isArray(row) ? row.length : -1));
  if (lengths.some((l) => l !== n)) {
    const shape = lengths.every((l) => l === lengths[0]) ? `${fmtShape([n, lengths[0]])}` : `${n} rows of lengths ${fmtShape(lengths)}`;
    throw new ShapeError(fn, `matrix must be square (true classes × predicted classes), got ${shape}`);
  }
  if (!Array.isArray(classNames) || classNames.length !== n) {
    throw new ShapeError(fn, `matrix is ${fmtShape([n, n])} but ${Array.isArray(classNames) ? classNames.length : 'no'} class names were given; need ${n}`);
  }
  const names = classNames.map(String);
  const dup = names.find((c, i) => names.indexOf(c) !== i);
  if (dup !== undefined) throw new ArgumentError(fn, `class names must be distinct, '${dup}' appears twice`);
  matrix.forEach((row, i) => row.forEach((v: number, j: number) => {
    if (!(isNum(v) && v >= 0)) throw new ArgumentError(fn, `matrix[${i}][${j}] must be a finite non-negative count, got ${v}`);
  }));
  return n;
}

/**
 * A confusion matrix as a heatmap: true class on rows, predicted class on columns (both in the
 * order of `classNames`), the count written in each cell, and the accuracy (trace / total) in the
 * title. With `normalize`, colours and percentages are fractions of each true class (recall on the
 * diagonal).
 *
 * Dataset `cells`: rows `{true, predicted, count, fraction, value, label}`, `value` being what the
 * colour shows (count, or fraction when normalised).
 */
export function confusionMatrixSpec(matrix: readonly (readonly number[])[], classNames: readonly string[], options: ConfusionMatrixOptions = {}): VegaLiteSpec {
  const fn = 'confusionMatrixSpec';
  const n = checkConfusion(fn, matrix, classNames);
  const names = classNames.map(String);
  const normalize = options.normalize ?? false;
  const total = matrix.reduce((s, row) => s + row.reduce((a, b) => a + b, 0), 0);
  const correct = matrix.reduce((s, row, i) => s + row[i], 0);

  const cell = options.cellSize ?? Math.max(24, Math.min(80, Math.round((normalize ? 540 : 420) / n)));
  if (!(isNum(cell) && cell > 0)) throw new ArgumentError(fn, `cellSize must be a positive number, got ${cell}`);
  const showValues = options.showValues ?? n <= 30;
  const integer = matrix.every((row) => row.every(Number.isInteger));
  const countText = (v: number) => (integer ? String(v) : fmt(v));
  const twoLines = normalize && cell >= 40;

  const cells = [];
  for (let i = 0; i < n; i++) {
    const rowSum = matrix[i].reduce((a, b) => a + b, 0);
    for (let j = 0; j < n; j++) {
      const count = matrix[i][j];
      const fraction = rowSum > 0 ? count / rowSum : 0;
      const label = !normalize ? countText(count)
        : twoLines ? `${pct(fraction, 0)}\n(${countText(count)})` : pct(fraction, 0);
      cells.push({ true: names[i], predicted: names[j], count, fraction, value: normalize ? fraction : count, label });
    }
  }
  const maxValue = Math.max(...cells.map((c) => c.value));
  const fontSize = Math.max(8, Math.min(14, Math.round(cell * (twoLines ? 0.24 : 0.3))));
  const longest = Math.max(...names.map((c) => c.length));
  const labelAngle = longest * 7 > cell - 4 ? -45 : 0;

  const title = `${options.title ?? 'Confusion matrix'} — accuracy ${total > 0 ? pct(correct / total) : 'n/a'}`;
  const subtitle = `${integer ? total : fmt(total)} samples; rows: true class, columns: predicted class` +
    (normalize ? '; colour: fraction of the true class' : '');
  const axisCommon = { labelFontSize: Math.max(9, Math.min(12, fontSize)), ticks: false, domain: false, labelPadding: 4, grid: false };

  const tooltip = [
    { field: 'true', type: 'nominal', title: 'true class' },
    { field: 'predicted', type: 'nominal', title: 'predicted class' },
    { field: 'count', type: 'quantitative' },
    { field: 'fraction', type: 'quantitative', title: 'fraction of true class', format: '.1%' },
  ];
  const layer: object[] = [{
    mark: { type: 'rect', stroke: 'white', strokeWidth: n <= 30 ? 1 : 0 },
    encoding: {
      color: {
        field: 'value', type: 'quantitative', title: normalize ? 'fraction of true class' : 'count',
        scale: { scheme: 'blues', domain: [0, maxValue > 0 ? maxValue : 1] },
        legend: { format: normalize ? '.0%' : (integer ? 'd' : '.3~g'), gradientLength: Math.min(n * cell, 240), tickCount: 5 },
      },
      tooltip,
    },
  }];
  if (showValues) {
    layer.push({
      mark: { type: 'text', fontSize, lineBreak: '\n', baseline: 'middle' },
      encoding: {
        text: { field: 'label', type: 'nominal' },
        color: { condition: { test: `datum.value > ${maxValue * 0.55}`, value: 'white' }, value: '#1a1a1a' },
        tooltip,
      },
    });
  }

  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: titleOf(title, subtitle),
    config: { ...chartConfig, view: { stroke: null } },
    datasets: { cells },
    data: { name: 'cells' },
    width: { step: cell },
    height: { step: cell },
    encoding: {
      x: { field: 'predicted', type: 'nominal', sort: names, title: 'predicted class', axis: { ...axisCommon, orient: 'bottom', labelAngle, labelLimit: 120 } },
      y: { field: 'true', type: 'nominal', sort: names, title: 'true class', axis: { ...axisCommon, labelLimit: 120 } },
    },
    layer,
  } as VegaLiteSpec;
}

/* ------------------------------------------------------------------------------------------ */
/* capacity sweep                                                                               */

/** Errors of one model of a capacity sweep (capacity: parameters, width, degree, depth, ...). */
export interface CapacityPoint {
  capacity: number;
  trainError: number;
  valError: number;
}

export interface CapacitySweepOptions extends ChartOptions {
  /** Default 'model capacity'. */
  xTitle?: string;
  /** Default 'error'. */
  yTitle?: string;
  /** Logarithmic capacity axis (e.g. parameter counts). Default false. */
  logX?: boolean;
  /** Mark the capacity with the lowest validation error and label the under/over-fitting sides. Default true. */
  markBest?: boolean;
}

/**
 * Training and validation error against model capacity: the under/over-fitting picture. The gap
 * between the curves is shaded ('generalisation gap'); a dashed rule marks the capacity with the
 * lowest validation error, with 'underfitting' to its left and 'overfitting' to its right.
 *
 * Datasets: `errors` rows `{capacity, split, error}`, `gap` rows `{capacity, train, validation}`,
 * `best` one row `{capacity, error}`.
 */
export function capacitySweepSpec(points: readonly CapacityPoint[], options: CapacitySweepOptions = {}): VegaLiteSpec {
  const fn = 'capacitySweepSpec';
  const { width, height } = size(fn, options);
  if (!Array.isArray(points) || points.length === 0) throw new ArgumentError(fn, 'points must be a non-empty array of {capacity, trainError, valError}');
  points.forEach((p, i) => {
    for (const k of ['capacity', 'trainError', 'valError'] as const) {
      if (!isNum(p?.[k])) throw new ArgumentError(fn, `points[${i}].${k} must be a finite number, got ${p?.[k]}`);
    }
    if (options.logX && p.capacity <= 0) throw new ArgumentError(fn, `points[${i}].capacity must be positive for a logarithmic axis, got ${p.capacity}`);
  });
  const sorted = [...points].sort((a, b) => a.capacity - b.capacity);
  const errors = sorted.flatMap((p) => [
    { capacity: p.capacity, split: 'train', error: p.trainError },
    { capacity: p.capacity, split: 'validation', error: p.valError },
  ]);
  const gap = sorted.map((p) => ({ capacity: p.capacity, train: p.trainError, validation: p.valError }));
  const bestPoint = sorted.reduce((a, b) => (b.valError < a.valError ? b : a));
  const best = [{ capacity: bestPoint.capacity, error: bestPoint.valError }];

  const xTitle = options.xTitle ?? 'model capacity';
  const x = {
    field: 'capacity', type: 'quantitative', title: xTitle,
    scale: options.logX ? { type: 'log', nice: false } : { zero: false, nice: false },
  } as const;
  const y = { type: 'quantitative', title: options.yTitle ?? 'error', scale: { zero: true } } as const;

  const layer: object[] = [
    legendLayer('errors', x, { ...y, field: 'error' }, splitColor()),
    gapArea('gap', x, 'train', 'validation'),
    {
      data: { name: 'errors' },
      mark: { type: 'line', point: true },
      encoding: {
        x, y: { ...y, field: 'error' }, color: splitColor(),
        tooltip: [{ field: 'capacity', type: 'quantitative' }, { field: 'split', type: 'nominal' }, { field: 'error', type: 'quantitative', format: '.4~g' }],
      },
    },
  ];
  const markBest = options.markBest ?? true;
  const first = sorted[0].capacity, last = sorted[sorted.length - 1].capacity;
  if (markBest) {
    layer.push({
      data: { name: 'best' },
      mark: { type: 'rule', strokeDash: [6, 4], color: COLORS.best, strokeWidth: 1.5 },
      encoding: { x },
    });
    const side = (text: string, align: 'left' | 'right', dx: number) => ({
      data: { name: 'best' },
      mark: { type: 'text', text, align, dx, baseline: 'bottom', fontSize: 12, fontStyle: 'italic', color: '#333' },
      encoding: { x, y: { value: height - 6 } },
    });
    if (bestPoint.capacity > first) layer.push(side('← underfitting', 'right', -6));
    if (bestPoint.capacity < last) layer.push(side('overfitting →', 'left', 6));
  }

  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: titleOf(options.title ?? 'Training and validation error vs model capacity',
      `lowest validation error ${fmt(bestPoint.valError)} at ${xTitle} ${fmt(bestPoint.capacity)} (training error ${fmt(bestPoint.trainError)})`),
    config: chartConfig,
    datasets: { errors, gap, best },
    width, height,
    layer,
  } as VegaLiteSpec;
}

/* ------------------------------------------------------------------------------------------ */
/* generic charts                                                                               */

/** One named series: values[i] is plotted at x[i] (or at i). */
export interface Series {
  name: string;
  values: readonly number[];
}

export interface LineOptions extends ChartOptions {
  /** Default 'step'. */
  xTitle?: string;
  /** Default 'value'. */
  yTitle?: string;
  /** Logarithmic y axis (values ≤ 0 are left out). Default false. */
  logY?: boolean;
  /** The x of each index, shared by every series (at least as long as the longest series). Default 0, 1, 2, ... */
  x?: readonly number[];
  /** Draw a point at each value. Default: when no series has more than 60 values. */
  points?: boolean;
}

/**
 * Several named series as coloured lines against a shared x (default the index), e.g. gradient
 * norms per time step. Dataset `series` rows `{x, series, y}`.
 */
export function lineSpec(series: readonly Series[], options: LineOptions = {}): VegaLiteSpec {
  const fn = 'lineSpec';
  const { width, height } = size(fn, options);
  if (!Array.isArray(series) || series.length === 0) throw new ArgumentError(fn, 'series must be a non-empty array of {name, values}');
  const names = series.map((s, i) => {
    if (!s || !Array.isArray(s.values)) throw new ArgumentError(fn, `series[${i}].values must be an array of numbers`);
    return String(s.name ?? `series ${i}`);
  });
  const dup = names.find((c, i) => names.indexOf(c) !== i);
  if (dup !== undefined) throw new ArgumentError(fn, `series names must be distinct, '${dup}' appears twice`);
  const longest = Math.max(...series.map((s) => s.values.length));
  if (options.x && options.x.length < longest) throw new ShapeError(fn, `x has ${options.x.length} values but the longest series has ${longest}`);

  const rows: { x: number; series: string; y: number }[] = [];
  series.forEach((s, k) => s.values.forEach((v: number, i: number) => {
    const xv = options.x ? options.x[i] : i;
    if (isNum(v) && isNum(xv) && (!options.logY || v > 0)) rows.push({ x: xv, series: names[k], y: v });
  }));
  const points = options.points ?? longest <= 60;
  const scheme = names.length <= 10 ? 'tableau10' : 'tableau20';
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(options.title ? { title: options.title } : {}),
    config: chartConfig,
    datasets: { series: rows },
    data: { name: 'series' },
    width, height,
    mark: { type: 'line', point: points },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: options.xTitle ?? 'step', scale: { zero: false, nice: false }, axis: options.x ? {} : { tickMinStep: 1, format: 'd' } },
      y: { field: 'y', type: 'quantitative', title: options.yTitle ?? 'value', scale: options.logY ? { type: 'log' } : { zero: false } },
      color: { field: 'series', type: 'nominal', title: null, scale: { domain: names, scheme }, legend: names.length > 1 ? { symbolType: 'stroke', symbolStrokeWidth: 3, labelLimit: 240 } : null },
      tooltip: [{ field: 'series', type: 'nominal' }, { field: 'x', type: 'quantitative' }, { field: 'y', type: 'quantitative', format: '.4~g' }],
    },
  } as VegaLiteSpec;
}

/** A point of a scatter chart; points with the same label share a colour. */
export interface ScatterPoint {
  x: number;
  y: number;
  label?: string | number;
}

export interface ScatterOptions extends ChartOptions {
  /** Default 'x'. */
  xTitle?: string;
  /** Default 'y'. */
  yTitle?: string;
  /** Legend title. Default 'label'. */
  labelTitle?: string;
  /** Point area in square pixels. Default 30. */
  pointSize?: number;
  /** Hide the axes' labels and grid (for embeddings such as t-SNE, whose coordinates mean nothing). Default false. */
  hideAxes?: boolean;
}

/**
 * Points coloured by label (e.g. a t-SNE embedding coloured by class). Labels are ordered
 * numerically when they are all numbers, else in order of first appearance. Dataset `points`.
 */
export function scatterSpec(points: readonly ScatterPoint[], options: ScatterOptions = {}): VegaLiteSpec {
  const fn = 'scatterSpec';
  const { width, height } = size(fn, options);
  if (!Array.isArray(points)) throw new ArgumentError(fn, 'points must be an array of {x, y, label?}');
  const rows = points.flatMap((p, i) => {
    if (!p || typeof p !== 'object') throw new ArgumentError(fn, `points[${i}] must be an object, got ${p}`);
    return isNum(p.x) && isNum(p.y) ? [{ x: p.x, y: p.y, label: p.label === undefined ? undefined : String(p.label) }] : [];
  });
  const labelled = points.some((p) => p.label !== undefined);
  const raw = [...new Set(points.filter((p) => p.label !== undefined).map((p) => p.label!))];
  const domain = (raw.every((l) => typeof l === 'number') ? (raw as number[]).sort((a, b) => a - b) : raw).map(String);
  const axis = options.hideAxes ? { labels: false, ticks: false, grid: false } : {};
  const color = labelled
    ? { field: 'label', type: 'nominal', title: options.labelTitle ?? 'label', scale: { domain, scheme: domain.length <= 10 ? 'tableau10' : 'tableau20' } }
    : { value: COLORS.train };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(options.title ? { title: options.title } : {}),
    config: chartConfig,
    datasets: { points: rows },
    data: { name: 'points' },
    width, height,
    mark: { type: 'circle', size: options.pointSize ?? 30, opacity: 0.75 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: options.xTitle ?? 'x', scale: { zero: false }, axis },
      y: { field: 'y', type: 'quantitative', title: options.yTitle ?? 'y', scale: { zero: false }, axis },
      color,
      tooltip: labelled ? [{ field: 'label', type: 'nominal' }, { field: 'x', type: 'quantitative' }, { field: 'y', type: 'quantitative' }] : [{ field: 'x', type: 'quantitative' }, { field: 'y', type: 'quantitative' }],
    },
  } as VegaLiteSpec;
}
