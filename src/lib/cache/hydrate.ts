import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { CommandResult, Context } from '../command/types.js';
import { formatBytes, throttledProgress } from '../progress.js';
import type { ArchChoice } from './plan.js';
import { type SyncResult, syncCache } from './sync.js';

/** The hydrate-cache inputs, as the action and the CLI parse them. */
export interface HydrateInputs {
  manifestUrl: string;
  cacheDir: string | undefined;
  arch: ArchChoice;
  agents: string[];
  concurrency: number;
  prune: boolean;
  actionsCache: boolean;
}

export function defaultCacheDir(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CACHE_HOME?.trim() || join(homedir(), '.cache');
  return join(base, 'vm-tools');
}

/** The sync both adapters run, with throttled progress lines. */
export async function hydrate(
  inputs: HydrateInputs,
  ctx: Context,
  extra: { manifestBytes?: Uint8Array } = {},
): Promise<SyncResult & { cacheDir: string; durationMs: number }> {
  const cacheDir = resolve(ctx.cwd, inputs.cacheDir ?? defaultCacheDir(ctx.env));
  const progress = throttledProgress((line) => ctx.log.info(line));
  const started = Date.now();
  const result = await ctx.log.group(`Hydrating ${cacheDir}`, () =>
    syncCache({
      manifestUrl: inputs.manifestUrl,
      cacheDir,
      arch: inputs.arch,
      agents: inputs.agents,
      concurrency: inputs.concurrency,
      prune: inputs.prune,
      env: ctx.env,
      manifestBytes: extra.manifestBytes,
      onRetry: (message) => ctx.log.warning(message),
      onProgress: (p) =>
        progress.update(
          `downloading: ${formatBytes(p.receivedBytes)} of ${formatBytes(p.totalBytes)}, ${p.doneFiles}/${p.totalFiles} files done`,
        ),
    }),
  );
  if (result.bytesDownloaded > 0) {
    progress.done(
      `downloaded ${result.downloaded.length} files (${formatBytes(result.bytesDownloaded)})`,
    );
  }
  return { ...result, cacheDir, durationMs: Date.now() - started };
}

function summarize(
  result: SyncResult & { cacheDir: string; durationMs: number },
  manifestUrl: string,
  cacheHit?: boolean,
) {
  const status = (key: string) =>
    result.downloaded.includes(key)
      ? 'downloaded'
      : result.adopted.includes(key)
        ? 'verified on disk'
        : 'cached';
  const lines = [
    `Manifest: ${manifestUrl} (sha256 ${result.manifestSha256.slice(0, 12)}…)`,
    `Cache directory: ${result.cacheDir}; arch ${result.arches.join(', ')}`,
    result.skipped
      ? 'Already up to date: nothing downloaded.'
      : `${result.downloaded.length} downloaded (${formatBytes(result.bytesDownloaded)}), ${result.adopted.length} verified on disk, ${result.pruned.length} pruned in ${(result.durationMs / 1000).toFixed(1)} s.`,
  ];
  if (cacheHit !== undefined) lines.push(`Actions cache hit: ${cacheHit}`);
  return {
    heading: 'VM artifact cache',
    lines,
    table: {
      header: ['Key', 'Status'],
      rows: [
        ...result.selected.map((key) => [key, status(key)]),
        ...result.pruned.map((key) => [key, 'pruned']),
      ],
    },
  };
}

/** The outputs and summary of a sync; `cache-hit` only where the Actions cache was in play. */
export function hydrateResult(
  result: Awaited<ReturnType<typeof hydrate>>,
  manifestUrl: string,
  cacheHit?: boolean,
): CommandResult {
  return {
    outputs: {
      downloaded: JSON.stringify(result.downloaded),
      skipped: String(result.skipped),
      'manifest-path': result.manifestPath,
      ...(cacheHit === undefined ? {} : { 'cache-hit': String(cacheHit) }),
    },
    summary: summarize(result, manifestUrl, cacheHit),
  };
}
