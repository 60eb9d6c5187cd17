import { ArgumentError } from '../errors.js';
import { checkPositive } from '../options.js';
import { flatten } from '../ops/shape.js';
import type { Tensor } from '../tensor.js';
import { Conv2d } from '../nn/layers/conv.js';
import { Linear } from '../nn/layers/linear.js';
import { Module } from '../nn/module.js';
import { loadPretrained, zooEntry, type PretrainedOptions } from './zoo.js';

export interface LeNet5Options {
  inChannels?: number;
  numClasses?: number;
  /** Side of the square input images (28 for MNIST). */
  inputSize?: number;
  /**
   * Multiplies the width of every hidden layer (6, 16 channels; 120, 84 units), each rounded and at
   * least 1: the capacity knob of `pixelgrad sweep`. Default 1, the classic network.
   */
  width?: number;
}

/**
 * LeNet-5 with ReLU and max pooling, as in the shared benchmark W2: conv 5×5 (pad 2) → 6, pool,
 * conv 5×5 → 16, pool, then 120 → 84 → classes. Parameter names (conv1.weight, ..., fc3.bias)
 * match the PyTorch definition, so state dicts load both ways.
 */
export class LeNet5 extends Module {
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly fc3: Linear;

  constructor(options: LeNet5Options = {}) {
    super();
    const inC = options.inChannels ?? 1, classes = options.numClasses ?? 10, size = options.inputSize ?? 28;
    const width = checkPositive('LeNet5', 'width', options.width ?? 1);
    const side = Math.floor((Math.floor(size / 2) - 4) / 2); // after pool, conv 5×5 valid, pool
    if (side < 1) throw new ArgumentError('LeNet5', `inputSize ${size} is too small (needs at least 12)`);
    const [c1, c2, h1, h2] = [6, 16, 120, 84].map((n) => Math.max(1, Math.round(n * width)));
    this.conv1 = this.registerModule('conv1', new Conv2d(inC, c1, 5, { padding: 2 }));
    this.conv2 = this.registerModule('conv2', new Conv2d(c1, c2, 5));
    this.fc1 = this.registerModule('fc1', new Linear(c2 * side * side, h1));
    this.fc2 = this.registerModule('fc2', new Linear(h1, h2));
    this.fc3 = this.registerModule('fc3', new Linear(h2, classes));
  }

  /** Each block is one fused op: one kernel call in inference, the composed ops when training. */
  override forward(x: Tensor): Tensor {
    const pool = { kernelSize: 2 };
    x = this.conv1.forwardFused(x, { relu: true, maxPool: pool });
    x = this.conv2.forwardFused(x, { relu: true, maxPool: pool });
    x = this.fc1.forwardFused(flatten(x, 1), { relu: true });
    x = this.fc2.forwardFused(x, { relu: true });
    return this.fc3.forward(x);
  }
}

/**
 * A LeNet-5; with `pretrained`, the zoo's weights trained on that dataset ('mnist', 'fashion-mnist').
 * @example const net = models.lenet5({ pretrained: 'fashion-mnist' });   // under Node, after importing 'pixelgrad/node'
 */
export function lenet5(options: LeNet5Options & PretrainedOptions = {}): LeNet5 {
  const { pretrained, weights, ...shape } = options;
  if (pretrained === undefined) {
    if (weights) throw new ArgumentError('lenet5', "'weights' needs 'pretrained' (the dataset they were trained on)");
    return new LeNet5(shape);
  }
  const entry = zooEntry(`lenet5-${pretrained}`, 'lenet5');
  const given = Object.keys(shape);
  if (given.length) throw new ArgumentError('lenet5', `pretrained weights fix the network's shape: leave out ${given.join(', ')} (then adapt it with nn.replaceHead or nn.adaptInputChannels)`);
  const [inChannels, inputSize] = entry.inputShape;
  return loadPretrained(new LeNet5({ inChannels, numClasses: entry.classes.length, inputSize }), entry.name, weights, 'lenet5');
}
