/**
 * Writing files safely (Node only): atomic writes, folders created one level at a time, and
 * failures reported in one line that names the path and the reason.
 */
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { FileError } from '../errors.js';

/** What an errno code means, for one-line messages. */
const REASONS: Readonly<Record<string, string>> = {
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large for the file system',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder',
  EEXIST: 'a file of that name is in the way',
  ENAMETOOLONG: 'name too long',
  EIO: 'input/output error',
  EMFILE: 'too many open files',
  // Pseudo file systems (/proc) refuse new entries with ENOENT even where the parent exists.
  ENOENT: 'the file system refuses to create it (or its folder vanished)',
};

/** A Node error as a FileError naming the operation, the path and the reason. */
export function fileError(op: string, action: string, path: string, err: unknown): FileError {
  const code = (err as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
  const reason = REASONS[code] ?? (err as Error).message;
  return new FileError(op, `cannot ${action} ${path}: ${reason} (${code})`, path, code);
}

/**
 * Creates `dir` and any missing parents, one level at a time (Node's recursive mkdir can spin
 * forever under /proc, where mkdir answers ENOENT while the parent exists). Throws a FileError
 * naming the folder and the reason.
 */
export function makeFolder(dir: string): void {
  const missing: string[] = [];
  // Walk up to the first existing ancestor; the root always exists, so this ends.
  for (let p = resolve(dir); ; p = dirname(p)) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && dirname(p) !== p) { missing.push(p); continue; }
      throw fileError('mkdir', 'create folder', dir, err);
    }
    if (!isDir) throw new FileError('mkdir', `cannot create folder ${dir}: ${p} is a file, not a folder (ENOTDIR)`, dir, 'ENOTDIR');
    break;
  }
  for (const p of missing.reverse()) {
    try {
      mkdirSync(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && statSync(p).isDirectory()) continue; // made meanwhile
      throw fileError('mkdir', 'create folder', p === resolve(dir) ? dir : `${dir} (at ${p})`, err);
    }
  }
}

/** The temporary name of an atomic write: `<name>.<pid>.<ms>.tmp` in the target's folder. */
const TEMP_NAME = /^(.+)\.(\d+)\.(\d+)\.tmp$/;

/**
 * Writes a file atomically: a temporary file in the same folder (`<name>.<pid>.<ms>.tmp`), then a
 * rename over the target, so a reader sees the old or the new file, never a part. Missing folders
 * are created. Throws a FileError naming the path and the reason (read-only, full disk, ...).
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  makeFolder(dirname(path));
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw fileError('write', 'write', path, err);
  }
}

const isRunning = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by another user
  }
};

/**
 * Removes the temporary files that killed atomic writes left in `dir` (those of processes no
 * longer running, or of this one: its writes are synchronous, so none is under way now). Returns
 * the names removed.
 */
export function removeStaleTempFiles(dir: string): string[] {
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    const m = TEMP_NAME.exec(name);
    if (!m) continue;
    const pid = Number(m[2]);
    if (pid !== process.pid && isRunning(pid)) continue;
    rmSync(join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}
