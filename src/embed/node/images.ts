/** Node-only: the embedding pictures as files and data URLs (sharp). */
import sharp from 'sharp';
import { saveImageGrid, type MakeGridOptions } from '../../data/node/image-io.js';
import { ShapeError, fmtShape } from '../../errors.js';
import type { Tensor } from '../../tensor.js';
import type { ImageTiles } from '../gallery.js';

/** Writes tiles (from `neighborGallery` or `reconstructionGallery`) as one captioned PNG grid. */
export async function saveImageTiles(tiles: ImageTiles, path: string, options: Omit<MakeGridOptions, 'nrow'> = {}): Promise<void> {
  await saveImageGrid(tiles.images, path, { ...options, nrow: tiles.nrow, labels: tiles.captions });
}

/** An image [C,H,W] (C = 1, 3 or 4; values in [0,1]) as a `data:image/png;base64,...` URL, e.g. for a thumbnail in a chart. */
export async function imageDataUrl(image: Tensor): Promise<string> {
  const [c, h, w] = image.shape;
  if (image.ndim !== 3 || ![1, 3, 4].includes(c)) throw new ShapeError('imageDataUrl', `image must be [C,H,W] with C = 1, 3 or 4, got ${fmtShape(image.shape)}`);
  const n = h * w;
  const bytes = Buffer.alloc(c * n);
  for (let ch = 0; ch < c; ch++) for (let i = 0; i < n; i++) bytes[i * c + ch] = Math.round(Math.min(1, Math.max(0, image.data[ch * n + i])) * 255);
  const png = await sharp(bytes, { raw: { width: w, height: h, channels: c as 1 | 3 | 4 } }).png().toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}
