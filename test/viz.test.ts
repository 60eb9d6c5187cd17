/** viz: chart specs (structure, data, encodings, validation) and their rendering to SVG, PNG and files. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import * as vega from 'vega';
import * as viz from '../src/viz/index.js';
import { renderPng, renderSvg, saveChart } from '../src/viz/node.js';
import { textWidth } from '../src/viz/text-metrics.js';

// Specs are plain JSON; the tests look inside them structurally.
type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const history = Array.from({ length: 12 }, (_, i) => {
  const epoch = i + 1;
  return {
    epoch,
    trainLoss: 2 * Math.exp(-epoch / 3) + 0.05,
    valLoss: 1.8 * Math.exp(-epoch / 3) + 0.3 + 0.01 * epoch,
    trainAccuracy: 1 - 0.8 * Math.exp(-epoch / 3),
    valAccuracy: 0.9 - 0.7 * Math.exp(-epoch / 3),
    lr: 0.1 * 0.9 ** i,
  };
});
const classNames = ['cat', 'dog', 'bird'];
const matrix = [[50, 3, 1], [4, 40, 6], [0, 2, 48]]; // 138 correct of 154

/** Layers of a layered spec (recursively), flattened. */
function layers(spec: Json): Json[] {
  return spec.layer ? spec.layer.flatMap((l: Json) => [l, ...layers(l)]) : [];
}

/* ------------------------------------------------------------------------------------------ */
/* a tiny XML well-formedness check                                                             */

const NAME = /^[A-Za-z_:][-A-Za-z0-9_:.]*$/;
const ENTITY = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;

/**
 * Checks that `xml` is well-formed (one root element, tags nested and closed, attributes quoted and
 * unique, no stray '<' or '&' in text or attribute values) and returns the root's name and its text
 * content (entities decoded, one string per text node).
 */
