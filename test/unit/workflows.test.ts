import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from '../support/runner.js';
import { localAction } from '../support/workflow-job.js';

/**
 * Rules over the parsed workflow and composite files that neither actionlint nor
 * GitHub's parser enforce: least privilege, SHA pins, the literal concurrency
 * prefix, and every reference resolving to something declared.
 */

type Json = Record<string, unknown>;
interface Step {
  id?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
  if?: string;
}
interface Job {
  needs?: string | string[];
  outputs?: Record<string, string>;
  steps?: Step[];
  uses?: string;
  with?: Record<string, unknown>;
  concurrency?: { group: string; 'cancel-in-progress': boolean };
  permissions?: unknown;
}
interface Workflow {
  on: Json;
  permissions?: unknown;
  jobs: Record<string, Job>;
}
interface ActionYml {
  inputs?: Record<string, { required?: boolean; default?: unknown }>;
  outputs?: Record<string, unknown>;
  runs: { using: string; steps?: Step[] };
}

const yamlIn = (dir: string) =>
  existsSync(join(ROOT, dir))
    ? readdirSync(join(ROOT, dir))
        .filter((f) => /\.ya?ml$/.test(f))
        .map((f) => join(dir, f))
    : [];
const readYaml = <T>(path: string) => parse(readFileSync(join(ROOT, path), 'utf8')) as T;
const workflowFiles = [...yamlIn('.github/workflows'), ...yamlIn('workflows')];
const actionNames = readdirSync(join(ROOT, 'actions')).filter((n) =>
  existsSync(join(ROOT, 'actions', n, 'action.yml')),
);
const actionYml = (name: string) => readYaml<ActionYml>(join('actions', name, 'action.yml'));
const composites = actionNames.filter((n) => actionYml(n).runs.using === 'composite');

/** Every `${{ … }}` expression in a value tree, as source text. */
function expressions(value: unknown): string[] {
  if (typeof value === 'string')
    return [...value.matchAll(/\$\{\{(.*?)\}\}/gs)].map((m) => m[1] ?? '');
  if (Array.isArray(value)) return value.flatMap(expressions);
  if (value && typeof value === 'object') return Object.values(value).flatMap(expressions);
  return [];
}
/** Context references like `inputs.x`, `steps.a.outputs.b` in a list of expressions (bare `if:` too). */
/** `${{ inner }}` as written in a workflow (a plain string would read as a JS template). */
const gh = (inner: string) => ['$', '{{ ', inner, ' }}'].join('');

const refs = (exprs: string[], pattern: RegExp) =>
  exprs.flatMap((e) => [...e.matchAll(pattern)].map((m) => m.slice(1)));

function checkUses(where: string, step: Step, given: Record<string, unknown> | undefined) {
  const uses = step.uses as string;
  const local = localAction(uses);
  if (local) {
    expect(actionNames, `${where}: ${uses} exists`).toContain(local);
    const declared = actionYml(local).inputs ?? {};
    for (const input of Object.keys(given ?? {}))
      expect(Object.keys(declared), `${where}: ${uses} has input ${input}`).toContain(input);
    for (const [input, def] of Object.entries(declared))
      if (def.required)
        expect(given ?? {}, `${where}: ${uses} needs ${input}`).toHaveProperty(input);
    return;
  }
  if (uses === './') {
    // The root setup action takes no inputs.
    expect(given, `${where}: the setup action`).toBeUndefined();
    return;
  }
  if (uses.startsWith('ORG/vm-tools/')) return;
  expect(uses, `${where}: third-party actions are pinned to a full commit SHA`).toMatch(
    /^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/,
  );
}

function lineOf(path: string, text: string): string {
  return (
    readFileSync(join(ROOT, path), 'utf8')
      .split('\n')
      .find((l) => l.includes(text)) ?? ''
  );
}

