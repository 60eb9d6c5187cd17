/** The JavaScript backend: the readable reference every other backend is tested against. */
import type { Kernels } from '../backend.js';
import { binary, copyStrided, unary, where } from './elementwise.js';
import { concat, gather, scatterAdd, take, takeAdd } from './indexing.js';
import { matmul } from './matmul.js';
import { conv2d, conv2dBackwardInput, conv2dBackwardWeight } from './conv.js';
import { avgPool2d, avgPool2dBackward, maxPool2d, maxPool2dBackward } from './pool.js';
import { argReduce, reduce } from './reduce.js';
import { channelMix, channelSums } from './channel.js';
import { conv2dFused, linear } from './fused.js';
import { lstmCell, lstmCellBackward, lstmSequenceKernels } from './recurrent.js';
import { adamStep, sgdStep } from './optim.js';
import { logSoftmaxKernels } from './softmax.js';

export const jsKernels: Kernels = {
  unary, binary, where, reduce, argReduce, matmul, copyStrided, take, takeAdd, concat, gather, scatterAdd,
  conv2d, conv2dBackwardInput, conv2dBackwardWeight, maxPool2d, maxPool2dBackward, avgPool2d, avgPool2dBackward,
  conv2dFused, linear, channelSums, channelMix, lstmCell, lstmCellBackward, sgdStep, adamStep,
  ...logSoftmaxKernels({ unary, binary, reduce }),
  ...lstmSequenceKernels({ matmul, lstmCell, lstmCellBackward }),
};
