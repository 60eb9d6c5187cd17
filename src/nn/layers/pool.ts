import { adaptiveAvgPool2d, avgPool2d, checkInterpolateOptions, interpolate, maxPool2d, poolParams, type AvgPool2dOptions, type InterpolateOptions, type MaxPool2dOptions } from '../../ops/pool.js';
import { pair, type Pair } from '../../ops/util.js';
import type { Tensor } from '../../tensor.js';
import { Module } from '../module.js';
import { checkKeys } from '../../options.js';

/** 2-D max pooling (stride defaults to the kernel size). */
export class MaxPool2d extends Module {
  readonly kernelSize: [number, number];
  constructor(kernelSize: Pair, readonly options: MaxPool2dOptions = {}) {
    super();
    this.kernelSize = pair('MaxPool2d', 'kernelSize', kernelSize, 1);
    checkKeys('MaxPool2d', options, ['stride', 'padding', 'dilation', 'ceilMode']);
    poolParams('MaxPool2d', kernelSize, options);
  }
  override forward(x: Tensor): Tensor { return maxPool2d(x, this.kernelSize, this.options); }
  override extraRepr(): string { return `kernelSize=[${this.kernelSize}]${reprOptions(this.options)}`; }
}

/** 2-D average pooling. */
export class AvgPool2d extends Module {
  readonly kernelSize: [number, number];
  constructor(kernelSize: Pair, readonly options: AvgPool2dOptions = {}) {
    super();
    this.kernelSize = pair('AvgPool2d', 'kernelSize', kernelSize, 1);
    checkKeys('AvgPool2d', options, ['stride', 'padding', 'ceilMode', 'countIncludePad', 'divisorOverride']);
    poolParams('AvgPool2d', kernelSize, options);
  }
  override forward(x: Tensor): Tensor { return avgPool2d(x, this.kernelSize, this.options); }
  override extraRepr(): string { return `kernelSize=[${this.kernelSize}]${reprOptions(this.options)}`; }
}

/** Average pooling to a fixed output size; `new AdaptiveAvgPool2d(1)` is global average pooling. */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: number | readonly [number | null, number | null]) { super(); }
  override forward(x: Tensor): Tensor { return adaptiveAvgPool2d(x, this.outputSize); }
  override extraRepr(): string { return `outputSize=${JSON.stringify(this.outputSize)}`; }
}

/** Resizing by nearest neighbour or bilinear interpolation. */
export class Upsample extends Module {
  constructor(readonly options: InterpolateOptions) {
    super();
    checkKeys('Upsample', options, ['size', 'scaleFactor', 'mode', 'alignCorners']);
    checkInterpolateOptions('Upsample', options);
  }
  override forward(x: Tensor): Tensor { return interpolate(x, this.options); }
  override extraRepr(): string { return reprOptions(this.options).slice(2); }
}

function reprOptions(o: object): string {
  return Object.entries(o).filter(([, v]) => v !== undefined).map(([k, v]) => `, ${k}=${JSON.stringify(v)}`).join('');
}
