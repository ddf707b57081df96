import command from '../commands/hydrate-cache.js';
import { runAction } from '../lib/command/action.js';

await runAction(command);
