/**
 * A flat, array-based 2-D point quadtree for the Barnes-Hut t-SNE repulsion (browser-safe).
 *
 * The tree is the one scikit-learn's `_QuadTree` builds from the same points: the root cell spans
 * the points' bounding box (its upper bounds nudged outwards so every point lies inside), a cell is
 * split at the centre of its bounds when a second point that is not a duplicate of the first
 * (every coordinate within 1e-6) arrives, and each leaf holds one point or one group of duplicates.
 * Cells live in typed arrays that are reused from one build to the next, so a gradient step
 * allocates nothing once the arrays have grown to fit. After building, the cells are laid out again
 * in depth-first order, each with the index just past its subtree: a traversal then walks the
 * array forwards (next cell to open a cell, the skip index to summarise it), without a stack.
 */

import { ArgumentError } from '../errors.js';

/** Two points closer than this in every coordinate share a leaf (scikit-learn's EPSILON). */
const DUPLICATE = 1e-6;
/** Floats per cell in `node`: centre of mass x, y, then squared width (−1 marks a leaf), point count. */
const STRIDE = 4;

export class QuadTree {
  /** Per cell: centre of mass x, y (sums of coordinates while building), squared max width or −1 for a leaf, number of points. */
  private node = new Float64Array(0);
  /** Per cell: bounds xmin, ymin, xmax, ymax (only needed while building). */
  private bounds = new Float64Array(0);
  /** Per cell: the four children (−1 where empty), child q = 2·(x ≥ centre x) + (y ≥ centre y). */
  private child = new Int32Array(0);
  /** The cells in depth-first order: `node`'s four values per cell, and the index past each subtree. */
  private flat = new Float64Array(0);
  private skip = new Int32Array(0);
  /** Per cell: the first point of a leaf (−1 for none); duplicates are chained through `nextPoint`. */
  private first = new Int32Array(0);
  private nextPoint = new Int32Array(0);
  /** The points in depth-first order of their leaves. */
  private points = new Int32Array(0);
  private insertion = new Int32Array(0);
  private cells = 0;
  private placed = 0;
  private ordered = 0;

  /** Number of cells of the last build. */
  get size(): number { return this.cells; }

  /**
   * The point indices in the depth-first order of their leaves: nearby points are consecutive, so
   * visiting points in this order makes consecutive traversals alike (fewer mispredicted branches).
   */
  get order(): Int32Array { return this.points.subarray(0, this.ordered); }

  /** Builds the tree of the `n` points `y` (x0, y0, x1, y1, ...), replacing the previous one. */
  build(y: Float64Array, n: number): this {
    let xmin = Infinity, ymin = Infinity, xmax = -Infinity, ymax = -Infinity;
    for (let i = 0; i < n; i++) {
      const px = y[2 * i], py = y[2 * i + 1];
      // A NaN or infinite point could never be separated from another by splitting.
      if (!Number.isFinite(px) || !Number.isFinite(py)) throw new ArgumentError('QuadTree.build', `point ${i} is not finite (${px}, ${py}); a t-SNE map that diverged needs a smaller learning rate`);
      if (px < xmin) xmin = px;
      if (px > xmax) xmax = px;
      if (py < ymin) ymin = py;
      if (py > ymax) ymax = py;
    }
    this.cells = 0;
    this.newCell(xmin, ymin, nudge(xmax), nudge(ymax));
    if (this.nextPoint.length < n) { this.nextPoint = new Int32Array(n); this.points = new Int32Array(n); this.insertion = new Int32Array(n); }
    // Rebuilding for the same points (each gradient step), insert them in the last tree's order:
    // consecutive insertions then descend the same way (fewer cache misses and mispredictions).
    const same = this.ordered === n;
    if (same) this.insertion.set(this.points.subarray(0, n));
    for (let k = 0; k < n; k++) {
      const i = same ? this.insertion[k] : k;
      this.insert(i, y[2 * i], y[2 * i + 1]);
    }
    const node = this.node;
    for (let c = 0; c < this.cells; c++) {
      const count = node[c * STRIDE + 3];
      node[c * STRIDE] /= count;
      node[c * STRIDE + 1] /= count;
    }
    if (this.flat.length < this.node.length) {
      this.flat = new Float64Array(this.node.length);
      this.skip = new Int32Array(this.node.length / STRIDE);
    }
    this.placed = 0;
    this.ordered = 0;
    this.layout(0);
    return this;
  }

  /** Copies cell c, then its subtree, to the depth-first arrays. */
  private layout(c: number): void {
    const at = this.placed++;
    for (let k = 0; k < STRIDE; k++) this.flat[at * STRIDE + k] = this.node[c * STRIDE + k];
    for (let i = this.first[c]; i >= 0; i = this.nextPoint[i]) this.points[this.ordered++] = i;
    for (let q = 0; q < 4; q++) if (this.child[c * 4 + q] >= 0) this.layout(this.child[c * 4 + q]);
    this.skip[at] = this.placed;
  }

