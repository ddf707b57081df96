import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBundle } from '../../../src/lib/manifest/bundle.js';
import { emitManifest, tarballFromDist } from '../../../src/lib/manifest/emit.js';
import {
  type Manifest,
  parseManifest,
  serializeManifest,
} from '../../../src/lib/manifest/manifest.js';
import {
  buildSliceEntries,
  checkSlice,
  formatSlice,
  mergeSlice,
  parseSlice,
} from '../../../src/lib/manifest/slice.js';
import { CODER, NOW, OPENCLAW, releaseWorkspace, tarballBytes } from '../../support/release.js';

const now = new Date(NOW);

async function bundleOf(dir: string) {
  return (await readBundle(join(dir, 'bundle.json'))).bundle;
}

async function digest(path: string) {
  const bytes = await readFile(path);
  return { sha256: createHash('sha256').update(bytes).digest('hex'), sizeBytes: bytes.length };
}

/** A baseline another job published: other agents, with fields this version does not know. */
const OTHER_AGENTS = {
  zeta: {
    version: '9.9.9',
    image: 'ghcr.io/z/zeta',
    channel: 'beta',
    tarballs: {
      x64: {
        sizeBytes: 7,
        key: 'vm/images/zeta-9.9.9-x64.tar.zst',
        sha256: 'c'.repeat(64),
        signedBy: 'release-bot',
      },
      arm64: { key: 'vm/images/zeta-9.9.9-arm64.tar.zst', sha256: 'd'.repeat(64), sizeBytes: 8 },
    },
  },
  coder: {
    image: 'ghcr.io/example/coder',
    version: '2026.4.1',
    tarballs: {
      arm64: {
        key: 'vm/images/coder-2026.4.1-arm64.tar.gz',
        sha256: 'e'.repeat(64),
        sizeBytes: 9,
      },
    },
    notes: { pinned: true },
  },
};

function baselineText(agents: Record<string, unknown>): string {
  return JSON.stringify({
    schemaVersion: 2,
    updatedAt: '2026-04-01T00:00:00.000Z',
    mirror: 'https://cdn.example/vm/',
    agents,
  });
}

describe('slices', () => {
  it('parses full and agents:<name>', () => {
    expect(parseSlice('full')).toEqual({ kind: 'full' });
    expect(parseSlice('agents:openclaw')).toEqual({ kind: 'agent', name: 'openclaw' });
    expect(formatSlice(parseSlice('agents:openclaw'))).toBe('agents:openclaw');
    expect(formatSlice(parseSlice('full'))).toBe('full');
  });

  it.each(['vm', 'Full', 'agents:', 'agents', 'agent:openclaw', '', 'full '])(
    'refuses slice %j',
    (value) => {
      expect(() => parseSlice(value)).toThrow(new Error(`unknown slice: ${value}`));
    },
  );

  it('an agent slice needs a baseline and an agent of the bundle', async () => {
    const bundle = await bundleOf(await releaseWorkspace([OPENCLAW], { tarballs: false }));
    expect(() => checkSlice(parseSlice('agents:openclaw'), bundle, false)).toThrow(
      new Error('--slice agents:openclaw requires --merge-from'),
    );
    expect(() => checkSlice(parseSlice('agents:nobody'), bundle, true)).toThrow(
      new Error('unknown agent in slice: nobody'),
    );
    expect(() => checkSlice(parseSlice('agents:openclaw'), bundle, true)).not.toThrow();
    expect(() => checkSlice(parseSlice('full'), bundle, false)).not.toThrow();
  });
});

