/** The package's version, from its package.json: two levels above this file in the sources, three in dist/. */
import { existsSync, readFileSync } from 'node:fs';

export function packageVersion(): string {
  for (const up of ['../../package.json', '../../../package.json']) {
    const url = new URL(up, import.meta.url);
    if (!existsSync(url)) continue;
    const pkg = JSON.parse(readFileSync(url, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'pixelgrad' && pkg.version) return pkg.version;
  }
  return 'unknown';
}