describe.each(workflowFiles)('%s', (file) => {
  const wf = readYaml<Workflow>(file);
  const call = (wf.on as Json).workflow_call as
    | { inputs?: Json; secrets?: Json; outputs?: Record<string, { value: string }> }
    | undefined;

  it('grants contents: read and nothing more', () => {
    expect(wf.permissions).toEqual({ contents: 'read' });
    for (const [name, job] of Object.entries(wf.jobs))
      expect(job.permissions, `job ${name}`).toBeUndefined();
  });

  it('pins every third-party action to a full SHA with its version in a comment', () => {
    for (const [name, job] of Object.entries(wf.jobs)) {
      for (const step of job.steps ?? []) {
        if (!step.uses) continue;
        checkUses(`${file} job ${name}`, step, step.with);
        if (!localAction(step.uses) && step.uses !== './')
          expect(lineOf(file, step.uses), step.uses).toMatch(/# v\d+\.\d+\.\d+$/);
      }
    }
  });

  it('resolves every inputs.*, secrets.*, needs.*.outputs.* and steps.*.outputs.* reference', () => {
    const inputs = Object.keys(call?.inputs ?? (wf.on as Json).workflow_dispatch ?? {});
    const dispatchInputs = Object.keys(
      ((wf.on as Json).workflow_dispatch as { inputs?: Json } | undefined)?.inputs ?? {},
    );
    for (const [name, job] of Object.entries(wf.jobs)) {
      const exprs = [
        ...expressions(job),
        ...(job.steps ?? []).flatMap((s) => (s.if ? [s.if] : [])),
      ];
      for (const [input] of refs(exprs, /\binputs\.([\w-]+)/g))
        expect([...inputs, ...dispatchInputs], `job ${name}: inputs.${input}`).toContain(input);
      const needs = [job.needs ?? []].flat();
      for (const [need, output] of refs(exprs, /\bneeds\.([\w-]+)\.outputs\.([\w-]+)/g)) {
        expect(needs, `job ${name} needs ${need}`).toContain(need);
        expect(Object.keys(wf.jobs[need as string]?.outputs ?? {}), `${need}.${output}`).toContain(
          output,
        );
      }
      const steps = job.steps ?? [];
      for (const [id, output] of refs(exprs, /\bsteps\.([\w-]+)\.outputs\.([\w-]+)/g)) {
        const step = steps.find((s) => s.id === id);
        expect(step, `job ${name}: step ${id} exists`).toBeDefined();
        const local = step?.uses && localAction(step.uses);
        if (local)
          expect(
            Object.keys(actionYml(local).outputs ?? {}),
            `${local} output ${output}`,
          ).toContain(output);
      }
    }
    for (const [name, out] of Object.entries(call?.outputs ?? {})) {
      const [[job, output] = []] = refs([out.value], /\bjobs\.([\w-]+)\.outputs\.([\w-]+)/g);
      expect(Object.keys(wf.jobs[job as string]?.outputs ?? {}), `output ${name}`).toContain(
        output,
      );
    }
    const secrets = Object.keys(call?.secrets ?? {});
    if (call)
      for (const [secret] of refs(expressions(wf.jobs), /\bsecrets\.([\w-]+)/g))
        expect(secrets, `secrets.${secret}`).toContain(secret);
  });

  it('calls only reusable workflows that exist, with inputs and secrets they declare', () => {
    for (const [name, job] of Object.entries(wf.jobs)) {
      if (!job.uses) continue;
      const target = /^ORG\/vm-tools\/(\.github\/workflows\/[\w-]+\.yml)@v1$/.exec(job.uses)?.[1];
      expect(target, `job ${name} calls ${job.uses}`).toBeDefined();
      const called = readYaml<Workflow>(target as string).on.workflow_call as {
        inputs: Record<string, { required?: boolean }>;
        secrets?: Json;
      };
      for (const input of Object.keys(job.with ?? {}))
        expect(Object.keys(called.inputs), `${target} input ${input}`).toContain(input);
      for (const secret of Object.keys((job as { secrets?: Json }).secrets ?? {}))
        expect(Object.keys(called.secrets ?? {}), `${target} secret ${secret}`).toContain(secret);
    }
  });
});

describe('.github/workflows/release.yml', () => {
  const wf = readYaml<Workflow>('.github/workflows/release.yml');

  it('publishes under a literal-prefix concurrency group that never cancels a publish', () => {
    const publish = wf.jobs.publish as Job;
    // github.workflow inside a called workflow is the caller's name: it must not appear.
    expect(publish.concurrency?.group).toMatch(
      /^vm-tools-manifest-\$\{\{ inputs\.manifest-key \}\}/,
    );
    expect(publish.concurrency?.group).not.toContain('github.workflow');
    expect(publish.concurrency?.['cancel-in-progress']).toBe(false);
  });

  it('builds every leg of the plan on its own runner and passes tarballs as per-leg artifacts', () => {
    const build = wf.jobs.build as Job & { strategy: { matrix: Json }; 'runs-on': string };
    expect(build.strategy.matrix.include).toBe(gh('fromJSON(needs.plan.outputs.legs)'));
    expect(build['runs-on']).toBe(gh('matrix.runner'));
    const release = build.steps?.find((s) => s.uses?.endsWith('actions/release-agent'));
    expect(release?.with?.['upload-artifact']).toBe('true');
    // The composite names the artifact by agent and arch: artifacts are immutable per name.
    expect(readFileSync(join(ROOT, 'actions/release-agent/action.yml'), 'utf8')).toContain(
      'name=tarball-$AGENT-$ARCH',
    );
  });

  it('reports what was published from the publish legs, not from a matrix output', () => {
    const report = wf.jobs.report as Job;
    expect(report.needs).toBe('publish');
    expect(JSON.stringify(report.steps)).toContain('published-*');
  });
});

describe.each(composites)('actions/%s (composite)', (name) => {
  const meta = actionYml(name);
  const file = join('actions', name, 'action.yml');

  it('pins third-party actions and runs the bundled CLI through its own path', () => {
    for (const step of meta.runs.steps ?? []) {
      if (step.uses) checkUses(file, step, step.with);
      if (step.run?.includes('node "$CLI"'))
        expect(step.env?.CLI).toBe(`${gh('github.action_path')}/../../dist/cli/index.js`);
    }
  });

  it('resolves every inputs.* and steps.*.outputs.* reference and passes inputs through env, not run:', () => {
    const steps = meta.runs.steps ?? [];
    const all = [...expressions(meta), ...steps.flatMap((s) => (s.if ? [s.if] : []))];
    for (const [input] of refs(all, /\binputs\.([\w-]+)/g))
      expect(Object.keys(meta.inputs ?? {}), `inputs.${input}`).toContain(input);
    for (const [id] of refs(all, /\bsteps\.([\w-]+)\.outputs/g))
      expect(steps.map((s) => s.id)).toContain(id);
    // Untrusted text inside run: would be shell-injected; inputs go through env.
    for (const step of steps) expect(expressions(step.run ?? '')).toEqual([]);
  });
});
