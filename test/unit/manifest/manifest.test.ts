import { describe, expect, it } from 'vitest';
import {
  assertManifest,
  listTarballs,
  type Manifest,
  parseManifest,
  serializeManifest,
} from '../../../src/lib/manifest/manifest.js';

const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);

function manifest(): Manifest {
  return {
    schemaVersion: 2,
    updatedAt: '2026-04-22T00:00:00.000Z',
    agents: {
      openclaw: {
        image: 'ghcr.io/openclaw/openclaw',
        version: '2026.4.12',
        tarballs: {
          arm64: {
            key: 'vm/images/openclaw-2026.4.12-arm64.tar.gz',
            sha256: SHA_A,
            sizeBytes: 201,
          },
          x64: { key: 'vm/images/openclaw-2026.4.12-x64.tar.gz', sha256: SHA_B, sizeBytes: 202 },
        },
      },
    },
  };
}

// Tests break manifests on purpose: any field may be set to anything.
// biome-ignore lint/suspicious/noExplicitAny: deliberately untyped JSON
type Mutable = Record<string, any>;
function withChange(change: (m: Mutable) => void): string {
  const m = manifest() as Mutable;
  change(m);
  return JSON.stringify(m);
}

describe('parseManifest (schemaVersion 2)', () => {
  it('reads a valid manifest', () => {
    expect(parseManifest(JSON.stringify(manifest()), 'm')).toEqual(manifest());
  });

  it.each([
    [
      'sha256 not hex',
      (m: Mutable) => {
        m.agents.openclaw.tarballs.arm64.sha256 = 'g'.repeat(64);
      },
      '$.agents.openclaw.tarballs.arm64.sha256: must be 64 lowercase hex characters',
    ],
    [
      'sha256 upper case',
      (m: Mutable) => {
        m.agents.openclaw.tarballs.x64.sha256 = 'A'.repeat(64);
      },
      '$.agents.openclaw.tarballs.x64.sha256: must be 64 lowercase hex characters',
    ],
    [
      'sha256 too short',
      (m: Mutable) => {
        m.agents.openclaw.tarballs.x64.sha256 = 'a'.repeat(63);
      },
      '$.agents.openclaw.tarballs.x64.sha256: must be 64 lowercase hex characters',
    ],
    [
      'negative sizeBytes',
      (m: Mutable) => {
        m.agents.openclaw.tarballs.arm64.sizeBytes = -1;
      },
      '$.agents.openclaw.tarballs.arm64.sizeBytes: must be a non-negative safe integer',
    ],
    [
      'unsafe sizeBytes',
      (m: Mutable) => {
        m.agents.openclaw.tarballs.arm64.sizeBytes = 2 ** 53;
      },
      '$.agents.openclaw.tarballs.arm64.sizeBytes: must be a non-negative safe integer',
    ],
    [
      'fractional sizeBytes',
      (m: Mutable) => {
        m.agents.openclaw.tarballs.arm64.sizeBytes = 1.5;
      },
      '$.agents.openclaw.tarballs.arm64.sizeBytes: must be a non-negative safe integer',
    ],
    [
      'string sizeBytes',
      (m: Mutable) => {
        m.agents.openclaw.tarballs.arm64.sizeBytes = '201';
      },
      '$.agents.openclaw.tarballs.arm64.sizeBytes: must be a non-negative safe integer',
    ],
    [
      'a ../ key',
      (m: Mutable) => {
        m.agents.openclaw.tarballs.arm64.key = '../etc/passwd';
      },
      '$.agents.openclaw.tarballs.arm64.key: invalid key "../etc/passwd": has a ".." segment',
    ],
    [
      'an absolute key',
      (m: Mutable) => {
        m.agents.openclaw.tarballs.x64.key = '/vm/images/x.tar.gz';
      },
      '$.agents.openclaw.tarballs.x64.key: invalid key "/vm/images/x.tar.gz": is absolute',
    ],
    [
      'a backslash key',
      (m: Mutable) => {
        m.agents.openclaw.tarballs.x64.key = 'vm\\images\\x.tar.gz';
      },
      '$.agents.openclaw.tarballs.x64.key: invalid key "vm\\images\\x.tar.gz": contains a backslash',
    ],
    [
      'duplicate keys',
      (m: Mutable) => {
        m.agents.openclaw.tarballs.x64.key = m.agents.openclaw.tarballs.arm64.key;
      },
      '$.agents.openclaw.tarballs.x64.key: duplicate key "vm/images/openclaw-2026.4.12-arm64.tar.gz" (also used by openclaw/arm64)',
    ],
    [
      'duplicate keys across agents',
      (m: Mutable) => {
        m.agents.zed = structuredClone(m.agents.openclaw);
        delete m.agents.zed.tarballs.x64;
      },
      '$.agents.zed.tarballs.arm64.key: duplicate key "vm/images/openclaw-2026.4.12-arm64.tar.gz" (also used by openclaw/arm64)',
    ],
    [
      'a bad agent name',
      (m: Mutable) => {
        m.agents.OpenClaw = m.agents.openclaw;
        delete m.agents.openclaw;
      },
      '$.agents.OpenClaw: key must match [a-z0-9][a-z0-9-]*',
    ],
    [
      'an unknown arch',
      (m: Mutable) => {
        m.agents.openclaw.tarballs.riscv64 = m.agents.openclaw.tarballs.x64;
      },
      '$.agents.openclaw.tarballs: Unrecognized key: "riscv64"',
    ],
    [
      'an image with a tag',
      (m: Mutable) => {
        m.agents.openclaw.image = 'ghcr.io/openclaw/openclaw:1';
      },
      '$.agents.openclaw.image: must be an image reference without tag, like ghcr.io/org/name',
    ],
    [
      'a bad version',
      (m: Mutable) => {
        m.agents.openclaw.version = '1 2';
      },
      '$.agents.openclaw.version: must match [A-Za-z0-9._-]+',
    ],
    [
      'a missing tarballs map',
      (m: Mutable) => {
        delete m.agents.openclaw.tarballs;
      },
      '$.agents.openclaw.tarballs: Invalid input: expected record, received undefined',
    ],
    [
      'a bad updatedAt',
      (m: Mutable) => {
        m.updatedAt = 'yesterday';
      },
      '$.updatedAt: Invalid ISO datetime',
    ],
    [
      'schemaVersion 3',
      (m: Mutable) => {
        m.schemaVersion = 3;
      },
      '$.schemaVersion: Invalid input: expected 2',
    ],
    [
      'schemaVersion 1 outside a baseline',
      (m: Mutable) => {
        m.schemaVersion = 1;
      },
      '$.schemaVersion: Invalid input: expected 2',
    ],
  ])('rejects %s, naming the JSON path of the first bad field', (_, change, reason) => {
    expect(() => parseManifest(withChange(change), 'manifest.json')).toThrow(
      new Error(`manifest.json is not a valid manifest: ${reason}`),
    );
  });

  it('rejects what is not JSON or not an object', () => {
    expect(() => parseManifest('{"schemaVersion": 2,', 'm.json')).toThrow(/^m\.json is not JSON: /);
    expect(() => parseManifest('null', 'm.json')).toThrow(
      new Error('m.json is not a valid manifest: $: Invalid input: expected object, received null'),
    );
  });

  it('keeps unknown fields where they were (a newer writer may add some)', () => {
    const text = JSON.stringify({
      note: 'first',
      schemaVersion: 2,
      updatedAt: '2026-04-22T00:00:00.000Z',
      agents: {
        openclaw: {
          labels: { tier: 'gold' },
          ...manifest().agents.openclaw,
          tarballs: {
            x64: { extra: true, ...manifest().agents.openclaw?.tarballs.x64 },
          },
        },
      },
    });
    const parsed = parseManifest(text, 'm');
    expect(JSON.stringify(parsed)).toBe(text);
  });
});