describe('emitManifest --slice full', () => {
  it('computes sha256 and size from the files, every agent x arch', async () => {
    const dir = await releaseWorkspace([OPENCLAW, CODER]);
    const m = await emitManifest({
      bundle: await bundleOf(dir),
      distDir: join(dir, 'dist'),
      slice: { kind: 'full' },
      now,
    });
    expect(m.schemaVersion).toBe(2);
    expect(m.updatedAt).toBe(NOW);
    expect(Object.keys(m.agents).sort()).toEqual(['coder', 'openclaw']);
    for (const agent of [OPENCLAW, CODER]) {
      const entry = m.agents[agent.name];
      expect(entry?.image).toBe(agent.image);
      expect(entry?.version).toBe(agent.version);
      for (const arch of ['arm64', 'x64'] as const) {
        const file = `${agent.name}-${agent.version}-${arch}.tar.gz`;
        expect(entry?.tarballs[arch]).toEqual({
          key: `vm/images/${file}`,
          ...(await digest(join(dir, 'dist', 'images', file))),
        });
      }
    }
  });

  it('names a missing tarball by agent/arch and path', async () => {
    const dir = await releaseWorkspace([OPENCLAW]);
    const missing = join(dir, 'dist', 'images', 'openclaw-2026.4.12-x64.tar.gz');
    await rm(missing);
    await expect(
      emitManifest({
        bundle: await bundleOf(dir),
        distDir: join(dir, 'dist'),
        slice: { kind: 'full' },
        now,
      }),
    ).rejects.toThrow(new Error(`missing tarball inputs for openclaw/x64: ${missing}`));
  });

  it('keys a .tar.zst file as .tar.zst', async () => {
    const dir = await releaseWorkspace([OPENCLAW], { compression: 'zstd' });
    const m = await emitManifest({
      bundle: await bundleOf(dir),
      distDir: join(dir, 'dist'),
      slice: { kind: 'full' },
      now,
    });
    expect(m.agents.openclaw?.tarballs.arm64?.key).toBe(
      'vm/images/openclaw-2026.4.12-arm64.tar.zst',
    );
    expect(m.agents.openclaw?.tarballs.x64?.key).toBe('vm/images/openclaw-2026.4.12-x64.tar.zst');
  });

  it('refuses a file whose content contradicts its extension', async () => {
    const dir = await releaseWorkspace([OPENCLAW]);
    const path = join(dir, 'dist', 'images', 'openclaw-2026.4.12-arm64.tar.gz');
    await writeFile(path, tarballBytes('really zstd', 'zstd'));
    const source = tarballFromDist(join(dir, 'dist'));
    await expect(source('openclaw', '2026.4.12', 'arm64')).rejects.toThrow(
      new Error(`tarball ${path} is zstd-compressed but named .tar.gz; rename it to .tar.zst`),
    );
    const zst = join(dir, 'dist', 'images', 'openclaw-2026.4.12-x64.tar.zst');
    await rm(join(dir, 'dist', 'images', 'openclaw-2026.4.12-x64.tar.gz'));
    await writeFile(zst, tarballBytes('really gzip', 'gzip'));
    await expect(source('openclaw', '2026.4.12', 'x64')).rejects.toThrow(
      new Error(`tarball ${zst} is gzip-compressed but named .tar.zst; rename it to .tar.gz`),
    );
  });

  it('refuses two candidates for one agent/arch', async () => {
    const dir = await releaseWorkspace([OPENCLAW]);
    await writeFile(
      join(dir, 'dist', 'images', 'openclaw-2026.4.12-x64.tar.zst'),
      tarballBytes('z', 'zstd'),
    );
    await expect(
      tarballFromDist(join(dir, 'dist'))('openclaw', '2026.4.12', 'x64'),
    ).rejects.toThrow(
      new Error(
        'ambiguous tarball inputs for openclaw/x64: both openclaw-2026.4.12-x64.tar.gz and openclaw-2026.4.12-x64.tar.zst exist',
      ),
    );
  });

  it('covers only the arches asked for, always in release order', async () => {
    const dir = await releaseWorkspace([OPENCLAW]);
    await rm(join(dir, 'dist', 'images', 'openclaw-2026.4.12-arm64.tar.gz'));
    const bundle = await bundleOf(dir);
    const m = await emitManifest({
      bundle,
      distDir: join(dir, 'dist'),
      slice: { kind: 'full' },
      arches: ['x64'],
      now,
    });
    expect(Object.keys(m.agents.openclaw?.tarballs ?? {})).toEqual(['x64']);
    const both = await buildSliceEntries(
      { kind: 'full' },
      bundle,
      async (_, __, arch) => ({
        key: `vm/images/${arch}.tar.gz`,
        sha256: 'a'.repeat(64),
        sizeBytes: 1,
      }),
      ['x64', 'arm64'],
    );
    expect(Object.keys(both.openclaw?.tarballs ?? {})).toEqual(['arm64', 'x64']);
  });

  it('gives identical bytes for the same now, and different ones for another', async () => {
    const dir = await releaseWorkspace([CODER, OPENCLAW]);
    const emit = async (at: Date) =>
      serializeManifest(
        await emitManifest({
          bundle: await bundleOf(dir),
          distDir: join(dir, 'dist'),
          slice: { kind: 'full' },
          now: at,
        }),
      );
    const first = await emit(now);
    expect(await emit(now)).toBe(first);
    expect(Object.keys(JSON.parse(first).agents)).toEqual(['coder', 'openclaw']);
    expect(first).toBe(`${JSON.stringify(JSON.parse(first), null, 2)}\n`);
    expect(await emit(new Date('2026-04-23T00:00:00.000Z'))).not.toBe(first);
  });

  it('replaces every agent of a baseline (the bundle is the whole release)', async () => {
    const dir = await releaseWorkspace([OPENCLAW]);
    const baseline = parseManifest(baselineText(OTHER_AGENTS), 'baseline');
    const m = await emitManifest({
      bundle: await bundleOf(dir),
      distDir: join(dir, 'dist'),
      slice: { kind: 'full' },
      baseline,
      now,
    });
    expect(Object.keys(m.agents)).toEqual(['openclaw']);
    expect((m as Record<string, unknown>).mirror).toBe('https://cdn.example/vm/');
  });
});

