/**
 * k-nearest-neighbour classification with scikit-learn's semantics (KNeighborsClassifier, 1.2):
 * 'uniform' votes count each neighbour once, 'distance' votes weigh it by 1/distance (a query at
 * distance 0 from some neighbours gives those weight 1 and the others 0). Ties between classes go
 * to the smallest class label, as sklearn's mode and argmax do.
 */
import { ArgumentError, ShapeError } from '../errors.js';
import { checkOneOf, checkPositiveInt, fmtValue, resolveOptions } from '../options.js';
import { Tensor } from '../tensor.js';
import { asMatrix } from './matrix.js';
import { kNeighbors, METRICS, type Metric, type Neighbors } from './neighbors.js';

export type Weights = 'uniform' | 'distance';

export interface KNeighborsOptions {
  /** Default 5. */
  nNeighbors?: number;
  /** Default 'uniform'. */
  weights?: Weights;
  /** Default 'euclidean'. */
  metric?: Metric;
}

const KNOWN = ['nNeighbors', 'weights', 'metric'];

function resolve(op: string, options: KNeighborsOptions): Required<KNeighborsOptions> {
  const o = resolveOptions<Required<KNeighborsOptions>>(op, options, { nNeighbors: 5, weights: 'uniform', metric: 'euclidean' }, KNOWN);
  checkPositiveInt(op, 'nNeighbors', o.nNeighbors);
  checkOneOf(op, 'weights', o.weights, ['uniform', 'distance']);
  checkOneOf(op, 'metric', o.metric, METRICS);
  return o;
}

/** Integer labels, one per row, as an Int32Array. */
export function labelArray(op: string, labels: Tensor | ArrayLike<number>, rows: number): Int32Array {
  const data = labels instanceof Tensor ? labels.data : labels;
  if (labels instanceof Tensor && labels.ndim !== 1) throw new ShapeError(op, `labels must be 1-D, got shape [${labels.shape.join(',')}]`);
  if (data.length !== rows) throw new ShapeError(op, `got ${data.length} labels for ${rows} rows`);
  const out = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    if (!Number.isInteger(data[i])) throw new ArgumentError(op, `labels must be integers, got ${fmtValue(data[i])} at ${i}`);
    out[i] = data[i];
  }
  return out;
}

/** The sorted distinct labels, and each row's position among them. */
function classIndices(y: Int32Array): { classes: Int32Array; classIndex: Int32Array } {
  const classes = Int32Array.from(new Set(y)).sort();
  const index = new Map([...classes].map((c, i) => [c, i]));
  return { classes, classIndex: y.map((v) => index.get(v)!) };
}

/**
 * Class probabilities [queries × nClasses] from neighbours: the (weighted) share of each class
 * among a query's neighbours (`classIndex` maps a reference row to its class position).
 */
function voteShares(nb: Neighbors, classIndex: Int32Array, nClasses: number, weights: Weights): Float64Array {
  const m = nb.indices.length / nb.k;
  const out = new Float64Array(m * nClasses);
  for (let i = 0; i < m; i++) {
    const at = i * nb.k;
    let exact = false;
    if (weights === 'distance') for (let j = 0; j < nb.k; j++) if (nb.distances[at + j] === 0) exact = true;
    let total = 0;
    for (let j = 0; j < nb.k; j++) {
      const dist = nb.distances[at + j];
      const w = weights === 'uniform' ? 1 : exact ? (dist === 0 ? 1 : 0) : 1 / dist;
      out[i * nClasses + classIndex[nb.indices[at + j]]] += w;
      total += w;
    }
    for (let c = 0; c < nClasses; c++) out[i * nClasses + c] /= total;
  }
  return out;
}

/** The first (smallest-class) maximum of each row. */
function argmaxRows(p: Float64Array, nClasses: number): Int32Array {
  const m = p.length / nClasses;
  const out = new Int32Array(m);
  for (let i = 0; i < m; i++) {
    let best = 0;
    for (let c = 1; c < nClasses; c++) if (p[i * nClasses + c] > p[i * nClasses + best]) best = c;
    out[i] = best;
  }
  return out;
}

