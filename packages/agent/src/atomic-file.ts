import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Replaces `file` so that after a crash it holds either the old or the new content, never a
 * mix: write a temporary file, fsync it, rename over the target, fsync the directory.
 *
 * `durable: false` skips both fsyncs, for files that may lose their last update on power loss
 * (counters, last contact): the rename still makes the replacement atomic for readers and
 * against a process crash, and each fsync costs a disk flush on every heartbeat.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o644, durable = true): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', mode);
  try {
    if (typeof data === 'string') writeSync(fd, data);
    else writeSync(fd, data);
    if (durable) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  if (!durable) return;
  const dir = openSync(dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
