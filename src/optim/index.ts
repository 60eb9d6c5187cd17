/** Optimisers and learning-rate schedulers (`torch.optim`, `torch.optim.lr_scheduler`). */
export {
  Optimizer, SCHEDULER_GROUP_KEYS,
  type OptimizerOptions, type ParamGroup, type ParamGroupInput, type SchedulerGroupFields, type ParamState,
  type EncodedBuffer, type OptimizerStateDict, type StateSpec,
} from './optimizer.js';
export { SGD, type SGDOptions, type SGDConfig, type SGDState } from './sgd.js';
export { Adam, AdamW, type AdamOptions, type AdamConfig, type AdamState } from './adam.js';
export { RMSprop, type RMSpropOptions, type RMSpropConfig, type RMSpropState } from './rmsprop.js';
export { Adagrad, type AdagradOptions, type AdagradConfig, type AdagradState } from './adagrad.js';
export {
  SchedulerBase, LRScheduler, StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, LinearLR, SequentialLR, OneCycleLR, ReduceLROnPlateau,
  type SchedulerStateDict, type StepLROptions, type MultiStepLROptions, type ExponentialLROptions, type CosineAnnealingLROptions,
  type LinearLROptions, type SequentialLROptions, type OneCycleLROptions, type ReduceLROnPlateauOptions,
} from './lr-scheduler.js';
