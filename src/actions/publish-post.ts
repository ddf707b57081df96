import command from '../commands/publish.js';
import { runPost } from '../lib/command/action.js';

await runPost(command);
