/**
 * t-SNE with scikit-learn 1.2's semantics and defaults (sklearn.manifold.TSNE), browser-safe:
 * perplexity-calibrated affinities (tsne-affinity.ts), then gradient descent with momentum and
 * per-parameter gains on KL(P‖Q), first with P exaggerated (×12 for 250 iterations, momentum 0.5),
 * then plain (momentum 0.8). The gradient is exact (O(N²), any number of components) or
 * Barnes-Hut (2-D: repulsion summarised over a quadtree, attraction over the sparse P of the
 * 3·perplexity nearest neighbours). New points can be placed into a fitted map (`transform`,
 * after openTSNE): only they move, attracted by their neighbours among the fitted points and
 * repelled by all of those.
 *
 * Where this differs from scikit-learn: for more than two components (Student-t with
 * α = nComponents − 1 degrees of freedom) the exact gradient is that of the objective,
 * 2(α+1)/α · Σ (p − q)(1 + d²/α)⁻¹ (yᵢ − yⱼ); scikit-learn uses the kernel itself,
 * (1 + d²/α)^−(α+1)/2, in place of (1 + d²/α)⁻¹ (the same for α = 1, the 2-D case).
 */
import { ArgumentError, NotSupportedError, ShapeError, fmtShape } from '../errors.js';
import { checkNonNegative, checkOneOf, checkPositive, checkPositiveInt, checkRange, fmtValue, resolveOptions } from '../options.js';
import { Generator } from '../random.js';
import { Tensor } from '../tensor.js';
import { asMatrix } from './matrix.js';
import { PCA } from './pca.js';
import { QuadTree } from './quadtree.js';
import { MACHINE_EPSILON, conditionalProbabilities, jointProbabilities, jointProbabilitiesNN, nearestNeighbors, squaredDistances, type SparseAffinities } from './tsne-affinity.js';

/** Smallest normal float32: scikit-learn's floor inside the Barnes-Hut KL. */
const FLOAT32_TINY = 1.1754943508222875e-38;
/** scikit-learn's schedule: the error is computed (and progress checked) every 50 iterations. */
const CHECK_EVERY = 50;
const EXPLORATION_ITERS = 250;

export type TSNEMethod = 'barnesHut' | 'exact';
/** Low-dimensional similarity: t-SNE's heavy-tailed Student-t, or the Gaussian of (symmetric) SNE, which crowds. */
export type TSNEKernel = 'studentT' | 'gaussian';

/** What `onIteration` receives after each gradient step. */
export interface TSNEProgress {
  /** Steps taken so far (1-based). */
  iteration: number;
  /** The most iterations this run may take. */
  nIter: number;
  /** True during early exaggeration. */
  exaggerated: boolean;
  /** KL(P‖Q) when it was computed at this step (every 50 and at the end), else null; P exaggerated in that phase. */
  kl: number | null;
  /** The current embedding, N × nComponents row-major; the live buffer (copy it to keep it). */
  embedding: Float64Array;
}

export interface TSNEOptions {
  /** Dimensions of the map. Default 2 (Barnes-Hut needs 2). */
  nComponents?: number;
  /** Effective number of neighbours of each point. Default 30; must be less than the number of points. */
  perplexity?: number;
  /** P is multiplied by this for the first 250 iterations. Default 12. */
  earlyExaggeration?: number;
  /** Step size, or 'auto': max(N / earlyExaggeration / 4, 50). Default 'auto'. */
  learningRate?: number | 'auto';
  /** Iterations in all, exaggeration included (at least 250). Default 1000. */
  nIter?: number;
  /** Stop when the error (checked every 50 iterations) has not improved for this many. Default 300. */
  nIterWithoutProgress?: number;
  /** Stop when the gradient norm (checked every 50 iterations) falls to this. Default 1e-7. */
  minGradNorm?: number;
  /** 'pca' (the first two principal components, scaled so the first has standard deviation 1e-4), 'random' (N(0, 1e-4²)), or an [N, nComponents] tensor. Default 'pca'. */
  init?: 'pca' | 'random' | Tensor;
  /** Default 'barnesHut'. */
  method?: TSNEMethod;
  /** Barnes-Hut: a cell is summarised when its width / distance < angle. Default 0.5; 0 is exact. */
  angle?: number;
  /** Default 'studentT'; 'gaussian' (exact method only) shows the crowding problem t-SNE solves. */
  kernel?: TSNEKernel;
  /** Seed of the random initialisation and of the randomized PCA. Default 0. */
  seed?: number;
  /** Called after every gradient step (a progress bar, an animation). */
  onIteration?: (progress: TSNEProgress) => void;
}

