import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { processCleanups } from '../lib/cleanup.js';
import { InputError } from '../lib/command/errors.js';
import { integer, list, optional } from '../lib/command/inputs.js';
import { defineCommand } from '../lib/command/types.js';
import { TOKEN_PATTERN } from '../lib/gate/canaries.js';
import { type GateRun, runGate } from '../lib/gate/gate.js';
import { driverFor } from '../lib/vm/drivers.js';
import { parseAllow } from '../lib/vm/spec.js';
import { loadHandle } from '../lib/vm/state.js';
import {
  asInput,
  asInputAsync,
  NAME_INPUT,
  nameInput,
  resolveStateDir,
  STATE_DIR_INPUT,
  stateDirInput,
} from './shared/vm-inputs.js';

function parse(read: (name: string) => string | undefined) {
  const allow = asInput(() => parseAllow(list(read, 'allow')));
  if (allow.length === 0)
    throw new InputError(
      'Input "allow" is required: the endpoints the guest must reach (the positive controls), HOST:PORT one per line.',
    );
  return {
    name: nameInput(read),
    allow,
    controlLog: optional(read, 'control-log'),
    report: optional(read, 'report'),
    runtime: optional(read, 'runtime'),
    waitS: integer(read, 'wait', { min: 1, max: 60, fallback: 3 }),
    stateDir: stateDirInput(read),
  };
}

type Inputs = ReturnType<typeof parse>;

function summaryRows(run: GateRun): string[][] {
  return run.rows.map((r) => [
    r.probe,
    `${r.kind} ${r.address} (${r.target})`,
    r.expected,
    r.guest,
    r.evidence,
    r.verdict,
  ]);
}

export default defineCommand({
  name: 'sandbox-gate',
  description:
    'Probes a VM started by boot-vm from inside for ways out (host loopback, other ports, UDP/DNS, metadata, forwards not allowed); the host judges from its own canaries. Fails on fail and broken.',
  inputs: {
    name: NAME_INPUT,
    allow: {
      description:
        'The endpoints the guest must reach (positive controls), HOST:PORT one per line, as given to boot-vm.',
      multiline: true,
      required: true,
    },
    'control-log': {
      description:
        "A file the allowed endpoint logs its requests to: each control's token must appear there (without it only the guest vouches for the controls).",
    },
    report: {
      description:
        'Where the JSON report goes (default $RUNNER_TEMP/vm-tools-gate-NAME.json, else the temp dir).',
    },
    runtime: {
      description:
        "Host path of a static busybox for the guest's arch, copied in to run the probes (default /bin/busybox, from busybox-static).",
    },
    wait: { description: 'Seconds each probe waits for an answer.', default: '3' },
    'state-dir': STATE_DIR_INPUT,
  },
  outputs: {
    verdict: 'pass, fail (something escaped) or broken (the gate could not judge).',
    escapes: 'JSON array of the escapes: probe, target, address, evidence (canary, token, peer).',
    report: 'Path of the JSON report (every probe, the canaries, the guest output).',
  },
  parse,
  async run(inputs: Inputs, ctx) {
    const stateDir = resolveStateDir(inputs.stateDir, ctx.env);
    const handle = await asInputAsync(() => loadHandle(stateDir, inputs.name));
    const driver = await driverFor(handle.backend);
    const controlLog = inputs.controlLog && resolve(ctx.cwd, inputs.controlLog);
    const scratch = await mkdtemp(join(tmpdir(), 'vm-tools-gate-'));
    const tracked = processCleanups.track({ kind: 'file', path: scratch }, () =>
      rm(scratch, { recursive: true, force: true }),
    );
    let run: GateRun;
    try {
      run = await runGate({
        driver,
        handle,
        allow: inputs.allow,
        tempDir: scratch,
        waitS: inputs.waitS,
        // bench/gate.mjs's baseline (never an input): the same probes one after another.
        sequential: ctx.env.VM_TOOLS_BENCH_GATE_SEQUENTIAL === '1',
        ...(inputs.runtime ? { runtime: resolve(ctx.cwd, inputs.runtime) } : {}),
        ...(controlLog
          ? {
              controlTokens: async () =>
                [...(await readFile(controlLog, 'latin1')).matchAll(TOKEN_PATTERN)].map(
                  (m) => m[0],
                ),
            }
          : {}),
        log: (line) => ctx.log.info(line),
      });
    } finally {
      await rm(scratch, { recursive: true, force: true });
      tracked.release();
    }
    const reportPath = resolve(
      ctx.cwd,
      inputs.report ?? join(ctx.env.RUNNER_TEMP ?? tmpdir(), `vm-tools-gate-${inputs.name}.json`),
    );
    await mkdir(dirname(reportPath), { recursive: true });
    await writeFile(
      reportPath,
      `${JSON.stringify({ vm: inputs.name, backend: handle.backend, ...run }, null, 2)}\n`,
    );
    for (const p of run.problems) ctx.log.warning(p);
    for (const e of run.escapes)
      ctx.log.warning(`escape: ${e.probe} ${e.address} (${e.target}): ${e.evidence}`);
    const outcome =
      run.verdict === 'fail'
        ? `sandbox gate: fail, ${run.escapes.length} escape(s): ${run.escapes.map((e) => `${e.address} (${e.target}): ${e.evidence}`).join('; ')}`
        : run.verdict === 'broken'
          ? `sandbox gate: broken, the gate could not judge: ${run.problems.join('; ')}`
          : undefined;
    return {
      outputs: { verdict: run.verdict, escapes: JSON.stringify(run.escapes), report: reportPath },
      summary: {
        heading: `Sandbox gate: ${run.verdict}`,
        lines: [
          `VM ${inputs.name}: ${run.probes.length} probes in ${Math.round(run.probeMs)} ms (gate ${Math.round(run.durationMs)} ms); report ${reportPath}`,
          ...run.problems.map((p) => `problem: ${p}`),
        ],
        table: {
          header: ['Probe', 'Target', 'Expected', 'Guest result', 'Host evidence', 'Verdict'],
          rows: summaryRows(run),
        },
      },
      ...(outcome ? { failure: outcome } : {}),
    };
  },
});
