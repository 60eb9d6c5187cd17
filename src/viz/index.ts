/** Charts as Vega-Lite specs (browser-safe, pure functions). Rendering to SVG/PNG files is in `pixelgrad/node`. */
export {
  learningCurvesSpec, confusionMatrixSpec, capacitySweepSpec, lineSpec, scatterSpec,
  chartConfig, PANEL_WIDTH, PANEL_HEIGHT, COLORS,
  type VegaLiteSpec, type ChartOptions, type EpochRecord, type LearningCurvesOptions, type ConfusionMatrixOptions,
  type CapacityPoint, type CapacitySweepOptions, type Series, type LineOptions, type ScatterPoint, type ScatterOptions,
} from './charts.js';
export {
  applyColormap, colormapColor, channelMap, normalizeMap, overlayHeatmap, percentileOfSorted, COLORMAPS,
  type ColormapName, type AttributionSign, type NormalizeMapOptions,
} from './heatmap.js';
