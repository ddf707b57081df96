import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  checkLimaName,
  checkTemplate,
  goDuration,
  limaArgv,
  parseLimaList,
} from '../../src/lib/vm/lima.js';

const TEMPLATE = join(import.meta.dirname, '../../templates/lima/agent-vm.yaml');

interface Template {
  base?: unknown;
  mounts?: unknown[];
  images: { location: string; arch: string; digest?: string }[];
  probes?: { script: string }[];
  portForwards?: { guestSocket?: string; hostSocket?: string }[];
}

describe('the committed agent-vm Lima template', () => {
  it('parses, mounts nothing and extends no base that could add mounts', async () => {
    const text = await readFile(TEMPLATE, 'utf8');
    const doc = parse(text) as Template;
    expect(doc.base).toBeUndefined();
    expect(doc.mounts).toEqual([]);
    expect(checkTemplate(text)).toEqual({ mounts: [], bases: [] });
  });

  it('pins every image by a sha256/sha512 digest, for both host architectures', async () => {
    const doc = parse(await readFile(TEMPLATE, 'utf8')) as Template;
    expect(doc.images.length).toBeGreaterThanOrEqual(2);
    for (const image of doc.images) {
      expect(image.location).toMatch(
        /^https:\/\/cloud\.debian\.org\/images\/cloud\/bookworm\/\d{8}-\d{4}\/debian-12-genericcloud-/,
      );
      expect(image.digest).toMatch(/^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/);
    }
    expect(doc.images.map((i) => i.arch).sort()).toEqual(['aarch64', 'x86_64']);
  });

  it("forwards the guest user's podman socket to <dir>/sock/podman.sock and probes for it", async () => {
    const doc = parse(await readFile(TEMPLATE, 'utf8')) as Template;
    expect(doc.portForwards).toContainEqual({
      guestSocket: '/run/user/{{.UID}}/podman/podman.sock',
      hostSocket: '{{.Dir}}/sock/podman.sock',
    });
    expect(doc.probes?.[0]?.script).toContain('podman.sock');
  });

  it('flags templates that mount host paths or extend a base', () => {
    expect(checkTemplate('mounts:\n  - location: "~"\n')).toEqual({
      mounts: [{ location: '~' }],
      bases: [],
    });
    expect(checkTemplate('base: template:debian-12\nmounts: []\n').bases).toEqual([
      'template:debian-12',
    ]);
    expect(
      checkTemplate('base:\n  - template:_images/debian-12\n  - template:_default/mounts\n').bases,
    ).toHaveLength(2);
  });
});

describe('limactl command lines', () => {
  it('start: name, tty and timeout flags before the template, as the spec gives them', () => {
    expect(limaArgv.start({ name: 'agent', template: 't.yaml', timeoutMs: 600_000 })).toEqual([
      'start',
      '--name=agent',
      '--tty=false',
      '--timeout=600s',
      't.yaml',
    ]);
    expect(limaArgv.start({ name: 'a', template: 't', timeoutMs: 1, mountNone: true })).toContain(
      '--mount-none',
    );
  });

  it('shell keeps the guest command after "--"; teardown forces both stop and delete', () => {
    expect(limaArgv.shell('agent', ['sh', '-c', 'echo "$1"', '--x'])).toEqual([
      'shell',
      '--tty=false',
      'agent',
      '--',
      'sh',
      '-c',
      'echo "$1"',
      '--x',
    ]);
    expect(limaArgv.stop('agent', true)).toEqual(['stop', '--tty=false', '--force', 'agent']);
    expect(limaArgv.delete('agent')).toEqual(['delete', '--tty=false', '--force', 'agent']);
    expect(limaArgv.copy('/h/f', 'agent', '/g/f')).toEqual([
      'copy',
      '--tty=false',
      '/h/f',
      'agent:/g/f',
    ]);
  });

  it('durations are whole Go seconds, never zero', () => {
    expect(goDuration(1)).toBe('1s');
    expect(goDuration(90_500)).toBe('91s');
  });

  it("accepts Lima's identifier rule and nothing else", () => {
    for (const ok of ['agent', 'agent-vm_1.2', 'A1']) expect(() => checkLimaName(ok)).not.toThrow();
    for (const bad of ['-agent', 'a..b', 'a-', 'a b', 'a/b', '', 'x'.repeat(77)]) {
      expect(() => checkLimaName(bad)).toThrow(/not a valid Lima instance name/);
    }
  });

  it('list --json is read as JSON lines', () => {
    const out =
      '{"name":"a","status":"Running","dir":"/l/a"}\n{"name":"b","status":"Stopped","dir":"/l/b"}\n';
    expect(parseLimaList(out).map((i) => i.status)).toEqual(['Running', 'Stopped']);
  });
});
