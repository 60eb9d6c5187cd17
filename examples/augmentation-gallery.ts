/**
 * The augmentation gallery: one MNIST digit and one colour image under each augmentation, in a
 * captioned PNG grid (first row of each pair: the digit; second: the colour image).
 *
 *   npx tsx examples/augmentation-gallery.ts [--image photo.png] [--out runs/augmentation-gallery.png]
 *
 * Without --image, the colour image is a synthetic one (coloured shapes on a noisy background).
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Generator, data, type Tensor } from '../src/index.js';
import { datasets, readImage, saveImageGrid } from '../src/node.js';

const T = data.transforms;

/** Name → transform; each random one with its own seeded generator so the gallery is reproducible. */
export function augmentations(seed = 0): [string, (img: Tensor) => Tensor][] {
  const g = (k: number) => ({ generator: new Generator(seed + k) });
  return [
    ['original', (x) => x],
    ['h-flip', T.randomHorizontalFlip({ p: 1, ...g(1) })],
    ['v-flip', T.randomVerticalFlip({ p: 1, ...g(2) })],
    ['rotation ±30°', T.randomRotation(30, { interpolation: 'bilinear', ...g(3) })],
    ['affine', T.randomAffine({ degrees: 15, translate: [0.15, 0.15], scale: [0.8, 1.2], shear: 10, interpolation: 'bilinear', ...g(4) })],
    ['crop', (x) => T.randomResizedCrop([x.shape[1], x.shape[2]], { scale: [0.4, 0.8], ...g(5) })(x)],
    ['brightness', T.colorJitter({ brightness: [1.5, 1.5], ...g(6) })],
    ['contrast', T.colorJitter({ contrast: [0.4, 0.4], ...g(7) })],
    ['saturation', (x) => (x.shape[0] === 3 ? T.colorJitter({ saturation: [0, 0], ...g(8) })(x) : x)],
    ['gamma 0.5', T.adjustGamma(0.5)],
    ['noise σ=0.15', T.gaussianNoise({ std: 0.15, ...g(9) })],
    ['blur', T.gaussianBlur(5, { sigma: [1.5, 1.5], ...g(10) })],
    ['erasing', T.randomErasing({ p: 1, scale: [0.1, 0.2], value: 0.5, ...g(11) })],
  ];
}

export async function writeGallery(out: string, imagePath?: string): Promise<void> {
  const digit = datasets.mnist({ train: false }).get(2).input; // a '2': flips and turns are easy to see
  const colour = imagePath ? await readImage(imagePath, { mode: 'rgb', size: 96 }) : datasets.shapes({ n: 1, size: 96, channels: 3, seed: 3 }).get(0).input;
  const digit96 = T.functional.resize(digit.expand([3, 28, 28]), [96, 96], { interpolation: 'nearest' });
  const augs = augmentations();
  const row = (img: Tensor) => augs.map(([, tf]) => tf(img).clamp(0, 1));
  const names = augs.map(([name]) => name);
  await saveImageGrid([...row(digit96), ...row(colour)], out, { nrow: augs.length, labels: [...names, ...names], padding: 4, background: 1 });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { image: { type: 'string' }, out: { type: 'string', default: 'runs/augmentation-gallery.png' } } });
  await writeGallery(values.out!, values.image);
  console.log(`wrote ${values.out}`);
}
