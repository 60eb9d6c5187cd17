/** The digits file from the `mnist` package's data, with the core's split (src/data/node/mnist.ts). Node-only: run at build time. */
import { mnist } from '../src/data/node/mnist.js';
import { encodeDigits } from './digits-format.js';

export function digitsFile(): Uint8Array {
  const [train, test] = [mnist(), mnist({ train: false })].map((d) => ({ images: d.inputs.data as Float32Array, labels: d.targets.data as Int32Array }));
  return encodeDigits(train, test);
}
