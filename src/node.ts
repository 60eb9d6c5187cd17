/** Node-only helpers (files). The core entry point does not import this module. */
import { extname } from 'node:path';
import { graph, type GraphOptions } from './inspect/graph.js';
import type { Tensor } from './tensor.js';
import { ArgumentError } from './errors.js';
import { writeFileAtomic } from './io/files.js';
import { setZooReader } from './models/zoo.js';
import { readZooFile } from './models/node/zoo-files.js';

export { writeFileAtomic };
export { makeFolder, removeStaleTempFiles } from './io/files.js';

export * as datasets from './data/node/datasets.js';
export { readImage, decodeImage, readMask, writePng, makeGrid, saveImageGrid } from './data/node/image-io.js';
export { renderSvg, renderPng, saveChart, type PngOptions } from './viz/node.js';
export { saveImageTiles, imageDataUrl } from './embed/node/images.js';
export { saveSafetensors, loadSafetensors, saveModel, loadModel } from './io/node.js';
export { readOnnxFile, saveOnnx } from './io/onnx/node.js';
export { zooFolder, readZooFile, loadZooModel } from './models/node/zoo-files.js';

// The core's model factories read zoo weights from the package once this entry is imported: models.lenet5({ pretrained: 'mnist' }).
setZooReader(readZooFile);
export { saveCheckpoint, loadCheckpoint, restoreCheckpoint, parseCheckpoint, serializeCheckpoint, CheckpointError, type Checkpoint, type CheckpointInput, type RestoreTargets } from './train/checkpoint.js';
export type { ImageMode, ImageSize, ReadImageOptions, DecodeImageOptions, ReadMaskOptions, MaskClasses, MakeGridOptions, SaveImageGridOptions } from './data/node/image-io.js';

/** Saves the computational graph of `root` as .svg, .dot or .mmd (Mermaid), by the file's extension. */
export async function saveGraph(root: Tensor, path: string, options?: GraphOptions): Promise<void> {
  const g = graph(root, options);
  const ext = extname(path).toLowerCase();
  if (ext === '.svg') writeFileAtomic(path, await g.svg());
  else if (ext === '.dot' || ext === '.gv') writeFileAtomic(path, g.dot);
  else if (ext === '.mmd') writeFileAtomic(path, g.mermaid);
  else throw new ArgumentError('saveGraph', `unknown graph file type '${ext}' in ${path}; use .svg, .dot or .mmd`);
}
