import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { data, Evaluator, Lexer, Parser } from '@actions/expressions';
import type { FunctionDefinition } from '@actions/expressions/funcs/info';
import { truthy } from '@actions/expressions/result';
import { parse as parseYaml } from 'yaml';
import { parseFileCommands, ROOT } from './runner.js';

/**
 * Runs a composite action the way the runner does: `${{ }}` evaluated by GitHub's
 * own evaluator (@actions/expressions), an implicit `success() &&` on every `if:`
 * without a status function, `if: always()` honoured after a failing step, each
 * `run:` in `bash -e -o pipefail` with its own GITHUB_OUTPUT, GITHUB_ACTION_PATH
 * set, and the action's outputs mapped from its steps. Third-party `uses:` steps
 * are replaced by the caller's stand-ins (artifact upload becomes a directory).
 */

interface Step {
  id?: string;
  name?: string;
  if?: string;
  uses?: string;
  run?: string;
  shell?: string;
  env?: Record<string, string>;
  with?: Record<string, string>;
}
interface CompositeYml {
  inputs?: Record<string, { default?: string }>;
  outputs?: Record<string, { value: string }>;
  runs: { using: 'composite'; steps: Step[] };
}

export type StandIn = (
  inputs: Record<string, string>,
  env: Record<string, string>,
) => Promise<Record<string, string> | undefined>;

export interface CompositeOptions {
  inputs?: Record<string, string>;
  cwd?: string;
  env?: Record<string, string>;
  /** Stand-ins for third-party actions, by `owner/name` (the part before `@`). */
  standIns?: Record<string, StandIn>;
  timeoutMs?: number;
}

export interface CompositeRun {
  /** 0 when every step that ran succeeded. */
  exitCode: number;
  outputs: Record<string, string>;
  steps: { id: string; outcome: 'success' | 'failure' | 'skipped' }[];
  stdout: string;
  stderr: string;
}

const STATUS = ['success', 'failure', 'always', 'cancelled'];

function evaluate(expression: string, context: Record<string, unknown>, failed: boolean) {
  const fns = new Map<string, FunctionDefinition>(
    STATUS.map((name) => [
      name,
      {
        name,
        minArgs: 0,
        maxArgs: 0,
        call: () =>
          new data.BooleanData(
            name === 'always' ? true : name === 'success' ? !failed : name === 'failure' && failed,
          ),
      },
    ]),
  );
  const tokens = new Lexer(expression).lex().tokens;
  const parser = new Parser(tokens, Object.keys(context), [...fns.values()]);
  const ctx = JSON.parse(JSON.stringify(context), data.reviver) as data.Dictionary;
  return new Evaluator(parser.parse(), ctx, fns).evaluate();
}

/** Replaces each `${{ expr }}` in a string by its evaluated string form. */
function interpolate(text: string, context: Record<string, unknown>, failed: boolean): string {
  return text.replace(/\$\{\{(.*?)\}\}/gs, (_, expr: string) =>
    evaluate(expr, context, failed).coerceString(),
  );
}

function shouldRun(step: Step, context: Record<string, unknown>, failed: boolean): boolean {
  const raw = (step.if ?? '').trim().replace(/^\$\{\{(.*)\}\}$/s, '$1');
  if (!raw) return !failed;
  const hasStatus = STATUS.some((s) => new RegExp(`\\b${s}\\(\\)`).test(raw));
  const expression = hasStatus ? raw : `success() && (${raw})`;
  return truthy(evaluate(expression, context, failed));
}

function bash(
  script: string,
  env: Record<string, string>,
  cwd: string,
  timeoutMs: number,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn('bash', ['--noprofile', '--norc', '-e', '-o', 'pipefail', '-c', script], {
      cwd,
      env,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code: code ?? 1, stdout, stderr });
    });
  });
}

export interface StepsOptions {
  cwd: string;
  env: Record<string, string>;
  /** Stand-ins for third-party actions, by `owner/name` (the part before `@`). */
  standIns?: Record<string, StandIn>;
  /** Runs a `uses: ./…` step of this repository; undefined when it is not one. */
  local?: (
    uses: string,
    given: Record<string, string>,
    env: Record<string, string>,
  ) => Promise<{ ok: boolean; outputs: Record<string, string>; log: string } | undefined>;
  timeoutMs?: number;
}

