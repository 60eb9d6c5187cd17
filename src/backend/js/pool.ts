/** Reference 2-D max and average pooling with their backward kernels. */
import type { TypedArray } from '../../dtype.js';
import type { PoolGeometry } from '../backend.js';

/** Calls visit(plane, outIndex, y0, y1, x0, x1, poolSize) for each window, clipped to the input. */
function forEachWindow(g: PoolGeometry, visit: (plane: number, o: number, y0: number, y1: number, x0: number, x1: number, padded: number) => void): void {
  const { inH: H, inW: W, kH, kW, strideH, strideW, padH, padW, outH, outW } = g;
  for (let plane = 0; plane < g.batch * g.channels; plane++) {
    for (let oy = 0; oy < outH; oy++) {
      const ys = oy * strideH - padH;
      const yeP = Math.min(ys + kH, H + padH);
      for (let ox = 0; ox < outW; ox++) {
        const xs = ox * strideW - padW;
        const xeP = Math.min(xs + kW, W + padW);
        const padded = (yeP - ys) * (xeP - xs);
        visit(plane, (plane * outH + oy) * outW + ox, Math.max(ys, 0), Math.min(ys + kH, H), Math.max(xs, 0), Math.min(xs + kW, W), padded);
      }
    }
  }
}

export function maxPool2d(x: TypedArray, out: TypedArray, argmax: Int32Array, g: PoolGeometry): void {
  const { inH: H, inW: W, kH, kW, strideH, strideW, padH, padW, dilationH, dilationW, outH, outW } = g;
  for (let plane = 0; plane < g.batch * g.channels; plane++) {
    const base = plane * H * W;
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        let best = -Infinity, at = -1;
        for (let ky = 0; ky < kH; ky++) {
          const iy = oy * strideH - padH + ky * dilationH;
          if (iy < 0 || iy >= H) continue;
          for (let kx = 0; kx < kW; kx++) {
            const ix = ox * strideW - padW + kx * dilationW;
            if (ix < 0 || ix >= W) continue;
            const v = x[base + iy * W + ix];
            if (v > best || v !== v || at < 0) { best = v; at = iy * W + ix; if (v !== v) break; }
          }
        }
        const o = (plane * outH + oy) * outW + ox;
        out[o] = best;
        argmax[o] = at;
      }
    }
  }
}

export function maxPool2dBackward(gOut: TypedArray, argmax: Int32Array, gx: TypedArray, g: PoolGeometry): void {
  const planeOut = g.outH * g.outW, planeIn = g.inH * g.inW;
  gx.fill(0); // the scatter adds, and inputs that win no window get nothing
  for (let o = 0; o < gOut.length; o++) gx[Math.floor(o / planeOut) * planeIn + argmax[o]] += gOut[o];
}

/** divisor: 0 = by window size (padded or not, per countIncludePad), else that fixed number. */
export function avgPool2d(x: TypedArray, out: TypedArray, g: PoolGeometry, countIncludePad: boolean, divisor: number): void {
  const { inH: H, inW: W } = g;
  forEachWindow(g, (plane, o, y0, y1, x0, x1, padded) => {
    let s = 0;
    for (let y = y0; y < y1; y++) for (let xx = x0; xx < x1; xx++) s += x[(plane * H + y) * W + xx];
    out[o] = s / (divisor || (countIncludePad ? padded : (y1 - y0) * (x1 - x0)));
  });
}

export function avgPool2dBackward(gOut: TypedArray, gx: TypedArray, g: PoolGeometry, countIncludePad: boolean, divisor: number): void {
  const { inH: H, inW: W } = g;
  gx.fill(0); // windows add into it (overlapping ones into the same pixels), and some pixels lie in none
  forEachWindow(g, (plane, o, y0, y1, x0, x1, padded) => {
    const v = gOut[o] / (divisor || (countIncludePad ? padded : (y1 - y0) * (x1 - x0)));
    for (let y = y0; y < y1; y++) for (let xx = x0; xx < x1; xx++) gx[(plane * H + y) * W + xx] += v;
  });
}
