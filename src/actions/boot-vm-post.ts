import command from '../commands/boot-vm.js';
import { runPost } from '../lib/command/action.js';

await runPost(command);
