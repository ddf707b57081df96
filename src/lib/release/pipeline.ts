import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { invoke } from '../command/invoke.js';
import type { Command, Context, Summary } from '../command/types.js';
import type { Arch } from '../manifest/arch.js';
import { readBundle } from '../manifest/bundle.js';
import { type Compression, MANIFEST_KEY, tarballBasename } from '../manifest/keys.js';
import { formatBytes } from '../progress.js';
import type { SandboxReport } from './sandbox.js';
import { isUnchanged, readState, writeState } from './state.js';

/** The commands a release runs: the same ones the actions and the CLI run. */
export interface ReleaseSteps {
  build: Command<unknown>;
  smoke: Command<unknown>;
  publish: Command<unknown>;
  hydrate: Command<unknown>;
}

export interface SmokeSpec {
  command?: string;
  expect?: string;
}

export interface ReleaseOptions {
  workDir: string;
  bundlePath: string;
  /** Images are local (the sample): never pull. */
  localImages: boolean;
  arch: Arch;
  compression: Compression;
  podman: string;
  /** The store inputs, passed through to publish as given. */
  store: Record<string, string | undefined>;
  /** URL of the published manifest to hydrate from (undefined: skip hydration). */
  manifestUrl?: string;
  cacheDir: string;
  smoke: (agent: string) => SmokeSpec;
  /** The published manifest's ETag, read back once every publisher is done. */
  manifestEtag: () => Promise<string>;
  /** Image id of an agent's image, to skip rebuilding an unchanged one. */
  imageId: (ref: string) => Promise<string | undefined>;
}

export interface AgentReport {
  agent: string;
  key: string;
  path: string;
  sha256: string;
  sizeBytes: number;
  build: 'built' | 'unchanged';
  smoke: 'passed' | 'skipped (unchanged)';
  upload: 'uploaded' | 'already there';
}

export interface ReleaseReport {
  agents: AgentReport[];
  manifestEtag: string;
  downloaded: string[];
  hydrated: boolean;
  timings: Record<'build' | 'smoke' | 'publish' | 'hydrate', number> & { vm?: number };
  /** The VM step (boot the default guest, read the release from inside it), when it ran. */
  vm?: SandboxReport;
}

async function timed<T>(
  timings: Record<string, number>,
  step: string,
  fn: () => Promise<T>,
): Promise<T> {
  const started = performance.now();
  try {
    return await fn();
  } finally {
    timings[step] = Math.round(performance.now() - started);
  }
}

/** Prefixes a step's failure with the step, so the one error says where the release stopped. */
async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    const wrapped = new Error(`${name}: ${(error as Error).message}`);
    Object.assign(wrapped, { cause: error, name: (error as Error).name });
    throw wrapped;
  }
}

/**
 * build-tarball → smoke-tarball for every agent, then every agent's slice
 * published at once (as parallel release jobs would), then a fresh cache
 * hydrated from the published manifest. Stops at the first failing step.
 */
