/** The core entry point must run in a browser: nothing it loads may import Node built-ins. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const srcDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');
const NODE_BUILTIN = /^(node:|fs$|path$|os$|url$|child_process$|worker_threads$|crypto$|stream$|zlib$)/;

test('src/index.ts and everything it imports use no Node built-ins', () => {
  const seen = new Set<string>();
  const stack = [join(srcDir, 'index.ts')];
  const offenders: string[] = [];
  while (stack.length) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = m[1] ?? m[2];
      if (NODE_BUILTIN.test(spec)) offenders.push(`${file.slice(srcDir.length + 1)} imports ${spec}`);
      else if (spec.startsWith('.')) stack.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
    }
  }
  assert.ok(seen.size > 10, `walked ${seen.size} modules`);
  assert.ok(!seen.has(join(srcDir, 'node.ts')), 'src/node.ts is not reachable from the core');
  assert.deepEqual(offenders, []);
});
