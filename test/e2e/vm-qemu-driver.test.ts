import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VmError, type VmHandle, type VmSpec } from '../../src/lib/vm/driver.js';
import type { GuestImage } from '../../src/lib/vm/guest/build.js';
import { QemuDriver } from '../../src/lib/vm/qemu/driver.js';
import { defaultGuest, guestGet, qemuPids, startHttp } from '../support/guest.js';

/**
 * The qemu driver against a real guest under software emulation: one boot, then
 * every exec/copy/network property against it, then teardown.
 */
describe('qemu driver (real guest, TCG)', () => {
  let guest: GuestImage;
  let allowed: Awaited<ReturnType<typeof startHttp>>;
  let forbidden: Awaited<ReturnType<typeof startHttp>>;
  let scratch: string;
  let handle: VmHandle;
  let bootMs: number;
  const driver = new QemuDriver();
  const name = `t-driver-${process.pid}`;

  beforeAll(async () => {
    guest = await defaultGuest();
    allowed = await startHttp('allowed-endpoint-body');
    forbidden = await startHttp('host-loopback-canary');
    scratch = await mkdtemp(join(tmpdir(), 'vm-tools-test-'));
    const spec: VmSpec = {
      name,
      backend: 'qemu',
      accel: 'tcg',
      cpus: 1,
      memoryMiB: 256,
      allow: [{ host: '127.0.0.1', port: allowed.port }],
      timeoutMs: 120_000,
      kernel: guest.kernel,
      initrd: guest.initrd,
    };
    const started = performance.now();
    handle = await driver.start(spec);
    await driver.ready(handle, 120_000);
    bootMs = performance.now() - started;
  }, 240_000);

  afterAll(async () => {
    if (handle) await driver.delete(handle);
    await allowed?.close();
    await forbidden?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('boots to the agent and describes itself', async () => {
    const d = await driver.describe(handle);
    expect(d).toMatchObject({ name, backend: 'qemu', accel: 'tcg', status: 'running' });
    expect(d.details.forwards).toBe(`10.0.2.100:${allowed.port} -> 127.0.0.1:${allowed.port}`);
    expect(bootMs).toBeGreaterThan(0);
    console.log(`boot to ready: ${Math.round(bootMs)} ms`);
  });

  it('passes exit codes 0, 1 and 7 through and keeps stderr apart from stdout', async () => {
    const ok = await driver.exec(handle, ['sh', '-c', 'echo out; echo err >&2']);
    expect(ok).toMatchObject({ exitCode: 0, timedOut: false });
    expect(ok.stdout.toString()).toBe('out\n');
    expect(ok.stderr.toString()).toBe('err\n');
    expect((await driver.exec(handle, ['false'])).exitCode).toBe(1);
    const seven = await driver.exec(handle, [
      'sh',
      '-c',
      'printf "a b\\n"; echo "it\'s bad" >&2; exit 7',
    ]);
    expect(seven.exitCode).toBe(7);
    expect(seven.stdout.toString()).toBe('a b\n');
    expect(seven.stderr.toString()).toBe("it's bad\n");
  });

  it('passes stdin and binary output intact', async () => {
    const bytes = randomBytes(3000);
    const r = await driver.exec(handle, ['cat'], { stdin: bytes });
    expect(r.exitCode).toBe(0);
    expect(r.stdout.equals(bytes)).toBe(true);
  });

  it('kills a command at its timeout and says so', async () => {
    const started = performance.now();
    const r = await driver.exec(handle, ['sleep', '30'], { timeoutMs: 1500 });
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).toBe(137);
    expect(performance.now() - started).toBeLessThan(15_000);
    // The channel is usable again right after.
    expect((await driver.exec(handle, ['true'])).exitCode).toBe(0);
  });

  it('copies a file in, checked by sha256 inside the guest', async () => {
    const data = randomBytes(20_000);
    const file = join(scratch, 'payload.bin');
    await writeFile(file, data);
    await driver.copyIn(handle, file, '/data/in/payload.bin');
    const r = await driver.exec(handle, ['sha256sum', '/data/in/payload.bin']);
    expect(r.stdout.toString().split(' ')[0]).toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('reaches the allowed endpoint and nothing on the host loopback', async () => {
    const ok = await driver.exec(handle, guestGet('10.0.2.100', allowed.port), {
      timeoutMs: 20_000,
    });
    expect(ok.stdout.toString()).toContain('allowed-endpoint-body');
    expect(allowed.hits()).toBeGreaterThan(0);
    // The host's 127.0.0.1 through slirp's gateway address: refused under restrict=on.
    const leak = await driver.exec(handle, guestGet('10.0.2.2', forbidden.port), {
      timeoutMs: 20_000,
    });
    expect(leak.stdout.toString()).not.toContain('host-loopback-canary');
    expect(leak.exitCode).not.toBe(0);
    // Same port as the allowed one but through the gateway: also refused.
    const gateway = await driver.exec(handle, guestGet('10.0.2.2', allowed.port), {
      timeoutMs: 20_000,
    });
    expect(gateway.stdout.toString()).not.toContain('allowed-endpoint-body');
    expect(forbidden.hits()).toBe(0);
  });

  it('teardown leaves no qemu process, socket or work dir', async () => {
    const workDir = (handle.state as { workDir: string }).workDir;
    expect(await qemuPids(workDir)).toHaveLength(1);
    await driver.delete(handle);
    expect(await qemuPids(workDir)).toEqual([]);
    expect(existsSync(workDir)).toBe(false);
    expect((await driver.describe(handle)).status).toBe('missing');
    // Deleting again is not an error.
    await driver.delete(handle);
  });
});

describe('qemu driver preflight', () => {
  it('accel: kvm fails fast without a usable /dev/kvm, naming the fix', async () => {
    const guest = await defaultGuest();
    const driver = new QemuDriver({ kvmDevice: '/nonexistent/kvm' });
    const spec: VmSpec = {
      name: 'kvm-missing',
      backend: 'qemu',
      accel: 'kvm',
      cpus: 1,
      memoryMiB: 256,
      allow: [],
      timeoutMs: 1000,
      kernel: guest.kernel,
      initrd: guest.initrd,
    };
    const error = await driver.preflight(spec).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VmError);
    expect((error as VmError).kind).toBe('unavailable');
    expect((error as VmError).message).toMatch(/\/nonexistent\/kvm does not exist/);
    // A device this user cannot open read+write (a directory stands in: root may open any file).
    const unusable = new QemuDriver({ kvmDevice: tmpdir() });
    const denied = (await unusable.preflight(spec).catch((e: unknown) => e)) as VmError;
    expect(denied.kind).toBe('unavailable');
    expect(denied.message).toMatch(/not readable and writable.*udev rule/);
    const auto = await driver.preflight({ ...spec, accel: 'auto' });
    expect(auto.accel).toBe('tcg');
    expect(await qemuPids('kvm-missing')).toEqual([]);
  }, 180_000);
});