describe('emitManifest --slice agents:<name>', () => {
  it('replaces only that agent and keeps every other agent byte-for-byte', async () => {
    const dir = await releaseWorkspace([OPENCLAW, CODER], { tarballs: false });
    for (const arch of ['arm64', 'x64']) {
      await writeFile(
        join(dir, 'dist', 'images', `openclaw-2026.4.12-${arch}.tar.gz`),
        tarballBytes(arch),
      );
    }
    const baseline = parseManifest(
      baselineText({
        ...OTHER_AGENTS,
        openclaw: { image: 'ghcr.io/openclaw/openclaw', version: '2026.1.1', tarballs: {} },
      }),
      'baseline',
    );
    const text = serializeManifest(
      await emitManifest({
        bundle: await bundleOf(dir),
        distDir: join(dir, 'dist'),
        slice: parseSlice('agents:openclaw'),
        baseline,
        now,
      }),
    );
    const out = JSON.parse(text);
    expect(Object.keys(out.agents)).toEqual(['coder', 'openclaw', 'zeta']);
    // Other agents: same serialised bytes, unknown fields and field order included.
    for (const name of ['zeta', 'coder'] as const) {
      expect(JSON.stringify(out.agents[name], null, 2)).toBe(
        JSON.stringify(OTHER_AGENTS[name], null, 2),
      );
      expect(text).toContain(
        JSON.stringify({ [name]: OTHER_AGENTS[name] }, null, 2)
          .slice(2, -2)
          .replaceAll('\n', '\n  '),
      );
    }
    expect(out.agents.openclaw.version).toBe('2026.4.12');
    expect(out.agents.openclaw.tarballs.x64.sha256).toBe(
      (await digest(join(dir, 'dist', 'images', 'openclaw-2026.4.12-x64.tar.gz'))).sha256,
    );
    expect(out.mirror).toBe('https://cdn.example/vm/');
    expect(out.updatedAt).toBe(NOW);
  });

  it('needs only the sliced agent tarballs', async () => {
    const dir = await releaseWorkspace([OPENCLAW], { tarballs: true });
    const bundle = await bundleOf(dir);
    bundle.agents.push({ name: 'missing', image: 'a/b', version: '1' });
    const m = await emitManifest({
      bundle,
      distDir: join(dir, 'dist'),
      slice: parseSlice('agents:openclaw'),
      baseline: parseManifest(baselineText({}), 'b'),
      now,
    });
    expect(Object.keys(m.agents)).toEqual(['openclaw']);
  });

  it('an allowed-empty baseline bootstraps a manifest with just that agent', async () => {
    const dir = await releaseWorkspace([OPENCLAW, CODER]);
    const m = await emitManifest({
      bundle: await bundleOf(dir),
      distDir: join(dir, 'dist'),
      slice: parseSlice('agents:coder'),
      hasBaseline: true,
      now,
    });
    expect(Object.keys(m.agents)).toEqual(['coder']);
  });

  it('refuses the slice without a baseline, or for an unknown agent', async () => {
    const dir = await releaseWorkspace([OPENCLAW]);
    const base = { bundle: await bundleOf(dir), distDir: join(dir, 'dist'), now };
    await expect(emitManifest({ ...base, slice: parseSlice('agents:openclaw') })).rejects.toThrow(
      new Error('--slice agents:openclaw requires --merge-from'),
    );
    await expect(
      emitManifest({
        ...base,
        slice: parseSlice('agents:ghost'),
        baseline: parseManifest(baselineText({}), 'b'),
      }),
    ).rejects.toThrow(new Error('unknown agent in slice: ghost'));
  });

  it('refuses a merge whose result would break the manifest rules', () => {
    const baseline = parseManifest(
      baselineText({
        zeta: {
          image: 'a/b',
          version: '1',
          tarballs: {
            x64: { key: 'vm/images/openclaw-1-x64.tar.gz', sha256: 'a'.repeat(64), sizeBytes: 1 },
          },
        },
      }),
      'b',
    );
    const entries = {
      openclaw: {
        image: 'a/c',
        version: '1',
        tarballs: {
          x64: { key: 'vm/images/openclaw-1-x64.tar.gz', sha256: 'b'.repeat(64), sizeBytes: 2 },
        },
      },
    };
    expect(() => mergeSlice(parseSlice('agents:openclaw'), entries, baseline, now)).toThrow(
      new Error(
        'the merged manifest (slice agents:openclaw) is not a valid manifest: $.agents.openclaw.tarballs.x64.key: duplicate key "vm/images/openclaw-1-x64.tar.gz" (also used by zeta/x64)',
      ),
    );
  });

  it('a schemaVersion 1 baseline keeps its agents in a schemaVersion 2 output', async () => {
    const dir = await releaseWorkspace([OPENCLAW]);
    const v1 = JSON.stringify({
      schemaVersion: 1,
      vmVersion: '2026.3.1',
      vmDisk: { x64: { key: 'vm/disk/x.qcow2', sha256: 'f'.repeat(64), sizeBytes: 3 } },
      agents: OTHER_AGENTS,
    });
    const m: Manifest = await emitManifest({
      bundle: await bundleOf(dir),
      distDir: join(dir, 'dist'),
      slice: parseSlice('agents:openclaw'),
      baseline: parseManifest(v1, 'v1', { allowV1: true }),
      now,
    });
    const out = JSON.parse(serializeManifest(m));
    expect(out.schemaVersion).toBe(2);
    expect(out.updatedAt).toBe(NOW);
    expect(out).not.toHaveProperty('vmDisk');
    expect(out).not.toHaveProperty('vmVersion');
    expect(Object.keys(out.agents)).toEqual(['coder', 'openclaw', 'zeta']);
    expect(out.agents.zeta).toEqual(OTHER_AGENTS.zeta);
    expect(out.agents.coder).toEqual(OTHER_AGENTS.coder);
  });
});
