import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

export const ROOT = resolve(import.meta.dirname, '..', '..');

export interface ActionRun {
  exitCode: number;
  outputs: Record<string, string>;
  /** State saved for the post step (GITHUB_STATE). */
  state: Record<string, string>;
  summary: string;
  stdout: string;
  stderr: string;
  /** The `::error::` messages, in order. */
  errors: string[];
  warnings: string[];
  /** Directories the step added to PATH (GITHUB_PATH), in order. */
  path: string[];
  /** Variables the step exported for later steps (GITHUB_ENV). */
  exportedEnv: Record<string, string>;
  durationMs: number;
}

export interface RunOptions {
  inputs?: Record<string, string>;
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** `main` (default) or `post` (pass the state a main run saved). */
  phase?: 'main' | 'post';
  state?: Record<string, string>;
  timeoutMs?: number;
  /** The action.yml to read defaults and entry points from (default: actions/<name>/action.yml). */
  actionYml?: string;
}

/** Parses the GitHub file-command format: `name=value` lines and `name<<DELIM` heredocs. */
export function parseFileCommands(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delim] = heredoc as unknown as [string, string, string];
      const body: string[] = [];
      for (i++; i < lines.length && lines[i] !== delim; i++) body.push(lines[i] as string);
      out[name] = body.join('\n');
    } else if (line.includes('=')) {
      const eq = line.indexOf('=');
      out[line.slice(0, eq)] = line.slice(eq + 1);
    }
  }
  return out;
}

interface ActionMeta {
  inputs?: Record<string, { default?: unknown }>;
  runs: { using: string; main: string; post?: string };
}

/**
 * Runs a built action bundle the way the runner does: defaults from action.yml,
 * `INPUT_<NAME>` (upper-cased, hyphens kept), GITHUB_OUTPUT / GITHUB_STATE /
 * GITHUB_STEP_SUMMARY files, and `STATE_<name>` for the post step.
 */
export async function runActionBundle(name: string, options: RunOptions = {}): Promise<ActionRun> {
  const ymlPath = options.actionYml ?? join(ROOT, 'actions', name, 'action.yml');
  const meta = parseYaml(await readFile(ymlPath, 'utf8')) as ActionMeta;
  const entry = options.phase === 'post' ? meta.runs.post : meta.runs.main;
  if (!entry) throw new Error(`${ymlPath} has no ${options.phase ?? 'main'} entry`);
  const files = await mkdtemp(join(tmpdir(), 'vm-tools-runner-'));
  const paths = {
    GITHUB_OUTPUT: join(files, 'output'),
    GITHUB_STATE: join(files, 'state'),
    GITHUB_STEP_SUMMARY: join(files, 'summary'),
    GITHUB_ENV: join(files, 'env'),
    GITHUB_PATH: join(files, 'path'),
  };
  for (const path of Object.values(paths)) await writeFile(path, '');
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('INPUT_') && !key.startsWith('STATE_'))
      env[key] = value;
  }
  for (const [input, def] of Object.entries(meta.inputs ?? {})) {
    if (def.default !== undefined)
      env[`INPUT_${input.replaceAll(' ', '_').toUpperCase()}`] = String(def.default);
  }
  for (const [input, value] of Object.entries(options.inputs ?? {})) {
    env[`INPUT_${input.replaceAll(' ', '_').toUpperCase()}`] = value;
  }
  for (const [key, value] of Object.entries(options.state ?? {})) env[`STATE_${key}`] = value;
  Object.assign(env, paths, { GITHUB_ACTIONS: 'true', RUNNER_TEMP: files, CI: 'true' });
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  const started = performance.now();
  const script = resolve(join(ymlPath, '..'), entry);
  const { exitCode, stdout, stderr } = await new Promise<{
    exitCode: number;
    stdout: string;
    stderr: string;
  }>((done, fail) => {
    const child = spawn(process.execPath, [script], {
      cwd: options.cwd ?? ROOT,
      env,
      stdio: 'pipe',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', fail);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ exitCode: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
  const durationMs = performance.now() - started;
  const read = (path: string) => readFile(path, 'utf8');
  const result: ActionRun = {
    exitCode,
    outputs: parseFileCommands(await read(paths.GITHUB_OUTPUT)),
    state: parseFileCommands(await read(paths.GITHUB_STATE)),
    summary: await read(paths.GITHUB_STEP_SUMMARY),
    path: (await read(paths.GITHUB_PATH)).split('\n').filter(Boolean),
    exportedEnv: parseFileCommands(await read(paths.GITHUB_ENV)),
    stdout,
    stderr,
    errors: stdout
      .split('\n')
      .filter((l) => l.startsWith('::error::'))
      .map((l) => decodeCommand(l.slice('::error::'.length))),
    warnings: stdout
      .split('\n')
      .filter((l) => l.startsWith('::warning::'))
      .map((l) => decodeCommand(l.slice('::warning::'.length))),
    durationMs,
  };
  await rm(files, { recursive: true, force: true });
  return result;
}

function decodeCommand(text: string): string {
  return text.replaceAll('%0A', '\n').replaceAll('%0D', '\r').replaceAll('%25', '%');
}

/** Runs the built CLI (`node dist/cli/index.js …`). */
export async function runCliBundle(
  args: string[],
  options: { cwd?: string; env?: Record<string, string | undefined>; timeoutMs?: number } = {},
): Promise<{ exitCode: number; stdout: string; stderr: string; outputs: Record<string, string> }> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...process.env, ...options.env })) {
    if (value !== undefined) env[key] = value;
  }
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'cli', 'index.js'), ...args], {
      cwd: options.cwd ?? ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', fail);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({
        exitCode: code ?? (signal ? 128 : 1),
        stdout,
        stderr,
        outputs: parseFileCommands(stdout),
      });
    });
  });
}
