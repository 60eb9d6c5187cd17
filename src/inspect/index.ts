/** Looking inside models and computations. */
export { graph, type ComputationalGraph, type GraphNode, type GraphOptions } from './graph.js';
