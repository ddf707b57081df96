import { describe, expect, it } from 'vitest';
import { parseArgv } from '../../../src/lib/command/argv.js';
import { formatSummary, runCli, usage } from '../../../src/lib/command/cli.js';
import { InputError } from '../../../src/lib/command/errors.js';
import { boolean, list, optional, required } from '../../../src/lib/command/inputs.js';
import { defineCommand } from '../../../src/lib/command/types.js';

const command = defineCommand({
  name: 'greet',
  description: 'Greets people.',
  inputs: {
    name: { description: 'Who to greet.', required: true },
    shout: { description: 'Upper-case it.', boolean: true, default: 'false' },
    extra: { description: 'More people.', multiline: true },
    punctuation: { description: 'End mark.', default: '!', env: ['GREET_PUNCTUATION'] },
    fail: { description: 'Fail at run time.', boolean: true },
  },
  outputs: { greeting: 'The greeting.', count: 'How many were greeted.' },
  parse(read) {
    return {
      names: [required(read, 'name', 'a name'), ...list(read, 'extra')],
      shout: boolean(read, 'shout'),
      punctuation: optional(read, 'punctuation') ?? '',
      fail: boolean(read, 'fail'),
    };
  },
  async run(inputs, ctx) {
    ctx.log.info('greeting now');
    ctx.log.warning('careful');
    ctx.log.debug('details');
    if (inputs.fail) throw new Error('the greeter broke');
    const text = `hello ${inputs.names.join(', ')}${inputs.punctuation}`;
    const greeting = await ctx.log.group('greet', async () =>
      inputs.shout ? text.toUpperCase() : text,
    );
    return {
      outputs: { greeting, count: String(inputs.names.length) },
      summary: {
        heading: 'Greeted',
        table: { header: ['Name'], rows: inputs.names.map((n) => [n]) },
      },
    };
  },
});

async function cli(argv: string[], env: NodeJS.ProcessEnv = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(command, argv, {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    env,
    cwd: '/',
  });
  return { code, stdout, stderr };
}

describe('parseArgv', () => {
  const values = (argv: string[]) => Object.fromEntries(parseArgv(command, argv).values);

  it('takes --flag value and --flag=value', () => {
    expect(values(['--name', 'ada', '--punctuation=?'])).toEqual({ name: 'ada', punctuation: '?' });
    expect(values(['--name=a=b'])).toEqual({ name: 'a=b' });
    expect(values(['--name='])).toEqual({ name: '' });
  });

  it('takes a boolean flag alone as true, or with an explicit boolean word', () => {
    expect(values(['--shout'])).toEqual({ shout: 'true' });
    expect(values(['--shout', 'false', '--name', 'x'])).toEqual({ shout: 'false', name: 'x' });
    expect(values(['--shout=FALSE'])).toEqual({ shout: 'FALSE' });
    expect(values(['--shout', '--name', 'x'])).toEqual({ shout: 'true', name: 'x' });
  });

  it('joins a repeated multiline flag with newlines', () => {
    expect(values(['--extra', 'b', '--extra=c', '--extra', 'd'])).toEqual({ extra: 'b\nc\nd' });
  });

  it('takes a value that starts with "-" only inline', () => {
    expect(values(['--name=-x', '--punctuation=--'])).toEqual({ name: '-x', punctuation: '--' });
  });

  it('ends the flags at --', () => {
    expect(values(['--name', 'x', '--'])).toEqual({ name: 'x' });
    expect(() => parseArgv(command, ['--name', 'x', '--', '--shout'])).toThrow(
      new InputError(
        'Unexpected argument "--shout" for vm-tools greet: every value goes after a --flag (see --help).',
      ),
    );
    // A boolean word after -- is not the switch's value.
    expect(() => parseArgv(command, ['--shout', '--', 'false'])).toThrow(
      new InputError(
        'Unexpected argument "false" for vm-tools greet: every value goes after a --flag (see --help).',
      ),
    );
  });

  it('sees --help and -h', () => {
    expect(parseArgv(command, ['--help']).help).toBe(true);
    expect(parseArgv(command, ['--name', 'x', '-h']).help).toBe(true);
    expect(parseArgv(command, ['--name', 'x']).help).toBe(false);
  });

  it.each([
    [['--nmae', 'x'], 'Unknown flag "--nmae" for vm-tools greet (see --help).'],
    [['--name'], 'Flag "--name" needs a value (see --help).'],
    [
      ['ada'],
      'Unexpected argument "ada" for vm-tools greet: every value goes after a --flag (see --help).',
    ],
    [
      ['--shout', 'yes'],
      'Unexpected argument "yes" for vm-tools greet: every value goes after a --flag (see --help).',
    ],
    [['--name', 'a', '--name', 'b'], 'Flag "--name" is given more than once; it takes one value.'],
    [['--shout=no', '--shout'], 'Flag "--shout" is given more than once; it takes one value.'],
    [['-x'], 'Unknown flag "-x" for vm-tools greet (see --help).'],
    [['--nmae=x'], 'Unknown flag "--nmae" for vm-tools greet (see --help).'],
    [
      ['--name', '--shout'],
      'Flag "--name" needs a value; a value that starts with "-" goes as --name=VALUE (see --help).',
    ],
  ])('refuses %j', (argv, message) => {
    expect(() => parseArgv(command, argv)).toThrow(new InputError(message));
  });
});

