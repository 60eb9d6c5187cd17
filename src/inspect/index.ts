/** Looking inside models and computations. */
export { graph, type ComputationalGraph, type GraphNode, type GraphOptions } from './graph.js';
export { explain, type Explanation, type ExplainStep, type ChainTerm, type ExplainOptions } from './explain.js';
