/**
 * Pictures of feature spaces, computed without Node APIs: neighbour galleries (each query beside
 * its nearest references in several spaces, captioned with labels and distances), PCA
 * reconstructions from k components, and an embedding map (a scatter coloured by class with image
 * thumbnails at their points) as a Vega-Lite spec. `pixelgrad/node` writes them as PNG files.
 */
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { Tensor } from '../tensor.js';
import { scatterSpec, type ScatterOptions, type ScatterPoint, type VegaLiteSpec } from '../viz/charts.js';
import type { Neighbors } from './neighbors.js';
import type { PCA } from './pca.js';

/** Tiles for an image grid (`saveImageGrid(images, path, { nrow, labels: captions })`). */
export interface ImageTiles {
  images: Tensor[];
  captions: string[];
  /** Tiles per row. */
  nrow: number;
}

export interface NeighborPanel {
  /** Shown on the blank tile that starts the panel, e.g. 'pixels' or 'features'. */
  name: string;
  /** Neighbours of each query (rows in query order), e.g. from `kNeighbors`. */
  neighbors: Neighbors;
}

export interface NeighborGalleryOptions {
  /** The query images, [C,H,W] each. */
  queries: readonly Tensor[];
  /** Reference image i ([C,H,W]), for the neighbours' indices. */
  reference: (index: number) => Tensor;
  /** One panel per space, side by side in each row. */
  panels: readonly NeighborPanel[];
  /** Labels of the queries and of the references (class indices), for the captions and the agreement. */
  queryLabels?: ArrayLike<number>;
  referenceLabels?: ArrayLike<number>;
  /** Names of the class indices. Default: the indices. */
  classNames?: readonly string[];
}

/** A distance in at most 3 significant digits. */
const fmtDistance = (d: number) => (d === 0 ? '0' : d >= 100 ? d.toFixed(0) : d.toPrecision(2));

/**
 * One row per query: the query, then for each panel a blank tile with the panel's name and the k
 * neighbours captioned "label distance". Also returns, per panel, the share of neighbours with the
 * query's label (when labels are given): the number that says which space is better.
 */
export function neighborGallery(options: NeighborGalleryOptions): ImageTiles & { agreement: Record<string, number> } {
  const op = 'neighborGallery';
  const { queries, reference, panels, queryLabels, referenceLabels, classNames } = options;
  if (!queries.length) throw new ArgumentError(op, 'no query images');
  if (!panels.length) throw new ArgumentError(op, 'no panels');
  if ((queryLabels === undefined) !== (referenceLabels === undefined)) throw new ArgumentError(op, 'give both queryLabels and referenceLabels, or neither');
  for (const p of panels) {
    if (p.neighbors.indices.length !== queries.length * p.neighbors.k) throw new ShapeError(op, `panel '${p.name}' has neighbours for ${p.neighbors.indices.length / p.neighbors.k} queries, not ${queries.length}`);
  }
  const first = queries[0];
  const blank = new Tensor(new Float32Array(first.size), [...first.shape]);
  const name = (c: number) => classNames?.[c] ?? String(c);
  const images: Tensor[] = [], captions: string[] = [];
  const agree = panels.map(() => 0);
  queries.forEach((q, i) => {
    images.push(q);
    captions.push(queryLabels ? `query ${name(queryLabels[i])}` : 'query');
    panels.forEach((p, pi) => {
      images.push(blank);
      captions.push(`${p.name} →`);
      for (let j = 0; j < p.neighbors.k; j++) {
        const idx = p.neighbors.indices[i * p.neighbors.k + j];
        images.push(reference(idx));
        const label = referenceLabels ? `${name(referenceLabels[idx])} ` : '';
        captions.push(`${label}${fmtDistance(p.neighbors.distances[i * p.neighbors.k + j])}`);
        if (queryLabels && referenceLabels && referenceLabels[idx] === queryLabels[i]) agree[pi]++;
      }
    });
  });
  const nrow = 1 + panels.reduce((s, p) => s + 1 + p.neighbors.k, 0);
  const agreement: Record<string, number> = {};
  if (queryLabels) panels.forEach((p, pi) => { agreement[p.name] = agree[pi] / (queries.length * p.neighbors.k); });
  return { images, captions, nrow, agreement };
}

/**
 * One row per image: the original, then its reconstruction from the first k principal components
 * for each k of `ks` (captioned "k = 5"). `images` [M, C, H, W] must match the PCA's features.
 */
