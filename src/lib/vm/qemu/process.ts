/** Finding and ending a daemonized qemu by its work directory, never by name alone. */
import { readdir, readFile } from 'node:fs/promises';

async function cmdline(pid: number): Promise<string | undefined> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'latin1')).replaceAll('\0', ' ');
  } catch {
    return undefined;
  }
}

/** True when `pid` is a qemu started with this work directory's pidfile (pids get reused). */
export async function isOurQemu(pid: number, pidFile: string): Promise<boolean> {
  const line = await cmdline(pid);
  return line?.includes('qemu-system') === true && line.includes(` -pidfile ${pidFile}`);
}

/**
 * The qemu owning `pidFile`: from the pidfile when qemu wrote it, else by scanning
 * /proc (a start killed before the pidfile existed still left a qemu behind).
 */
export async function findQemu(pidFile: string, hint?: number): Promise<number | undefined> {
  const candidates: number[] = [];
  if (hint) candidates.push(hint);
  const fromFile = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
  if (fromFile) candidates.push(fromFile);
  for (const pid of candidates) if (await isOurQemu(pid, pidFile)) return pid;
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    const pid = Number(entry);
    if (pid && (await isOurQemu(pid, pidFile))) return pid;
  }
  return undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** SIGTERM (qemu exits cleanly on it), SIGKILL after `graceMs`; resolves once the pid is gone. */
export async function killQemu(
  pid: number,
  options: { graceMs?: number; sleep?: (ms: number) => Promise<void> } = {},
): Promise<void> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const graceMs = options.graceMs ?? 5_000;
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(pid, name);
    } catch {}
  };
  signal('SIGTERM');
  // Not our child (qemu daemonized), so there is no exit event to wait for.
  for (let waited = 0; alive(pid); waited += 20) {
    if (waited >= graceMs) signal('SIGKILL');
    if (waited >= graceMs + 5_000) throw new Error(`qemu pid ${pid} did not exit after SIGKILL`);
    await sleep(20);
  }
}
