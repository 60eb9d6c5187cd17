/** Node-only helpers (files). The core entry point does not import this module. */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, extname } from 'node:path';
import { graph, type GraphOptions } from './inspect/graph.js';
import type { Tensor } from './tensor.js';
import { ArgumentError } from './errors.js';

export * as datasets from './data/node/datasets.js';

/** Writes a file atomically: a temporary file in the same folder, then a rename over the target. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Saves the computational graph of `root` as .svg, .dot or .mmd (Mermaid), by the file's extension. */
export async function saveGraph(root: Tensor, path: string, options?: GraphOptions): Promise<void> {
  const g = graph(root, options);
  const ext = extname(path).toLowerCase();
  if (ext === '.svg') writeFileAtomic(path, await g.svg());
  else if (ext === '.dot' || ext === '.gv') writeFileAtomic(path, g.dot);
  else if (ext === '.mmd') writeFileAtomic(path, g.mermaid);
  else throw new ArgumentError('saveGraph', `unknown graph file type '${ext}' in ${path}; use .svg, .dot or .mmd`);
}
