import { resolve } from 'node:path';
import { InputError } from '../lib/command/errors.js';
import { required } from '../lib/command/inputs.js';
import { defineCommand } from '../lib/command/types.js';
import { driverFor } from '../lib/vm/drivers.js';
import { loadHandle } from '../lib/vm/state.js';
import {
  asInputAsync,
  NAME_INPUT,
  nameInput,
  resolveStateDir,
  STATE_DIR_INPUT,
  stateDirInput,
} from './shared/vm-inputs.js';

export default defineCommand({
  name: 'vm-copy-in',
  description: 'Copies a host file into a VM started by boot-vm (sha256 checked in the guest).',
  inputs: {
    name: NAME_INPUT,
    source: { description: 'The host file.', required: true },
    dest: {
      description: 'The absolute guest path (parent directories are created).',
      required: true,
    },
    'state-dir': STATE_DIR_INPUT,
  },
  outputs: {},
  parse(read) {
    const dest = required(read, 'dest', 'an absolute guest path');
    if (!dest.startsWith('/'))
      throw new InputError(`Input "dest" must be an absolute guest path; got "${dest}".`);
    return {
      name: nameInput(read),
      source: required(read, 'source', 'a host file'),
      dest,
      stateDir: stateDirInput(read),
    };
  },
  async run(inputs, ctx) {
    const handle = await asInputAsync(() =>
      loadHandle(resolveStateDir(inputs.stateDir, ctx.env), inputs.name),
    );
    await (await driverFor(handle.backend)).copyIn(
      handle,
      resolve(ctx.cwd, inputs.source),
      inputs.dest,
    );
    ctx.log.info(`copied ${inputs.source} to ${inputs.name}:${inputs.dest}`);
    return { outputs: {} };
  },
});
