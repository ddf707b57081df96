import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as core from '@actions/core';
import { errorMessage } from '../lib/command/errors.js';
import { writeLauncher } from '../lib/launcher.js';
import { VERSION } from '../version.js';

try {
  const here = dirname(fileURLToPath(import.meta.url));
  const binDir = join(process.env.RUNNER_TEMP ?? join(here, '..', '..', '.tmp'), 'vm-tools', 'bin');
  await writeLauncher(binDir, process.execPath, join(here, '..', 'cli', 'index.js'));
  core.addPath(binDir);
  core.setOutput('version', VERSION);
  core.info(`vm-tools ${VERSION} is on PATH (${binDir})`);
} catch (error) {
  core.setFailed(errorMessage(error));
}
