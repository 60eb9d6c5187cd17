/**
 * Rendering of chart specs in Node: Vega-Lite → Vega → SVG (headless, no canvas), SVG → PNG with
 * sharp, and `saveChart` writing .svg, .png or .json (the spec itself) atomically. Node-only: the
 * core entry point does not import this module; use it through `pixelgrad/node`.
 */
import { extname } from 'node:path';
import sharp from 'sharp';
import * as vega from 'vega';
import { compile } from 'vega-lite';
import { ArgumentError } from '../errors.js';
import { writeFileAtomic } from '../io/files.js';
import type { VegaLiteSpec } from './charts.js';
import { vegaTextWidth } from './text-metrics.js';

type WidthFn = (item: object, text: unknown) => number;
// vega-scenegraph's text measurement hook (typed loosely: vega's typings leave it out).
const metrics = (vega as unknown as { textMetrics: { width: WidthFn } }).textMetrics;
let rendering = 0;
let savedWidth: WidthFn | undefined;

/**
 * Runs `f` with DejaVu Sans text widths installed in Vega (instead of its coarse estimate),
 * restoring the previous measure when the last concurrent render finishes.
 */
async function withTextMetrics<T>(f: () => Promise<T>): Promise<T> {
  if (rendering++ === 0) {
    savedWidth = metrics.width;
    metrics.width = vegaTextWidth as WidthFn;
  }
  try {
    return await f();
  } finally {
    if (--rendering === 0) metrics.width = savedWidth!;
  }
}

/** Vega-Lite spec → SVG text (a standalone `<svg>` element with width, height and viewBox). */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  if (spec === null || typeof spec !== 'object') throw new ArgumentError('renderSvg', `spec must be a Vega-Lite spec object, got ${spec}`);
  const vegaSpec = compile(spec).spec;
  const view = new vega.View(vega.parse(vegaSpec), { renderer: 'none' });
  try {
    return await withTextMetrics(() => view.toSVG());
  } finally {
    view.finalize();
  }
}

export interface PngOptions {
  /** Pixels per SVG unit: 2 gives a PNG twice the chart's size in each direction. Default 2. */
  scale?: number;
}

/** Vega-Lite spec → PNG bytes, rasterised by sharp (librsvg) at `scale` × the chart's size. */
export async function renderPng(spec: VegaLiteSpec, options: PngOptions = {}): Promise<Uint8Array> {
  const scale = options.scale ?? 2;
  if (!(typeof scale === 'number' && Number.isFinite(scale) && scale > 0 && scale <= 16)) {
    throw new ArgumentError('renderPng', `scale must be a number in (0, 16], got ${scale}`);
  }
  const svg = await renderSvg(spec);
  const png = await sharp(Buffer.from(svg), { density: 72 * scale }).png().toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

/**
 * Saves a chart by the file's extension: `.svg`, `.png` (rendered at `scale`, default 2) or `.json`
 * (the Vega-Lite spec, to open in the Vega editor or embed in a page). The file is written
 * atomically (a temporary file, then a rename), and only after rendering succeeded, so a failed
 * render leaves an existing file untouched. Folders are created as needed.
 */
export async function saveChart(spec: VegaLiteSpec, path: string, options: PngOptions = {}): Promise<void> {
  const ext = extname(path).toLowerCase();
  let data: string | Uint8Array;
  if (ext === '.svg') data = await renderSvg(spec);
  else if (ext === '.png') data = await renderPng(spec, options);
  else if (ext === '.json') data = `${JSON.stringify(spec, null, 2)}\n`;
  else throw new ArgumentError('saveChart', `unknown chart file type ${ext ? `'${ext}'` : '(no extension)'} in ${path}; use .svg, .png or .json`);
  writeFileAtomic(path, data);
}
