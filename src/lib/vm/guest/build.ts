/**
 * Builds the default qemu guest (kernel + initramfs) from the distribution's own
 * packages: a `linux-image-*` kernel and `busybox-static`, fetched with
 * `apt-get download` (no other download). The result is cached by content:
 * the key covers both package versions and the init/agent scripts, so a second
 * build only asks apt-cache for versions.
 */
import { createHash } from 'node:crypto';
import {
  chmod,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { VmError } from '../driver.js';
import { runTool } from '../tool.js';
import { AGENT_SCRIPT, INIT_SCRIPT } from './scripts.js';

/** Bump when the build steps change in a way the key would not see. */
const BUILDER_VERSION = '1';
/** What the default guest needs from the kernel's modules (dependencies are added by modprobe). */
const GUEST_MODULES = ['virtio_pci', 'virtio_net', 'virtio_console'];
const KERNEL_META_PACKAGE = 'linux-image-amd64';

export interface GuestImage {
  kernel: string;
  initrd: string;
  key: string;
  /** True when the image came from the cache. */
  cached: boolean;
  kernelPackage: string;
}

export interface BuildGuestOptions {
  /** Directory holding one subdirectory per key. */
  cacheDir: string;
  log?: (line: string) => void;
}

/** `$VM_TOOLS_GUEST_DIR`, else `$XDG_CACHE_HOME/vm-tools/guest`, else `~/.cache/vm-tools/guest`. */
export function defaultGuestCacheDir(env: NodeJS.ProcessEnv): string {
  if (env.VM_TOOLS_GUEST_DIR) return env.VM_TOOLS_GUEST_DIR;
  const base = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  return join(base, 'vm-tools', 'guest');
}

export function guestKey(parts: {
  kernelPackage: string;
  kernelVersion: string;
  busyboxVersion: string;
}): string {
  const hash = createHash('sha256');
  for (const value of [
    BUILDER_VERSION,
    parts.kernelPackage,
    parts.kernelVersion,
    parts.busyboxVersion,
    INIT_SCRIPT,
    AGENT_SCRIPT,
    GUEST_MODULES.join(','),
  ])
    hash.update(`${value.length}:${value}`);
  return hash.digest('hex').slice(0, 24);
}

/** Candidate versions per package from one `apt-cache policy` call (each call costs ~0.5 s). */
export function parsePolicy(text: string): Map<string, string> {
  const versions = new Map<string, string>();
  let current: string | undefined;
  for (const line of text.split('\n')) {
    const pkg = /^(\S+):$/.exec(line)?.[1];
    if (pkg) current = pkg;
    const candidate = /^\s+Candidate:\s*(\S+)/.exec(line)?.[1];
    if (current && candidate && candidate !== '(none)') versions.set(current, candidate);
  }
  return versions;
}

async function candidates(): Promise<Map<string, string>> {
  const { stdout } = await runTool(
    'apt-cache',
    ['policy', '--', KERNEL_META_PACKAGE, 'busybox-static'],
    {
      allowFailure: true,
    },
  );
  return parsePolicy(stdout);
}

/**
 * The meta package's version pins which kernel it depends on, so it stands for
 * the kernel in the key without a second (slow) apt-cache call.
 */
async function resolvePackages(log: (line: string) => void) {
  let versions = await candidates();
  if (!versions.has(KERNEL_META_PACKAGE)) {
    // A fresh machine has empty package lists: fetch them once.
    log(`apt-cache knows no ${KERNEL_META_PACKAGE}; running apt-get update`);
    const update = await runTool('apt-get', ['update', '-qq'], { allowFailure: true });
    if (update.code !== 0)
      throw new VmError(
        'unavailable',
        `apt-get update failed (${update.stderr.trim().split('\n').at(-1)}); run it as root once, then retry`,
      );
    versions = await candidates();
  }
  const kernelVersion = versions.get(KERNEL_META_PACKAGE);
  const busyboxVersion = versions.get('busybox-static');
  if (!kernelVersion || !busyboxVersion)
    throw new VmError(
      'unavailable',
      `apt has no candidate for ${KERNEL_META_PACKAGE} or busybox-static: is this Debian/Ubuntu with its archive configured?`,
    );
  return { kernelPackage: KERNEL_META_PACKAGE, kernelVersion, busyboxVersion };
}

/** The concrete kernel package behind the meta package, e.g. linux-image-6.1.0-57-amd64. */
async function kernelPackageName(): Promise<string> {
  const { stdout } = await runTool('apt-cache', ['depends', '--', `${KERNEL_META_PACKAGE}`]);
  const name = /Depends:\s*(linux-image-\S+)/.exec(stdout)?.[1];
  if (!name)
    throw new VmError('unavailable', `${KERNEL_META_PACKAGE} depends on no linux-image package`);
  return name;
}

/** Offset of the xz stream a Debian bzImage carries its kernel in. */
function xzOffset(bzImage: Buffer): number {
  return bzImage.indexOf(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]));
}

