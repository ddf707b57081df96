import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emitManifest } from '../../../src/lib/manifest/emit.js';
import type { Manifest } from '../../../src/lib/manifest/manifest.js';
import type { AgentEntry, Tarball } from '../../../src/lib/manifest/schema.js';
import { mergeAgentEntry, mergeSlice, parseSlice } from '../../../src/lib/manifest/slice.js';

const now = new Date('2026-04-22T00:00:00.000Z');
const IMAGE = 'ghcr.io/example/hello-agent';

function tarball(version: string, arch: string, fill: string): Tarball {
  return {
    key: `vm/images/hello-agent-${version}-${arch}.tar.gz`,
    sha256: fill.repeat(64),
    sizeBytes: 10,
  };
}

function entry(version: string, tarballs: AgentEntry['tarballs'], image = IMAGE): AgentEntry {
  return { image, version, tarballs };
}

function manifestWith(agents: Record<string, AgentEntry>): Manifest {
  return { schemaVersion: 2, updatedAt: '2026-04-01T00:00:00.000Z', agents };
}

describe('mergeAgentEntry: per-arch slices of one release', () => {
  it('adds an arch to the same version and keeps the other arch', () => {
    const x64 = tarball('1.0.0', 'x64', 'a');
    const arm64 = tarball('1.0.0', 'arm64', 'b');
    const merged = mergeAgentEntry(entry('1.0.0', { arm64 }), entry('1.0.0', { x64 }));
    expect(merged.tarballs).toEqual({ arm64, x64 });
    // Release order, whatever order the jobs landed in.
    expect(Object.keys(merged.tarballs)).toEqual(['arm64', 'x64']);
  });

  it('replaces the arch it covers (a rebuilt tarball of the same version)', () => {
    const old = tarball('1.0.0', 'x64', 'a');
    const rebuilt = tarball('1.0.0', 'x64', 'c');
    const arm64 = tarball('1.0.0', 'arm64', 'b');
    const merged = mergeAgentEntry(
      entry('1.0.0', { x64: rebuilt }),
      entry('1.0.0', { arm64, x64: old }),
    );
    expect(merged.tarballs).toEqual({ arm64, x64: rebuilt });
  });

  it('a new version replaces the whole entry: old tarballs do not linger', () => {
    const oldX64 = tarball('1.0.0', 'x64', 'a');
    const newArm = tarball('1.1.0', 'arm64', 'b');
    const merged = mergeAgentEntry(
      entry('1.1.0', { arm64: newArm }),
      entry('1.0.0', { x64: oldX64 }),
    );
    expect(merged).toEqual(entry('1.1.0', { arm64: newArm }));
  });

  it('a new image replaces the whole entry', () => {
    const x64 = tarball('1.0.0', 'x64', 'a');
    const arm64 = tarball('1.0.0', 'arm64', 'b');
    const merged = mergeAgentEntry(
      entry('1.0.0', { arm64 }, 'ghcr.io/other/hello-agent'),
      entry('1.0.0', { x64 }),
    );
    expect(merged.tarballs).toEqual({ arm64 });
    expect(merged.image).toBe('ghcr.io/other/hello-agent');
  });

  it('keeps fields of the baseline entry a newer writer added', () => {
    const x64 = tarball('1.0.0', 'x64', 'a');
    const arm64 = tarball('1.0.0', 'arm64', 'b');
    const merged = mergeAgentEntry(entry('1.0.0', { arm64 }), {
      ...entry('1.0.0', { x64 }),
      channel: 'beta',
    } as AgentEntry);
    expect(merged).toEqual({ ...entry('1.0.0', { arm64, x64 }), channel: 'beta' });
  });
});

describe('mergeSlice', () => {
  it('agents:<name> with one arch keeps the arch another job published', () => {
    const x64 = tarball('1.0.0', 'x64', 'a');
    const arm64 = tarball('1.0.0', 'arm64', 'b');
    const m = mergeSlice(
      parseSlice('agents:hello-agent'),
      { 'hello-agent': entry('1.0.0', { arm64 }) },
      manifestWith({ 'hello-agent': entry('1.0.0', { x64 }) }),
      now,
    );
    expect(m.agents['hello-agent']?.tarballs).toEqual({ arm64, x64 });
  });

  it('full still replaces every agent with what the bundle says', () => {
    const x64 = tarball('1.0.0', 'x64', 'a');
    const arm64 = tarball('1.0.0', 'arm64', 'b');
    const m = mergeSlice(
      parseSlice('full'),
      { 'hello-agent': entry('1.0.0', { arm64 }) },
      manifestWith({ 'hello-agent': entry('1.0.0', { x64 }), other: entry('2.0.0', {}) }),
      now,
    );
    expect(m.agents).toEqual({ 'hello-agent': entry('1.0.0', { arm64 }) });
  });
});

describe('emitManifest uses the same merge', () => {
  it('--slice agents:hello-agent --arches arm64 over a baseline with x64 keeps x64', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vm-tools-slice-'));
    await mkdir(join(dir, 'images'));
    await writeFile(join(dir, 'images', 'hello-agent-1.0.0-arm64.tar.gz'), 'arm64 bytes\n');
    const x64 = tarball('1.0.0', 'x64', 'a');
    const m = await emitManifest({
      bundle: { agents: [{ name: 'hello-agent', image: IMAGE, version: '1.0.0' }] },
      distDir: dir,
      slice: parseSlice('agents:hello-agent'),
      baseline: manifestWith({ 'hello-agent': entry('1.0.0', { x64 }) }),
      arches: ['arm64'],
      now,
    });
    expect(Object.keys(m.agents['hello-agent']?.tarballs ?? {})).toEqual(['arm64', 'x64']);
    expect(m.agents['hello-agent']?.tarballs.x64).toEqual(x64);
    expect(m.agents['hello-agent']?.tarballs.arm64?.sizeBytes).toBe(12);
  });
});
