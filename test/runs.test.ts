/**
 * Run faults below the command line: write failures named in one line (read-only and pseudo file
 * systems, a file in the way, a full disk), no endless mkdir, leftover temporary files removed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs, { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileError } from '../src/errors.js';
import { makeFolder, removeStaleTempFiles, writeFileAtomic } from '../src/io/files.js';

const tmp = mkdtempSync(join(tmpdir(), 'pixelgrad-runs-'));

function assertFileError(fn: () => void, op: string, code: string, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FileError, `a FileError, got ${String(e)}`);
    assert.equal(e.op, op);
    assert.equal(e.code, code);
    assert.match(e.message, pattern);
    assert.doesNotMatch(e.message, /\n/);
    return true;
  });
}

test('a folder under /proc is refused at once, naming the folder (Node\'s recursive mkdir spins there)', { skip: !existsSync('/proc/self') }, () => {
  const start = Date.now();
  assertFileError(() => makeFolder('/proc/pixelgrad-test/run'), 'mkdir', 'ENOENT', /^mkdir: cannot create folder \/proc\/pixelgrad-test\/run \(at \/proc\/pixelgrad-test\): the file system refuses to create it/);
  assertFileError(() => writeFileAtomic('/proc/pixelgrad-test.json', '{}'), 'write', 'ENOENT', /^write: cannot write \/proc\/pixelgrad-test\.json: /);
  assert.ok(Date.now() - start < 2000);
});

test('a folder under /sys is refused, naming the reason', { skip: !existsSync('/sys/kernel') }, () => {
  assert.throws(() => makeFolder('/sys/kernel/pixelgrad-test'), (e: unknown) => e instanceof FileError && /^mkdir: cannot create folder \/sys\/kernel\/pixelgrad-test: (operation not permitted|permission denied|read-only file system) \(E[A-Z]+\)$/.test(e.message));
});

test('a file where a folder is expected is named', () => {
  const file = join(tmp, 'plain-file');
  writeFileSync(file, 'x');
  assertFileError(() => makeFolder(join(file, 'a', 'b')), 'mkdir', 'ENOTDIR', new RegExp(`^mkdir: cannot create folder .*plain-file/a/b: .*plain-file is a file, not a folder \\(ENOTDIR\\)$`));
  assertFileError(() => writeFileAtomic(join(file, 'x.json'), '{}'), 'mkdir', 'ENOTDIR', /plain-file is a file, not a folder/);
  assertFileError(() => writeFileAtomic(tmp, 'x'), 'write', 'EISDIR', /^write: cannot write .*: it is a folder \(EISDIR\)$/);
});

test('makeFolder creates the missing levels and accepts an existing folder', () => {
  const deep = join(tmp, 'a', 'b', 'c');
  makeFolder(deep);
  makeFolder(deep);
  assert.ok(fs.statSync(deep).isDirectory());
  writeFileAtomic(join(tmp, 'new', 'folder', 'f.txt'), 'hello');
  assert.equal(readFileSync(join(tmp, 'new', 'folder', 'f.txt'), 'utf8'), 'hello');
});

test('a full disk names the file, leaves no temporary file and keeps the old contents', () => {
  const dir = join(tmp, 'full');
  mkdirSync(dir);
  const target = join(dir, 'metrics.jsonl');
  writeFileAtomic(target, 'old\n');
  const original = fs.writeFileSync;
  // A disk that fills up half-way through the write.
  fs.writeFileSync = ((p: fs.PathOrFileDescriptor, data: string | NodeJS.ArrayBufferView) => {
    original(p, String(data).slice(0, 2));
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
  }) as typeof fs.writeFileSync;
  syncBuiltinESMExports();
  try {
    assertFileError(() => writeFileAtomic(target, 'new contents\n'), 'write', 'ENOSPC', /^write: cannot write .*full\/metrics\.jsonl: no space left on device \(ENOSPC\)$/);
  } finally {
    fs.writeFileSync = original;
    syncBuiltinESMExports();
  }
  assert.deepEqual(readdirSync(dir), ['metrics.jsonl']);
  assert.equal(readFileSync(target, 'utf8'), 'old\n');
});

test('removeStaleTempFiles removes the temporary files of dead processes and of this one, nothing else', () => {
  const dir = join(tmp, 'stale');
  mkdirSync(dir);
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  const names = {
    dead: `metrics.jsonl.${dead}.1700000000000.tmp`,
    self: `last.safetensors.${process.pid}.1700000000001.tmp`,
    alive: `best.safetensors.${process.ppid}.1700000000002.tmp`,
    other: 'notes.tmp',
    kept: 'metrics.jsonl',
  };
  for (const n of Object.values(names)) writeFileSync(join(dir, n), 'x');
  assert.deepEqual(removeStaleTempFiles(dir).sort(), [names.dead, names.self].sort());
  assert.deepEqual(readdirSync(dir).sort(), [names.alive, names.kept, names.other].sort());
});
