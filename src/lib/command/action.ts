import * as core from '@actions/core';
import { LEFTOVERS_STATE, processCleanups } from '../cleanup.js';
import { errorMessage } from './errors.js';
import { gateHtml, gateText, redactUrls } from './output-gate.js';
import { makeReader, secretValues } from './reader.js';
import type { Command, Context, Summary } from './types.js';

/** The GitHub runner adapter: inputs from INPUT_*, outputs, summary, state, failure. */
function actionContext(): Context {
  return {
    log: {
      // core.info prints raw; the others escape newlines, but all are redacted alike.
      info: (m) => core.info(gateText(m)),
      warning: (m) => core.warning(gateText(m)),
      debug: (m) => core.debug(gateText(m)),
      group: (title, fn) => core.group(gateText(title), fn),
    },
    env: process.env,
    cwd: process.cwd(),
    maskSecret: (v) => core.setSecret(v),
    saveState: (name, value) => core.saveState(name, value),
    getState: (name) => core.getState(name),
  };
}

async function writeSummary(summary: Summary): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  // core.summary writes its arguments into HTML as they are.
  core.summary.addHeading(gateHtml(summary.heading), 3);
  for (const line of summary.lines ?? []) core.summary.addRaw(gateHtml(line), true);
  if (summary.table) {
    core.summary.addTable([
      summary.table.header.map((data) => ({ data: gateHtml(data), header: true })),
      ...summary.table.rows.map((row) => row.map(gateHtml)),
    ]);
  }
  await core.summary.write();
}

const rawInput = (name: string) => core.getInput(name, { trimWhitespace: false });

export async function runAction(cmd: Command<unknown>): Promise<void> {
  // What the step creates is saved for `post` the moment it exists: after a
  // SIGKILL nothing in this process runs any more.
  processCleanups.setStateSink((leftovers) =>
    core.saveState(LEFTOVERS_STATE, JSON.stringify(leftovers)),
  );
  const stopHandling = processCleanups.handleSignals({
    log: (m) => core.info(m),
    exit: (code) => process.exit(code),
  });
  try {
    for (const secret of secretValues(cmd, rawInput, process.env)) core.setSecret(secret);
    const inputs = cmd.parse(makeReader(cmd, rawInput, process.env));
    const result = await cmd.run(inputs, actionContext());
    for (const [name, value] of Object.entries(result.outputs))
      core.setOutput(name, redactUrls(value));
    if (result.summary) await writeSummary(result.summary);
    if (result.failure) core.setFailed(gateText(result.failure));
  } catch (error) {
    core.setFailed(gateText(errorMessage(error)));
  } finally {
    stopHandling();
  }
}

/**
 * The `post` step gets the same inputs as main (the runner passes them again):
 * it needs them to reach what main created (the podman transport, the store).
 * Inputs that do not parse mean main stopped before any side effect.
 */
export async function runPost(cmd: Command<unknown>): Promise<void> {
  try {
    for (const secret of secretValues(cmd, rawInput, process.env)) core.setSecret(secret);
    let inputs: unknown;
    try {
      inputs = cmd.parse(makeReader(cmd, rawInput, process.env));
    } catch {
      inputs = undefined;
    }
    await cmd.post?.(actionContext(), inputs);
  } catch (error) {
    // A cleanup that did not happen leaves something running: the step must say so loudly.
    core.setFailed(gateText(`cleanup failed: ${errorMessage(error)}`));
  }
}
