import { ArgumentError } from '../errors.js';
import { concat } from '../ops/shape.js';
import { maxPool2d } from '../ops/pool.js';
import type { Tensor } from '../tensor.js';
import { ReLU } from '../nn/layers/activation.js';
import { Conv2d, ConvTranspose2d } from '../nn/layers/conv.js';
import { BatchNorm2d } from '../nn/layers/norm.js';
import { ModuleList, Sequential } from '../nn/layers/container.js';
import { Module } from '../nn/module.js';

export interface UNetOptions {
  inChannels?: number;
  /** One output channel (logit) per class. Default 2. */
  numClasses?: number;
  /** Channels per level, the last being the bottleneck. Default [16, 32, 64]. */
  widths?: readonly number[];
  /** BatchNorm after every 3×3 convolution. Default false. */
  batchNorm?: boolean;
}

/** Two 3×3 convolutions (padding 1), each followed by (BN and) ReLU. */
function doubleConv(inC: number, outC: number, bn: boolean): Sequential {
  const layers: Module[] = [];
  for (const [a, b] of [[inC, outC], [outC, outC]]) {
    layers.push(new Conv2d(a, b, 3, { padding: 1, bias: !bn }));
    if (bn) layers.push(new BatchNorm2d(b));
    layers.push(new ReLU());
  }
  return new Sequential(...layers);
}

/**
 * U-Net (Ronneberger et al. 2015) for semantic segmentation: an encoder of double 3×3 convolutions
 * and 2×2 max pools, a bottleneck, and a decoder that upsamples with 2×2 transposed convolutions
 * (stride 2), concatenates the encoder's feature map of the same size (the skip connection) and
 * applies a double convolution; a 1×1 convolution gives one logit per class and pixel. Input sides
 * must be divisible by 2^(levels − 1). With the defaults it is the network of benchmark W6.
 */
export class UNet extends Module {
  readonly encoders: ModuleList<Sequential>;
  readonly bottleneck: Sequential;
  readonly ups: ModuleList<ConvTranspose2d>;
  readonly decoders: ModuleList<Sequential>;
  readonly head: Conv2d;
  private readonly levels: number;

  constructor(options: UNetOptions = {}) {
    super();
    const widths = options.widths ?? [16, 32, 64];
    if (widths.length < 2 || widths.some((w) => !Number.isInteger(w) || w < 1)) throw new ArgumentError('UNet', `widths must list at least 2 positive channel counts, got ${JSON.stringify(widths)}`);
    const bn = options.batchNorm ?? false;
    this.levels = widths.length;
    const enc = widths.slice(0, -1);
    this.encoders = this.registerModule('encoders', new ModuleList(enc.map((w, i) => doubleConv(i === 0 ? options.inChannels ?? 1 : enc[i - 1], w, bn))));
    this.bottleneck = this.registerModule('bottleneck', doubleConv(enc[enc.length - 1], widths[widths.length - 1], bn));
    const rev = [...enc].reverse();
    this.ups = this.registerModule('ups', new ModuleList(rev.map((w, i) => new ConvTranspose2d(i === 0 ? widths[widths.length - 1] : rev[i - 1], w, 2, { stride: 2 }))));
    this.decoders = this.registerModule('decoders', new ModuleList(rev.map((w) => doubleConv(2 * w, w, bn))));
    this.head = this.registerModule('head', new Conv2d(widths[0], options.numClasses ?? 2, 1));
  }

  override forward(x: Tensor): Tensor {
    const div = 2 ** (this.levels - 1);
    if (x.ndim !== 4 || x.shape[2] % div !== 0 || x.shape[3] % div !== 0) {
      throw new ArgumentError('UNet', `input must be [N, C, H, W] with H and W divisible by ${div}, got [${x.shape}]`);
    }
    const skips: Tensor[] = [];
    for (const enc of this.encoders) {
      x = enc.forward(x);
      skips.push(x);
      x = maxPool2d(x, 2);
    }
    x = this.bottleneck.forward(x);
    [...this.ups].forEach((up, i) => {
      x = concat([up.forward(x), skips[skips.length - 1 - i]], 1);
      x = this.decoders.at(i).forward(x);
    });
    return this.head.forward(x);
  }
}

export const unet = (options?: UNetOptions): UNet => new UNet(options);