/**
 * The uncompressed ELF kernel: QEMU enters it through its PVH note, skipping the
 * firmware and in-guest decompression that cost 4-5 s under emulation.
 */
async function extractVmlinux(vmlinuz: string, out: string): Promise<boolean> {
  const image = await readFile(vmlinuz);
  const offset = xzOffset(image);
  if (offset < 0) return false;
  const xz = await runTool(
    'sh',
    [
      '-c',
      'tail -c +"$1" "$2" | xz -dc --single-stream > "$3"',
      'sh',
      String(offset + 1),
      vmlinuz,
      out,
    ],
    {
      allowFailure: true,
    },
  );
  if (xz.code !== 0) return false;
  const head = Buffer.alloc(4);
  const file = await open(out, 'r');
  try {
    await file.read(head, 0, 4, 0);
  } finally {
    await file.close();
  }
  return head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

export async function buildGuest(options: BuildGuestOptions): Promise<GuestImage> {
  const log = options.log ?? (() => {});
  const packages = await resolvePackages(log);
  const key = guestKey(packages);
  const dir = join(options.cacheDir, key);
  const manifest = join(dir, 'guest.json');
  if (await exists(manifest)) {
    const saved = JSON.parse(await readFile(manifest, 'utf8')) as {
      kernel: string;
      initrd: string;
      kernelPackage: string;
    };
    return {
      kernel: join(dir, saved.kernel),
      initrd: join(dir, saved.initrd),
      key,
      cached: true,
      kernelPackage: saved.kernelPackage,
    };
  }
  await mkdir(options.cacheDir, { recursive: true });
  const work = await mkdtemp(join(options.cacheDir, `.build-${key}-`));
  try {
    const kernelPackage = await kernelPackageName();
    log(
      `building guest ${key} from ${kernelPackage} (${KERNEL_META_PACKAGE} ${packages.kernelVersion}) and busybox-static ${packages.busyboxVersion}`,
    );
    const debs = join(work, 'debs');
    await mkdir(debs);
    // apt drops privileges to _apt for downloads; it must be able to write here.
    await chmod(debs, 0o777);
    const dl = await runTool(
      'apt-get',
      ['download', '-qq', '--', kernelPackage, `busybox-static=${packages.busyboxVersion}`],
      { cwd: debs, allowFailure: true },
    );
    if (dl.code !== 0)
      throw new VmError('unavailable', `apt-get download failed: ${dl.stderr.trim()}`);
    const files = await readdir(debs);
    const kernelDeb = files.find((f) => f.startsWith(`${kernelPackage}_`));
    const busyboxDeb = files.find((f) => f.startsWith('busybox-static_'));
    if (!kernelDeb || !busyboxDeb)
      throw new VmError('unavailable', `apt-get download left ${files.join(', ')}`);

    const kroot = join(work, 'kernel');
    await mkdir(kroot);
    // Only the kernel and the module tree's metadata plus the few virtio drivers: the whole tree is ~400 MB.
    await runTool('sh', [
      '-c',
      `dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --wildcards './boot/vmlinuz-*' './lib/modules/*/modules.*' './lib/modules/*/kernel/drivers/virtio/*' './lib/modules/*/kernel/drivers/net/virtio_net.ko*' './lib/modules/*/kernel/drivers/net/net_failover.ko*' './lib/modules/*/kernel/net/core/failover.ko*' './lib/modules/*/kernel/drivers/char/virtio_console.ko*'`,
      'sh',
      join(debs, kernelDeb),
      kroot,
    ]);
    const [release] = await readdir(join(kroot, 'lib', 'modules'));
    if (!release) throw new VmError('unavailable', `${kernelDeb} has no module tree`);
    // The .deb ships no modules.dep: depmod makes one for modprobe to order the load.
    await runTool('depmod', ['-b', kroot, release]);
    const order: string[] = [];
    for (const module of GUEST_MODULES) {
      const { stdout } = await runTool('modprobe', [
        '-d',
        kroot,
        '-S',
        release,
        '--show-depends',
        module,
      ]);
      for (const line of stdout.split('\n')) {
        const path = /^insmod (\S+)/.exec(line)?.[1];
        if (path && !order.includes(path)) order.push(path);
      }
    }

    const root = join(work, 'root');
    const modulesDir = join(root, 'lib', 'vm-tools', 'modules');
    await mkdir(modulesDir, { recursive: true });
    await mkdir(join(root, 'bin'));
    const names: string[] = [];
    for (const path of order) {
      const name = path.split('/').at(-1) as string;
      if (name.endsWith('.ko.xz') || name.endsWith('.ko.zst'))
        throw new VmError(
          'unavailable',
          `${name}: compressed modules are not supported by busybox insmod`,
        );
      await rename(path, join(modulesDir, name));
      names.push(name);
    }
    await writeFile(join(modulesDir, 'order'), `${names.join('\n')}\n`);
    const bbroot = join(work, 'busybox');
    await mkdir(bbroot);
    await runTool('dpkg', ['-x', join(debs, busyboxDeb), bbroot]);
    const busybox = (await exists(join(bbroot, 'bin', 'busybox')))
      ? join(bbroot, 'bin', 'busybox')
      : join(bbroot, 'usr', 'bin', 'busybox');
    await rename(busybox, join(root, 'bin', 'busybox'));
    await symlink('busybox', join(root, 'bin', 'sh'));
    await writeFile(join(root, 'init'), INIT_SCRIPT, { mode: 0o755 });
    await writeFile(join(root, 'lib', 'vm-tools', 'agent.sh'), AGENT_SCRIPT, { mode: 0o755 });

    const out = join(work, 'out');
    await mkdir(out);
    // Uncompressed: unpacking gzip under software emulation costs more than reading a few MB.
    await runTool('sh', [
      '-c',
      'cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet > "$2"',
      'sh',
      root,
      join(out, 'initrd.cpio'),
    ]);
    const vmlinuz = join(kroot, 'boot', `vmlinuz-${release}`);
    let kernel = 'vmlinux';
    if (!(await extractVmlinux(vmlinuz, join(out, kernel)))) {
      log('no xz stream in the bzImage: booting the compressed kernel (slower)');
      await rm(join(out, kernel), { force: true });
      kernel = 'vmlinuz';
      await rename(vmlinuz, join(out, kernel));
    }
    await writeFile(
      join(out, 'guest.json'),
      `${JSON.stringify({ kernel, initrd: 'initrd.cpio', ...packages, kernelPackage, release, modules: names }, null, 2)}\n`,
    );
    // Publish atomically: a reader sees a complete directory or none.
    await rename(out, dir).catch(async (error: NodeJS.ErrnoException) => {
      if (!(await exists(manifest))) throw error; // another build won the race
    });
    return {
      kernel: join(dir, kernel),
      initrd: join(dir, 'initrd.cpio'),
      key,
      cached: false,
      kernelPackage,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
