import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { processCleanups } from '../cleanup.js';
import { tempPathFor, writeFileAtomic } from '../fs/atomic.js';
import { sha256File, sha256Hex } from '../fs/hash.js';
import { withLock } from '../fs/lock.js';
import { digestStream } from '../fs/verified-write.js';
import { checkAnnouncedSize, readCapped, SizeLimitError } from '../limits.js';
import { assertKey } from '../manifest/keys.js';
import {
  type ObjectHead,
  type PutFileOptions,
  type PutOptions,
  type Store,
  StoreError,
  unquoteEtag,
} from './types.js';

/** A cancelled step removes its temp copy; a killed one leaves it to the `post` step. */
function trackTemp(temp: string) {
  return processCleanups.track({ kind: 'file', path: temp }, () => rm(temp, { force: true }));
}

/** Kept beside the objects under a name no release key uses. */
const META_DIR = '.vm-tools';

interface Meta {
  sha256: string;
  sizeBytes: number;
  mtimeMs: number;
  metadata: Record<string, string>;
  contentType?: string;
  cacheControl?: string;
}

/**
 * A directory laid out like the bucket (key = relative path). Writes are atomic
 * (temp + rename); conditional writes are a real compare-and-swap under an
 * exclusive cross-process lock, with ETag = the quoted sha256 of the content.
 */
export class FileStore implements Store {
  readonly description: string;

  constructor(
    private readonly dir: string,
    private readonly lockTimeoutMs = 60_000,
  ) {
    this.description = `file://${dir}`;
  }

  /**
   * Every operation's key check: the key rules, and nothing under the store's own
   * metadata directory, which a key could otherwise read or overwrite.
   */
  private path(key: string): string {
    try {
      assertKey(key);
    } catch (error) {
      throw new StoreError('invalid', (error as Error).message);
    }
    if (key === META_DIR || key.startsWith(`${META_DIR}/`)) {
      throw new StoreError(
        'invalid',
        `invalid key "${key}": it is inside the store's own ${META_DIR}/ directory`,
      );
    }
    return join(this.dir, key);
  }

  /** Lock files live with the metadata, so listing the bucket tree shows only objects. */
  private lockPath(key: string): string {
    return join(this.dir, META_DIR, 'locks', key);
  }

  private metaPath(key: string): string {
    return join(this.dir, META_DIR, 'meta', `${key}.json`);
  }

  private async readMeta(key: string): Promise<Meta | undefined> {
    try {
      return JSON.parse(await readFile(this.metaPath(key), 'utf8')) as Meta;
    } catch {
      return undefined;
    }
  }

  async head(key: string): Promise<ObjectHead | undefined> {
    const path = this.path(key);
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) return undefined;
    let meta = await this.readMeta(key);
    // A file put there by hand (or replaced behind our back) is hashed afresh.
    if (!meta || meta.sizeBytes !== info.size || meta.mtimeMs !== info.mtimeMs) {
      const digest = await sha256File(path);
      meta =
        meta?.sha256 === digest.sha256
          ? { ...meta, mtimeMs: info.mtimeMs }
          : { ...digest, mtimeMs: info.mtimeMs, metadata: {} };
    }
    return {
      key,
      sizeBytes: meta.sizeBytes,
      etag: `"${meta.sha256}"`,
      metadata: meta.metadata,
      ...(meta.contentType ? { contentType: meta.contentType } : {}),
      ...(meta.cacheControl ? { cacheControl: meta.cacheControl } : {}),
    };
  }

  async get(key: string): Promise<{ head: ObjectHead; body: Readable } | undefined> {
    const head = await this.head(key);
    if (!head) return undefined;
    return { head, body: createReadStream(this.path(key), { highWaterMark: 1 << 20 }) };
  }

  async getText(key: string): Promise<{ head: ObjectHead; text: string } | undefined> {
    const source = `${this.description}/${key}`;
    const path = this.path(key);
    let head: ObjectHead | undefined;
    let bytes: Buffer;
    try {
      // An oversized file is refused before head() hashes it or anything reads it.
      checkAnnouncedSize((await stat(path).catch(() => undefined))?.size, source);
      head = await this.head(key);
      if (!head) return undefined;
      bytes = await readCapped(createReadStream(path, { highWaterMark: 1 << 20 }), source);
    } catch (error) {
      if (error instanceof SizeLimitError)
        throw new StoreError('invalid', error.message, { retryable: false, cause: error });
      if (error instanceof StoreError) throw error;
      // Deleted since head(): as absent as if head() had not seen it.
      return undefined;
    }
    // The bytes read decide the ETag: the file may have been replaced since head().
    return {
      head: { ...head, sizeBytes: bytes.length, etag: `"${sha256Hex(bytes)}"` },
      text: bytes.toString('utf8'),
    };
  }

  private async commit(
    key: string,
    temp: string,
    sha256: string,
    options: PutOptions,
  ): Promise<{ etag: string }> {
    const path = this.path(key);
    await withLock(
      this.lockPath(key),
      async () => {
        if (options.ifMatch !== undefined || options.ifNoneMatch !== undefined) {
          const current = await this.head(key);
          if (options.ifNoneMatch === '*' && current) {
            throw new StoreError('precondition_failed', `PUT ${key}: the key already exists`, {
              status: 412,
            });
          }
          if (
            options.ifMatch !== undefined &&
            (!current || unquoteEtag(current.etag) !== unquoteEtag(options.ifMatch))
          ) {
            throw new StoreError(
              'precondition_failed',
              `PUT ${key}: the ETag is ${current ? current.etag : 'absent'}, not ${options.ifMatch}`,
              { status: 412 },
            );
          }
        }
        await rename(temp, path);
        const info = await stat(path);
        const meta: Meta = {
          sha256,
          sizeBytes: info.size,
          mtimeMs: info.mtimeMs,
          metadata: options.metadata ?? {},
          ...(options.contentType ? { contentType: options.contentType } : {}),
          ...(options.cacheControl ? { cacheControl: options.cacheControl } : {}),
        };
        await writeFileAtomic(this.metaPath(key), JSON.stringify(meta));
      },
      { timeoutMs: this.lockTimeoutMs, what: key },
    );
    return { etag: `"${sha256}"` };
  }

  async put(
    key: string,
    body: string | Uint8Array,
    options: PutOptions = {},
  ): Promise<{ etag: string }> {
    const path = this.path(key);
    await mkdir(dirname(path), { recursive: true });
    const temp = tempPathFor(path);
    const tracked = trackTemp(temp);
    try {
      await writeFileAtomic(temp, body);
      return await this.commit(key, temp, sha256Hex(body), options);
    } finally {
      await rm(temp, { force: true });
      tracked.release();
    }
  }

  async putFile(key: string, source: string, options: PutFileOptions): Promise<{ etag: string }> {
    const path = this.path(key);
    await mkdir(dirname(path), { recursive: true });
    const temp = tempPathFor(path);
    const tracked = trackTemp(temp);
    try {
      const digest = digestStream();
      await pipeline(
        createReadStream(source, { highWaterMark: 1 << 20 }),
        digest,
        createWriteStream(temp),
      );
      const { sha256, sizeBytes } = digest.digest();
      options.onProgress?.(sizeBytes);
      return await this.commit(key, temp, sha256, options);
    } finally {
      await rm(temp, { force: true });
      tracked.release();
    }
  }

  async delete(key: string): Promise<void> {
    const path = this.path(key);
    await withLock(this.lockPath(key), async () => {
      await rm(path, { force: true });
      await rm(this.metaPath(key), { force: true });
    });
  }
}