function parseXml(xml: string): { root: string; texts: string[] } {
  const stack: string[] = [];
  const texts: string[] = [];
  let root: string | undefined, i = 0;
  const checkText = (s: string, where: string) => {
    if (/[<]/.test(s)) throw new Error(`'<' in ${where}: ${s.slice(0, 40)}`);
    if (/&/.test(s.replace(ENTITY, ''))) throw new Error(`bare '&' in ${where}: ${s.slice(0, 40)}`);
  };
  const decode = (s: string) => s.replace(ENTITY, (e) => {
    const named: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&apos;': "'" };
    return named[e] ?? String.fromCodePoint(e[2] === 'x' ? parseInt(e.slice(3, -1), 16) : parseInt(e.slice(2, -1), 10));
  });
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt < 0 ? xml.length : lt);
    if (text.trim()) {
      if (!stack.length) throw new Error(`text outside the root element at ${i}: ${text.slice(0, 40)}`);
      checkText(text, 'text');
      texts.push(decode(text));
    }
    if (lt < 0) break;
    if (xml.startsWith('<?', lt)) { i = xml.indexOf('?>', lt) + 2; if (i < 2) throw new Error('unclosed <?'); continue; }
    if (xml.startsWith('<!--', lt)) { i = xml.indexOf('-->', lt) + 3; if (i < 3) throw new Error('unclosed comment'); continue; }
    if (xml.startsWith('<![CDATA[', lt)) { i = xml.indexOf(']]>', lt) + 3; if (i < 3) throw new Error('unclosed CDATA'); continue; }
    if (xml.startsWith('<!DOCTYPE', lt)) { i = xml.indexOf('>', lt) + 1; continue; }
    // a tag: find its end outside quoted attribute values
    let j = lt + 1, quote = '';
    for (; j < xml.length; j++) {
      const c = xml[j];
      if (quote) { if (c === quote) quote = ''; } else if (c === '"' || c === "'") quote = c; else if (c === '>') break;
    }
    if (j >= xml.length) throw new Error(`unclosed tag at ${lt}`);
    const body = xml.slice(lt + 1, j);
    i = j + 1;
    if (body.startsWith('/')) {
      const name = body.slice(1).trim();
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> closes <${open}>`);
      continue;
    }
    const selfClosing = body.endsWith('/');
    const m = /^([^\s/>]+)([\s\S]*?)\/?$/.exec(body)!;
    const name = m[1];
    if (!NAME.test(name)) throw new Error(`bad tag name '${name}'`);
    const attrs = m[2];
    const seen = new Set<string>();
    const rest = attrs.replace(/\s+([^\s=]+)\s*=\s*("[^"]*"|'[^']*')/g, (_, attr: string, value: string) => {
      if (!NAME.test(attr)) throw new Error(`bad attribute name '${attr}' in <${name}>`);
      if (seen.has(attr)) throw new Error(`duplicate attribute '${attr}' in <${name}>`);
      seen.add(attr);
      checkText(value.slice(1, -1), `attribute ${attr} of <${name}>`);
      return '';
    });
    if (rest.trim()) throw new Error(`malformed attributes in <${name}>: ${rest.trim().slice(0, 40)}`);
    if (!stack.length) {
      if (root !== undefined) throw new Error(`second root element <${name}>`);
      root = name;
    }
    if (!selfClosing) stack.push(name);
  }
  if (stack.length) throw new Error(`unclosed elements: ${stack.join(' > ')}`);
  if (root === undefined) throw new Error('no root element');
  return { root, texts };
}

test('the XML check accepts well-formed XML and rejects malformed XML', () => {
  assert.deepEqual(parseXml('<?xml version="1.0"?><svg a="1"><g><text x=\'2\'>a &amp; b</text></g><rect/></svg>'), { root: 'svg', texts: ['a & b'] });
  for (const bad of ['<svg><g></svg>', '<svg a="1" a="2"/>', '<svg>a & b</svg>', '<svg a=1/>', '<svg/><svg/>', '<svg><text>x</tex></svg>', 'text', '<svg a="<"/>']) {
    assert.throws(() => parseXml(bad), Error, bad);
  }
});

/** Renders and parses: the SVG is well-formed, rooted at <svg> with a size; returns its texts. */
async function svgTexts(spec: viz.VegaLiteSpec): Promise<{ svg: string; texts: string[]; width: number; height: number }> {
  const svg = await renderSvg(spec);
  assert.ok(svg.startsWith('<svg'), `starts with <svg: ${svg.slice(0, 30)}`);
  const { root, texts } = parseXml(svg);
  assert.equal(root, 'svg');
  const width = Number(/^<svg[^>]*\swidth="([\d.]+)"/.exec(svg)?.[1]);
  const height = Number(/^<svg[^>]*\sheight="([\d.]+)"/.exec(svg)?.[1]);
  assert.ok(width > 0 && height > 0, `svg size ${width}×${height}`);
  return { svg, texts: texts.map((t) => t.trim()), width, height };
}

/** Collects console.warn calls (Vega and Vega-Lite log their warnings there) while `f` runs. */
async function warningsOf(f: () => Promise<unknown>): Promise<string[]> {
  const warnings: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => { warnings.push(args.map(String).join(' ')); };
  try {
    await f();
  } finally {
    console.warn = original;
  }
  return warnings;
}

/* ------------------------------------------------------------------------------------------ */
/* specs                                                                                        */

test('learningCurvesSpec: loss and accuracy panels, train and validation lines, the gap shaded', () => {
  const spec: Json = viz.learningCurvesSpec(history, { title: 'LeNet-5' });
  assert.equal(spec.title.text, 'LeNet-5');
  assert.match(spec.title.subtitle, /best validation loss [\d.]+ at epoch \d+/);
  assert.equal(spec.hconcat.length, 2);
  const [loss, acc] = spec.hconcat;
  assert.equal(loss.title.text, 'loss');
  assert.equal(acc.title.text, 'accuracy');
  assert.equal(loss.width, viz.PANEL_WIDTH);
  assert.equal(loss.height, viz.PANEL_HEIGHT);

  const curves = spec.datasets.curves;
  assert.equal(curves.length, 12 * 4, 'train/val loss and accuracy for 12 epochs (lr only on request)');
  assert.deepEqual(curves.find((r: Json) => r.epoch === 3 && r.metric === 'loss' && r.split === 'validation'),
    { epoch: 3, metric: 'loss', split: 'validation', value: history[2].valLoss });
  assert.deepEqual(new Set(curves.map((r: Json) => r.split)), new Set(['train', 'validation']));

  for (const [panel, metric] of [[loss, 'loss'], [acc, 'accuracy']] as const) {
    const all = layers(panel);
    const lines = all.filter((l) => l.mark?.type === 'line' && !l.transform?.some((t: Json) => t.filter === 'false'));
    assert.equal(lines.length, 1, `${metric}: one line layer`);
    const line = lines[0];
    assert.equal(line.mark.point, true, 'lines with points');
    assert.deepEqual(line.transform, [{ filter: { field: 'metric', equal: metric } }]);
    assert.equal(line.encoding.x.field, 'epoch');
    assert.equal(line.encoding.x.type, 'quantitative');
    assert.equal(line.encoding.x.title, 'epoch');
    assert.equal(line.encoding.y.field, 'value');
    assert.equal(line.encoding.y.title, metric);
    assert.equal(line.encoding.color.field, 'split');
    assert.deepEqual(line.encoding.color.scale.domain, ['train', 'validation']);
    const area = all.find((l) => l.mark?.type === 'area');
    assert.ok(area, `${metric}: a gap band`);
    assert.equal(area.data.name, 'gap');
    assert.deepEqual([area.encoding.y.field, area.encoding.y2.field], ['train', 'validation']);
    assert.equal(area.encoding.fill.datum, 'generalisation gap');
  }
  assert.deepEqual(acc.layer.at(-1).encoding.y.axis, { format: '.0%' }, 'fractions shown as percentages');
  const gap = spec.datasets.gap.filter((g: Json) => g.metric === 'loss');
  assert.equal(gap.length, 12);
  assert.deepEqual(gap[0], { epoch: 1, metric: 'loss', train: history[0].trainLoss, validation: history[0].valLoss });
  assert.deepEqual(JSON.parse(JSON.stringify(spec)), spec, 'plain JSON');
});

test('learningCurvesSpec: partial histories, unsorted epochs, NaN, the lr panel, validation', () => {
  const trainOnly: Json = viz.learningCurvesSpec([{ epoch: 2, trainLoss: 0.5 }, { epoch: 1, trainLoss: 0.9 }, { epoch: 3, trainLoss: NaN }]);
  assert.equal(trainOnly.title.text, 'Learning curves');
  assert.equal(trainOnly.hconcat.length, 1, 'no accuracy panel without accuracies');
  assert.deepEqual(trainOnly.datasets.curves.map((r: Json) => [r.epoch, r.value]), [[1, 0.9], [2, 0.5]], 'sorted by epoch, NaN left out');
  assert.deepEqual(trainOnly.datasets.gap, []);
  assert.ok(!layers(trainOnly.hconcat[0]).some((l) => l.mark?.type === 'area'), 'no gap without validation');
  assert.deepEqual(layers(trainOnly.hconcat[0])[0].encoding.color.scale.domain, ['train'], 'the legend names only what is drawn');
  assert.match(trainOnly.title.subtitle, /final training loss 0.5 at epoch 2/);

  const withLr: Json = viz.learningCurvesSpec(history, { lr: true, gap: false });
  assert.deepEqual(withLr.hconcat.map((p: Json) => p.title.text), ['loss', 'accuracy', 'learning rate']);
  assert.equal(withLr.datasets.curves.filter((r: Json) => r.metric === 'learning rate').length, 12);
  assert.ok(!withLr.hconcat.some((p: Json) => layers(p).some((l) => l.mark?.type === 'area')), 'gap: false');

  const percent: Json = viz.learningCurvesSpec([{ epoch: 1, trainLoss: 1, trainAccuracy: 40 }, { epoch: 2, trainLoss: 0.5, trainAccuracy: 80 }]);
  assert.deepEqual(percent.hconcat[1].layer.at(-1).encoding.y.axis, {}, 'percentages are left as numbers');

  assert.throws(() => viz.learningCurvesSpec([]), /learningCurvesSpec: history must be a non-empty array/);
  assert.throws(() => viz.learningCurvesSpec([{ trainLoss: 1 } as never]), /learningCurvesSpec: history\[0\]\.epoch must be a finite number, got undefined/);
  assert.throws(() => viz.learningCurvesSpec([{ epoch: 1 } as never]), /learningCurvesSpec: history\[0\]\.trainLoss must be a number/);
  assert.throws(() => viz.learningCurvesSpec(history, { width: -1 }), /learningCurvesSpec: width must be a positive number, got -1/);
});

test('confusionMatrixSpec: a heatmap, true class on rows, predicted on columns, counts in cells, accuracy in the title', () => {
  const spec: Json = viz.confusionMatrixSpec(matrix, classNames, { title: 'Pets' });
  assert.equal(spec.title.text, 'Pets — accuracy 89.6%');
  assert.match(spec.title.subtitle, /^154 samples/);
  assert.equal(spec.encoding.y.field, 'true');
  assert.equal(spec.encoding.y.title, 'true class');
  assert.deepEqual(spec.encoding.y.sort, classNames);
  assert.equal(spec.encoding.x.field, 'predicted');
  assert.equal(spec.encoding.x.title, 'predicted class');
  assert.deepEqual(spec.encoding.x.sort, classNames);
  const [rect, text] = spec.layer;
  assert.equal(rect.mark.type, 'rect');
  assert.equal(rect.encoding.color.field, 'value');
  assert.equal(rect.encoding.color.title, 'count');
  assert.equal(text.mark.type, 'text');
  assert.equal(text.encoding.text.field, 'label');
  const cells = spec.datasets.cells;
  assert.equal(cells.length, 9);
  assert.deepEqual(cells[1], { true: 'cat', predicted: 'dog', count: 3, fraction: 3 / 54, value: 3, label: '3' });
  assert.deepEqual(cells.map((c: Json) => c.label), matrix.flat().map(String));

  const norm: Json = viz.confusionMatrixSpec(matrix, classNames, { normalize: true });
  const dogRow = norm.datasets.cells.filter((c: Json) => c.true === 'dog');
  assert.deepEqual(dogRow.map((c: Json) => c.value), [0.08, 0.8, 0.12]);
  assert.deepEqual(dogRow.map((c: Json) => c.label), ['8%\n(4)', '80%\n(40)', '12%\n(6)'], 'percentage and count');
  assert.equal(norm.layer[0].encoding.color.title, 'fraction of true class');
  assert.equal(norm.layer[1].mark.lineBreak, '\n');
  assert.equal(norm.title.text, 'Confusion matrix — accuracy 89.6%', 'accuracy is not normalised');

  const big: Json = viz.confusionMatrixSpec(Array.from({ length: 40 }, (_, i) => Array.from({ length: 40 }, (_, j) => +(i === j))), Array.from({ length: 40 }, (_, i) => `c${i}`));
  assert.equal(big.layer.length, 1, 'no numbers in the cells of a 40-class matrix');
  assert.equal(big.title.text, 'Confusion matrix — accuracy 100.0%');
  const empty: Json = viz.confusionMatrixSpec([[0, 0], [0, 0]], ['a', 'b']);
  assert.equal(empty.title.text, 'Confusion matrix — accuracy n/a');
});

test('confusionMatrixSpec: errors name the shapes', () => {
  assert.throws(() => viz.confusionMatrixSpec([[1, 2, 3], [4, 5, 6]], ['a', 'b']), (e: Error) =>
    e.name === 'ShapeError' && /confusionMatrixSpec: matrix must be square \(true classes × predicted classes\), got \[2,3\]/.test(e.message));
  assert.throws(() => viz.confusionMatrixSpec([[1, 2], [3]], ['a', 'b']), /confusionMatrixSpec: matrix must be square .*got 2 rows of lengths \[2,1\]/);
  assert.throws(() => viz.confusionMatrixSpec(matrix, ['a', 'b']), (e: Error) =>
    e.name === 'ShapeError' && /confusionMatrixSpec: matrix is \[3,3\] but 2 class names were given; need 3/.test(e.message));
  assert.throws(() => viz.confusionMatrixSpec([], []), /confusionMatrixSpec: matrix must be a non-empty n×n array/);
  assert.throws(() => viz.confusionMatrixSpec([[1, -1], [0, 1]], ['a', 'b']), /confusionMatrixSpec: matrix\[0\]\[1\] must be a finite non-negative count, got -1/);
  assert.throws(() => viz.confusionMatrixSpec([[1, NaN], [0, 1]], ['a', 'b']), /matrix\[0\]\[1\] must be a finite non-negative count, got NaN/);
  assert.throws(() => viz.confusionMatrixSpec([[1, 0], [0, 1]], ['a', 'a']), /confusionMatrixSpec: class names must be distinct, 'a' appears twice/);
});

test('capacitySweepSpec: train and validation error against capacity, the gap, the best capacity', () => {
  const points = [8, 1, 2, 4, 16].map((c) => ({ capacity: c, trainError: 0.4 / c, valError: 0.4 / c + 0.02 * c }));
  const spec: Json = viz.capacitySweepSpec(points, { xTitle: 'hidden units', logX: true });
  assert.deepEqual(spec.datasets.errors.filter((r: Json) => r.split === 'validation').map((r: Json) => r.capacity), [1, 2, 4, 8, 16], 'sorted by capacity');
  assert.deepEqual(spec.datasets.errors[0], { capacity: 1, split: 'train', error: 0.4 });
  assert.deepEqual(spec.datasets.best, [{ capacity: 4, error: 0.4 / 4 + 0.02 * 4 }]);
  assert.match(spec.title.subtitle, /lowest validation error 0.18 at hidden units 4 \(training error 0.1\)/);
  const all = layers(spec);
  const line = all.find((l) => l.mark?.type === 'line' && l.data.name === 'errors' && !l.transform);
  assert.equal(line.encoding.x.field, 'capacity');
  assert.equal(line.encoding.x.title, 'hidden units');
  assert.equal(line.encoding.x.scale.type, 'log');
  assert.equal(line.encoding.y.field, 'error');
  assert.equal(line.encoding.color.field, 'split');
  const area = all.find((l) => l.mark?.type === 'area');
  assert.deepEqual([area.encoding.y.field, area.encoding.y2.field, area.encoding.fill.datum], ['train', 'validation', 'generalisation gap']);
  assert.equal(all.filter((l) => l.mark?.type === 'rule').length, 1);
  assert.deepEqual(all.filter((l) => l.mark?.type === 'text').map((l) => l.mark.text), ['← underfitting', 'overfitting →']);
  const atEdge: Json = viz.capacitySweepSpec([{ capacity: 1, trainError: 0.5, valError: 0.6 }, { capacity: 2, trainError: 0.3, valError: 0.4 }]);
  assert.deepEqual(layers(atEdge).filter((l) => l.mark?.type === 'text').map((l) => l.mark.text), ['← underfitting'], 'no overfitting side when the best is the largest');
  assert.throws(() => viz.capacitySweepSpec([{ capacity: 0, trainError: 0, valError: 0 }], { logX: true }), /capacitySweepSpec: points\[0\]\.capacity must be positive for a logarithmic axis, got 0/);
  assert.throws(() => viz.capacitySweepSpec([{ capacity: 1, trainError: 0 } as never]), /capacitySweepSpec: points\[0\]\.valError must be a finite number, got undefined/);
  assert.throws(() => viz.capacitySweepSpec([]), /capacitySweepSpec: points must be a non-empty array/);
});

test('lineSpec and scatterSpec', () => {
  const line: Json = viz.lineSpec([{ name: 'RNN', values: [1, 0.1, 0, 0.001] }, { name: 'LSTM', values: [1, 0.9] }], { xTitle: 'time step', yTitle: 'gradient norm', logY: true });
  assert.deepEqual(line.datasets.series, [
    { x: 0, series: 'RNN', y: 1 }, { x: 1, series: 'RNN', y: 0.1 }, { x: 3, series: 'RNN', y: 0.001 },
    { x: 0, series: 'LSTM', y: 1 }, { x: 1, series: 'LSTM', y: 0.9 },
  ], 'zero left out on a log axis');
  assert.equal(line.encoding.y.scale.type, 'log');
  assert.equal(line.encoding.x.title, 'time step');
  assert.equal(line.encoding.y.title, 'gradient norm');
  assert.deepEqual(line.encoding.color.scale.domain, ['RNN', 'LSTM']);
  const shifted: Json = viz.lineSpec([{ name: 'a', values: [3, 4] }], { x: [10, 20] });
  assert.deepEqual(shifted.datasets.series.map((r: Json) => r.x), [10, 20]);
  assert.equal(shifted.encoding.color.legend, null, 'no legend for one series');
  assert.throws(() => viz.lineSpec([{ name: 'a', values: [1, 2, 3] }], { x: [0, 1] }), /lineSpec: x has 2 values but the longest series has 3/);
  assert.throws(() => viz.lineSpec([{ name: 'a', values: [] }, { name: 'a', values: [] }]), /lineSpec: series names must be distinct/);

  const scatter: Json = viz.scatterSpec([{ x: 0, y: 1, label: 10 }, { x: 1, y: 2, label: 2 }, { x: NaN, y: 0, label: 2 }, { x: 2, y: 3, label: 2 }], { labelTitle: 'digit' });
  assert.equal(scatter.datasets.points.length, 3, 'non-finite points left out');
  assert.deepEqual(scatter.datasets.points[0], { x: 0, y: 1, label: '10' });
  assert.equal(scatter.mark.type, 'circle');
  assert.equal(scatter.encoding.color.field, 'label');
  assert.equal(scatter.encoding.color.title, 'digit');
  assert.deepEqual(scatter.encoding.color.scale.domain, ['2', '10'], 'numeric labels in numeric order');
  const plain: Json = viz.scatterSpec([{ x: 0, y: 0 }]);
  assert.deepEqual(plain.encoding.color, { value: viz.COLORS.train });
});

test('the chart module is browser-safe: no Node built-ins, no rendering code', () => {
  const srcDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');
  const seen = new Set<string>();
  const stack = [join(srcDir, 'viz', 'index.ts')];
  const imports: string[] = [];
  while (stack.length) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(/(import|export)(\s+type)?[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = m[3] ?? m[4];
      if (spec.startsWith('.')) stack.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else if (!m[2]) imports.push(`${file.slice(srcDir.length + 1)} imports ${spec}`);
    }
  }
  assert.ok(seen.has(join(srcDir, 'viz', 'charts.ts')));
  assert.ok(!seen.has(join(srcDir, 'viz', 'render.ts')), 'render.ts is not reachable');
  assert.deepEqual(imports, [], 'only type imports of packages (vega-lite types)');
});

/* ------------------------------------------------------------------------------------------ */
/* rendering                                                                                    */

test('renderSvg: learning curves as well-formed SVG with titles, axis titles and legend', async () => {
  let result!: Awaited<ReturnType<typeof svgTexts>>;
  const warnings = await warningsOf(async () => { result = await svgTexts(viz.learningCurvesSpec(history, { title: 'LeNet-5 on MNIST' })); });
  assert.deepEqual(warnings, [], 'Vega and Vega-Lite compile it without warnings');
  const { texts, width, height } = result;
  for (const t of ['LeNet-5 on MNIST', 'loss', 'accuracy', 'epoch', 'train', 'validation', 'generalisation gap', '100%']) {
    assert.ok(texts.includes(t), `SVG shows '${t}'`);
  }
  assert.ok(texts.some((t) => /^best validation loss/.test(t)), 'the subtitle');
  assert.ok(width > 2 * viz.PANEL_WIDTH && width < 2 * viz.PANEL_WIDTH + 300, `two panels side by side: width ${width}`);
  assert.ok(height > viz.PANEL_HEIGHT && height < viz.PANEL_HEIGHT + 220, `height ${height}`);
});

test('renderSvg: the confusion matrix shows class names, every count and the accuracy', async () => {
  const { texts } = await svgTexts(viz.confusionMatrixSpec(matrix, classNames));
  assert.ok(texts.includes('Confusion matrix — accuracy 89.6%'));
  for (const t of [...classNames, 'true class', 'predicted class']) assert.ok(texts.includes(t), `SVG shows '${t}'`);
  const counts = texts.filter((t) => /^\d+$/.test(t));
  for (const c of matrix.flat()) assert.ok(counts.includes(String(c)), `count ${c} is written`);
  const norm = await svgTexts(viz.confusionMatrixSpec(matrix, classNames, { normalize: true }));
  for (const t of ['80%', '(40)', '93%', '(50)']) assert.ok(norm.texts.includes(t), `normalised matrix shows '${t}' (two-line cells)`);
});

test('renderSvg: every chart kind renders without warnings', async () => {
  const specs = [
    viz.capacitySweepSpec([1, 2, 4, 8].map((c) => ({ capacity: c, trainError: 1 / c, valError: 1 / c + 0.05 * c })), { xTitle: 'degree' }),
    viz.lineSpec([{ name: 'RNN', values: [1, 0.5, 0.25] }, { name: 'LSTM', values: [1, 0.9, 0.8] }], { xTitle: 'time step', yTitle: 'gradient norm', logY: true }),
    viz.scatterSpec([{ x: 0, y: 0, label: 'a' }, { x: 1, y: 1, label: 'b' }], { xTitle: 't-SNE 1', yTitle: 't-SNE 2', hideAxes: true }),
    viz.learningCurvesSpec(history, { lr: true }),
  ];
  const expected = [['degree', '← underfitting', 'overfitting →'], ['time step', 'gradient norm', 'RNN', 'LSTM'], ['t-SNE 1', 'a', 'b'], ['learning rate']];
  const warnings = await warningsOf(async () => {
    const results = await Promise.all(specs.map(svgTexts)); // concurrently
    results.forEach((r, i) => { for (const t of expected[i]) assert.ok(r.texts.includes(t), `chart ${i} shows '${t}'`); });
  });
  assert.deepEqual(warnings, []);
});

test('renderSvg measures text as DejaVu Sans during rendering and restores Vega\'s measure afterwards', async () => {
  const metrics = (vega as unknown as { textMetrics: { width: unknown } }).textMetrics;
  const before = metrics.width;
  await Promise.all([renderSvg(viz.lineSpec([{ name: 'a', values: [1, 2] }])), renderSvg(viz.scatterSpec([{ x: 1, y: 2 }]))]);
  assert.equal(metrics.width, before);
  assert.ok(Math.abs(textWidth('epoch', 10) - 30.5) < 0.5, `'epoch' at 10px: ${textWidth('epoch', 10)}`);
  assert.ok(textWidth('loss', 16, true) > textWidth('loss', 16), 'bold is wider');
  // A long legend label is no longer truncated by a coarse width estimate.
  const { texts } = await svgTexts(viz.capacitySweepSpec([{ capacity: 1, trainError: 0.1, valError: 0.2 }]));
  assert.ok(texts.includes('generalisation gap'));
  await assert.rejects(renderSvg(null as never), /renderSvg: spec must be a Vega-Lite spec object/);
});

test('renderPng: a PNG at scale × the chart size', async () => {
  const spec = viz.confusionMatrixSpec(matrix, classNames);
  const { width, height } = await svgTexts(spec);
  for (const scale of [1, 2]) {
    const png = await renderPng(spec, { scale });
    assert.ok(png instanceof Uint8Array);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
    const meta = await sharp(png).metadata();
    assert.equal(meta.format, 'png');
    assert.ok(Math.abs(meta.width! - width * scale) <= 2, `width ${meta.width} ≈ ${width} × ${scale}`);
    assert.ok(Math.abs(meta.height! - height * scale) <= 2, `height ${meta.height} ≈ ${height} × ${scale}`);
  }
  const { data, info } = await sharp(await renderPng(spec)).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([...data.subarray(0, info.channels).subarray(0, 3)], [255, 255, 255], 'white background, not transparent');
  await assert.rejects(renderPng(spec, { scale: 0 }), /renderPng: scale must be a number in \(0, 16\], got 0/);
});

test('saveChart writes .svg, .png and .json atomically and rejects other extensions', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pixelgrad-viz-'));
  const spec = viz.learningCurvesSpec(history);
  await saveChart(spec, join(dir, 'curves.svg'));
  await saveChart(spec, join(dir, 'sub', 'curves.PNG'), { scale: 1 });
  await saveChart(spec, join(dir, 'curves.json'));
  assert.deepEqual(readdirSync(dir).sort(), ['curves.json', 'curves.svg', 'sub'], 'no temporary files left');
  assert.deepEqual(readdirSync(join(dir, 'sub')), ['curves.PNG']);
  assert.equal(parseXml(readFileSync(join(dir, 'curves.svg'), 'utf8')).root, 'svg');
  assert.deepEqual([...readFileSync(join(dir, 'sub', 'curves.PNG')).subarray(1, 4)], [0x50, 0x4e, 0x47]);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'curves.json'), 'utf8')), JSON.parse(JSON.stringify(spec)));

  // Overwrites replace the whole file; a failed render leaves the existing file untouched.
  const target = join(dir, 'chart.svg');
  writeFileSync(target, 'old');
  await saveChart(viz.scatterSpec([{ x: 1, y: 1 }]), target);
  assert.ok(readFileSync(target, 'utf8').startsWith('<svg'));
  const before = readFileSync(target, 'utf8');
  await assert.rejects(saveChart({ mark: 'nonsense' } as never, target));
  assert.equal(readFileSync(target, 'utf8'), before);
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);

  await assert.rejects(saveChart(spec, join(dir, 'curves.jpg')), (e: Error) =>
    e.name === 'ArgumentError' && /saveChart: unknown chart file type '\.jpg' in .*curves\.jpg; use \.svg, \.png or \.json/.test(e.message));
  await assert.rejects(saveChart(spec, join(dir, 'curves')), /saveChart: unknown chart file type \(no extension\)/);
  assert.ok(!readdirSync(dir).includes('curves.jpg'));
});
