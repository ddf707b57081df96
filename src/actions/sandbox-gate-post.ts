import command from '../commands/sandbox-gate.js';
import { runPost } from '../lib/command/action.js';

await runPost(command);
