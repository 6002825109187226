import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';

/**
 * Files that hold the accounts' secrets (the SQLite database, backups, a
 * restore's copy): readable by the server's user alone whatever the umask, made
 * under names nobody can guess or plant beforehand, and on disk before they
 * are relied on.
 */

/** Creates `file` empty and owner-only (0600); fails (EEXIST) when anything is there, a symlink included. */
export function createPrivateFile(file: string): void {
  closeSync(openSync(file, 'wx', 0o600));
}

/** A private temporary file beside `file`, created now: an unpredictable name, so nothing can be planted there first. */
export function createPrivateTemporary(file: string, suffix = 'partial'): string {
  const temporary = `${file}.${randomBytes(8).toString('hex')}.${suffix}`;
  createPrivateFile(temporary);
  return temporary;
}

/** Creates `dir` and its missing parents owner-only (0700); an existing directory is left as its owner set it. */
export function ensurePrivateDirectory(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/** `file`'s content on disk, and after a rename, the directory entry that names it. */
export function syncToDisk(file: string): void {
  for (const [target, flags] of [
    [file, 'r+'],
    [path.dirname(file), 'r'],
  ] as const) {
    const fd = openSync(target, flags);
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}