type Resolved = Required<Omit<TSNEOptions, 'onIteration' | 'init'>> & { init: 'pca' | 'random' | Tensor; onIteration?: TSNEOptions['onIteration'] };

const KNOWN = ['nComponents', 'perplexity', 'earlyExaggeration', 'learningRate', 'nIter', 'nIterWithoutProgress', 'minGradNorm', 'init', 'method', 'angle', 'kernel', 'seed', 'onIteration'];

/** Options of `TSNE.transform` (openTSNE's defaults). */
export interface TSNETransformOptions {
  /** Perplexity of each new point's affinities to the fitted points. Default 5. */
  perplexity?: number;
  /** Fitted points each new point is attached to. Default 25. */
  k?: number;
  /** Gradient steps. Default 250. */
  nIter?: number;
  /** Step size. Default 0.05 (openTSNE's 0.1 on a gradient half as large). */
  learningRate?: number;
  /** Default 0.8. */
  momentum?: number;
  /** Each new point's gradient is clipped to this norm, so points initialised on top of fitted ones do not shoot off. Default 0.5. */
  maxGradNorm?: number;
  /** Barnes-Hut angle of the repulsion from the fitted points. Default 0.5. */
  angle?: number;
  onIteration?: (progress: TSNEProgress) => void;
}

/**
 * t-SNE: a low-dimensional map whose neighbourhoods follow those of the data.
 * @example
 * const tsne = new TSNE({ perplexity: 30, seed: 0 });
 * const y = tsne.fitTransform(features);       // [N, 2] float64
 * tsne.klDivergence;                           // KL(P‖Q) at the end
 * const placed = tsne.transform(newFeatures);  // new points into the same map
 */
export class TSNE {
  readonly options: Resolved;
  /** The map of the last fit, [N, nComponents] float64. */
  embedding: Tensor | null = null;
  /** KL(P‖Q) at the last iteration (Barnes-Hut: its approximation of it). */
  klDivergence = NaN;
  /** Iterations run. */
  nIterRun = 0;
  /** The learning rate used ('auto' resolved). */
  learningRate = NaN;
  private data: Tensor | null = null;