export async function rehearseRelease(
  steps: ReleaseSteps,
  o: ReleaseOptions,
  ctx: Context,
): Promise<ReleaseReport> {
  const { bundle } = await readBundle(o.bundlePath);
  const distDir = join(o.workDir, 'dist');
  const outputDir = join(distDir, 'images');
  const state = await readState(o.workDir);
  const timings = { build: 0, smoke: 0, publish: 0, hydrate: 0 };
  const agents: AgentReport[] = [];
  const built = new Map<string, { imageId: string; path: string }>();

  await timed(timings, 'build', () =>
    ctx.log.group('build-tarball', async () => {
      for (const agent of bundle.agents) {
        const id = `${agent.name}/${o.arch}`;
        const path = join(
          outputDir,
          tarballBasename(agent.name, agent.version, o.arch, o.compression),
        );
        const imageId = await o.imageId(`${agent.image}:${agent.version}`);
        const record = state[id];
        if (imageId && record && (await isUnchanged(record, imageId, path))) {
          ctx.log.info(
            `${id}: image ${imageId.slice(0, 12)} unchanged since ${path} was built and smoke-tested`,
          );
          agents.push({
            agent: agent.name,
            ...record,
            build: 'unchanged',
            smoke: 'skipped (unchanged)',
            upload: 'uploaded',
          });
          continue;
        }
        const out = await step(`build-tarball ${id}`, () =>
          invoke(
            steps.build,
            {
              agent: agent.name,
              arch: o.arch,
              bundle: o.bundlePath,
              'output-dir': outputDir,
              compression: o.compression,
              pull: o.localImages ? 'never' : 'missing',
              podman: o.podman,
            },
            ctx,
          ),
        );
        const { outputs } = out;
        agents.push({
          agent: agent.name,
          key: outputs.key ?? '',
          path: outputs.path ?? path,
          sha256: outputs.sha256 ?? '',
          sizeBytes: Number(outputs['size-bytes']),
          build: 'built',
          smoke: 'passed',
          upload: 'uploaded',
        });
        built.set(id, { imageId: outputs['image-id'] ?? '', path: outputs.path ?? path });
      }
    }),
  );

  await timed(timings, 'smoke', () =>
    ctx.log.group('smoke-tarball', async () => {
      for (const report of agents.filter((a) => a.build === 'built')) {
        const id = `${report.agent}/${o.arch}`;
        const smoke = o.smoke(report.agent);
        await step(`smoke-tarball ${id}`, () =>
          invoke(
            steps.smoke,
            {
              tarball: report.path,
              agent: report.agent,
              arch: o.arch,
              bundle: o.bundlePath,
              command: smoke.command,
              expect: smoke.expect,
              podman: o.podman,
            },
            ctx,
          ),
        );
        // Recorded only once smoke-tested: a tarball that failed is rebuilt next time.
        const { imageId, path } = built.get(id) ?? { imageId: '', path: report.path };
        state[id] = {
          imageId,
          path,
          key: report.key,
          sha256: report.sha256,
          sizeBytes: report.sizeBytes,
          mtimeMs: (await stat(path)).mtimeMs,
        };
      }
      await writeState(o.workDir, state);
    }),
  );

  let manifestEtag = '';
  await timed(timings, 'publish', () =>
    ctx.log.group('publish (one slice per agent, all at once)', async () => {
      const results = await Promise.all(
        agents.map((report) =>
          step(`publish agents:${report.agent}`, () =>
            invoke(
              steps.publish,
              {
                ...o.store,
                bundle: o.bundlePath,
                'dist-dir': distDir,
                slice: `agents:${report.agent}`,
                arches: o.arch,
                'allow-empty-baseline': 'true',
              },
              ctx,
            ),
          ),
        ),
      );
      results.forEach((result, i) => {
        const uploaded = JSON.parse(result.outputs.uploaded ?? '[]') as {
          key: string;
          skipped: boolean;
        }[];
        const report = agents[i];
        const tarball = uploaded.find((u) => u.key === report?.key);
        if (report) report.upload = tarball?.skipped ? 'already there' : 'uploaded';
      });
      // Each publisher reports the ETag it wrote or saw; only a fresh read knows which came last.
      manifestEtag = await o.manifestEtag();
    }),
  );

  let downloaded: string[] = [];
  const manifestUrl = o.manifestUrl;
  if (manifestUrl) {
    await timed(timings, 'hydrate', () =>
      ctx.log.group(`hydrate-cache from ${manifestUrl}`, async () => {
        const { outputs } = await step('hydrate-cache', () =>
          invoke(
            steps.hydrate,
            { 'manifest-url': manifestUrl, 'cache-dir': o.cacheDir, arch: o.arch },
            ctx,
          ),
        );
        downloaded = JSON.parse(outputs.downloaded ?? '[]') as string[];
      }),
    );
  }
  return { agents, manifestEtag, downloaded, hydrated: Boolean(manifestUrl), timings };
}

function vmLine(vm: SandboxReport | undefined): string {
  if (!vm) return 'vm: not booted (vm: false, or not a file:// store)';
  const seen = [
    vm.fetchedManifest
      ? 'read the published manifest through its one allowed endpoint'
      : 'could NOT read the published manifest through its allowed endpoint',
    vm.hostLoopbackRefused ? 'host loopback refused' : "REACHED the host's loopback",
  ];
  const gate = `sandbox gate ${vm.gate.verdict} (${vm.gate.probes} probes, ${vm.gate.escapes} escapes; ${vm.gate.report})`;
  return `vm: default guest ready in ${(vm.bootMs / 1000).toFixed(1)} s (${vm.accel}); ${seen.join('; ')}; ${gate}; deleted`;
}

export function releaseSummary(
  report: ReleaseReport,
  where: { bucket: string; cacheDir: string },
): Summary {
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const t = report.timings;
  return {
    heading: 'Release rehearsal',
    lines: [
      `build ${seconds(t.build)}, smoke ${seconds(t.smoke)}, publish ${seconds(t.publish)}, hydrate ${seconds(t.hydrate)}${t.vm === undefined ? '' : `, vm ${seconds(t.vm)}`}`,
      `bucket: ${where.bucket} (manifest ${MANIFEST_KEY}, ETag ${report.manifestEtag})`,
      report.hydrated
        ? `cache: ${where.cacheDir} (${report.downloaded.length ? `downloaded ${report.downloaded.length}` : 'already up to date'})`
        : 'cache: not hydrated (give manifest-url to hydrate from an s3:// store)',
      vmLine(report.vm),
    ],
    table: {
      header: ['Agent', 'Key', 'Size', 'sha256', 'Build', 'Smoke', 'Upload', 'Cache'],
      rows: report.agents.map((a) => [
        a.agent,
        a.key,
        formatBytes(a.sizeBytes),
        a.sha256,
        a.build,
        a.smoke,
        a.upload,
        !report.hydrated ? '-' : report.downloaded.includes(a.key) ? 'downloaded' : 'up to date',
      ]),
    },
  };
}
