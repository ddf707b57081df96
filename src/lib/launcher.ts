import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface Launcher {
  binDir: string;
  files: string[];
}

/**
 * Writes a `vm-tools` launcher that runs the bundled CLI with a given Node (the
 * runner's own node24), so later `run:` steps can call any command.
 */
export async function writeLauncher(
  binDir: string,
  nodePath: string,
  cliPath: string,
): Promise<Launcher> {
  await mkdir(binDir, { recursive: true });
  const sh = join(binDir, 'vm-tools');
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  await writeFile(sh, `#!/bin/sh\nexec ${quote(nodePath)} ${quote(cliPath)} "$@"\n`);
  await chmod(sh, 0o755);
  const cmd = join(binDir, 'vm-tools.cmd');
  await writeFile(cmd, `@"${nodePath}" "${cliPath}" %*\r\n`);
  return { binDir, files: [sh, cmd] };
}
