import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { parseManifest } from '../../src/lib/manifest/manifest.js';
import { startProxy, type TestProxy } from '../support/proxy.js';
import { rgwEnv, rgwStore, uniquePrefix, workspace } from '../support/publish-fixtures.js';
import { runCliBundle } from '../support/runner.js';

const MANIFEST = 'vm/manifest.json';
const proxies: TestProxy[] = [];
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

async function proxy(options: Parameters<typeof startProxy>[0]) {
  const p = await startProxy(options);
  proxies.push(p);
  return p;
}

function publish(
  dir: string,
  store: string,
  slice: string,
  env: Record<string, string | undefined>,
  extra: string[] = [],
) {
  return runCliBundle(['publish', '--slice', slice, '--store', store, ...extra], {
    cwd: dir,
    env,
    timeoutMs: 110_000,
  });
}

/** The log line of a manifest write lost to another publisher. */
const CONTENTION = /attempt \d+ lost to another publisher \(contention/g;

const AGENTS = Array.from({ length: 16 }, (_, i) => `agent${String(i).padStart(2, '0')}`);

describe('publish: 16 concurrent processes of the built CLI', () => {
  it('lands every slice in one manifest, three rounds in a row (Ceph RGW)', {
    timeout: 300_000,
  }, async () => {
    const rgw = inject('rgw');
    const prefix = uniquePrefix();
    const store = rgwStore(rgw, prefix);
    const attemptsPerRound: number[][] = [];
    const lostPerRound: number[][] = [];
    for (const [round, version] of ['1.0.0', '1.1.0', '1.2.0'].entries()) {
      const ws = await workspace(AGENTS, version);
      // Round 1 bootstraps: no manifest yet, every agent slice may create it.
      const runs = await Promise.all(
        AGENTS.map((a) =>
          publish(ws.dir, `s3://${rgw.RGW_BUCKET}/${prefix}`, `agents:${a}`, rgwEnv(rgw), [
            '--allow-empty-baseline',
          ]),
        ),
      );
      for (const run of runs) expect(run.stderr).not.toContain('error:');
      expect(runs.map((r) => r.exitCode)).toEqual(AGENTS.map(() => 0));
      attemptsPerRound.push(runs.map((r) => Number(r.outputs.attempts)));
      lostPerRound.push(runs.map((r) => r.stderr.match(CONTENTION)?.length ?? 0));
      const text = (await store.getText(MANIFEST))?.text ?? '';
      const manifest = parseManifest(text, 'manifest');
      expect(Object.keys(manifest.agents)).toEqual(AGENTS);
      for (const a of AGENTS) expect(manifest.agents[a]?.version).toBe(version);
      if (round === 0) {
        expect(runs.filter((r) => r.stderr.includes(`created ${MANIFEST}`))).toHaveLength(1);
      }
    }
    // Contention really happened: some attempts were lost to another publisher.
    // (attempts > 1 would prove nothing on RGW: each process's first If-Match
    // write is refused for its quoting, which the log names differently.)
    expect(lostPerRound.flat().reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    console.log(`attempts per round: ${attemptsPerRound.map((r) => r.join(',')).join(' | ')}`);
    console.log(`lost to contention: ${lostPerRound.map((r) => r.join(',')).join(' | ')}`);
  });

  it('lands every slice in a file:// store too', async () => {
    const root = await mkdtemp(join(tmpdir(), 'vm-tools-filestore-'));
    const ws = await workspace(AGENTS, '2.0.0');
    const url = pathToFileURL(root).href;
    const runs = await Promise.all(
      AGENTS.map((a) => publish(ws.dir, url, `agents:${a}`, {}, ['--allow-empty-baseline'])),
    );
    expect(runs.map((r) => r.exitCode)).toEqual(AGENTS.map(() => 0));
    const manifest = parseManifest(await readFile(join(root, MANIFEST), 'utf8'), 'manifest');
    expect(Object.keys(manifest.agents)).toEqual(AGENTS);
  });
});

describe('publish: bootstrap and idempotence (Ceph RGW)', () => {
  it('two concurrent full publishes: exactly one creates the manifest, the other merges after', async () => {
    const rgw = inject('rgw');
    const prefix = uniquePrefix();
    const a = await workspace(['alpha'], '1.0.0');
    const b = await workspace(['beta'], '1.0.0');
    const url = `s3://${rgw.RGW_BUCKET}/${prefix}`;
    const [ra, rb] = await Promise.all([
      publish(a.dir, url, 'full', rgwEnv(rgw)),
      publish(b.dir, url, 'full', rgwEnv(rgw)),
    ]);
    expect([ra.exitCode, rb.exitCode]).toEqual([0, 0]);
    const creators = [ra, rb].filter((r) => r.stderr.includes(`created ${MANIFEST}`));
    const mergers = [ra, rb].filter((r) => r.stderr.includes(`merged ${MANIFEST}`));
    expect(creators).toHaveLength(1);
    expect(mergers).toHaveLength(1);
    expect(Number(mergers[0]?.outputs.attempts)).toBeGreaterThanOrEqual(1);
    const manifest = parseManifest(
      (await rgwStore(rgw, prefix).getText(MANIFEST))?.text ?? '',
      'manifest',
    );
    // full replaces every agent: the later writer's bundle is the release.
    const winner = mergers[0] === ra ? 'alpha' : 'beta';
    expect(Object.keys(manifest.agents)).toEqual([winner]);
  });

  it('re-publishing the same slice uploads nothing and leaves the manifest alone', async () => {
    const rgw = inject('rgw');
    const prefix = uniquePrefix();
    const ws = await workspace(['alpha', 'beta'], '1.0.0');
    const url = `s3://${rgw.RGW_BUCKET}/${prefix}`;
    const first = await publish(ws.dir, url, 'full', rgwEnv(rgw));
    expect(first.exitCode).toBe(0);
    const again = await publish(ws.dir, url, 'agents:alpha', rgwEnv(rgw));
    expect(again.exitCode).toBe(0);
    expect(JSON.parse(again.outputs.uploaded ?? '[]')).toEqual([
      expect.objectContaining({ key: 'vm/images/alpha-1.0.0-arm64.tar.gz', skipped: true }),
      expect.objectContaining({ key: 'vm/images/alpha-1.0.0-x64.tar.gz', skipped: true }),
    ]);
    expect(again.outputs['manifest-etag']).toBe(first.outputs['manifest-etag']);
    const manifestHead = await rgwStore(rgw, prefix).head(MANIFEST);
    expect(manifestHead?.contentType).toBe('application/json');
    expect(manifestHead?.cacheControl).toBe('no-cache');
    expect(again.stderr).toContain(`${MANIFEST} already holds slice agents:alpha: not rewritten`);
    const head = await rgwStore(rgw, prefix).head('vm/images/alpha-1.0.0-x64.tar.gz.sha256');
    expect(head?.sizeBytes).toBe(64 + 2 + 'alpha-1.0.0-x64.tar.gz'.length + 1);
  });

  it('refuses different content under a released key unless overwrite', async () => {
    const rgw = inject('rgw');
    const prefix = uniquePrefix();
    const url = `s3://${rgw.RGW_BUCKET}/${prefix}`;
    const first = await workspace(['alpha'], '1.0.0', 'first build');
    expect((await publish(first.dir, url, 'full', rgwEnv(rgw))).exitCode).toBe(0);
    const store = rgwStore(rgw, prefix);
    const before = await store.head(MANIFEST);
    const rebuilt = await workspace(['alpha'], '1.0.0', 'rebuilt');
    const refused = await publish(rebuilt.dir, url, 'full', rgwEnv(rgw));
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(
      /error: refusing to overwrite vm\/images\/alpha-1\.0\.0-arm64\.tar\.gz with different content \(it holds [0-9a-f]{64}, \d+ bytes; this is [0-9a-f]{64}, \d+ bytes\); pass overwrite to replace it\n/,
    );
    expect((await store.head(MANIFEST))?.etag).toBe(before?.etag);
    const forced = await publish(rebuilt.dir, url, 'full', rgwEnv(rgw), ['--overwrite']);
    expect(forced.exitCode).toBe(0);
    expect((await store.getText('vm/images/alpha-1.0.0-arm64.tar.gz'))?.text).toContain('rebuilt');
  });

  it('handles the RGW If-Match quoting quirk (a 412 with an unchanged ETag)', async () => {
    const rgw = inject('rgw');
    const prefix = uniquePrefix();
    const url = `s3://${rgw.RGW_BUCKET}/${prefix}`;
    const base = await workspace(['alpha', 'beta'], '1.0.0');
    expect((await publish(base.dir, url, 'full', rgwEnv(rgw))).exitCode).toBe(0);
    const next = await workspace(['alpha', 'beta'], '1.1.0');
    const run = await publish(next.dir, url, 'agents:beta', rgwEnv(rgw));
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toMatch(
      /If-Match "[0-9a-f]+" refused although the ETag is unchanged; retrying with the ETag unquoted/,
    );
    expect(run.outputs.attempts).toBe('2');
    const manifest = parseManifest(
      (await rgwStore(rgw, prefix).getText(MANIFEST))?.text ?? '',
      'manifest',
    );
    expect(manifest.agents.beta?.version).toBe('1.1.0');
    expect(manifest.agents.alpha?.version).toBe('1.0.0');
  });
});

describe('publish: a store that ignores conditional writes', () => {
  it('is detected and refused, unless require-conditional-writes is false', async () => {
    const rgw = inject('rgw');
    const prefix = uniquePrefix();
    const strip = await proxy({
      target: rgw.AWS_ENDPOINT_URL_S3,
      stripConditionals: {
        accessKeyId: rgw.AWS_ACCESS_KEY_ID,
        secretAccessKey: rgw.AWS_SECRET_ACCESS_KEY,
        region: rgw.AWS_REGION,
      },
    });
    const url = `s3://${rgw.RGW_BUCKET}/${prefix}`;
    const ws = await workspace(['alpha'], '1.0.0');
    const refused = await publish(ws.dir, url, 'full', rgwEnv(rgw, strip.url));
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(
      `error: s3://${rgw.RGW_BUCKET}/${prefix}/ at ${strip.url} ignores conditional writes (an If-None-Match: * write over an existing key succeeded): concurrent publishers could overwrite each other's slices; refusing to publish (set require-conditional-writes to false to publish anyway)\n`,
    );
    expect(await rgwStore(rgw, prefix).head(MANIFEST)).toBeUndefined();
    const allowed = await publish(ws.dir, url, 'full', rgwEnv(rgw, strip.url), [
      '--require-conditional-writes',
      'false',
    ]);
    expect(allowed.exitCode).toBe(0);
    expect(allowed.stderr).toContain(
      `warning: s3://${rgw.RGW_BUCKET}/${prefix}/ at ${strip.url} ignores conditional writes (an If-None-Match: * write over an existing key succeeded): only the workflow's concurrency group protects ${MANIFEST} now\n`,
    );
    expect(await rgwStore(rgw, prefix).head(MANIFEST)).toBeDefined();
  });
});

describe('publish: a store that ignores only If-Match', () => {
  it('is detected by the probe and refused, unless require-conditional-writes is false', async () => {
    const rgw = inject('rgw');
    const prefix = uniquePrefix();
    const strip = await proxy({
      target: rgw.AWS_ENDPOINT_URL_S3,
      stripConditionals: {
        accessKeyId: rgw.AWS_ACCESS_KEY_ID,
        secretAccessKey: rgw.AWS_SECRET_ACCESS_KEY,
        region: rgw.AWS_REGION,
      },
      stripHeaders: ['if-match'],
    });
    const url = `s3://${rgw.RGW_BUCKET}/${prefix}`;
    const ws = await workspace(['alpha'], '1.0.0');
    const refused = await publish(ws.dir, url, 'full', rgwEnv(rgw, strip.url));
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(
      `error: s3://${rgw.RGW_BUCKET}/${prefix}/ at ${strip.url} ignores conditional writes (a write with a stale If-Match ("0123456789abcdef0123456789abcdef") succeeded): concurrent publishers could overwrite each other's slices; refusing to publish (set require-conditional-writes to false to publish anyway)\n`,
    );
    expect(await rgwStore(rgw, prefix).head(MANIFEST)).toBeUndefined();
    const allowed = await publish(ws.dir, url, 'full', rgwEnv(rgw, strip.url), [
      '--require-conditional-writes',
      'false',
    ]);
    expect(allowed.exitCode).toBe(0);
    expect(allowed.stderr).toContain(
      `warning: s3://${rgw.RGW_BUCKET}/${prefix}/ at ${strip.url} ignores conditional writes (a write with a stale If-Match ("0123456789abcdef0123456789abcdef") succeeded): only the workflow's concurrency group protects ${MANIFEST} now\n`,
    );
    expect(await rgwStore(rgw, prefix).head(MANIFEST)).toBeDefined();
  });
});

describe('publish: per-arch jobs of one agent at once (Ceph RGW)', () => {
  it('both arches land, ten rounds in a row, each round a new version', {
    timeout: 600_000,
  }, async () => {
    const rgw = inject('rgw');
    const prefix = uniquePrefix();
    const url = `s3://${rgw.RGW_BUCKET}/${prefix}`;
    const store = rgwStore(rgw, prefix);
    for (let round = 0; round < 10; round++) {
      const version = `1.${round}.0`;
      const ws = await workspace(['hello-agent'], version);
      const [arm, x64] = await Promise.all(
        (['arm64', 'x64'] as const).map((arch) =>
          publish(ws.dir, url, 'agents:hello-agent', rgwEnv(rgw), [
            '--arches',
            arch,
            '--allow-empty-baseline',
          ]),
        ),
      );
      expect([arm?.exitCode, x64?.exitCode], `${arm?.stderr}\n${x64?.stderr}`).toEqual([0, 0]);
      const manifest = parseManifest((await store.getText(MANIFEST))?.text ?? '', 'manifest');
      const entry = manifest.agents['hello-agent'];
      expect(entry?.version).toBe(version);
      expect(Object.keys(entry?.tarballs ?? {})).toEqual(['arm64', 'x64']);
      expect(entry?.tarballs.x64?.key).toBe(`vm/images/hello-agent-${version}-x64.tar.gz`);
    }
  });
});

describe('publish: faults between the client and RGW', () => {
  for (const fault of ['drop', '503'] as const) {
    it(`succeeds through retries when the first requests ${fault === 'drop' ? 'lose their connection' : 'get 503'}`, async () => {
      const rgw = inject('rgw');
      const prefix = uniquePrefix();
      const flaky = await proxy({ target: rgw.AWS_ENDPOINT_URL_S3, fault, faultCount: 6 });
      const ws = await workspace(['alpha', 'beta'], '1.0.0');
      const run = await publish(
        ws.dir,
        `s3://${rgw.RGW_BUCKET}/${prefix}`,
        'full',
        rgwEnv(rgw, flaky.url),
      );
      expect(run.stderr).not.toContain('error:');
      expect(run.exitCode).toBe(0);
      expect(flaky.faulted).toBe(6);
      const manifest = parseManifest(
        (await rgwStore(rgw, prefix).getText(MANIFEST))?.text ?? '',
        'manifest',
      );
      expect(Object.keys(manifest.agents)).toEqual(['alpha', 'beta']);
    });
  }

  it('gives up within the configured time when the store never answers, writing nothing', async () => {
    const rgw = inject('rgw');
    const prefix = uniquePrefix();
    const down = await proxy({
      target: rgw.AWS_ENDPOINT_URL_S3,
      fault: 'drop',
      faultCount: Number.POSITIVE_INFINITY,
    });
    const ws = await workspace(['alpha'], '1.0.0');
    const started = performance.now();
    const run = await publish(
      ws.dir,
      `s3://${rgw.RGW_BUCKET}/${prefix}`,
      'full',
      rgwEnv(rgw, down.url),
      ['--timeout-seconds', '5'],
    );
    const seconds = (performance.now() - started) / 1000;
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(
      /error: HEAD vm\/images\/alpha-1\.0\.0-arm64\.tar\.gz failed after retries: HEAD vm\/images\/alpha-1\.0\.0-arm64\.tar\.gz: .+\n$/,
    );
    expect(seconds).toBeLessThan(15);
    expect(down.faulted).toBeGreaterThan(1);
    const store = rgwStore(rgw, prefix);
    expect(await store.head('vm/images/alpha-1.0.0-arm64.tar.gz')).toBeUndefined();
    expect(await store.head(MANIFEST)).toBeUndefined();
  });

  it('gives up within the configured time when manifest writes never recover, leaving the manifest as it was', async () => {
    const rgw = inject('rgw');
    const prefix = uniquePrefix();
    const url = `s3://${rgw.RGW_BUCKET}/${prefix}`;
    const base = await workspace(['alpha', 'beta'], '1.0.0');
    expect((await publish(base.dir, url, 'full', rgwEnv(rgw))).exitCode).toBe(0);
    const store = rgwStore(rgw, prefix);
    const before = await store.getText(MANIFEST);
    const broken = await proxy({
      target: rgw.AWS_ENDPOINT_URL_S3,
      fault: '503',
      faultCount: Number.POSITIVE_INFINITY,
      faultWhen: (method, path) => method === 'PUT' && path.includes('manifest.json'),
    });
    const next = await workspace(['alpha', 'beta'], '1.1.0');
    const started = performance.now();
    const run = await publish(next.dir, url, 'agents:beta', rgwEnv(rgw, broken.url), [
      '--timeout-seconds',
      '6',
    ]);
    const seconds = (performance.now() - started) / 1000;
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(
      /error: gave up merging slice agents:beta into vm\/manifest\.json after \d+ attempts in \d+ s: the store kept failing \(PUT vm\/manifest\.json: .*HTTP 503.*\); the manifest is unchanged by this publish\n/,
    );
    expect(seconds).toBeLessThan(20);
    expect(broken.faulted).toBeGreaterThan(1);
    const after = await store.getText(MANIFEST);
    expect(after?.head.etag).toBe(before?.head.etag);
    expect(after?.text).toBe(before?.text);
  });
});
