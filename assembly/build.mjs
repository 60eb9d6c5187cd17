/**
 * Builds the WebAssembly kernels: assembly/*.ts → four modules in src/backend/wasm/, with the
 * AssemblyScript compiler from node_modules (nothing is downloaded):
 *   kernels.wasm          its own memory, for one thread;
 *   kernels-threads.wasm  an imported shared memory, instantiated once per thread of the pool;
 *   kernels-relaxed.wasm, kernels-threads-relaxed.wasm  the same with relaxed SIMD (fused
 *                         multiply-add), for engines that have it.
 * Skips the compile when the sources, the options and the compiler version are those of the last
 * build (a hash kept beside the outputs). When dist/src exists (after `npm run build`), the modules
 * are copied next to the compiled loader too, since tsc does not copy them.
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
const outDir = join(root, 'src', 'backend', 'wasm');
const stamp = join(outDir, 'kernels.wasm.stamp');
const distDir = join(root, 'dist', 'src', 'backend', 'wasm');

const common = ['--runtime', 'stub', '--enable', 'simd', '-O3', '--noAssert', '--initialMemory', '1'];
// 65536 pages = 4 GiB, all of wasm32; a shared memory must declare its maximum.
const threads = ['--enable', 'threads', '--importMemory', '--sharedMemory', '--maximumMemory', '65536'];
const relaxed = ['--enable', 'relaxed-simd'];
const variants = {
  'kernels.wasm': common,
  'kernels-threads.wasm': [...common, ...threads],
  'kernels-relaxed.wasm': [...common, ...relaxed],
  'kernels-threads-relaxed.wasm': [...common, ...threads, ...relaxed],
};

const hash = createHash('sha256');
hash.update(`${asc.version}\n${JSON.stringify(variants)}\n`);
for (const f of readdirSync(srcDir).filter((name) => name.endsWith('.ts')).sort()) hash.update(`${f}\n`).update(readFileSync(join(srcDir, f)));
const digest = hash.digest('hex');
const names = Object.keys(variants);
const fresh = names.every((name) => existsSync(join(outDir, name))) && existsSync(stamp)
  && readFileSync(stamp, 'utf8') === digest && !process.argv.includes('--force');

if (!fresh) {
  for (const [name, options] of Object.entries(variants)) {
    const out = join(outDir, name);
    const { error, stderr } = await asc.main([join(srcDir, 'index.ts'), '--outFile', out, ...options], {});
    if (error) {
      process.stderr.write(stderr.toString());
      console.error(`build:wasm: ${name}: ${error.message}`);
      process.exit(1);
    }
    console.log(`build:wasm: wrote ${out.slice(root.length + 1)}`);
  }
  writeFileSync(stamp, digest);
}
if (existsSync(join(root, 'dist', 'src'))) {
  mkdirSync(distDir, { recursive: true });
  for (const name of names) copyFileSync(join(outDir, name), join(distDir, name));
}