  constructor(options: TSNEOptions = {}) {
    const op = 'TSNE';
    const o = resolveOptions<Resolved>(op, options, {
      nComponents: 2, perplexity: 30, earlyExaggeration: 12, learningRate: 'auto', nIter: 1000, nIterWithoutProgress: 300,
      minGradNorm: 1e-7, init: 'pca', method: 'barnesHut', angle: 0.5, kernel: 'studentT', seed: 0,
    }, KNOWN);
    checkPositiveInt(op, 'nComponents', o.nComponents);
    checkPositive(op, 'perplexity', o.perplexity);
    checkPositive(op, 'earlyExaggeration', o.earlyExaggeration);
    if (o.learningRate !== 'auto') checkPositive(op, 'learningRate', o.learningRate);
    checkPositiveInt(op, 'nIter', o.nIter);
    if (o.nIter < EXPLORATION_ITERS) throw new ArgumentError(op, `nIter must be at least ${EXPLORATION_ITERS} (the early exaggeration phase), got ${o.nIter}`);
    checkPositiveInt(op, 'nIterWithoutProgress', o.nIterWithoutProgress);
    checkNonNegative(op, 'minGradNorm', o.minGradNorm);
    if (!(o.init instanceof Tensor)) checkOneOf(op, 'init', o.init, ['pca', 'random']);
    checkOneOf(op, 'method', o.method, ['barnesHut', 'exact']);
    checkRange(op, 'angle', o.angle, 0, 1);
    checkOneOf(op, 'kernel', o.kernel, ['studentT', 'gaussian']);
    if (!Number.isInteger(o.seed)) throw new ArgumentError(op, `seed must be an integer, got ${fmtValue(o.seed)}`);
    if (o.onIteration !== undefined && typeof o.onIteration !== 'function') throw new ArgumentError(op, `onIteration must be a function, got ${fmtValue(o.onIteration)}`);
    if (o.method === 'barnesHut' && o.nComponents !== 2) throw new NotSupportedError(op, `method 'barnesHut' needs nComponents 2 (a quadtree), got ${o.nComponents}; use method 'exact'`);
    if (o.method === 'barnesHut' && o.kernel !== 'studentT') throw new NotSupportedError(op, `kernel '${o.kernel}' needs method 'exact'`);
    this.options = o;
  }

  /** Fits the map of the rows of x ([N, D]) and returns it, [N, nComponents] float64. */
  fitTransform(x: Tensor): Tensor {
    const op = 'TSNE.fitTransform', o = this.options;
    const m = asMatrix(op, 'x', x), n = m.rows;
    if (n < 2) throw new ShapeError(op, `x needs at least 2 rows, got shape ${fmtShape(x.shape)}`);
    if (!(o.perplexity < n)) throw new ArgumentError(op, `perplexity (${o.perplexity}) must be less than the number of points (${n})`);
    this.learningRate = o.learningRate === 'auto' ? Math.max(n / o.earlyExaggeration / 4, 50) : o.learningRate;
    const y = this.initialEmbedding(x, n);
    let objective: Objective;
    if (o.method === 'exact') {
      const P = jointProbabilities(squaredDistances(m), n, o.perplexity);
      const scratch = new Float64Array(n * n);
      objective = (p, grad, computeError, exaggeration) => klDivergenceExact(P, p, n, o.nComponents, grad, { exaggeration, computeError, kernel: o.kernel, scratch });
    } else {
      const k = Math.min(n - 1, Math.floor(3 * o.perplexity + 1));
      const nn = nearestNeighbors(x, k);
      const P = jointProbabilitiesNN(nn.indices, nn.d2, n, k, o.perplexity);
      const work = new BarnesHutWork(n);
      objective = (p, grad, computeError, exaggeration) => klDivergenceBH(P, p, grad, { angle: o.angle, exaggeration, computeError, work });
    }
    const schedule = { learningRate: this.learningRate, minGradNorm: o.minGradNorm, nIter: o.nIter, onIteration: o.onIteration };
    let r = gradientDescent(objective, y, { ...schedule, start: 0, stop: EXPLORATION_ITERS, momentum: 0.5, exaggeration: o.earlyExaggeration, nIterWithoutProgress: EXPLORATION_ITERS });
    // The plain phase follows unless the exaggerated one already used every iteration.
    if (r.last < EXPLORATION_ITERS - 1 || o.nIter > EXPLORATION_ITERS) {
      r = gradientDescent(objective, y, { ...schedule, start: r.last + 1, stop: o.nIter, momentum: 0.8, exaggeration: 1, nIterWithoutProgress: o.nIterWithoutProgress });
    }
    this.klDivergence = r.error;
    this.nIterRun = r.last + 1;
    this.embedding = new Tensor(y, [n, o.nComponents]);
    this.data = x;
    return this.embedding;
  }

