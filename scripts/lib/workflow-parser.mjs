// GitHub's own parser for workflows and action files (the library behind the
// Actions language service): schema errors a YAML lint cannot see.
import { register } from 'node:module';

register('./json-hook.mjs', import.meta.url);
const { parseWorkflow, convertWorkflowTemplate, NoOperationTraceWriter } = await import(
  '@actions/workflow-parser'
);
const { parseAction } = await import('@actions/workflow-parser/actions/action-parser');

const trace = new NoOperationTraceWriter();
const messages = (context) => context.errors.getErrors().map((e) => e.message);

/** Errors GitHub's parser reports for one workflow file (parse, then convert). */
export async function workflowErrors(name, content) {
  const parsed = parseWorkflow({ name, content }, trace);
  if (parsed.value === undefined) return messages(parsed.context);
  await convertWorkflowTemplate(parsed.context, parsed.value);
  return messages(parsed.context);
}

/** Errors GitHub's parser reports for one action.yml. */
export function actionErrors(name, content) {
  return messages(parseAction({ name, content }, trace).context);
}
