import { ArgumentError } from '../errors.js';
import { add, relu } from '../ops/elementwise.js';
import { adaptiveAvgPool2d } from '../ops/pool.js';
import { flatten, pad, slice } from '../ops/shape.js';
import type { Tensor } from '../tensor.js';
import { Conv2d } from '../nn/layers/conv.js';
import { Linear } from '../nn/layers/linear.js';
import { BatchNorm2d } from '../nn/layers/norm.js';
import { Sequential } from '../nn/layers/container.js';
import { Module } from '../nn/module.js';
import { kaimingNormal } from '../nn/init.js';

/**
 * How a block's shortcut changes shape: 'A' takes every other pixel and zero-pads the new channels
 * (no parameters, as in He et al.'s CIFAR ResNets); 'B' uses a strided 1×1 convolution + BN.
 */
export type ShortcutKind = 'A' | 'B';

/** Two 3×3 conv–BN layers with a skip connection: y = relu(F(x) + shortcut(x)). */
export class BasicBlock extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly shortcut: Sequential | null;

  constructor(readonly inPlanes: number, readonly planes: number, readonly stride: number, readonly kind: ShortcutKind) {
    super();
    this.conv1 = this.registerModule('conv1', new Conv2d(inPlanes, planes, 3, { stride, padding: 1, bias: false }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(planes));
    this.conv2 = this.registerModule('conv2', new Conv2d(planes, planes, 3, { padding: 1, bias: false }));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(planes));
    const reshapes = stride !== 1 || inPlanes !== planes;
    this.shortcut = this.registerModule('shortcut', reshapes && kind === 'B'
      ? new Sequential(new Conv2d(inPlanes, planes, 1, { stride, bias: false }), new BatchNorm2d(planes))
      : null);
  }

  override forward(x: Tensor): Tensor {
    const out = this.bn2.forward(this.conv2.forward(this.bn1.forwardFused(this.conv1.forward(x), { relu: true })));
    return relu(add(out, this.skip(x)));
  }

  private skip(x: Tensor): Tensor {
    if (this.shortcut) return this.shortcut.forward(x);
    if (this.stride === 1 && this.inPlanes === this.planes) return x;
    const sub = this.stride === 1 ? x : slice(slice(x, 2, 0, null, this.stride), 3, 0, null, this.stride);
    const extra = this.planes - this.inPlanes;
    return pad(sub, [0, 0, 0, 0, extra >> 1, extra - (extra >> 1)]);
  }
}

export interface ResNetOptions {
  /** 6n + 2 layers: 20, 32, 44, 56, 110, ... */
  depth?: number;
  inChannels?: number;
  numClasses?: number;
  /** Channels of the three stages. Default [16, 32, 64]. */
  widths?: readonly [number, number, number];
  shortcut?: ShortcutKind;
}

/**
 * The CIFAR-style residual network of He et al. (2016): a 3×3 conv, three stages of n basic blocks
 * (the 2nd and 3rd halve the resolution), global average pooling and a linear classifier.
 * Convolutions get He (Kaiming-normal, fan-out) initialisation; BN starts at γ = 1, β = 0.
 */
export class ResNet extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly layer1: Sequential;
  readonly layer2: Sequential;
  readonly layer3: Sequential;
  readonly fc: Linear;

  constructor(options: ResNetOptions = {}) {
    super();
    const depth = options.depth ?? 20;
    if (!Number.isInteger(depth) || depth < 8 || (depth - 2) % 6 !== 0) throw new ArgumentError('ResNet', `depth must be 6n + 2 (20, 32, 44, 56, 110, ...), got ${depth}`);
    const n = (depth - 2) / 6;
    const [w1, w2, w3] = options.widths ?? [16, 32, 64];
    const kind = options.shortcut ?? 'A';
    if (kind !== 'A' && kind !== 'B') throw new ArgumentError('ResNet', `shortcut must be 'A' or 'B', got '${kind}'`);
    this.conv1 = this.registerModule('conv1', new Conv2d(options.inChannels ?? 3, w1, 3, { padding: 1, bias: false }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(w1));
    const stage = (inPlanes: number, planes: number, stride: number) =>
      new Sequential(...Array.from({ length: n }, (_, i) => new BasicBlock(i === 0 ? inPlanes : planes, planes, i === 0 ? stride : 1, kind)));
    this.layer1 = this.registerModule('layer1', stage(w1, w1, 1));
    this.layer2 = this.registerModule('layer2', stage(w1, w2, 2));
    this.layer3 = this.registerModule('layer3', stage(w2, w3, 2));
    this.fc = this.registerModule('fc', new Linear(w3, options.numClasses ?? 10));
    for (const m of this.modules()) if (m instanceof Conv2d) kaimingNormal(m.weight, { mode: 'fanOut', nonlinearity: 'relu' });
  }

  override forward(x: Tensor): Tensor {
    x = this.bn1.forwardFused(this.conv1.forward(x), { relu: true });
    x = this.layer3.forward(this.layer2.forward(this.layer1.forward(x)));
    return this.fc.forward(flatten(adaptiveAvgPool2d(x, 1), 1));
  }
}

export const resnet = (options?: ResNetOptions): ResNet => new ResNet(options);
