/** Ready-made networks. */
export { LeNet5, lenet5, type LeNet5Options } from './lenet.js';
export { ResNet, BasicBlock, resnet, type ResNetOptions, type ShortcutKind } from './resnet.js';
export { SmallVgg, smallVgg, type VggOptions } from './vgg.js';
