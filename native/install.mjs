// Builds the native addon (native/build/Release/pixelgrad.node) with node-gyp. Run by the package's
// install script, it never fails the install: without a compiler, make or Python, or on a build
// error, pixelgrad runs on its WebAssembly backend, and native/build/status.json says why
// (backendInfo().fallbackReason repeats it). `npm run build:native` runs it with --strict, which
// exits non-zero when the build fails.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const buildDir = join(here, 'build');
const strict = process.argv.includes('--strict');

function finish(status) {
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(join(buildDir, 'status.json'), JSON.stringify({ ...status, node: process.version, date: new Date().toISOString() }, null, 2) + '\n');
  if (status.ok) console.log('pixelgrad: built the native backend');
  else console.warn(`pixelgrad: the native backend was not built (${status.reason}); pixelgrad will use its WebAssembly backend`);
  process.exit(status.ok || !strict ? 0 : 1);
}

/** The first command that runs, e.g. which C++ compiler is there. */
function found(...commands) {
  return commands.find((c) => spawnSync(c, ['--version'], { stdio: 'ignore', shell: process.platform === 'win32' }).status === 0);
}

/**
 * node-gyp: the one npm passes to scripts, the one bundled with the npm that runs us or with the npm
 * installed beside this Node, or one on PATH.
 */
function nodeGyp() {
  const bundled = (npmDir) => join(npmDir, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  const candidates = [process.env.npm_config_node_gyp];
  if (process.env.npm_execpath) candidates.push(bundled(join(dirname(process.env.npm_execpath), '..')));
  candidates.push(bundled(join(dirname(dirname(process.execPath)), 'lib', 'node_modules', 'npm')));
  const script = candidates.find((p) => p && existsSync(p));
  if (script) return [process.execPath, script];
  return found('node-gyp') ? ['node-gyp'] : null;
}

if (process.platform !== 'win32' && !found(process.env.CXX ?? 'c++', 'g++', 'clang++')) {
  finish({ ok: false, reason: 'no C++ compiler found (c++, g++ or clang++; install build-essential)' });
}
const gyp = nodeGyp();
if (!gyp) finish({ ok: false, reason: 'node-gyp not found (it comes with npm)' });

const args = ['rebuild'];
// Node's own headers, where this Node was installed with them, so that nothing is downloaded.
const prefix = dirname(dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);

const run = spawnSync(gyp[0], [...gyp.slice(1), ...args], { cwd: here, encoding: 'utf8', maxBuffer: 64 << 20, timeout: 15 * 60_000 });
if (run.status === 0 && existsSync(join(buildDir, 'Release', 'pixelgrad.node'))) finish({ ok: true });
const log = `${run.stdout ?? ''}${run.stderr ?? ''}`;
const tail = log.split('\n').filter((l) => l.trim()).slice(-15).join('\n');
const compileError = log.split('\n').find((l) => /\berror\b:/.test(l) && !l.startsWith('gyp'));
const reason = run.error ? `node-gyp could not run: ${run.error.message}`
  : compileError ? `compile error: ${compileError.trim()}`
  : /make: not found|not found: make/i.test(log) ? 'make not found'
  : /gyp ERR! find Python|Could not find any Python/i.test(log) ? 'Python not found (node-gyp needs it)'
  : /getaddrinfo|ENOTFOUND|ECONNREFUSED|EAI_AGAIN/i.test(log) ? "node-gyp could not download Node's headers (no network)"
  : `node-gyp rebuild exited with ${run.status}`;
finish({ ok: false, reason, log: tail });
