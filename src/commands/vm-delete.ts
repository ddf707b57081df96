import { defineCommand } from '../lib/command/types.js';
import { deleteVm } from '../lib/vm/delete.js';
import {
  NAME_INPUT,
  nameInput,
  resolveStateDir,
  STATE_DIR_INPUT,
  stateDirInput,
} from './shared/vm-inputs.js';

export default defineCommand({
  name: 'vm-delete',
  description:
    'Stops and deletes a VM started by boot-vm and everything made for it; a missing VM is not an error.',
  inputs: { name: NAME_INPUT, 'state-dir': STATE_DIR_INPUT },
  outputs: { deleted: 'true when there was a VM to delete.' },
  parse(read) {
    return { name: nameInput(read), stateDir: stateDirInput(read) };
  },
  async run(inputs, ctx) {
    const dir = resolveStateDir(inputs.stateDir, ctx.env);
    if (!(await deleteVm(dir, inputs.name))) {
      ctx.log.info(`no VM named ${inputs.name} in ${dir}`);
      return { outputs: { deleted: 'false' } };
    }
    ctx.log.info(`deleted VM ${inputs.name}`);
    return { outputs: { deleted: 'true' } };
  },
});
