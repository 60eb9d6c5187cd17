/**
 * The explanation figure: one row per input, the image then one tile per method (image |
 * saliency | guided backprop | Grad-CAM | guided Grad-CAM, or whatever was computed), each tile an
 * RGB image in [0, 1] with a caption. Browser-safe; the Node side writes it with saveImageGrid.
 */
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { checkRange, resolveOptions } from '../options.js';
import { Tensor } from '../tensor.js';
import { applyColormap, channelMap, normalizeMap, overlayHeatmap, type AttributionSign } from '../viz/heatmap.js';

/** How a column is drawn: 'magnitude' |a| in viridis, 'signed' in coolwarm, 'overlay' a CAM over the image. */
export type ColumnStyle = 'magnitude' | 'signed' | 'overlay';

/** The style that suits each method's output. */
export const METHOD_STYLES: Readonly<Record<string, ColumnStyle>> = {
  saliency: 'magnitude', smoothGrad: 'magnitude', guidedBackprop: 'magnitude', deconvolution: 'magnitude', guidedGradCam: 'magnitude',
  inputXGradient: 'signed', integratedGradients: 'signed', occlusion: 'signed', gradCam: 'overlay',
};

export interface FigureColumn {
  title: string;
  /** Attributions [N, C, H, W] for the figure's N images. */
  attributions: Tensor;
  style: ColumnStyle;
}

export interface ExplanationFigureOptions {
  /** One caption per row for the image tile (e.g. 'true 3, pred 5'). Default: none. */
  rowLabels?: readonly string[];
  /** Percentile of |a| that saturates the colours (see viz.normalizeMap). Default 99. */
  percentile?: number;
  /** Heatmap weight in overlays. Default 0.5. */
  alpha?: number;
}

/**
 * The tiles ([3, H, W] RGB in [0, 1]), their captions and the number per row of the figure.
 * @example const f = explanationFigure(images, [{ title: 'saliency', attributions: s, style: 'magnitude' }]);
 *          await saveImageGrid(f.tiles, 'explain.png', { nrow: f.nrow, labels: f.captions, scale: 4 });
 */
export function explanationFigure(images: Tensor, columns: readonly FigureColumn[], options: ExplanationFigureOptions = {}): { tiles: Tensor[]; captions: string[]; nrow: number } {
  const op = 'explanationFigure';
  const o = resolveOptions<ExplanationFigureOptions & { percentile: number; alpha: number }>(op, options, { percentile: 99, alpha: 0.5 }, ['rowLabels', 'percentile', 'alpha']);
  checkRange(op, 'percentile', o.percentile, 0, 100);
  checkRange(op, 'alpha', o.alpha, 0, 1);
  if (!(images instanceof Tensor) || images.ndim !== 4 || (images.shape[1] !== 1 && images.shape[1] !== 3)) {
    throw new ShapeError(op, `images must be [N, 1 or 3, H, W], got ${images instanceof Tensor ? fmtShape(images.shape) : typeof images}`);
  }
  const [n, c, h, w] = images.shape;
  if (o.rowLabels && o.rowLabels.length !== n) throw new ArgumentError(op, `got ${o.rowLabels.length} row labels for ${n} images`);
  for (const col of columns) {
    const s = col.attributions.shape;
    if (col.attributions.ndim !== 4 || s[0] !== n || s[2] !== h || s[3] !== w) {
      throw new ShapeError(op, `column '${col.title}' has attributions of shape ${fmtShape(s)}, expected [${n}, C, ${h}, ${w}]`);
    }
  }
  const tiles: Tensor[] = [], captions: string[] = [];
  for (let i = 0; i < n; i++) {
    const image = images.narrow(0, i, 1).reshape(c, h, w);
    tiles.push(image);
    captions.push(o.rowLabels?.[i] ?? '');
    for (const col of columns) {
      const a = col.attributions.narrow(0, i, 1).reshape(col.attributions.shape.slice(1));
      const sign: AttributionSign = col.style === 'signed' ? 'all' : 'absolute';
      const map = normalizeMap(channelMap(a, sign), { percentile: o.percentile, signed: col.style === 'signed' });
      const heat = applyColormap(map, col.style === 'signed' ? 'coolwarm' : 'viridis');
      tiles.push(col.style === 'overlay' ? overlayHeatmap(image, heat, o.alpha) : heat);
      captions.push(col.title);
    }
  }
  return { tiles, captions, nrow: columns.length + 1 };
}
