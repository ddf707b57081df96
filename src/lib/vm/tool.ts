import { VmError } from './driver.js';
import { lastWords, runTool as runToolTails } from './tool-process.js';

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a host tool to completion (the guest build's apt, dpkg, depmod …) in the C
 * locale; a non-zero exit is a VmError unless `allowFailure`. Output tails are
 * bounded by the same runner the Lima and smolvm drivers use.
 */
export async function runTool(
  file: string,
  args: readonly string[],
  options: { cwd?: string; allowFailure?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<ToolResult> {
  const run = await runToolTails(file, args, {
    env: options.env ?? { ...process.env, LC_ALL: 'C' },
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  if (run.exitCode !== 0 && !options.allowFailure)
    throw new VmError('unavailable', `${file} ${args.join(' ')} failed: ${lastWords(run)}`);
  return {
    code: run.exitCode,
    stdout: run.stdout.toString('utf8'),
    stderr: run.stderr.toString('utf8'),
  };
}
