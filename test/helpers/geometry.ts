/** Convolution and pooling geometries for kernel tests, sized as the ops compute them. */
import type { ConvGeometry, PoolGeometry } from '../../src/backend/backend.js';

export function convGeometry(N: number, C: number, H: number, W: number, O: number, kH: number, kW: number,
  [sH, sW]: number[], [pH, pW]: number[], [dH, dW]: number[], groups: number): ConvGeometry {
  const outH = Math.floor((H + 2 * pH - dH * (kH - 1) - 1) / sH) + 1;
  const outW = Math.floor((W + 2 * pW - dW * (kW - 1) - 1) / sW) + 1;
  return { batch: N, inChannels: C, inH: H, inW: W, outChannels: O, kH, kW, strideH: sH, strideW: sW, padH: pH, padW: pW,
    dilationH: dH, dilationW: dW, groups, outH, outW };
}

export function poolGeometry(N: number, C: number, H: number, W: number, kH: number, kW: number, [sH, sW]: number[],
  [pH, pW]: number[], [dH, dW]: number[], ceil = false): PoolGeometry {
  const size = (n: number, k: number, s: number, p: number, d: number) => {
    const span = n + 2 * p - d * (k - 1) - 1;
    let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
    if (ceil && (out - 1) * s >= n + p) out--;
    return out;
  };
  return { batch: N, channels: C, inH: H, inW: W, kH, kW, strideH: sH, strideW: sW, padH: pH, padW: pW, dilationH: dH, dilationW: dW,
    outH: size(H, kH, sH, pH, dH), outW: size(W, kW, sW, pW, dW) };
}
