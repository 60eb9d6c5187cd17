/**
 * What a network sees: attribution maps (saliency, input × gradient, SmoothGrad, integrated
 * gradients, guided backpropagation, deconvolution, Grad-CAM, guided Grad-CAM, occlusion) and
 * filter/class visualisation. Browser-safe; pictures are composed in `viz` (heatmaps, overlays).
 */
export {
  saliency, inputXGradient, smoothGrad, integratedGradients, integrationRule, guidedBackprop, deconvolution, gradCam, guidedGradCam, occlusion,
  INTEGRATION_METHODS, type IntegrationMethod, type SaliencyOptions, type SmoothGradOptions, type IntegratedGradientsOptions, type GradCamOptions, type OcclusionOptions,
} from './attribution.js';
export { GUIDED_RELU, DECONV_RELU, convLayerNames, type Classifier, type Target } from './common.js';
export { filterImages, firstConv, channelGuidedBackprop, activationMaximization, type ActivationMaximizationOptions } from './visualize.js';
export { explanationFigure, METHOD_STYLES, type ColumnStyle, type FigureColumn, type ExplanationFigureOptions } from './figure.js';
