/**
 * Turns a run's checkpoint into a zoo file: the model's state dict alone (no optimiser state), as
 * zoo/<name>.safetensors, and prints the SHA-256 and test accuracy to enter in src/models/zoo.ts.
 *   npx tsx tools/zoo-export.ts runs/zoo-lenet5-mnist lenet5-mnist
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { modelFromCheckpoint } from '../src/cli/transfer.js';
import { saveModel } from '../src/io/node.js';
import { zooFolder } from '../src/models/node/zoo-files.js';

const [run, name] = process.argv.slice(2);
if (!run || !name) throw new Error('usage: tools/zoo-export.ts <run folder> <zoo name>');
const { model } = modelFromCheckpoint(join(run, 'last.safetensors'));
const path = join(zooFolder(), `${name}.safetensors`);
saveModel(model, path, { pixelgrad_zoo: name });
const { testAccuracy } = JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8')) as { testAccuracy: number };
console.log(`${path}\nsha256 ${createHash('sha256').update(readFileSync(path)).digest('hex')}\ntestAccuracy ${testAccuracy}`);