  private initialEmbedding(x: Tensor, n: number): Float64Array {
    const o = this.options, d = o.nComponents;
    if (o.init instanceof Tensor) {
      if (o.init.ndim !== 2 || o.init.shape[0] !== n || o.init.shape[1] !== d) throw new ShapeError('TSNE.fitTransform', `init must be [${n}, ${d}], got ${fmtShape(o.init.shape)}`);
      return Float64Array.from(o.init.data);
    }
    if (o.init === 'random') {
      const g = new Generator(o.seed);
      return Float64Array.from({ length: n * d }, () => 1e-4 * g.normal());
    }
    if (x.shape[1] < d) throw new ArgumentError('TSNE.fitTransform', `init 'pca' needs at least nComponents (${d}) features, got ${x.shape[1]}; use init 'random'`);
    const y = Float64Array.from(new PCA({ nComponents: d, svdSolver: 'randomized', seed: o.seed }).fitTransform(x).data);
    // scikit-learn rescales so the first component has the random initialisation's spread, 1e-4.
    let mean = 0, sq = 0;
    for (let i = 0; i < n; i++) mean += y[i * d];
    mean /= n;
    for (let i = 0; i < n; i++) sq += (y[i * d] - mean) ** 2;
    const scale = 1e-4 / Math.sqrt(sq / n);
    for (let i = 0; i < y.length; i++) y[i] *= scale;
    return y;
  }

  /**
   * Places new points ([M, D], the features of the fit) into the fitted map without moving the
   * fitted ones (openTSNE's `transform`): each new point gets affinities p_{j|i} to its k nearest
   * fitted points (perplexity-calibrated, not symmetrised), starts at their P-weighted mean, then
   * descends on its own KL(P_i‖Q_i), with Q_i the Student-t similarities to the fitted points
   * normalised per new point (new points do not interact). Returns [M, 2] float64.
   */
  transform(x: Tensor, options: TSNETransformOptions = {}): Tensor {
    const op = 'TSNE.transform';
    const o = resolveOptions<Required<Omit<TSNETransformOptions, 'onIteration'>> & Pick<TSNETransformOptions, 'onIteration'>>(op, options,
      { perplexity: 5, k: 25, nIter: 250, learningRate: 0.05, momentum: 0.8, maxGradNorm: 0.5, angle: 0.5 },
      ['perplexity', 'k', 'nIter', 'learningRate', 'momentum', 'maxGradNorm', 'angle', 'onIteration']);
    if (!this.embedding || !this.data) throw new ArgumentError(op, 'not fitted yet: call fitTransform() first');
    if (this.options.nComponents !== 2) throw new NotSupportedError(op, `new points need a 2-D map (a quadtree), this one has ${this.options.nComponents} components`);
    const ref = this.data, nRef = ref.shape[0];
    const m = asMatrix(op, 'x', x);
    if (m.cols !== ref.shape[1]) throw new ShapeError(op, `x has ${m.cols} features but the map was fitted on ${ref.shape[1]} (x ${fmtShape(x.shape)}, fitted ${fmtShape(ref.shape)})`);
    checkPositiveInt(op, 'k', o.k);
    if (o.k > nRef) throw new ArgumentError(op, `k (${o.k}) is more than the ${nRef} fitted points`);
    checkPositive(op, 'perplexity', o.perplexity);
    if (!(o.perplexity < o.k)) throw new ArgumentError(op, `perplexity (${o.perplexity}) must be less than k (${o.k})`);
    checkPositiveInt(op, 'nIter', o.nIter);
    checkPositive(op, 'learningRate', o.learningRate);
    checkRange(op, 'momentum', o.momentum, 0, 1, true);
    checkPositive(op, 'maxGradNorm', o.maxGradNorm);
    checkRange(op, 'angle', o.angle, 0, 1);
    const nn = nearestNeighbors(x, o.k, ref);
    const P = conditionalProbabilities(nn.d2, m.rows, o.k, o.perplexity);
    const fitted = this.embedding.data as Float64Array;
    const y = new Float64Array(m.rows * 2);
    for (let i = 0; i < m.rows; i++) {
      for (let e = 0; e < o.k; e++) {
        const j = nn.indices[i * o.k + e], p = P[i * o.k + e];
        y[2 * i] += p * fitted[2 * j];
        y[2 * i + 1] += p * fitted[2 * j + 1];
      }
    }
    const tree = new QuadTree().build(fitted, nRef);
    const out = new Float64Array(3);
    const objective: Objective = (p, grad) => placementGradient(P, nn.indices, o.k, fitted, tree, p, grad, o.angle, out, o.maxGradNorm);
    gradientDescent(objective, y, {
      start: 0, stop: o.nIter, nIter: o.nIter, momentum: o.momentum, learningRate: o.learningRate, exaggeration: 1,
      minGradNorm: 0, nIterWithoutProgress: Infinity, onIteration: o.onIteration, errorFree: true,
    });
    return new Tensor(y, [m.rows, 2]);
  }
}

