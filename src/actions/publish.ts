import command from '../commands/publish.js';
import { runAction } from '../lib/command/action.js';

await runAction(command);
