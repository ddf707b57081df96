import command from '../commands/boot-vm.js';
import { runAction } from '../lib/command/action.js';

await runAction(command);
