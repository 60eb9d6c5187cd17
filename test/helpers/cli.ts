/** Running the command line from the tests: in its own process, or in this one, and its one-line errors. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const mainTs = join(root, 'src/cli/main.ts');

/** What a run of the command gave: its exit status (null if it was killed) and its output. */
export interface CliResult { status: number | null; stdout: string; stderr: string }

/** Node's arguments that run the command from its TypeScript source. */
export const cliArgs = (...a: string[]): string[] => ['--import', 'tsx', mainTs, ...a];

/**
 * The command in its own process, as a user runs it (train writes its log straight to stdout).
 * PIXELGRAD_DEBUG is cleared so that errors print as users see them, without a stack.
 */
export function spawnRunner({ timeout }: { timeout?: number } = {}) {
  return (...a: string[]) => spawnSync(process.execPath, cliArgs(...a), { cwd: root, encoding: 'utf8', timeout, env: { ...process.env, PIXELGRAD_DEBUG: '' } });
}
export const runCli = spawnRunner();

/**
 * The command in this process, without the start-up of another (seconds on a busy machine), for
 * commands that print with console.log / console.error. The text reads as a process's would: one
 * line per call. `writes` also takes what goes to process.stderr.write: commander's own errors.
 */
export function hereRunner({ writes = false }: { writes?: boolean } = {}) {
  return async (...a: string[]): Promise<CliResult & { status: number }> => {
    // Loaded here, so that the files that only spawn the command do not load it as well.
    const { main } = await import('../../src/cli/main.js');
    let stdout = '', stderr = '';
    const saved = { log: console.log, error: console.error }, write = process.stderr.write;
    console.log = (...parts: unknown[]) => { stdout += parts.join(' ') + '\n'; };
    console.error = (...parts: unknown[]) => { stderr += parts.join(' ') + '\n'; };
    if (writes) process.stderr.write = ((chunk: string | Uint8Array) => { stderr += String(chunk); return true; }) as typeof process.stderr.write;
    try {
      return { status: await main(a), stdout, stderr };
    } finally {
      Object.assign(console, saved);
      process.stderr.write = write;
    }
  };
}
export const runHere = hereRunner();

/** Exit status 1 and exactly one line on stderr, without a stack trace. */
export function assertOneLineError(r: CliResult, pattern: RegExp, what = ''): void {
  const prefix = what ? `${what}: ` : '';
  assert.equal(r.status, 1, `${prefix}exit status (stdout: ${r.stdout}, stderr: ${r.stderr})`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `${prefix}one line, got: ${r.stderr}`);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}
