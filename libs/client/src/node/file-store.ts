// A StateStore on disk, for Node (auditors, servers, CLIs). A crash while saving must leave either
// the old or the new checkpoint, never half of one: write a temp file, fsync it, rename over the
// target (atomic on POSIX filesystems), then fsync the directory so the rename itself survives.
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import type { StateStore } from '../store.js';

/** A signed checkpoint note is small; anything larger is not ours. */
export const STATE_FILE_BYTES_MAX = 1_048_576;

export class FileStateStore implements StateStore {
  readonly path: string;
  #saves = 0;

  constructor(path: string) {
    if (typeof path !== 'string' || path.length === 0) throw new TypeError('FileStateStore needs a path');
    this.path = path;
  }

  async load(): Promise<string | undefined> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    if (bytes.length > STATE_FILE_BYTES_MAX) throw new RangeError(`${this.path} is ${bytes.length} bytes, above ${STATE_FILE_BYTES_MAX}`);
    return bytes.toString('utf8');
  }

  async save(note: string): Promise<void> {
    const dir = dirname(this.path);
    await mkdir(dir, { recursive: true });
    this.#saves += 1;
    const temp = join(dir, `.${basename(this.path)}.${process.pid}.${this.#saves}.tmp`);
    try {
      const file = await open(temp, 'w', 0o644);
      try {
        await file.writeFile(note, 'utf8');
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temp, this.path);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    await syncDir(dir);
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic there.
  } finally {
    await handle.close();
  }
}
