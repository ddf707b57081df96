import { readFile } from 'node:fs/promises';
import { processCleanups } from '../cleanup.js';
import { invoke } from '../command/invoke.js';
import type { Command, Context } from '../command/types.js';
import { deleteVm } from '../vm/delete.js';
import { driverFor } from '../vm/drivers.js';
import { guestHttpGet } from '../vm/guest/http-get.js';
import { loadHandle } from '../vm/state.js';

/** What the release's VM step saw. */
export interface SandboxReport {
  name: string;
  accel: string;
  bootMs: number;
  /** The guest fetched the published manifest through its one allowed endpoint, byte for byte. */
  fetchedManifest: boolean;
  /** The host's loopback (the guest's gateway, the same port) stayed unreachable from the guest. */
  hostLoopbackRefused: boolean;
  /** The sandbox-escape gate's verdict on this VM, its probe count and escapes. */
  gate: { verdict: string; probes: number; escapes: number; report: string; failure?: string };
}

export interface SandboxOptions {
  boot: Command<unknown>;
  gate: Command<unknown>;
  /** The file the release's HTTP server logs request paths to (the gate's control evidence). */
  controlLog: string;
  /** Where the gate's JSON report goes. */
  gateReport: string;
  name: string;
  stateDir: string;
  /** The release's HTTP server on the host: the only endpoint the guest may reach. */
  server: { host: string; port: number };
  /** Path of the manifest on that server, and the sha256 the guest must read. */
  manifestPath: string;
  manifestSha256: string;
}

/** In the guest: the body's sha256 (headers dropped) of an HTTP GET through busybox nc. */
const fetchSha256 = (address: string, port: number, path: string) =>
  guestHttpGet(address, port, path, "sed '1,/^\\r$/d' | sha256sum");

/**
 * Boots the default guest (boot-vm, the same command the action runs) allowed only
 * the release's HTTP server, reads the published manifest from inside it through
 * that endpoint, checks that the host's own loopback is not reachable, runs the
 * sandbox-escape gate on it (the same command as the action), and deletes the VM.
 */
export async function sandboxCheck(o: SandboxOptions, ctx: Context): Promise<SandboxReport> {
  const { name, stateDir } = o;
  const remove = async () => {
    if (await deleteVm(stateDir, name)) ctx.log.info(`deleted VM ${name}`);
  };
  // A VM that came up is this step's to delete, also when the run is cancelled.
  const tracked = processCleanups.track({ kind: 'vm', name, stateDir }, remove);
  try {
    const { outputs } = await invoke(
      o.boot,
      { name, allow: `${o.server.host}:${o.server.port}`, 'state-dir': stateDir, keep: 'true' },
      ctx,
    );
    const handle = await loadHandle(stateDir, name);
    const driver = await driverFor(handle.backend);
    const read = async (address: string) => {
      const run = await driver.exec(handle, fetchSha256(address, o.server.port, o.manifestPath), {
        timeoutMs: 30_000,
      });
      return run.stdout.toString('utf8').split(/\s/)[0] ?? '';
    };
    // Where the guest reaches the release's server, and where it would reach the host itself.
    const network = driver.guestNetwork(handle, [o.server]);
    const allowed = await read(network.forwards[0]?.guestAddress ?? '');
    const loopback = await read(network.gateway);
    const empty = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
    const allow = `${o.server.host}:${o.server.port}`;
    const gate = await ctx.log.group('sandbox-gate', () =>
      invoke(
        o.gate,
        { name, allow, 'state-dir': stateDir, 'control-log': o.controlLog, report: o.gateReport },
        ctx,
      ),
    );
    const report = JSON.parse(await readFile(o.gateReport, 'utf8')) as { probes: unknown[] };
    return {
      name,
      accel: outputs.accel ?? '',
      bootMs: Number(outputs['boot-ms']),
      fetchedManifest: allowed === o.manifestSha256,
      hostLoopbackRefused: loopback === empty,
      gate: {
        verdict: gate.outputs.verdict ?? '',
        probes: report.probes.length,
        escapes: (JSON.parse(gate.outputs.escapes ?? '[]') as unknown[]).length,
        report: o.gateReport,
        ...(gate.failure ? { failure: gate.failure } : {}),
      },
    };
  } finally {
    await remove();
    tracked.release();
  }
}
