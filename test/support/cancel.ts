import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseFileCommands, ROOT } from './runner.js';

/**
 * A built action bundle (or the CLI) started the way the runner starts it, left
 * running so a test can cancel it mid-step like the runner does: SIGINT, or
 * SIGKILL followed by the post step with the state main saved.
 */
export interface RunningStep {
  child: ChildProcess;
  /** Everything printed so far (stdout + stderr). */
  output(): string;
  /** Resolves when the output matches (rejects when the process ends first or after timeoutMs). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Polls a condition until it holds (rejects when the process ends first or after timeoutMs). */
  waitUntil(check: () => Promise<boolean>, timeoutMs?: number): Promise<void>;
  /** Sends the signal; resolves with how the process ended. */
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The state main saved so far (GITHUB_STATE), last value per name wins like the runner. */
  state(): Promise<Record<string, string>>;
  dispose(): Promise<void>;
}

interface ActionMeta {
  inputs?: Record<string, { default?: unknown }>;
  runs: { main: string; post?: string };
}

function inputEnv(meta: ActionMeta, inputs: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [input, def] of Object.entries(meta.inputs ?? {})) {
    if (def.default !== undefined) env[`INPUT_${input.toUpperCase()}`] = String(def.default);
  }
  for (const [input, value] of Object.entries(inputs)) env[`INPUT_${input.toUpperCase()}`] = value;
  return env;
}

function baseEnv(extra: Record<string, string | undefined>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...process.env, ...extra })) {
    if (value !== undefined && !key.startsWith('INPUT_') && !key.startsWith('STATE_'))
      env[key] = value;
  }
  return env;
}

function track(child: ChildProcess, files: string | undefined): RunningStep {
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.on('close', (code, signal) => done({ code, signal })),
  );
  let over = false;
  void ended.then(() => (over = true));
  const waitUntil = async (check: () => Promise<boolean>, timeoutMs = 60_000) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      if (await check()) return;
      if (over) throw new Error(`the step ended before the condition held; output:\n${output}`);
      if (Date.now() > until) throw new Error(`timed out waiting; output:\n${output}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  return {
    child,
    output: () => output,
    waitFor: (pattern, timeoutMs) => waitUntil(async () => pattern.test(output), timeoutMs),
    waitUntil,
    kill: async (signal) => {
      child.kill(signal);
      return ended;
    },
    state: async () =>
      files ? parseFileCommands(await readFile(join(files, 'state'), 'utf8')) : {},
    dispose: async () => {
      if (!over) child.kill('SIGKILL');
      await ended;
      if (files) await rm(files, { recursive: true, force: true });
    },
  };
}

/** Starts `actions/<name>`'s main bundle with INPUT_* and the runner's file commands. */
export async function startAction(
  name: string,
  options: {
    inputs: Record<string, string>;
    env?: Record<string, string | undefined>;
    cwd?: string;
  },
): Promise<RunningStep> {
  const yml = join(ROOT, 'actions', name, 'action.yml');
  const meta = parseYaml(await readFile(yml, 'utf8')) as ActionMeta;
  const files = await mkdtemp(join(tmpdir(), 'vm-tools-cancel-'));
  for (const file of ['output', 'state', 'summary', 'env', 'path'])
    await writeFile(join(files, file), '');
  const env = {
    ...baseEnv(options.env ?? {}),
    ...inputEnv(meta, options.inputs),
    GITHUB_OUTPUT: join(files, 'output'),
    GITHUB_STATE: join(files, 'state'),
    GITHUB_STEP_SUMMARY: join(files, 'summary'),
    GITHUB_ENV: join(files, 'env'),
    GITHUB_PATH: join(files, 'path'),
    GITHUB_ACTIONS: 'true',
    RUNNER_TEMP: files,
  };
  const child = spawn(process.execPath, [resolve(join(yml, '..'), meta.runs.main)], {
    cwd: options.cwd ?? ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return track(child, files);
}

/** Starts `node dist/cli/index.js …`. */
export function startCli(
  args: string[],
  options: { env?: Record<string, string | undefined>; cwd?: string } = {},
): RunningStep {
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'cli', 'index.js'), ...args], {
    cwd: options.cwd ?? ROOT,
    env: baseEnv(options.env ?? {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return track(child, undefined);
}
