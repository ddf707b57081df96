import command from '../commands/build-tarball.js';
import { runAction } from '../lib/command/action.js';

await runAction(command);
