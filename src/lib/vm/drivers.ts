/** The backend → driver map. Backends load lazily: a step pays only for the one it uses. */
import { type Backend, type VmDriver, VmError } from './driver.js';

type Loader = () => Promise<VmDriver>;

const LOADERS: Partial<Record<Backend, Loader>> = {
  qemu: async () =>
    new (await import('./qemu/driver.js')).QemuDriver({
      // Only bench/boot-vm.mjs sets this, to measure the polling baseline.
      readyPollMs: Number(process.env.VM_TOOLS_BENCH_READY_POLL_MS) || 0,
    }),
  // lima: async () => new (await import('./lima.js')).LimaDriver(),
  // smolvm: async () => new (await import('./smolvm.js')).SmolvmDriver(),
};

export async function driverFor(backend: Backend): Promise<VmDriver> {
  const load = LOADERS[backend];
  if (!load) throw new VmError('unavailable', `${backend} driver not built`);
  return load();
}
