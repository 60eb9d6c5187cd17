/** `train`: the fit loop, evaluation, prediction, callbacks and metrics (checkpoints are in `pixelgrad/node`). */
export { fit, evaluate, predict, EarlyStopping, DivergenceError, type FitOptions, type EvaluateOptions, type EvaluateResult, type EpochRecord, type BatchInfo, type Callback, type TrainContext, type Batch, type LossFn } from './fit.js';
export { accuracy, topKAccuracy, confusionMatrix, addConfusion, classificationReport, segmentationScores, randScores, type ClassReport, type SegmentationScores, type RandScores } from './metrics.js';
