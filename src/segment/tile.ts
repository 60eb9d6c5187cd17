/**
 * Overlap-tile prediction (the U-Net paper's strategy for images larger than the network's input):
 * the image is cut into tiles whose centres (the "cores") cover it exactly; each tile is the core
 * plus a margin of context, taken from the image mirrored at its borders, and only the core of
 * each tile's output is kept. With a margin at least the receptive field's reach, there are no seams.
 */
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { mirrorIndex } from '../data/transforms/elastic.js';
import type { Module } from '../nn/module.js';
import { Tensor } from '../tensor.js';
import { predict } from '../train/fit.js';

export interface TileOptions {
  /** Side of the square input tile (default 128; for a U-Net, divisible by 2^(levels − 1)). */
  tile?: number;
  /** Context on each side of a tile's core, in pixels (default tile/4); the core is tile − 2·margin. */
  margin?: number;
  /** Tiles per forward pass (default 8). */
  batchSize?: number;
}

/**
 * The model's per-pixel outputs for an image [C,H,W] or a batch [N,C,H,W] of any size, by
 * overlap-tile with mirror padding: [K,H,W] or [N,K,H,W]. The model must map [B,C,t,t] to
 * [B,K,t,t] (same-size outputs, as the U-Net here).
 * @example const logits = predictTiled(unet, image, { tile: 128, margin: 32 }); const mask = logits.argmax(0);
 */
export function predictTiled(model: Module, image: Tensor, options: TileOptions = {}): Tensor {
  const op = 'predictTiled';
  if (!(image instanceof Tensor) || (image.ndim !== 3 && image.ndim !== 4)) {
    throw new ShapeError(op, `image must be [C,H,W] or [N,C,H,W], got ${image instanceof Tensor ? fmtShape(image.shape) : typeof image}`);
  }
  const tile = options.tile ?? 128, margin = options.margin ?? Math.floor(tile / 4), batchSize = options.batchSize ?? 8;
  if (!Number.isInteger(tile) || tile < 1) throw new ArgumentError(op, `tile must be a positive integer, got ${tile}`);
  if (!Number.isInteger(margin) || margin < 0 || 2 * margin >= tile) throw new ArgumentError(op, `margin must be an integer in [0, tile/2), got ${margin} for tile ${tile}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ArgumentError(op, `batchSize must be a positive integer, got ${batchSize}`);
  const batch = image.ndim === 4 ? image : image.reshape(1, ...image.shape);
  const [n, c, h, w] = batch.shape;
  const core = tile - 2 * margin, ny = Math.ceil(h / core), nx = Math.ceil(w / core);
  const src = batch.data;
  const origins: [number, number, number][] = [];
  for (let k = 0; k < n; k++) for (let ty = 0; ty < ny; ty++) for (let tx = 0; tx < nx; tx++) origins.push([k, ty * core, tx * core]);
  // Mirrored source index of each tile row/column, per core origin: shared by every channel.
  const axis = (origin: number, size: number) => Int32Array.from({ length: tile }, (_, i) => mirrorIndex(origin - margin + i, size));
  let out: Float32Array | null = null, classes = 0;
  for (let b0 = 0; b0 < origins.length; b0 += batchSize) {
    const part = origins.slice(b0, b0 + batchSize);
    const tiles = new Float32Array(part.length * c * tile * tile);
    part.forEach(([k, oy, ox], t) => {
      const rows = axis(oy, h), cols = axis(ox, w);
      for (let ch = 0; ch < c; ch++) {
        const plane = (k * c + ch) * h * w, base = (t * c + ch) * tile * tile;
        for (let y = 0; y < tile; y++) for (let x = 0; x < tile; x++) tiles[base + y * tile + x] = src[plane + rows[y] * w + cols[x]];
      }
    });
    const y = predict(model, new Tensor(tiles, [part.length, c, tile, tile]), { batchSize });
    if (y.ndim !== 4 || y.shape[0] !== part.length || y.shape[2] !== tile || y.shape[3] !== tile) {
      throw new ShapeError(op, `the model maps tiles [${part.length},${c},${tile},${tile}] to ${fmtShape(y.shape)}; overlap-tile needs outputs [${part.length},K,${tile},${tile}]`);
    }
    if (!out) { classes = y.shape[1]; out = new Float32Array(n * classes * h * w); }
    part.forEach(([k, oy, ox], t) => {
      const rowsKept = Math.min(core, h - oy), colsKept = Math.min(core, w - ox);
      for (let ch = 0; ch < classes; ch++) {
        const from = (t * classes + ch) * tile * tile, to = (k * classes + ch) * h * w;
        for (let yy = 0; yy < rowsKept; yy++) {
          for (let xx = 0; xx < colsKept; xx++) out![to + (oy + yy) * w + ox + xx] = y.data[from + (margin + yy) * tile + margin + xx];
        }
      }
    });
  }
  const result = new Tensor(out!, [n, classes, h, w]);
  return image.ndim === 4 ? result : result.reshape(classes, h, w);
}
