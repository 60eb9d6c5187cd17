/**
 * A drawing as MNIST digits are made (LeCun et al.): the ink's bounding box scaled, aspect kept, to
 * fit 20×20 (box-filtered, so strokes keep their grey edges), placed in 28×28 with its centre of
 * mass at the centre. Input: ink in [0, 1], row-major width × height. Browser-safe.
 */
const SIDE = 28, BOX = 20;

export function mnistLike(ink: Float32Array, width: number, height: number): Float32Array | null {
  let x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    if (ink[y * width + x] > 0.05) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
  }
  if (x1 < 0) return null;
  const bw = x1 - x0 + 1, bh = y1 - y0 + 1, scale = BOX / Math.max(bw, bh);
  const w = Math.max(1, Math.round(bw * scale)), h = Math.max(1, Math.round(bh * scale));
  // Box filter: each target pixel averages the source pixels whose centres fall in it.
  const small = new Float32Array(w * h), counts = new Float32Array(w * h);
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) {
    const tx = Math.min(w - 1, Math.floor((x - x0 + 0.5) * w / bw)), ty = Math.min(h - 1, Math.floor((y - y0 + 0.5) * h / bh));
    small[ty * w + tx] += ink[y * width + x];
    counts[ty * w + tx]++;
  }
  let mass = 0, mx = 0, my = 0;
  for (let j = 0; j < w * h; j++) {
    small[j] = counts[j] ? small[j] / counts[j] : 0;
    mass += small[j]; mx += small[j] * (j % w); my += small[j] * Math.floor(j / w);
  }
  // Shift so the centre of mass lands on the centre of the 28×28 field.
  const ox = Math.round(SIDE / 2 - 0.5 - mx / mass), oy = Math.round(SIDE / 2 - 0.5 - my / mass);
  const out = new Float32Array(SIDE * SIDE);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const X = x + ox, Y = y + oy;
    if (X >= 0 && X < SIDE && Y >= 0 && Y < SIDE) out[Y * SIDE + X] = small[y * w + x];
  }
  return out;
}