/**
 * Gradient of Σᵢ KL(Pᵢ‖Qᵢ) over the new points y (2-D), each Qᵢ normalised over the fitted points
 * alone: 2 Σⱼ (p_{j|i} − q_{j|i}) (1 + d²)⁻¹ (yᵢ − yⱼ), attraction over the k neighbours, repulsion
 * from the fitted points' quadtree; each point's gradient clipped to `maxNorm`. Returns NaN (the
 * error is not tracked).
 */
export function placementGradient(P: Float64Array, neighbors: Int32Array, k: number, fitted: Float64Array, tree: QuadTree, y: Float64Array, grad: Float64Array, angle: number, out: Float64Array, maxNorm = Infinity): number {
  const m = y.length / 2, angle2 = angle * angle;
  for (let i = 0; i < m; i++) {
    const px = y[2 * i], py = y[2 * i + 1];
    tree.repulsion(px, py, angle2, out);
    let ax = 0, ay = 0;
    for (let e = i * k; e < (i + 1) * k; e++) {
      const j = neighbors[e], dx = px - fitted[2 * j], dy = py - fitted[2 * j + 1];
      const pq = P[e] / (1 + dx * dx + dy * dy);
      ax += pq * dx;
      ay += pq * dy;
    }
    let gx = 2 * (ax - out[0] / out[2]), gy = 2 * (ay - out[1] / out[2]);
    const norm = Math.hypot(gx, gy);
    if (norm > maxNorm) { gx *= maxNorm / norm; gy *= maxNorm / norm; }
    grad[2 * i] = gx;
    grad[2 * i + 1] = gy;
  }
  return NaN;
}

/** Fills `grad` with the gradient at p and returns the KL divergence (NaN when not asked for). */
export type Objective = (p: Float64Array, grad: Float64Array, computeError: boolean, exaggeration: number) => number;

export interface DescentSchedule {
  /** First and one-past-last iteration of this phase. */
  start: number;
  stop: number;
  /** Iterations of the whole run, for progress. */
  nIter: number;
  momentum: number;
  learningRate: number;
  exaggeration: number;
  minGradNorm: number;
  nIterWithoutProgress: number;
  onIteration?: (progress: TSNEProgress) => void;
  /** The objective has no error to track (placing new points): never stop on progress. */
  errorFree?: boolean;
}

/**
 * scikit-learn's `_gradient_descent`: gains grow by 0.2 where the gradient's sign differs from the
 * last update's and shrink ×0.8 elsewhere (at least 0.01); update = momentum·update − lr·gain·grad.
 * Every 50 iterations the error and gradient norm are checked for stopping. Moves p in place and
 * returns the last error and the last iteration's index.
 */
