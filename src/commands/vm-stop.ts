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
  name: 'vm-stop',
  description:
    'Stops a VM started by boot-vm, keeping its state file (vm-delete removes everything).',
  inputs: { name: NAME_INPUT, 'state-dir': STATE_DIR_INPUT },
  outputs: {},
  parse(read) {
    return { name: nameInput(read), stateDir: stateDirInput(read) };
  },
  async run(inputs, ctx) {
    const handle = await asInputAsync(() =>
      loadHandle(resolveStateDir(inputs.stateDir, ctx.env), inputs.name),
    );
    await (await driverFor(handle.backend)).stop(handle);
    ctx.log.info(`stopped VM ${inputs.name}`);
    return { outputs: {} };
  },
});
