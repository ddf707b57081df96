import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { interpolate, runComposite, runSteps, type StandIn } from './composite.js';
import { ROOT, runActionBundle } from './runner.js';

/**
 * Runs one job of a workflow in this repository the way a runner would run it
 * on its own machine: the contexts a job sees (inputs with their declared
 * defaults, matrix, needs, secrets), its steps through runSteps, `uses:` of this
 * repository's actions run from their built bundles (or as composites), and the
 * job's outputs evaluated at the end. Third-party actions are stand-ins.
 */

interface Job {
  outputs?: Record<string, string>;
  steps: Parameters<typeof runSteps>[0];
}
interface Workflow {
  on: { workflow_call?: { inputs?: Record<string, { default?: unknown }> } };
  jobs: Record<string, Job>;
}

export interface JobOptions {
  cwd: string;
  inputs?: Record<string, unknown>;
  matrix?: Record<string, unknown>;
  needs?: Record<string, { outputs: Record<string, string>; result: string }>;
  secrets?: Record<string, string>;
  env?: Record<string, string>;
  standIns?: Record<string, StandIn>;
}

export interface JobRun {
  exitCode: number;
  outputs: Record<string, string>;
  steps: { id: string; outcome: string }[];
  stdout: string;
  stderr: string;
}

/** `./actions/x` or `./.vm-tools/actions/x` (this repository checked out beside the caller's). */
export function localAction(uses: string): string | undefined {
  return /^\.\/(?:\.vm-tools\/)?actions\/([a-z-]+)$/.exec(uses)?.[1];
}

export async function runWorkflowJob(
  file: string,
  jobName: string,
  options: JobOptions,
): Promise<JobRun> {
  const workflow = parseYaml(readFileSync(join(ROOT, file), 'utf8')) as Workflow;
  const job = workflow.jobs[jobName];
  if (!job) throw new Error(`${file} has no job ${jobName}`);
  const inputs: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(workflow.on.workflow_call?.inputs ?? {}))
    inputs[name] = def.default ?? '';
  Object.assign(inputs, options.inputs);
  const scope = {
    inputs,
    matrix: options.matrix ?? {},
    needs: options.needs ?? {},
    secrets: options.secrets ?? {},
    github: { workspace: options.cwd },
    job: { status: 'success' },
    env: options.env ?? {},
  };
  const local = async (
    uses: string,
    given: Record<string, string>,
    env: Record<string, string>,
  ) => {
    const name = localAction(uses);
    if (!name) return undefined;
    const yml = readFileSync(join(ROOT, 'actions', name, 'action.yml'), 'utf8');
    if (/using:\s*composite/.test(yml)) {
      const run = await runComposite(name, {
        cwd: options.cwd,
        inputs: given,
        env,
        ...(options.standIns ? { standIns: options.standIns } : {}),
      });
      return { ok: run.exitCode === 0, outputs: run.outputs, log: run.stdout + run.stderr };
    }
    const run = await runActionBundle(name, { inputs: given, cwd: options.cwd, env });
    return { ok: run.exitCode === 0, outputs: run.outputs, log: run.stdout + run.stderr };
  };
  const run = await runSteps(job.steps, scope, {
    cwd: options.cwd,
    env: options.env ?? {},
    local,
    ...(options.standIns ? { standIns: options.standIns } : {}),
  });
  const outputs: Record<string, string> = {};
  const context = { ...scope, steps: run.record };
  for (const [name, value] of Object.entries(job.outputs ?? {}))
    outputs[name] = interpolate(value, context, run.exitCode !== 0);
  return {
    exitCode: run.exitCode,
    outputs,
    steps: run.steps,
    stdout: run.stdout,
    stderr: run.stderr,
  };
}
