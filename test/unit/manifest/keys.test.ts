import { describe, expect, it } from 'vitest';
import {
  assertKey,
  basename,
  compressionOfBytes,
  compressionOfKey,
  isValidKey,
  keyProblem,
  MANIFEST_KEY,
  tarballKey,
} from '../../../src/lib/manifest/keys.js';

describe('key rules', () => {
  it('accepts relative keys of [A-Za-z0-9._/-] segments', () => {
    for (const key of [
      MANIFEST_KEY,
      'vm/images/openclaw-2026.4.12-arm64.tar.gz',
      'a',
      'A_b-c.d/e..f/.hidden',
    ]) {
      expect(keyProblem(key), key).toBeUndefined();
      expect(isValidKey(key)).toBe(true);
      expect(assertKey(key)).toBe(key);
    }
  });

  it.each([
    ['', 'is empty'],
    ['../etc/passwd', 'has a ".." segment'],
    ['vm/../x', 'has a ".." segment'],
    ['vm/..', 'has a ".." segment'],
    ['./vm/x', 'has a "." segment'],
    ['vm/./x', 'has a "." segment'],
    ['vm//x', 'has an empty segment'],
    ['vm/x/', 'has an empty segment'],
    ['/vm/x', 'is absolute'],
    ['vm\\x', 'contains a backslash'],
    ['..\\x', 'contains a backslash'],
    ['vm/a b', 'has characters outside [A-Za-z0-9._/-]'],
    ['vm/a:b', 'has characters outside [A-Za-z0-9._/-]'],
    ['vm/é', 'has characters outside [A-Za-z0-9._/-]'],
    ['vm/a\nb', 'has characters outside [A-Za-z0-9._/-]'],
    ['vm/a%2e', 'has characters outside [A-Za-z0-9._/-]'],
  ])('rejects %j: %s', (key, problem) => {
    expect(keyProblem(key)).toBe(problem);
    expect(isValidKey(key)).toBe(false);
    expect(() => assertKey(key)).toThrow(`invalid key "${key}": ${problem}`);
  });

  it('names tarballs by agent, version, arch and real compression', () => {
    expect(tarballKey('openclaw', '2026.4.12', 'arm64', 'gzip')).toBe(
      'vm/images/openclaw-2026.4.12-arm64.tar.gz',
    );
    expect(tarballKey('openclaw', '2026.4.12', 'x64', 'zstd')).toBe(
      'vm/images/openclaw-2026.4.12-x64.tar.zst',
    );
    expect(compressionOfKey('vm/images/a-1-x64.tar.gz')).toBe('gzip');
    expect(compressionOfKey('vm/images/a-1-x64.tar.zst')).toBe('zstd');
    expect(compressionOfKey('vm/images/a-1-x64.tar')).toBeUndefined();
    expect(basename('vm/images/a-1-x64.tar.gz')).toBe('a-1-x64.tar.gz');
    expect(basename('plain')).toBe('plain');
  });

  it('tells gzip and zstd apart by their magic bytes', () => {
    expect(compressionOfBytes(Uint8Array.of(0x1f, 0x8b, 8, 0))).toBe('gzip');
    expect(compressionOfBytes(Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd))).toBe('zstd');
    expect(compressionOfBytes(Uint8Array.of(0x28, 0xb5, 0x2f))).toBeUndefined();
    expect(compressionOfBytes(Uint8Array.of(0x75, 0x73, 0x74, 0x61))).toBeUndefined();
    expect(compressionOfBytes(new Uint8Array())).toBeUndefined();
  });
});