  /**
   * Repulsion of the tree's points on the point (px, py) with the Student-t kernel q = 1/(1 + d²):
   * writes Σ n·q²·(p − c) (x, y) and Σ n·q into out[0..2], over the cells that are far enough
   * (squared width < angle²·d², scikit-learn's criterion) or leaves; leaves at the point itself
   * (duplicates included) are skipped. angle 0 visits every leaf: the exact sum.
   */
  repulsion(px: number, py: number, angle2: number, out: Float64Array): void {
    const node = this.flat, skip = this.skip, end = this.cells;
    let fx = 0, fy = 0, sumQ = 0, c = 0;
    while (c < end) {
      const o = c * STRIDE;
      const dx = px - node[o], dy = py - node[o + 1], d2 = dx * dx + dy * dy;
      const w2 = node[o + 2];
      if (w2 < 0) {
        if (Math.abs(dx) <= DUPLICATE && Math.abs(dy) <= DUPLICATE) { c++; continue; }
      } else if (!(w2 < angle2 * d2)) {
        c++; // open the cell: its first child comes next
        continue;
      }
      const q = 1 / (1 + d2), nq = node[o + 3] * q;
      sumQ += nq;
      fx += nq * q * dx;
      fy += nq * q * dy;
      c = skip[c];
    }
    out[0] = fx;
    out[1] = fy;
    out[2] = sumQ;
  }

  private newCell(xmin: number, ymin: number, xmax: number, ymax: number): number {
    const c = this.cells++;
    if (c * STRIDE >= this.node.length) this.grow();
    const o = c * STRIDE;
    this.node[o] = 0; this.node[o + 1] = 0; this.node[o + 2] = -1; this.node[o + 3] = 0;
    this.bounds[c * 4] = xmin; this.bounds[c * 4 + 1] = ymin; this.bounds[c * 4 + 2] = xmax; this.bounds[c * 4 + 3] = ymax;
    this.child.fill(-1, c * 4, c * 4 + 4);
    this.first[c] = -1;
    return c;
  }

  private grow(): void {
    const cap = Math.max(64, (this.node.length / STRIDE) * 2);
    const node = new Float64Array(cap * STRIDE), bounds = new Float64Array(cap * 4), child = new Int32Array(cap * 4), first = new Int32Array(cap);
    node.set(this.node); bounds.set(this.bounds); child.set(this.child); first.set(this.first);
    this.node = node; this.bounds = bounds; this.child = child; this.first = first;
  }

  /** The child of cell c (creating it, empty, if needed) whose quadrant holds (px, py). */
  private childFor(c: number, px: number, py: number): number {
    const b = this.bounds, o = c * 4;
    const cx = (b[o] + b[o + 2]) / 2, cy = (b[o + 1] + b[o + 3]) / 2;
    const right = px >= cx, up = py >= cy, q = (right ? 2 : 0) + (up ? 1 : 0);
    let k = this.child[c * 4 + q];
    if (k < 0) {
      k = this.newCell(right ? cx : b[o], up ? cy : b[o + 1], right ? b[o + 2] : cx, up ? b[o + 3] : cy);
      this.child[c * 4 + q] = k;
    }
    return k;
  }

  private insert(i: number, px: number, py: number): void {
    let c = 0;
    for (;;) {
      const node = this.node, o = c * STRIDE, count = node[o + 3];
      if (count === 0) {
        node[o] = px; node[o + 1] = py; node[o + 3] = 1;
        this.first[c] = i;
        this.nextPoint[i] = -1;
        return;
      }
      if (node[o + 2] < 0) {
        // A leaf: a duplicate joins it; otherwise its points move down one level and the cell splits.
        const lx = node[o] / count, ly = node[o + 1] / count;
        if (Math.abs(px - lx) <= DUPLICATE && Math.abs(py - ly) <= DUPLICATE) {
          node[o] += px; node[o + 1] += py; node[o + 3] = count + 1;
          this.nextPoint[i] = this.first[c];
          this.first[c] = i;
          return;
        }
        const b = this.bounds, bo = c * 4;
        const wx = b[bo + 2] - b[bo], wy = b[bo + 3] - b[bo + 1];
        const k = this.childFor(c, lx, ly);
        const n2 = this.node, ko = k * STRIDE;
        n2[ko] = n2[o]; n2[ko + 1] = n2[o + 1]; n2[ko + 3] = count;
        this.first[k] = this.first[c];
        this.first[c] = -1;
        n2[o + 2] = Math.max(wx * wx, wy * wy);
      }
      const n3 = this.node;
      n3[o] += px; n3[o + 1] += py; n3[o + 3] += 1;
      c = this.childFor(c, px, py);
    }
  }
}

/** scikit-learn's upper bound of the root cell: max·(1 + 1e-3·sign(max)), at least max + 1e-3. */
function nudge(max: number): number {
  return Math.max(max * (1 + 1e-3 * Math.sign(max)), max + 1e-3);
}