export function reconstructionGallery(pca: PCA, images: Tensor, ks: readonly number[]): ImageTiles {
  const op = 'reconstructionGallery';
  if (!(images instanceof Tensor) || images.ndim !== 4) throw new ShapeError(op, `images must be [M, C, H, W], got ${images instanceof Tensor ? fmtShape(images.shape) : typeof images}`);
  const [m, c, h, w] = images.shape;
  const flat = images.reshape([m, c * h * w]);
  const recon = ks.map((k) => pca.reconstruct(flat, k));
  const tiles: Tensor[] = [], captions: string[] = [];
  const size = c * h * w;
  const tile = (data: Tensor, i: number) => new Tensor(data.data.slice(i * size, (i + 1) * size), [c, h, w]);
  for (let i = 0; i < m; i++) {
    tiles.push(tile(flat, i));
    captions.push('original');
    recon.forEach((r, j) => { tiles.push(tile(r, i)); captions.push(`k = ${ks[j]}`); });
  }
  return { images: tiles, captions, nrow: 1 + ks.length };
}

/** Vega's 'tableau10' colours, in order: the class colours of `embeddingMapSpec` for up to 10 classes. */
export const CLASS_COLORS = ['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac'] as const;

export interface Thumbnail {
  x: number;
  y: number;
  /** The image, as a URL (e.g. a data: URL of a PNG). */
  url: string;
}

export interface EmbeddingMapOptions extends ScatterOptions {
  /** Thumbnail side in pixels. Default 20. */
  thumbnailSize?: number;
  /**
   * The class names in order (the points' labels): the legend follows this order and, for at most
   * 10 classes, class i is drawn in `CLASS_COLORS[i]` (so thumbnails can be tinted to match).
   */
  classes?: readonly string[];
}

/** A 2-D embedding as a scatter coloured by class (`scatterSpec`, axes hidden) with image thumbnails drawn at their points. */
export function embeddingMapSpec(points: readonly ScatterPoint[], thumbnails: readonly Thumbnail[], options: EmbeddingMapOptions = {}): VegaLiteSpec {
  const { thumbnailSize = 20, classes, ...scatter } = options;
  if (!(Number.isFinite(thumbnailSize) && thumbnailSize > 0)) throw new ArgumentError('embeddingMapSpec', `thumbnailSize must be a positive number, got ${thumbnailSize}`);
  // The scatter's single view becomes the first layer; the thumbnails are the second.
  const { mark, encoding, data, ...top } = scatterSpec(points, { hideAxes: true, ...scatter }) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  if (classes && encoding.color?.field) {
    const known = new Set(classes);
    points.forEach((p, i) => { if (p.label !== undefined && !known.has(String(p.label))) throw new ArgumentError('embeddingMapSpec', `points[${i}] has label '${p.label}', which is not in classes`); });
    encoding.color.scale = classes.length <= CLASS_COLORS.length ? { domain: [...classes], range: classes.map((_, i) => CLASS_COLORS[i]) } : { ...encoding.color.scale, domain: [...classes] };
  }
  const axis = encoding.x.axis;
  return {
    ...top,
    datasets: { ...top.datasets, thumbnails: thumbnails.map((t) => ({ x: t.x, y: t.y, url: t.url })) },
    layer: [
      { data, mark, encoding },
      {
        data: { name: 'thumbnails' },
        mark: { type: 'image', width: thumbnailSize, height: thumbnailSize, aria: false },
        encoding: { x: { field: 'x', type: 'quantitative', axis }, y: { field: 'y', type: 'quantitative', axis }, url: { field: 'url', type: 'nominal' } },
      },
    ],
  } as VegaLiteSpec;
}

/**
 * A gray image [1,H,W] (values in [0,1]) as an RGBA image [4,H,W] in `color` ('#rrggbb') whose
 * opacity is the pixel value: a digit drawn in its class colour on a transparent background.
 * Colour images [3,H,W] are returned unchanged.
 */
export function tintImage(image: Tensor, color: string): Tensor {
  const op = 'tintImage';
  if (!(image instanceof Tensor) || image.ndim !== 3 || (image.shape[0] !== 1 && image.shape[0] !== 3)) {
    throw new ShapeError(op, `image must be [1,H,W] or [3,H,W], got ${image instanceof Tensor ? fmtShape(image.shape) : typeof image}`);
  }
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color);
  if (!m) throw new ArgumentError(op, `color must be '#rrggbb', got '${color}'`);
  if (image.shape[0] === 3) return image;
  const [, h, w] = image.shape, n = h * w;
  const out = new Float32Array(4 * n);
  for (let ch = 0; ch < 3; ch++) out.fill(parseInt(m[ch + 1], 16) / 255, ch * n, (ch + 1) * n);
  for (let i = 0; i < n; i++) out[3 * n + i] = Math.min(1, Math.max(0, image.data[i]));
  return new Tensor(out, [4, h, w]);
}