export function gradientDescent(objective: Objective, p: Float64Array, s: DescentSchedule): { error: number; last: number } {
  const len = p.length;
  const update = new Float64Array(len), gains = new Float64Array(len).fill(1), grad = new Float64Array(len);
  let error = Number.MAX_VALUE, best = Number.MAX_VALUE, bestIter = s.start, last = s.start;
  for (let i = s.start; i < s.stop; i++) {
    last = i;
    const check = (i + 1) % CHECK_EVERY === 0;
    error = objective(p, grad, !s.errorFree && (check || i === s.stop - 1), s.exaggeration);
    let norm2 = 0;
    for (let k = 0; k < len; k++) {
      const g = grad[k], u = update[k];
      const gain = Math.max(u * g < 0 ? gains[k] + 0.2 : gains[k] * 0.8, 0.01);
      gains[k] = gain;
      const step = g * gain;
      norm2 += step * step;
      const next = s.momentum * u - s.learningRate * step;
      update[k] = next;
      p[k] += next;
    }
    s.onIteration?.({ iteration: i + 1, nIter: s.nIter, exaggerated: s.exaggeration !== 1, kl: Number.isNaN(error) ? null : error, embedding: p });
    if (check && !s.errorFree) {
      if (error < best) { best = error; bestIter = i; }
      else if (i - bestIter > s.nIterWithoutProgress) break;
      if (Math.sqrt(norm2) <= s.minGradNorm) break;
    }
  }
  return { error, last };
}

export interface KLOptions {
  /** P is multiplied by this (early exaggeration). Default 1. */
  exaggeration?: number;
  /** Compute the KL divergence (else NaN is returned). Default true. */
  computeError?: boolean;
}

/**
 * The exact KL(P‖Q) and its gradient (scikit-learn's `_kl_divergence`), O(N²): P is the full
 * symmetric N×N joint distribution, y the N×nComponents map. Q is the Student-t kernel with
 * α = max(nComponents − 1, 1) degrees of freedom, or with `kernel: 'gaussian'` exp(−d²) (symmetric
 * SNE, gradient 4 Σ (p − q)(yᵢ − yⱼ)); q floored at float64 epsilon. Writes the gradient into grad
 * and returns the KL (NaN unless computeError). `scratch` (N² floats) is reused between calls.
 */
export function klDivergenceExact(P: Float64Array, y: Float64Array, n: number, nComponents: number, grad: Float64Array,
  options: KLOptions & { kernel?: TSNEKernel; scratch?: Float64Array } = {}): number {
  const ex = options.exaggeration ?? 1, gaussian = options.kernel === 'gaussian';
  const w = options.scratch ?? new Float64Array(n * n);
  const d = nComponents, dof = Math.max(d - 1, 1), power = (dof + 1) / 2;
  let sum = 0, nearest = Infinity;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let d2 = 0;
      for (let c = 0; c < d; c++) { const t = y[i * d + c] - y[j * d + c]; d2 += t * t; }
      const v = gaussian ? d2 : dof === 1 ? 1 / (1 + d2) : (1 + d2 / dof) ** -power;
      w[i * n + j] = v;
      sum += v;
      if (d2 < nearest) nearest = d2;
    }
  }
  if (gaussian) {
    // exp(−(d² − min d²)): the same q after normalising, without exp underflowing to 0/0 in a wide map.
    sum = 0;
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const v = Math.exp(nearest - w[i * n + j]);
        w[i * n + j] = v;
        sum += v;
      }
    }
  }
  const z = 2 * sum, c = gaussian ? 4 : (2 * (dof + 1)) / dof, computeError = options.computeError ?? true;
  grad.fill(0, 0, n * d);
  let kl = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const v = w[i * n + j], q = Math.max(v / z, MACHINE_EPSILON), p = ex * P[i * n + j];
      // The derivative of log q's kernel: (1 + d²/α)⁻¹ for the Student-t, 1 for the Gaussian.
      const u = gaussian ? 1 : dof === 1 ? v : v ** (1 / power);
      const coef = (p - q) * u;
      for (let k = 0; k < d; k++) {
        const t = coef * (y[i * d + k] - y[j * d + k]);
        grad[i * d + k] += t;
        grad[j * d + k] -= t;
      }
      if (computeError) kl += p * Math.log(Math.max(p, MACHINE_EPSILON) / q);
    }
  }
  for (let k = 0; k < n * d; k++) grad[k] *= c;
  return computeError ? 2 * kl : NaN;
}

