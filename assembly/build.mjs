/**
 * Builds the WebAssembly kernels: assembly/*.ts → src/backend/wasm/kernels.wasm, with the
 * AssemblyScript compiler from node_modules (nothing is downloaded). Skips the compile when the
 * sources, the options and the compiler version are those of the last build (a hash kept beside
 * the output). When dist/src exists (after `npm run build`), the module is copied next to the
 * compiled loader too, since tsc does not copy it.
 *
 *   node assembly/build.mjs [--force]
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'assembly');
const out = join(root, 'src', 'backend', 'wasm', 'kernels.wasm');
const stamp = `${out}.stamp`;
const distOut = join(root, 'dist', 'src', 'backend', 'wasm', 'kernels.wasm');

const options = ['--runtime', 'stub', '--enable', 'simd', '-O3', '--noAssert', '--initialMemory', '1'];

const hash = createHash('sha256');
hash.update(`${asc.version}\n${options.join(' ')}\n`);
for (const f of readdirSync(srcDir).filter((name) => name.endsWith('.ts')).sort()) hash.update(`${f}\n`).update(readFileSync(join(srcDir, f)));
const digest = hash.digest('hex');
const fresh = existsSync(out) && existsSync(stamp) && readFileSync(stamp, 'utf8') === digest && !process.argv.includes('--force');

if (!fresh) {
  const { error, stderr } = await asc.main([join(srcDir, 'index.ts'), '--outFile', out, ...options], {});
  if (error) {
    process.stderr.write(stderr.toString());
    console.error(`build:wasm: ${error.message}`);
    process.exit(1);
  }
  writeFileSync(stamp, digest);
  console.log(`build:wasm: wrote ${out.slice(root.length + 1)}`);
}
if (existsSync(join(root, 'dist', 'src'))) {
  mkdirSync(dirname(distOut), { recursive: true });
  copyFileSync(out, distOut);
}
