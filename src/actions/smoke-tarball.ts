import command from '../commands/smoke-tarball.js';
import { runAction } from '../lib/command/action.js';

await runAction(command);
