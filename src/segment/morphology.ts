/**
 * Binary-image geometry for segmentation, on plain typed arrays (browser-safe): connected
 * components and the exact Euclidean distance transform. Used by the U-Net weight map and by the
 * Rand score of instance segmentations.
 */

/**
 * Labels the 4-connected components of the pixels where `inside(i)` holds (scipy.ndimage.label's
 * default structure): labels[i] is 1..count, 0 outside, numbered in raster order of each
 * component's first pixel.
 */
export function connectedComponents(h: number, w: number, inside: (i: number) => boolean): { labels: Int32Array; count: number } {
  const labels = new Int32Array(h * w);
  const stack = new Int32Array(h * w);
  let count = 0;
  for (let start = 0; start < h * w; start++) {
    if (labels[start] || !inside(start)) continue;
    labels[start] = ++count;
    let top = 0;
    stack[top++] = start;
    while (top) {
      const i = stack[--top], y = (i / w) | 0, x = i - y * w;
      // The four neighbours that exist; each is pushed once, when it is labelled.
      if (x > 0 && !labels[i - 1] && inside(i - 1)) { labels[i - 1] = count; stack[top++] = i - 1; }
      if (x < w - 1 && !labels[i + 1] && inside(i + 1)) { labels[i + 1] = count; stack[top++] = i + 1; }
      if (y > 0 && !labels[i - w] && inside(i - w)) { labels[i - w] = count; stack[top++] = i - w; }
      if (y < h - 1 && !labels[i + w] && inside(i + w)) { labels[i + w] = count; stack[top++] = i + w; }
    }
  }
  return { labels, count };
}

/**
 * Squared distances of the 1-D lower envelope of parabolas (Felzenszwalb & Huttenlocher 2012):
 * out[i] = min_j (f[j] + (i − j)²) over the n values read from f at `off + k·stride`.
 */
function envelope1d(f: Float64Array, off: number, stride: number, n: number, v: Int32Array, z: Float64Array, out: Float64Array): void {
  let k = 0;
  let first = 0;
  while (first < n && f[off + first * stride] === Infinity) first++;
  if (first === n) { for (let i = 0; i < n; i++) out[i] = Infinity; return; }
  v[0] = first;
  z[0] = -Infinity;
  z[1] = Infinity;
  for (let q = first + 1; q < n; q++) {
    const fq = f[off + q * stride];
    if (fq === Infinity) continue;
    let s: number;
    for (;;) {
      const p = v[k];
      s = (fq + q * q - (f[off + p * stride] + p * p)) / (2 * (q - p));
      if (s <= z[k]) { k--; continue; }
      break;
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1] < q) k++;
    const d = q - v[k];
    out[q] = d * d + f[off + v[k] * stride];
  }
}

/**
 * Exact Euclidean distance from every pixel of an h×w grid to the nearest pixel where
 * `feature(i)` holds (0 on those pixels, Infinity everywhere when there are none): the same
 * numbers as scipy.ndimage.distance_transform_edt of the complement. Two separable passes of
 * squared distances, O(h·w).
 */
export function distanceTransform(h: number, w: number, feature: (i: number) => boolean): Float64Array {
  const g = new Float64Array(h * w);
  for (let i = 0; i < h * w; i++) g[i] = feature(i) ? 0 : Infinity;
  const n = Math.max(h, w);
  const v = new Int32Array(n), z = new Float64Array(n + 1), line = new Float64Array(n);
  for (let x = 0; x < w; x++) {
    envelope1d(g, x, w, h, v, z, line);
    for (let y = 0; y < h; y++) g[y * w + x] = line[y];
  }
  for (let y = 0; y < h; y++) {
    envelope1d(g, y * w, 1, w, v, z, line);
    for (let x = 0; x < w; x++) g[y * w + x] = Math.sqrt(line[x]);
  }
  return g;
}
