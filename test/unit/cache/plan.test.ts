import { describe, expect, it } from 'vitest';
import { checkKeys, resolveArches, selectTarballs } from '../../../src/lib/cache/plan.js';
import { artifactUrl, parseManifestUrl } from '../../../src/lib/cache/source.js';
import { parseRange } from '../../../src/lib/http/static-server.js';
import type { Manifest } from '../../../src/lib/manifest/manifest.js';

describe('parseManifestUrl / artifactUrl', () => {
  it('resolves artifacts against the bucket root (the manifest URL minus its key)', () => {
    const source = parseManifestUrl('https://cdn.example/vm/manifest.json');
    expect(source.rootUrl).toBe('https://cdn.example/');
    expect(artifactUrl(source, 'vm/images/openclaw-2026.4.12-arm64.tar.gz')).toBe(
      'https://cdn.example/vm/images/openclaw-2026.4.12-arm64.tar.gz',
    );
    const nested = parseManifestUrl('http://127.0.0.1:8080/mirror/vm/manifest.json?sig=abc');
    expect(artifactUrl(nested, 'vm/images/a.tar.zst')).toBe(
      'http://127.0.0.1:8080/mirror/vm/images/a.tar.zst',
    );
    expect(parseManifestUrl('file:///srv/bucket/vm/manifest.json').rootUrl).toBe(
      'file:///srv/bucket/',
    );
  });

  it('refuses other schemes and URLs that are not the manifest key', () => {
    for (const bad of [
      'ftp://x/vm/manifest.json',
      'https://x/manifest.json',
      'not a url',
      's3://b/vm/manifest.json',
    ]) {
      expect(() => parseManifestUrl(bad)).toThrow(
        `manifest URL must be an https://, http:// or file:// URL ending in /vm/manifest.json; got "${bad}"`,
      );
    }
  });
});

describe('resolveArches', () => {
  it('maps host, a single arch and all', () => {
    expect(resolveArches('host', 'arm64')).toEqual(['arm64']);
    expect(resolveArches('host', 'x64')).toEqual(['x64']);
    expect(resolveArches('x64', 'arm')).toEqual(['x64']);
    expect(resolveArches('all', 'arm')).toEqual(['arm64', 'x64']);
  });

  it('fails on a host the agents cannot run on (9)', () => {
    expect(() => resolveArches('host', 'arm')).toThrow('unsupported host arch: arm');
    expect(() => resolveArches('host', 'ia32')).toThrow('unsupported host arch: ia32');
  });
});

describe('selectTarballs / checkKeys', () => {
  const t = (key: string) => ({ key, sha256: 'a'.repeat(64), sizeBytes: 1 });
  const manifest: Manifest = {
    schemaVersion: 2,
    updatedAt: '2026-04-22T00:00:00.000Z',
    agents: {
      b: {
        image: 'x/b',
        version: '1',
        tarballs: { x64: t('vm/images/b-x64'), arm64: t('vm/images/b-arm64') },
      },
      a: { image: 'x/a', version: '1', tarballs: { x64: t('vm/images/a-x64') } },
    },
  };

  it('selects by arch and agent in manifest order', () => {
    expect(selectTarballs(manifest, ['x64'], [], '/c').map((w) => w.key)).toEqual([
      'vm/images/a-x64',
      'vm/images/b-x64',
    ]);
    expect(selectTarballs(manifest, ['arm64', 'x64'], ['b'], '/c').map((w) => w.path)).toEqual([
      '/c/vm/images/b-arm64',
      '/c/vm/images/b-x64',
    ]);
    expect(() => selectTarballs(manifest, ['x64'], ['zed'], '/c')).toThrow(
      'agent "zed" is not in the manifest (it has: a, b)',
    );
  });

  it('refuses keys that break the rules, collide with the cache or with each other (10)', () => {
    const cases: [string[], string][] = [
      [['../x'], 'refusing manifest key "../x": has a ".." segment'],
      [['/etc/x'], 'refusing manifest key "/etc/x": is absolute'],
      [['vm\\x'], 'refusing manifest key "vm\\x": contains a backslash'],
      [
        ['vm/manifest.json'],
        `refusing manifest key "vm/manifest.json": is the local manifest's own path`,
      ],
      [['vm/manifest.json/x'], '"vm/manifest.json" is both a file and a directory'],
      [['.vm-tools.lock/x'], 'uses a name reserved for the cache'],
      [['a.partial'], 'ends in .partial'],
      [
        ['a', 'a/b'],
        'refusing manifest key "a/b": "a" is both a file and a directory in the cache',
      ],
    ];
    for (const [keys, message] of cases) expect(() => checkKeys(keys, '/c')).toThrow(message);
    expect(() => checkKeys(['vm/images/a.tar.gz', 'vm/images/b.tar.zst'], '/c')).not.toThrow();
  });
});

describe('parseRange', () => {
  it('reads single byte ranges and flags unsatisfiable ones', () => {
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=50-500', 100)).toEqual({ start: 50, end: 99 });
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-1,5-6', 100)).toBeUndefined();
    expect(parseRange(undefined, 100)).toBeUndefined();
  });
});
