import { describe, expect, it } from 'vitest';
import { ARCHES, hostArch, isArch, ociArchOf, platformOf } from '../../../src/lib/manifest/arch.js';

describe('arches', () => {
  it('releases arm64 and x64', () => {
    expect(ARCHES).toEqual(['arm64', 'x64']);
    expect(isArch('arm64')).toBe(true);
    expect(isArch('amd64')).toBe(false);
  });

  it("maps Node's process.arch to a release arch", () => {
    expect(hostArch('arm64')).toBe('arm64');
    expect(hostArch('x64')).toBe('x64');
    expect(hostArch()).toBe(process.arch);
  });

  it.each(['ia32', 'arm', 'riscv64', 's390x', 'ppc64', 'loong64', 'amd64', ''])(
    'refuses host arch %j',
    (value) => {
      expect(() => hostArch(value)).toThrow(new Error(`unsupported host arch: ${value}`));
    },
  );

  it('maps arches to container platforms', () => {
    expect(platformOf('arm64')).toBe('linux/arm64');
    expect(platformOf('x64')).toBe('linux/amd64');
    expect(ociArchOf('arm64')).toBe('arm64');
    expect(ociArchOf('x64')).toBe('amd64');
  });
});
