import command from '../commands/sandbox-gate.js';
import { runAction } from '../lib/command/action.js';

await runAction(command);
