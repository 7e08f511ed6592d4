import { chmodSync, closeSync, fsyncSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { SecretBox, SecretBoxError } from './secret-box.js';

/** The file name of the master key in the data dir when `--master-key-file` does not say otherwise. */
export const DEFAULT_MASTER_KEY_FILE = 'master.key';

const HEADER = `# Palisade master key: the key-encryption key of the secrets the manager stores (CA private key,
# notifier credentials, TLS session-ticket secret). Keep it apart from database backups: the
# database alone opens nothing. Every manager node of one database needs this same file.
# One key per line, base64 of 32 bytes. The first seals; the others only open (rotation).
`;

/** What {@link loadMasterKeyFile} found or did, for the log. */
export interface MasterKeyFileResult {
  box: SecretBox;
  /** True when the file did not exist and was written now. */
  created: boolean;
  /** The file's mode was looser than 0600 and was tightened. */
  modeFixed: boolean;
}

function errnoCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

function parse(path: string, text: string): SecretBox {
  const keys: Buffer[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const key = /^[A-Za-z0-9+/]{43}=$/.test(line) ? Buffer.from(line, 'base64') : null;
    if (key?.length !== 32)
      throw new SecretBoxError(`master key file ${path}, line ${i + 1}: not a key (base64 of 32 bytes)`);
    keys.push(key);
  }
  if (keys.length === 0) throw new SecretBoxError(`master key file ${path} holds no key`);
  return new SecretBox(keys);
}

/** Writes a new key file, failing if one appeared meanwhile (another process won the race). */
function create(path: string): void {
  const key = SecretBox.generateKey();
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, `${HEADER}${key.toString('base64')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  // The directory entry too, so the key outlives a power cut that the sealed rows survive.
  try {
    const dir = openSync(dirname(path), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the file itself is synced.
  }
}

/**
 * Loads the master key file, creating it (mode 0600, a new random key) when it is absent and
 * `mayCreate` says no stored secret depends on an existing key. A file readable by group or
 * others is tightened to 0600 when it is the manager's own (`owned`: the default in the data
 * dir), refused otherwise: the operator put it there and decides who reads it.
 */
export function loadMasterKeyFile(path: string, o: { mayCreate: boolean; owned: boolean }): MasterKeyFileResult {
  let created = false;
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw e;
    if (!o.mayCreate)
      throw new SecretBoxError(
        `master key file ${path} is missing, and the database holds secrets sealed with a master key: ` +
          'restore the file from where it was backed up (or pass --master-key-file PATH)',
      );
    try {
      create(path);
      created = true;
    } catch (e2) {
      if (errnoCode(e2) !== 'EEXIST') throw e2;
    }
    st = statSync(path);
  }
  if (!st.isFile()) throw new SecretBoxError(`master key file ${path} is not a regular file`);
  let modeFixed = false;
  if ((st.mode & 0o077) !== 0) {
    if (!o.owned)
      throw new SecretBoxError(
        `master key file ${path} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}): chmod 600 it`,
      );
    chmodSync(path, 0o600);
    modeFixed = true;
  }
  return { box: parse(path, readFileSync(path, 'utf8')), created, modeFixed };
}
