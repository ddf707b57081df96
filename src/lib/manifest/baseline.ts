import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { checkAnnouncedSize, readCapped, SizeLimitError } from '../limits.js';
import { type Manifest, parseManifest } from './manifest.js';

/** Reads an `s3://bucket/key` object's text; undefined when it does not exist. */
export type ObjectReader = (url: string) => Promise<string | undefined>;

export interface BaselineDeps {
  fetch?: typeof fetch;
  /** Bound on one HTTP read (default 60 s). */
  timeoutMs?: number;
  readObject?: ObjectReader;
}

export const BASELINE_SOURCES_ACCEPTED =
  'a file path, a file:// URL, an http(s):// URL or s3://BUCKET/KEY';

const KNOWN_SCHEMES = ['s3', 'http', 'https', 'file'];

/**
 * Why `source` is not a baseline location, or undefined. Anything shaped like
 * `scheme://` must be a scheme we read: a typo such as `htps://` would otherwise
 * be read as a relative path that does not exist, and with allow-empty-baseline
 * silently become an empty baseline.
 */
export function baselineSourceProblem(source: string): string | undefined {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(source)?.[1];
  if (scheme === undefined) return undefined;
  const known = KNOWN_SCHEMES.includes(scheme.toLowerCase());
  if (source.startsWith(`${scheme}://`)) {
    return known && scheme === scheme.toLowerCase()
      ? undefined
      : `has the unknown scheme "${scheme}://"`;
  }
  // `https:/host` or `s3:bucket`: a known scheme with its slashes mistyped.
  if (known) return `is not a ${scheme.toLowerCase()}:// URL`;
  return undefined;
}

async function readSource(source: string, deps: BaselineDeps): Promise<string | undefined> {
  if (/^https?:\/\//.test(source)) {
    let response: Response;
    try {
      response = await (deps.fetch ?? fetch)(source, {
        headers: { 'cache-control': 'no-cache' },
        signal: AbortSignal.timeout(deps.timeoutMs ?? 60_000),
      });
    } catch (error) {
      // fetch reports every transport failure as "fetch failed"; the cause says which.
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (error as Error).message;
      throw new Error(`cannot read baseline ${source}: ${why}`);
    }
    if (response.status === 404) return undefined;
    if (!response.ok) throw new Error(`cannot read baseline ${source}: HTTP ${response.status}`);
    const length = response.headers.get('content-length');
    try {
      checkAnnouncedSize(length === null ? undefined : Number(length), `baseline ${source}`);
    } catch (error) {
      await response.body?.cancel();
      throw error;
    }
    if (!response.body) return '';
    // readCapped stops reading past the cap, and leaving the loop cancels the stream.
    return (await readCapped(response.body, `baseline ${source}`)).toString('utf8');
  }
  if (source.startsWith('s3://')) {
    if (!deps.readObject)
      throw new Error(`cannot read baseline ${source}: no object store is configured`);
    return deps.readObject(source);
  }
  const path = source.startsWith('file://') ? fileURLToPath(source) : source;
  try {
    checkAnnouncedSize((await stat(path)).size, `baseline ${source}`);
    // A FIFO or a file still growing has no honest size: the read is capped too.
    return (
      await readCapped(createReadStream(path, { highWaterMark: 1 << 20 }), `baseline ${source}`)
    ).toString('utf8');
  } catch (error) {
    if (error instanceof SizeLimitError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new Error(`cannot read baseline ${source}: ${code}`);
  }
}

/**
 * A merge baseline: missing, not JSON or invalid fails with that reason. It is
 * only treated as empty when `allowEmpty` says so (bootstrap of a first release).
 */
export async function readBaseline(
  source: string,
  { allowEmpty = false, ...deps }: BaselineDeps & { allowEmpty?: boolean } = {},
): Promise<Manifest | undefined> {
  const problem = baselineSourceProblem(source);
  if (problem)
    throw new Error(`baseline ${source} ${problem} (accepted: ${BASELINE_SOURCES_ACCEPTED})`);
  const text = await readSource(source, deps);
  if (text === undefined) {
    if (allowEmpty) return undefined;
    throw new Error(
      `baseline not found: ${source} (pass allow-empty-baseline for a first release)`,
    );
  }
  return parseManifest(text, `baseline ${source}`, { allowV1: true });
}
