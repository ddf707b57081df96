import { type HydrateInputs, hydrate, hydrateResult } from '../lib/cache/hydrate.js';
import { ARCH_CHOICES } from '../lib/cache/plan.js';
import { MANIFEST_URL_ACCEPTED, parseManifestUrl } from '../lib/cache/source.js';
import { MANIFEST_URL_ENV } from '../lib/cache/sync.js';
import { InputError } from '../lib/command/errors.js';
import { boolean, integer, list, oneOf, optional } from '../lib/command/inputs.js';
import { type Command, defineCommand, type InputDef } from '../lib/command/types.js';

export type { HydrateInputs } from '../lib/cache/hydrate.js';

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
    'Restore and save the cache directory with the GitHub Actions cache, keyed by arch, agents, prune, the manifest URL (without its query) and the manifest sha256.',
  boolean: true,
  default: 'true',
};

function parseHydrateInputs(
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
    return hydrateResult(await hydrate(inputs, ctx), inputs.manifestUrl);
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
      return hydrateResult(await hydrate(inputs, ctx), inputs.manifestUrl, false);
    }
    // Loaded only here: @actions/cache costs the cold start of every other path.
    const { hydrateWithActionsCache } = await import('../lib/cache/actions-cache.js');
    return hydrateWithActionsCache(inputs, ctx);
  },
});
