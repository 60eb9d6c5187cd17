/** `nn`: modules, layers, losses, initialisation and the functional forms. */
export { Module, type ForwardHook, type ForwardPreHook, type BackwardHook, type LoadResult, type ModuleSelector } from './module.js';
export { adaptInputChannels, adaptFilters, replaceHead, parameterGroups, firstConvPath, headPath, type ChannelRule } from './transfer.js';
export { Sequential, ModuleList, ModuleDict } from './layers/container.js';
export { Linear } from './layers/linear.js';
export { Conv2d, ConvTranspose2d, Conv1d, type Conv2dLayerOptions, type ConvTranspose2dLayerOptions } from './layers/conv.js';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, Upsample } from './layers/pool.js';
export { BatchNorm1d, BatchNorm2d, LayerNorm, GroupNorm, type BatchNormLayerOptions } from './layers/norm.js';
export { Dropout, Dropout2d } from './layers/dropout.js';
export { ReLU, LeakyReLU, ELU, GELU, Sigmoid, Tanh, Softmax, LogSoftmax, Flatten, Identity } from './layers/activation.js';
export { RNN, LSTM, GRU, RNNCell, LSTMCell, GRUCell, type RNNOptions, type LSTMOptions, type GRUOptions, type RecurrentLayerOptions, type RecurrentForwardOptions, type RnnNonlinearity } from './layers/recurrent.js';
export { MSELoss, L1Loss, SmoothL1Loss, CrossEntropyLoss, NLLLoss, BCELoss, BCEWithLogitsLoss, DiceLoss } from './layers/loss.js';
export { summary, type ModelSummary, type SummaryRow } from './summary.js';
export * as functional from './functional/index.js';
export * as init from './init.js';
export * as utils from './clip.js';
