/** `nn.functional`: layers as functions (PyTorch's `torch.nn.functional`). */
export { conv2d, conv2dFused, convTranspose2d, conv1d, type Conv2dOptions, type Conv2dFusedOptions, type ConvTranspose2dOptions } from '../../ops/conv.js';
export { maxPool2d, maxPool2dWithIndices, avgPool2d, adaptiveAvgPool2d, interpolate, type MaxPool2dOptions, type AvgPool2dOptions, type InterpolateOptions } from '../../ops/pool.js';
export { relu, leakyRelu, elu, gelu, sigmoid, tanh, softplus } from '../../ops/elementwise.js';
export { softmax, logSoftmax } from '../../ops/reduce.js';
export { pad } from '../../ops/shape.js';
export { linear, linearFused } from './linear.js';
export { batchNorm, layerNorm, groupNorm, type BatchNormOptions } from './norm.js';
export { dropout, dropout2d, type DropoutOptions } from './dropout.js';
export {
  mseLoss, l1Loss, smoothL1Loss, crossEntropy, nllLoss, binaryCrossEntropy, bceWithLogits, diceLoss, ceDiceLoss,
  type Reduction, type CrossEntropyOptions, type NLLLossOptions, type BCELossOptions, type BCEWithLogitsOptions, type DiceLossOptions, type SmoothL1LossOptions, type CEDiceLossOptions,
} from './loss.js';
export { rnnCell, lstmCell, gruCell, recurrent, setFusedRecurrent, isFusedRecurrent, type RecurrentOptions, type RecurrentResult, type RecurrentMode, type FusedSetting } from './recurrent.js';
