import { describe, expect, it } from 'vitest';
import { VmError } from '../../src/lib/vm/driver.js';
import { guestKey, parsePolicy } from '../../src/lib/vm/guest/build.js';
import { shellQuote } from '../../src/lib/vm/qemu/agent-channel.js';
import { planForwards, qemuArgv } from '../../src/lib/vm/qemu/plan.js';
import { parseAllow, parseEndpoint, validateName } from '../../src/lib/vm/spec.js';

const invalid = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(VmError);
    expect((error as VmError).kind).toBe('invalid');
    return (error as VmError).message;
  }
  throw new Error('expected a VmError');
};

describe('VM names and allowed endpoints', () => {
  it('accepts plain names and refuses empty, dash-led and odd ones, naming the input', () => {
    expect(validateName('ci-vm_1.a')).toBe('ci-vm_1.a');
    for (const bad of ['', '-rf', 'a b', 'a/b', 'a,b', 'ä', 'x'.repeat(64)])
      expect(invalid(() => validateName(bad))).toMatch(/^Input "name"/);
  });

  it('parses HOST:PORT and refuses what no backend can enforce', () => {
    expect(parseEndpoint('127.0.0.1:8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseEndpoint('registry.local:443')).toEqual({ host: 'registry.local', port: 443 });
    for (const bad of [
      '127.0.0.1',
      '10.0.0.0/8:80',
      '*:80',
      '127.0.0.1:0',
      '127.0.0.1:65536',
      '[::1]:80',
      '1.2.3:80',
      'a b:80',
      '127.0.0.1:80-90',
      '300.1.1.1:80',
    ])
      expect(invalid(() => parseEndpoint(bad))).toMatch(/^Input "allow".*HOST:PORT.*got "/);
    expect(invalid(() => parseAllow(['127.0.0.1:80', '127.0.0.1:80']))).toMatch(/twice/);
  });
});

describe('qemu plan', () => {
  const forwards = planForwards([
    { host: '127.0.0.1', port: 8080 },
    { host: 'cache.local', port: 443 },
  ]);

  it('gives each endpoint its own guest address from 10.0.2.100, same port', () => {
    expect(forwards.map((f) => `${f.guestAddress}:${f.guestPort}`)).toEqual([
      '10.0.2.100:8080',
      '10.0.2.101:443',
    ]);
    expect(
      invalid(() =>
        planForwards(Array.from({ length: 156 }, (_, i) => ({ host: '127.0.0.1', port: i + 1 }))),
      ),
    ).toMatch(/at most 155/);
  });

  const plan = {
    name: 'vm1',
    accel: 'tcg' as const,
    cpus: 1,
    memoryMiB: 256,
    kernel: '/k/vmlinux',
    initrd: '/k/initrd.cpio',
    workDir: '/tmp/w',
    forwards,
    relay: ['/usr/bin/node', '/tmp/w/relay.cjs'],
  };

  it('restricts user networking to one guestfwd per endpoint, and nothing else', () => {
    const argv = qemuArgv(plan);
    const netdev = argv[argv.indexOf('-netdev') + 1];
    expect(netdev).toBe(
      'user,id=net0,restrict=on,' +
        'guestfwd=tcp:10.0.2.100:8080-cmd:/usr/bin/node /tmp/w/relay.cjs 127.0.0.1 8080,' +
        'guestfwd=tcp:10.0.2.101:443-cmd:/usr/bin/node /tmp/w/relay.cjs cache.local 443',
    );
    const joined = argv.join(' ');
    expect(joined).not.toMatch(/hostfwd|-virtfs|-fsdev|9p|smb=/);
    expect(argv.filter((a) => a === '-netdev')).toHaveLength(1);
    expect(argv).toContain('-nodefaults');
    expect(argv.slice(argv.indexOf('-accel'), argv.indexOf('-accel') + 2)).toEqual([
      '-accel',
      'tcg',
    ]);
    expect(qemuArgv({ ...plan, accel: 'kvm' }).join(' ')).toContain('-accel kvm -cpu host');
  });

  it('refuses paths that would break qemu option parsing', () => {
    expect(invalid(() => qemuArgv({ ...plan, kernel: '/k/a,b' }))).toMatch(/kernel/);
    expect(invalid(() => qemuArgv({ ...plan, relay: ['/opt/my node/node', '/r.cjs'] }))).toMatch(
      /relay/,
    );
  });
});

describe('agent channel and guest key', () => {
  it('quotes argv for the guest shell', () => {
    expect(shellQuote(['sh', '-c', "echo 'hi'; exit 7"])).toBe(`sh -c 'echo '\\''hi'\\''; exit 7'`);
    expect(shellQuote(['a=b', '/x/y'])).toBe('a=b /x/y');
  });

  it('reads candidates from one apt-cache policy call', () => {
    const text = [
      'linux-image-amd64:',
      '  Installed: (none)',
      '  Candidate: 6.1.192-3',
      'busybox-static:',
      '  Installed: 1:1.35.0-4',
      '  Candidate: 1:1.35.0-4+b1',
      'nothing-here:',
      '  Candidate: (none)',
    ].join('\n');
    expect(Object.fromEntries(parsePolicy(text))).toEqual({
      'linux-image-amd64': '6.1.192-3',
      'busybox-static': '1:1.35.0-4+b1',
    });
  });

  it('keys the guest by both package versions', () => {
    const base = {
      kernelPackage: 'linux-image-amd64',
      kernelVersion: '6.1.192-3',
      busyboxVersion: '1:1.35.0-4',
    };
    expect(guestKey(base)).toBe(guestKey({ ...base }));
    expect(guestKey(base)).not.toBe(guestKey({ ...base, kernelVersion: '6.1.193-1' }));
    expect(guestKey(base)).not.toBe(guestKey({ ...base, busyboxVersion: '1:1.36.0-1' }));
  });
});