type StepRecord = Record<string, { outputs: Record<string, string>; outcome: string }>;

/** Runs steps in order with the runner's status rules; `scope` holds the contexts (inputs, matrix …). */
export async function runSteps(
  list: Step[],
  scope: Record<string, unknown>,
  options: StepsOptions,
): Promise<CompositeRun & { record: StepRecord }> {
  const files = await mkdtemp(join(tmpdir(), 'vmt-steps-'));
  const record: StepRecord = {};
  const context = () => ({ ...scope, steps: record, runner: { temp: files, os: 'Linux' } });
  // The runner's node comes first on PATH: the project's pinned Node 24.
  const baseEnv: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PATH: `${dirname(process.execPath)}:${process.env.PATH}`,
    GITHUB_ACTIONS: 'true',
    RUNNER_TEMP: files,
    ...options.env,
  };
  const run = {
    exitCode: 0,
    outputs: {},
    steps: [],
    stdout: '',
    stderr: '',
    record,
  } as CompositeRun & {
    record: StepRecord;
  };
  let failed = false;
  for (const [index, step] of list.entries()) {
    const id = step.id ?? `__step${index}`;
    if (!shouldRun(step, context(), failed)) {
      record[id] = { outputs: {}, outcome: 'skipped' };
      run.steps.push({ id, outcome: 'skipped' });
      continue;
    }
    const env = { ...baseEnv };
    for (const [k, v] of Object.entries(step.env ?? {}))
      env[k] = interpolate(String(v), context(), failed);
    let outputs: Record<string, string> = {};
    let ok = true;
    if (step.run !== undefined) {
      const outputFile = join(files, `output-${index}`);
      await writeFile(outputFile, '');
      env.GITHUB_OUTPUT = outputFile;
      const result = await bash(
        interpolate(step.run, context(), failed),
        env,
        options.cwd,
        options.timeoutMs ?? 120_000,
      );
      run.stdout += result.stdout;
      run.stderr += result.stderr;
      ok = result.code === 0;
      outputs = parseFileCommands(await readFile(outputFile, 'utf8'));
    } else if (step.uses) {
      const given: Record<string, string> = {};
      for (const [k, v] of Object.entries(step.with ?? {}))
        given[k] = interpolate(String(v), context(), failed);
      const local = await options.local?.(step.uses, given, env);
      if (local) {
        ({ ok, outputs } = local);
        run.stderr += local.log;
      } else {
        const standIn = options.standIns?.[step.uses.split('@')[0] as string];
        if (!standIn) throw new Error(`no stand-in for ${step.uses}`);
        try {
          outputs = (await standIn(given, env)) ?? {};
        } catch (error) {
          run.stderr += `${(error as Error).message}\n`;
          ok = false;
        }
      }
    }
    record[id] = { outputs, outcome: ok ? 'success' : 'failure' };
    run.steps.push({ id, outcome: ok ? 'success' : 'failure' });
    if (!ok) failed = true;
  }
  run.exitCode = failed ? 1 : 0;
  return run;
}

export async function runComposite(
  name: string,
  options: CompositeOptions = {},
): Promise<CompositeRun> {
  const actionPath = join(ROOT, 'actions', name);
  const meta = parseYaml(await readFile(join(actionPath, 'action.yml'), 'utf8')) as CompositeYml;
  if (meta.runs.using !== 'composite') throw new Error(`actions/${name} is not a composite`);
  const inputs: Record<string, string> = {};
  for (const [input, def] of Object.entries(meta.inputs ?? {}))
    inputs[input] = def.default === undefined ? '' : String(def.default);
  Object.assign(inputs, options.inputs);
  const cwd = options.cwd ?? ROOT;
  const scope = {
    inputs,
    github: { action_path: actionPath, workspace: cwd },
    env: options.env ?? {},
  };
  const run = await runSteps(meta.runs.steps, scope, {
    cwd,
    env: { GITHUB_ACTION_PATH: actionPath, ...options.env },
    ...(options.standIns ? { standIns: options.standIns } : {}),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });
  const context = { ...scope, steps: run.record };
  for (const [output, def] of Object.entries(meta.outputs ?? {}))
    run.outputs[output] = interpolate(def.value, context, run.exitCode !== 0);
  const { record: _, ...result } = run;
  return result;
}

export { interpolate };