describe('parseManifest (schemaVersion 1 baselines)', () => {
  const v1 = {
    schemaVersion: 1,
    updatedAt: '2026-03-01T00:00:00.000Z',
    vmVersion: '2026.3.1',
    vmDisk: {
      arm64: { key: 'vm/disk/vm-2026.3.1-arm64.qcow2', sha256: SHA_A, sizeBytes: 9 },
    },
    agents: manifest().agents,
  };

  it('keeps the agents, drops the VM-disk fields and reads as schemaVersion 2', () => {
    const parsed = parseManifest(JSON.stringify(v1), 'old', { allowV1: true });
    expect(parsed).toEqual({
      schemaVersion: 2,
      updatedAt: '1970-01-01T00:00:00.000Z',
      agents: manifest().agents,
    });
    expect(parsed).not.toHaveProperty('vmDisk');
    expect(parsed).not.toHaveProperty('vmVersion');
  });

  it('validates a v1 baseline like any manifest', () => {
    const bad = structuredClone(v1);
    (bad.agents.openclaw as Mutable).tarballs.arm64.key = 'vm/../x';
    expect(() => parseManifest(JSON.stringify(bad), 'old', { allowV1: true })).toThrow(
      new Error(
        'old is not a valid manifest: $.agents.openclaw.tarballs.arm64.key: invalid key "vm/../x": has a ".." segment',
      ),
    );
  });
});

describe('serializeManifest', () => {
  it('writes two-space JSON with one newline, agents in name order', () => {
    const m = manifest();
    const z = m.agents.openclaw;
    m.agents = { zeta: z as never, alpha: { image: 'a/b', version: '1', tarballs: {} } };
    const text = serializeManifest(m);
    expect(text.endsWith('}\n')).toBe(true);
    expect(Object.keys(JSON.parse(text).agents)).toEqual(['alpha', 'zeta']);
    expect(text).toBe(
      `${JSON.stringify({ ...m, agents: { alpha: m.agents.alpha, zeta: z } }, null, 2)}\n`,
    );
  });

  it('gives the same bytes for the same content whatever the insertion order', () => {
    const a = manifest();
    const b: Manifest = {
      agents: { ...a.agents },
      updatedAt: a.updatedAt,
      schemaVersion: 2,
    };
    expect(serializeManifest(b)).toBe(serializeManifest(a));
  });

  it('round-trips through parseManifest', () => {
    const text = serializeManifest(manifest());
    expect(serializeManifest(parseManifest(text, 'm'))).toBe(text);
  });

  it('lists every tarball in serialisation order', () => {
    expect(listTarballs(manifest()).map((t) => `${t.agent}/${t.arch}:${t.sizeBytes}`)).toEqual([
      'openclaw/arm64:201',
      'openclaw/x64:202',
    ]);
  });

  it('assertManifest names the first bad field', () => {
    expect(() => assertManifest({ ...manifest(), updatedAt: 5 }, 'it')).toThrow(
      new Error(
        'it is not a valid manifest: $.updatedAt: Invalid input: expected string, received number',
      ),
    );
    expect(() => assertManifest(manifest(), 'it')).not.toThrow();
  });
});
