// @actions/workflow-parser imports its JSON schemas without an import attribute,
// which plain Node refuses; this load hook marks `.json` modules as JSON.
export async function load(url, context, nextLoad) {
  if (url.endsWith('.json'))
    return nextLoad(url, { ...context, importAttributes: { type: 'json' } });
  return nextLoad(url, context);
}
