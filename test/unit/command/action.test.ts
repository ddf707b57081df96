import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runAction, runPost } from '../../../src/lib/command/action.js';
import { optional, required } from '../../../src/lib/command/inputs.js';
import { defineCommand } from '../../../src/lib/command/types.js';
import { tempDir } from '../../support/release.js';
import { parseFileCommands } from '../../support/runner.js';

/** The runner adapter in-process: env in, file commands and workflow commands out. */
const command = defineCommand({
  name: 'store',
  description: 'Stores something.',
  inputs: {
    key: { description: 'Key.', env: ['STORE_KEY'], secret: true },
    bucket: { description: 'Bucket.' },
  },
  outputs: { where: 'Where it went.' },
  parse: (read) => ({ key: optional(read, 'key'), bucket: required(read, 'bucket', 'a name') }),
  async run(inputs, ctx) {
    ctx.log.info(`using key ${inputs.key}`);
    ctx.saveState('bucket', inputs.bucket);
    return {
      outputs: { where: `s3://${inputs.bucket}` },
      summary: {
        heading: 'Stored',
        lines: ['one object'],
        table: { header: ['Bucket'], rows: [[inputs.bucket]] },
      },
    };
  },
  async post(ctx) {
    if (ctx.getState('bucket') === 'stuck') throw new Error('bucket stuck');
    ctx.log.info(`cleaned ${ctx.getState('bucket')}`);
  },
});

let files: string;
let stdout: string;
const saved = { ...process.env };

beforeEach(async () => {
  files = await tempDir('vm-tools-action-');
  for (const f of ['output', 'state', 'summary']) await writeFile(join(files, f), '');
  Object.assign(process.env, {
    GITHUB_OUTPUT: join(files, 'output'),
    GITHUB_STATE: join(files, 'state'),
    GITHUB_STEP_SUMMARY: join(files, 'summary'),
  });
  stdout = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
});

afterEach(() => {
  vi.restoreAllMocks();
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
  process.exitCode = undefined;
});

describe('runAction', () => {
  it('masks secrets first, writes outputs, state and a summary table', async () => {
    process.env.INPUT_BUCKET = 'releases';
    process.env.STORE_KEY = 'hunter2';
    await runAction(command);
    expect(process.exitCode).toBeUndefined();
    const lines = stdout.split('\n');
    expect(lines[0]).toBe('::add-mask::hunter2');
    expect(lines).toContain('using key hunter2');
    expect(parseFileCommands(await readFile(join(files, 'output'), 'utf8'))).toEqual({
      where: 's3://releases',
    });
    expect(parseFileCommands(await readFile(join(files, 'state'), 'utf8'))).toEqual({
      bucket: 'releases',
    });
    const summary = await readFile(join(files, 'summary'), 'utf8');
    expect(summary).toContain('<h3>Stored</h3>');
    expect(summary).toContain('one object');
    expect(summary).toContain('<th>Bucket</th>');
    expect(summary).toContain('<td>releases</td>');
  });

  it('fails the step with the input error and masks the secret even then', async () => {
    process.env.INPUT_KEY = 'sekret';
    await runAction(command);
    expect(process.exitCode).toBe(1);
    expect(stdout).toBe('::add-mask::sekret\n::error::Input "bucket" is required: a name.\n');
    expect(await readFile(join(files, 'output'), 'utf8')).toBe('');
  });
});

describe('runPost', () => {
  it('reads the state main saved', async () => {
    process.env.STATE_bucket = 'releases';
    await runPost(command);
    expect(process.exitCode).toBeUndefined();
    expect(stdout).toBe('cleaned releases\n');
  });

  it('fails loudly when cleanup fails', async () => {
    process.env.STATE_bucket = 'stuck';
    await runPost(command);
    expect(process.exitCode).toBe(1);
    expect(stdout).toBe('::error::cleanup failed: bucket stuck\n');
  });
});
