import { spawn } from 'node:child_process';
import { VmError } from './driver.js';

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a host tool to completion; a non-zero exit is a VmError unless `allowFailure`. */
export function runTool(
  file: string,
  args: readonly string[],
  options: { cwd?: string; allowFailure?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env ?? { ...process.env, LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(
        new VmError(
          'unavailable',
          error.code === 'ENOENT'
            ? `${file} is not installed (not on PATH)`
            : `${file}: ${error.message}`,
          {
            cause: error,
          },
        ),
      ),
    );
    child.on('close', (code, signal) => {
      const result = { code: code ?? 128, stdout, stderr };
      if (code !== 0 && !options.allowFailure)
        reject(
          new VmError(
            'unavailable',
            `${file} ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${stderr.trim().split('\n').slice(-5).join(' | ')}`,
          ),
        );
      else resolve(result);
    });
  });
}
