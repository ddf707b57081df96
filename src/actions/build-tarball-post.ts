import command from '../commands/build-tarball.js';
import { runPost } from '../lib/command/action.js';

await runPost(command);
