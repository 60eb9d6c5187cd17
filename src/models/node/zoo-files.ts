/** Node only: the zoo's weight files, read from the package's `zoo/` folder. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ArgumentError } from '../../errors.js';
import { readFileChecked } from '../../io/node.js';
import { pretrainedModel } from '../index.js';
import { zooEntry, type ZooEntry } from '../zoo.js';
import type { Module } from '../../nn/module.js';

/** The package's zoo/ folder: three levels above this file in the sources, four in dist/. */
export function zooFolder(): string {
  for (const up of ['../../../zoo/', '../../../../zoo/']) {
    const url = new URL(up, import.meta.url);
    if (existsSync(new URL('../package.json', url))) return fileURLToPath(url);
  }
  throw new ArgumentError('zoo', 'the package has no zoo/ folder (it ships beside dist/)');
}

/** The bytes of a zoo model's file (checked against its SHA-256 by whoever loads it). */
export function readZooFile(entry: ZooEntry): Uint8Array {
  return readFileChecked('zoo', zooFolder() + entry.file);
}

/** A zoo model by name ('lenet5-mnist', 'lenet5-fashion-mnist'), read from the package and checked. */
export function loadZooModel(name: string): Module {
  return pretrainedModel(name, readZooFile(zooEntry(name, 'loadZooModel')));
}
