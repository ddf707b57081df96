import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ARCH_CHOICES, type ArchChoice } from '../lib/cache/plan.js';
import { MANIFEST_URL_ACCEPTED, parseManifestUrl } from '../lib/cache/source.js';
import { MANIFEST_URL_ENV, type SyncResult, syncCache } from '../lib/cache/sync.js';
import { InputError } from '../lib/command/errors.js';
import { boolean, integer, list, oneOf, optional } from '../lib/command/inputs.js';
import { type Command, type Context, defineCommand, type InputDef } from '../lib/command/types.js';
import { formatBytes, throttledProgress } from '../lib/progress.js';

export interface HydrateInputs {
  manifestUrl: string;
  cacheDir: string | undefined;
  arch: ArchChoice;
  agents: string[];
  concurrency: number;
  prune: boolean;
  actionsCache: boolean;
}

const INPUTS: Record<string, InputDef> = {
  'manifest-url': {
    description: `URL of the release manifest: ${MANIFEST_URL_ACCEPTED}.`,
    env: [MANIFEST_URL_ENV],
  },
  'cache-dir': {
    description:
      'Local cache directory (default: $VM_TOOLS_CACHE_DIR, else $XDG_CACHE_HOME/vm-tools, else ~/.cache/vm-tools).',
    env: ['VM_TOOLS_CACHE_DIR'],
  },
  arch: {
    description: 'Which tarballs to keep: host (this machine), arm64, x64 or all.',
    default: 'host',
  },
  agents: {
    description: 'Agent names to hydrate, one per line (default: every agent in the manifest).',
    multiline: true,
  },
  concurrency: { description: 'Parallel downloads (1 to 32).', default: '4' },
  prune: {
    description: 'Remove cached artifacts the manifest no longer names.',
    boolean: true,
    default: 'false',
  },
};

const ACTIONS_CACHE_INPUT: InputDef = {
  description:
    'Restore and save the cache directory with the GitHub Actions cache, keyed by the manifest sha256.',
  boolean: true,
  default: 'true',
};

export function parseHydrateInputs(
  read: (name: string) => string | undefined,
  withActionsCache: boolean,
): HydrateInputs {
  const manifestUrl = optional(read, 'manifest-url');
  if (manifestUrl === undefined) {
    throw new InputError(
      `Input "manifest-url" is required: ${MANIFEST_URL_ACCEPTED} (or set ${MANIFEST_URL_ENV}).`,
    );
  }
  try {
    parseManifestUrl(manifestUrl);
  } catch {
    throw new InputError(
      `Input "manifest-url" must be ${MANIFEST_URL_ACCEPTED}; got "${manifestUrl}".`,
    );
  }
  return {
    manifestUrl,
    cacheDir: optional(read, 'cache-dir'),
    arch: oneOf(read, 'arch', ARCH_CHOICES, 'host'),
    agents: [...new Set(list(read, 'agents'))],
    concurrency: integer(read, 'concurrency', { min: 1, max: 32, fallback: 4 }),
    prune: boolean(read, 'prune'),
    actionsCache: withActionsCache && boolean(read, 'actions-cache', true),
  };
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

export function summarize(
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

const OUTPUTS = {
  downloaded: 'JSON list of the keys downloaded by this run.',
  skipped: 'true when the cache already matched the manifest (nothing downloaded).',
  'manifest-path': 'Path of the local copy of the manifest.',
};

/**
 * The CLI has no `actions-cache`: the GitHub cache service only answers action
 * steps (run: steps never get its token), so the flag could never do anything there.
 */
export const hydrateCacheCli: Command<HydrateInputs> = defineCommand({
  name: 'hydrate-cache',
  description:
    'Makes a local cache directory match the release manifest: downloads what changed, verifies size and sha256, never exposes a half-written file.',
  inputs: INPUTS,
  outputs: OUTPUTS,
  parse: (read) => parseHydrateInputs(read, false),
  async run(inputs, ctx) {
    const result = await hydrate(inputs, ctx);
    return {
      outputs: {
        downloaded: JSON.stringify(result.downloaded),
        skipped: String(result.skipped),
        'manifest-path': result.manifestPath,
      },
      summary: summarize(result, inputs.manifestUrl),
    };
  },
});

export default defineCommand<HydrateInputs>({
  ...hydrateCacheCli,
  inputs: { ...INPUTS, 'actions-cache': ACTIONS_CACHE_INPUT },
  outputs: {
    ...OUTPUTS,
    'cache-hit': 'true when the GitHub Actions cache restored an exact match for the manifest.',
  },
  parse: (read) => parseHydrateInputs(read, true),
  async run(inputs, ctx) {
    if (!inputs.actionsCache) {
      const result = await hydrate(inputs, ctx);
      return {
        outputs: {
          downloaded: JSON.stringify(result.downloaded),
          skipped: String(result.skipped),
          'manifest-path': result.manifestPath,
          'cache-hit': 'false',
        },
        summary: summarize(result, inputs.manifestUrl, false),
      };
    }
    // Loaded only here: @actions/cache costs the cold start of every other path.
    const { hydrateWithActionsCache } = await import('../lib/cache/actions-cache.js');
    return hydrateWithActionsCache(inputs, ctx);
  },
});