/** Buffers of the Barnes-Hut gradient, allocated once per fit. */
export class BarnesHutWork {
  readonly tree = new QuadTree();
  readonly repulsion: Float64Array;
  readonly attraction: Float64Array;
  readonly out = new Float64Array(3);
  /** Per row of `upperOf`, the first entry right of the diagonal. */
  private upper: Int32Array;
  private upperOf: SparseAffinities | null = null;
  constructor(n: number) {
    this.repulsion = new Float64Array(2 * n);
    this.attraction = new Float64Array(2 * n);
    this.upper = new Int32Array(n);
  }

  /** Where row i of P's upper triangle starts (cached for the last P). */
  upperStarts(P: SparseAffinities): Int32Array {
    if (this.upperOf !== P) {
      for (let i = 0; i < P.n; i++) {
        let e = P.indptr[i];
        while (e < P.indptr[i + 1] && P.indices[e] <= i) e++;
        this.upper[i] = e;
      }
      this.upperOf = P;
    }
    return this.upper;
  }
}

/**
 * The Barnes-Hut KL(P‖Q) and gradient (scikit-learn's `_kl_divergence_bh`) for a 2-D map y with
 * the sparse joint P (symmetric, as `jointProbabilitiesNN` makes it; columns increasing in each
 * row): attraction 4 Σⱼ pᵢⱼ qᵢⱼZ (yᵢ − yⱼ) over P's entries, repulsion 4 Σ qᵢⱼ²Z² (yᵢ − yⱼ) / Z from
 * the quadtree with cells summarised below `angle`. Returns the KL over P's entries with q floored
 * at the smallest float32 (NaN unless computeError).
 */
export function klDivergenceBH(P: SparseAffinities, y: Float64Array, grad: Float64Array,
  options: KLOptions & { angle?: number; work?: BarnesHutWork } = {}): number {
  const n = P.n, ex = options.exaggeration ?? 1, angle = options.angle ?? 0.5, computeError = options.computeError ?? true;
  const work = options.work ?? new BarnesHutWork(n);
  const { tree, repulsion, attraction, out } = work;
  tree.build(y, n);
  const angle2 = angle * angle;
  let sumQ = 0;
  for (const i of tree.order) {
    tree.repulsion(y[2 * i], y[2 * i + 1], angle2, out);
    repulsion[2 * i] = out[0];
    repulsion[2 * i + 1] = out[1];
    sumQ += out[2];
  }
  // P is symmetric: each pair is computed once, from its upper-triangle entry, for both points.
  const { indptr, indices, values } = P, upper = work.upperStarts(P);
  attraction.fill(0);
  let kl = 0;
  for (let i = 0; i < n; i++) {
    const px = y[2 * i], py = y[2 * i + 1];
    let ax = 0, ay = 0;
    for (let e = upper[i]; e < indptr[i + 1]; e++) {
      const j = indices[e], dx = px - y[2 * j], dy = py - y[2 * j + 1];
      const q = 1 / (1 + dx * dx + dy * dy), p = ex * values[e], pq = p * q;
      ax += pq * dx;
      ay += pq * dy;
      attraction[2 * j] -= pq * dx;
      attraction[2 * j + 1] -= pq * dy;
      if (computeError) kl += 2 * p * Math.log(Math.max(p, FLOAT32_TINY) / Math.max(q / sumQ, FLOAT32_TINY));
    }
    attraction[2 * i] += ax;
    attraction[2 * i + 1] += ay;
  }
  for (let k = 0; k < 2 * n; k++) grad[k] = 4 * (attraction[k] - repulsion[k] / sumQ);
  return computeError ? kl : NaN;
}
