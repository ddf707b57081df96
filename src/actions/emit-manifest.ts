import command from '../commands/emit-manifest.js';
import { runAction } from '../lib/command/action.js';

await runAction(command);
