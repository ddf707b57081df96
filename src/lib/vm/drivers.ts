/** The backend → driver map. Backends load lazily: a step pays only for the one it uses. */
import { type Backend, type VmDriver, VmError } from './driver.js';

type Loader = () => Promise<VmDriver>;

const LOADERS: Record<Backend, Loader> = {
  qemu: async () => new (await import('./qemu/driver.js')).QemuDriver(),
  lima: async () => new (await import('./lima.js')).LimaDriver(),
  smolvm: async () => new (await import('./smolvm.js')).SmolvmDriver(),
};

export async function driverFor(backend: Backend): Promise<VmDriver> {
  const load = LOADERS[backend];
  if (!load) throw new VmError('invalid', `unknown backend ${backend}: qemu, lima or smolvm`);
  return load();
}