describe('usage', () => {
  it('documents every flag, its default, env fallback and the outputs', () => {
    const text = usage(command);
    expect(text.startsWith('Usage: vm-tools greet [flags]\n\nGreets people.\n')).toBe(true);
    expect(text).toMatch(/--name <value> +Who to greet\. \(required\)/);
    expect(text).toMatch(/--shout +Upper-case it\. \(default: false\)/);
    expect(text).toMatch(/--extra <value> +More people\. \(repeatable\)/);
    expect(text).toMatch(
      /--punctuation <value> +End mark\. \(default: !; env: GREET_PUNCTUATION\)/,
    );
    expect(text).toMatch(/--help +Show this help\./);
    expect(text).toMatch(/greeting +The greeting\./);
    expect(text).toMatch(/count +How many were greeted\./);
  });
});

describe('runCli', () => {
  it('prints outputs as name=value on stdout, logs and summary on stderr, exits 0', async () => {
    const r = await cli(['--name', 'ada', '--extra', 'bob', '--extra', 'cy', '--shout']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('greeting=HELLO ADA, BOB, CY!\ncount=3\n');
    expect(r.stderr).toBe(
      'greeting now\nwarning: careful\n-- greet\n== Greeted\nName\nada\nbob\ncy\n',
    );
  });

  it('falls back to env variables and shows debug lines when asked', async () => {
    const r = await cli(['--name', 'ada'], { GREET_PUNCTUATION: '.', VM_TOOLS_DEBUG: '1' });
    expect(r.stdout).toBe('greeting=hello ada.\ncount=1\n');
    expect(r.stderr).toContain('debug: details\n');
  });

  it('prints help on stdout and exits 0', async () => {
    const r = await cli(['--help']);
    expect(r).toEqual({ code: 0, stdout: usage(command), stderr: '' });
  });

  it.each([
    [['--nope'], 'Unknown flag "--nope" for vm-tools greet (see --help).'],
    [[], 'Input "name" is required: a name.'],
    [['--name', 'x', '--shout=maybe'], 'Input "shout" must be true or false; got "maybe".'],
    [['--name', 'x', '-q'], 'Unknown flag "-q" for vm-tools greet (see --help).'],
    [
      ['--name', 'x', '--', 'y'],
      'Unexpected argument "y" for vm-tools greet: every value goes after a --flag (see --help).',
    ],
  ])('exits 2 on bad input %j, before running anything', async (argv, message) => {
    const r = await cli(argv);
    expect(r).toEqual({ code: 2, stdout: '', stderr: `error: ${message}\n` });
  });

  it('exits 1 when the command fails', async () => {
    const r = await cli(['--name', 'x', '--fail']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.endsWith('error: the greeter broke\n')).toBe(true);
  });
});

describe('formatSummary', () => {
  it('aligns table columns', () => {
    expect(
      formatSummary({
        heading: 'H',
        lines: ['one line'],
        table: { header: ['A', 'Bee'], rows: [['long value', 'x']] },
      }),
    ).toBe('== H\none line\nA           Bee\nlong value  x\n');
  });
});