/**
 * A k-nearest-neighbour classifier.
 * @example
 * const knn = new KNeighborsClassifier({ nNeighbors: 5, weights: 'distance' }).fit(trainX, trainY);
 * knn.score(testX, testY); // accuracy
 */
export class KNeighborsClassifier {
  readonly options: Required<KNeighborsOptions>;
  private fitted: { x: Tensor; classes: Int32Array; classIndex: Int32Array } | null = null;

  constructor(options: KNeighborsOptions = {}) {
    this.options = resolve('KNeighborsClassifier', options);
  }

  /** Stores the training rows `x` [N, D] and their integer labels. */
  fit(x: Tensor, labels: Tensor | ArrayLike<number>): this {
    const op = 'KNeighborsClassifier.fit';
    const { rows } = asMatrix(op, 'x', x);
    const y = labelArray(op, labels, rows);
    if (this.options.nNeighbors > rows) throw new ArgumentError(op, `nNeighbors = ${this.options.nNeighbors} is more than the ${rows} training rows`);
    this.fitted = { x, ...classIndices(y) };
    return this;
  }

  private get state() {
    if (!this.fitted) throw new ArgumentError('KNeighborsClassifier', 'not fitted yet: call fit() first');
    return this.fitted;
  }

  /** The sorted distinct training labels (the columns of `predictProba`). */
  get classes(): Int32Array { return this.state.classes; }

  /** The nNeighbors nearest training rows of each query. */
  kneighbors(x: Tensor): Neighbors {
    return kNeighbors(x, this.state.x, this.options.nNeighbors, { metric: this.options.metric });
  }

  /** [M, classes] float64: the (weighted) share of each class among the neighbours. */
  predictProba(x: Tensor): Tensor {
    const st = this.state;
    const p = voteShares(this.kneighbors(x), st.classIndex, st.classes.length, this.options.weights);
    return new Tensor(p, [p.length / st.classes.length, st.classes.length]);
  }

  /** [M] int32: the predicted labels. */
  predict(x: Tensor): Tensor {
    const st = this.state;
    const best = argmaxRows(this.predictProba(x).data as Float64Array, st.classes.length);
    return new Tensor(best.map((c) => st.classes[c]), [best.length]);
  }

  /** Accuracy of `predict(x)` against `labels`. */
  score(x: Tensor, labels: Tensor | ArrayLike<number>): number {
    const pred = this.predict(x).data;
    const y = labelArray('KNeighborsClassifier.score', labels, pred.length);
    let right = 0;
    for (let i = 0; i < y.length; i++) if (pred[i] === y[i]) right++;
    return right / y.length;
  }
}

/**
 * Leave-one-out k-NN accuracy: each row classified by its k nearest other rows. The k-NN accuracy
 * of an embedding (how well a 2-D map keeps classes apart) is this on the embedded points.
 * @example leaveOneOutAccuracy(tsneXY, labels, { nNeighbors: 10 }) // e.g. 0.95
 */
export function leaveOneOutAccuracy(x: Tensor, labels: Tensor | ArrayLike<number>, options: KNeighborsOptions = {}): number {
  const op = 'leaveOneOutAccuracy';
  const o = resolve(op, options);
  const { rows } = asMatrix(op, 'x', x);
  const y = labelArray(op, labels, rows);
  const { classes, classIndex } = classIndices(y);
  const nb = kNeighbors(x, x, o.nNeighbors, { metric: o.metric, excludeSelf: true });
  const pred = argmaxRows(voteShares(nb, classIndex, classes.length, o.weights), classes.length);
  let right = 0;
  for (let i = 0; i < rows; i++) if (pred[i] === classIndex[i]) right++;
  return right / rows;
}
