import command from '../commands/smoke-tarball.js';
import { runPost } from '../lib/command/action.js';

await runPost(command);
