import { ArgumentError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { ReLU, Flatten } from '../nn/layers/activation.js';
import { Conv2d } from '../nn/layers/conv.js';
import { Dropout } from '../nn/layers/dropout.js';
import { Linear } from '../nn/layers/linear.js';
import { BatchNorm2d } from '../nn/layers/norm.js';
import { MaxPool2d } from '../nn/layers/pool.js';
import { Sequential } from '../nn/layers/container.js';
import { Module } from '../nn/module.js';

export interface VggOptions {
  inChannels?: number;
  numClasses?: number;
  /** Side of the square input images. Default 32. */
  inputSize?: number;
  /** Conv widths by block; each block is two 3×3 convs then a 2×2 max pool. Default [32, 64, 128]. */
  widths?: readonly number[];
  batchNorm?: boolean;
  /** Width of the hidden classifier layer. Default 256. */
  hidden?: number;
  dropout?: number;
}

/** A small VGG-style network: blocks of two 3×3 conv (+BN) + ReLU layers and a max pool, then a two-layer classifier. */
export class SmallVgg extends Module {
  readonly features: Sequential;
  readonly classifier: Sequential;

  constructor(options: VggOptions = {}) {
    super();
    const widths = options.widths ?? [32, 64, 128];
    const size = options.inputSize ?? 32;
    const side = size >> widths.length;
    if (widths.length === 0 || side < 1) throw new ArgumentError('SmallVgg', `inputSize ${size} is too small for ${widths.length} pooling blocks`);
    const layers: Module[] = [];
    const bn = options.batchNorm ?? true;
    let c = options.inChannels ?? 3;
    for (const w of widths) {
      for (let i = 0; i < 2; i++) {
        layers.push(new Conv2d(c, w, 3, { padding: 1, bias: !bn }));
        if (bn) layers.push(new BatchNorm2d(w));
        layers.push(new ReLU());
        c = w;
      }
      layers.push(new MaxPool2d(2));
    }
    this.features = this.registerModule('features', new Sequential(...layers));
    const hidden = options.hidden ?? 256;
    this.classifier = this.registerModule('classifier', new Sequential(
      new Flatten(), new Linear(c * side * side, hidden), new ReLU(), new Dropout(options.dropout ?? 0.5), new Linear(hidden, options.numClasses ?? 10)));
  }

  override forward(x: Tensor): Tensor {
    return this.classifier.forward(this.features.forward(x));
  }
}

export const smallVgg = (options?: VggOptions): SmallVgg => new SmallVgg(options);
