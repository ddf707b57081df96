#!/usr/bin/env node
import bootVm from './commands/boot-vm.js';
import buildGuest from './commands/build-guest.js';
import buildTarball from './commands/build-tarball.js';
import download from './commands/download.js';
import emitManifest from './commands/emit-manifest.js';
import { hydrateCacheCli } from './commands/hydrate-cache.js';
import publish from './commands/publish.js';
import release from './commands/release.js';
import sandboxGate from './commands/sandbox-gate.js';
import smokeTarball from './commands/smoke-tarball.js';
import upload from './commands/upload.js';
import vmCopyIn from './commands/vm-copy-in.js';
import vmDelete from './commands/vm-delete.js';
import vmExec from './commands/vm-exec.js';
import vmStop from './commands/vm-stop.js';
import { processCleanups } from './lib/cleanup.js';
import { runCli } from './lib/command/cli.js';
import type { Command } from './lib/command/types.js';
import { VERSION } from './version.js';

/** Every command; each loads its heavy dependencies only when it runs. */
const COMMANDS: Command<unknown>[] = [
  buildTarball,
  smokeTarball,
  emitManifest,
  publish,
  upload,
  download,
  hydrateCacheCli as Command<unknown>,
  release,
  bootVm,
  vmExec,
  vmCopyIn,
  vmStop,
  vmDelete,
  buildGuest,
  sandboxGate,
];
const ALIASES: Record<string, string> = { 'cache-sync': 'hydrate-cache' };

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    `vm-tools ${VERSION}: build, smoke-test and publish agent tarballs; hydrate VM caches; boot the sandbox VM.`,
    '',
    'Usage: vm-tools <command> [flags]   (vm-tools <command> --help for its flags)',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.description}`),
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(help());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === 'version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === (ALIASES[name] ?? name));
  if (!command) {
    process.stderr.write(`error: unknown command "${name}"; run vm-tools --help for the list.\n`);
    return 2;
  }
  // Ctrl-C (or a CI runner cancelling a `run:` step) removes what the command created.
  const stopHandling = processCleanups.handleSignals({
    log: (m) => process.stderr.write(`${m}\n`),
    exit: (code) => process.exit(code),
  });
  try {
    return await runCli(command, rest, {
      stdout: (t) => process.stdout.write(t),
      stderr: (t) => process.stderr.write(t),
      env: process.env,
      cwd: process.cwd(),
    });
  } finally {
    stopHandling();
  }
}

process.exitCode = await main(process.argv.slice(2));
