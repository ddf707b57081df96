import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import buildTarball from '../../src/commands/build-tarball.js';
import smokeTarball, { parseCommand } from '../../src/commands/smoke-tarball.js';
import { InputError } from '../../src/lib/command/errors.js';
import type { Command, InputReader } from '../../src/lib/command/types.js';
import { Demuxer } from '../../src/lib/podman/api.js';
import * as argv from '../../src/lib/podman/argv.js';
import { parseLoaded } from '../../src/lib/podman/cli.js';
import { kindOfCliFailure, kindOfStatus, PodmanError } from '../../src/lib/podman/errors.js';
import { assertImageRef, sameImageRef } from '../../src/lib/podman/refs.js';
import { outputTail } from '../../src/lib/tarball/smoke.js';
import { ROOT } from '../support/runner.js';

function reader(command: Command<unknown>, values: Record<string, string>): InputReader {
  return (name) => values[name] ?? command.inputs[name]?.default;
}

function parseError(command: Command<unknown>, values: Record<string, string>): string {
  try {
    command.parse(reader(command, values));
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return (error as Error).message;
  }
  throw new Error('parse accepted the inputs');
}

describe('action.yml matches the command', () => {
  for (const command of [buildTarball, smokeTarball] as Command<unknown>[]) {
    it(`${command.name}: same inputs, defaults, required flags and outputs`, async () => {
      const meta = parseYaml(
        await readFile(join(ROOT, 'actions', command.name, 'action.yml'), 'utf8'),
      ) as {
        inputs: Record<string, { default?: string; required?: boolean }>;
        outputs: Record<string, unknown>;
        runs: { main: string };
      };
      expect(Object.keys(meta.inputs)).toEqual(Object.keys(command.inputs));
      for (const [name, def] of Object.entries(command.inputs)) {
        expect(meta.inputs[name]?.default, name).toBe(def.default);
        expect(meta.inputs[name]?.required ?? false, name).toBe(def.required ?? false);
      }
      expect(Object.keys(meta.outputs)).toEqual(Object.keys(command.outputs));
      expect(meta.runs.main).toBe(`../../dist/${command.name}/index.js`);
    });
  }
});

describe('build-tarball inputs', () => {
  const base = { agent: 'demo', arch: 'x64' };
  it('parses defaults', () => {
    expect(buildTarball.parse(reader(buildTarball as Command<unknown>, base))).toEqual({
      agent: 'demo',
      arch: 'x64',
      bundle: 'bundle.json',
      outputDir: 'dist/images',
      image: undefined,
      version: undefined,
      pull: 'missing',
      containerfile: undefined,
      context: undefined,
      compression: 'gzip',
      podman: 'podman',
    });
  });
  const cases: Array<[Record<string, string>, string]> = [
    [{ arch: 'arm' }, 'Input "arch" must be one of arm64, x64; got "arm".'],
    [
      { agent: 'Bad Name' },
      'Input "agent" must be an agent name ([a-z0-9][a-z0-9-]*); got "Bad Name".',
    ],
    [
      { image: 'ghcr.io/x/y;rm -rf /' },
      'Input "image" must be an image reference without tag, like ghcr.io/org/name; got "ghcr.io/x/y;rm -rf /".',
    ],
    [
      { image: '$(touch pwned)' },
      'Input "image" must be an image reference without tag, like ghcr.io/org/name; got "$(touch pwned)".',
    ],
    [
      { image: '-rf.io/x' },
      'Input "image" must be an image reference without tag, like ghcr.io/org/name; got "-rf.io/x".',
    ],
    [
      { version: '--rm' },
      'Input "version" must be an image tag ([A-Za-z0-9_][A-Za-z0-9_.-]*); got "--rm".',
    ],
    [{ compression: 'xz' }, 'Input "compression" must be one of gzip, zstd; got "xz".'],
    [{ pull: 'sometimes' }, 'Input "pull" must be one of missing, always, never; got "sometimes".'],
    [{ context: 'ctx' }, 'Input "context" needs input "containerfile".'],
  ];
  for (const [values, message] of cases) {
    it(`rejects ${JSON.stringify(values)}`, () => {
      expect(parseError(buildTarball as Command<unknown>, { ...base, ...values })).toBe(message);
    });
  }
  it('requires agent and arch', () => {
    expect(parseError(buildTarball as Command<unknown>, { arch: 'x64' })).toBe(
      'Input "agent" is required: an agent name from the bundle.',
    );
    expect(parseError(buildTarball as Command<unknown>, { agent: 'a' })).toBe(
      'Input "arch" is required: one of arm64, x64.',
    );
  });
});

describe('smoke-tarball inputs', () => {
  const base = { agent: 'demo', arch: 'arm64', tarball: 'x.tar.gz' };
  it('splits a single-line command on whitespace and keeps one argument per line', () => {
    expect(parseCommand(['sh -c   true'])).toEqual(['sh', '-c', 'true']);
    expect(parseCommand(['sh', '-c', 'echo a b'])).toEqual(['sh', '-c', 'echo a b']);
    expect(parseCommand([])).toEqual([]);
    const parsed = smokeTarball.parse(
      reader(smokeTarball as Command<unknown>, { ...base, command: 'sh\n-c\necho hi there' }),
    );
    expect(parsed.command).toEqual(['sh', '-c', 'echo hi there']);
    expect(parsed.timeoutSeconds).toBe(120);
    expect(parsed.network).toBe('none');
    expect(parsed.keepImage).toBe(false);
  });
  const cases: Array<[Record<string, string>, string]> = [
    [{ arch: 'amd64' }, 'Input "arch" must be one of arm64, x64; got "amd64".'],
    [
      { 'timeout-seconds': '0' },
      'Input "timeout-seconds" must be an integer from 1 to 86400; got "0".',
    ],
    [
      { network: '--privileged' },
      'Input "network" must be none, host, bridge or a network name; got "--privileged".',
    ],
    [{ vm: 'a b' }, 'Input "vm" must be a Lima instance name; got "a b".'],
    [
      { vm: 'v', 'podman-socket': '/run/p.sock' },
      'Inputs "vm" and "podman-socket" cannot be used together.',
    ],
    [{ 'keep-image': 'yes' }, 'Input "keep-image" must be true or false; got "yes".'],
  ];
  for (const [values, message] of cases) {
    it(`rejects ${JSON.stringify(values)}`, () => {
      expect(parseError(smokeTarball as Command<unknown>, { ...base, ...values })).toBe(message);
    });
  }
  it('rejects a bad regular expression', () => {
    expect(parseError(smokeTarball as Command<unknown>, { ...base, expect: '(' })).toMatch(
      /^Input "expect" must be a regular expression; got "\(" \(.+\)\.$/,
    );
  });
});

describe('podman argv', () => {
  it('puts every reference after --', () => {
    expect(argv.saveArgv('ghcr.io/a/b:1', { format: 'oci-archive', uncompressed: true })).toEqual([
      'save',
      '--format=oci-archive',
      '--uncompressed',
      '--',
      'ghcr.io/a/b:1',
    ]);
    expect(argv.pullArgv('a/b:1', 'linux/arm64')).toEqual([
      'pull',
      '--quiet',
      '--platform=linux/arm64',
      '--',
      'a/b:1',
    ]);
    expect(
      argv.createArgv({ image: 'a/b:1', command: ['--help'], network: 'none', name: 'c1' }),
    ).toEqual(['create', '--network=none', '--name=c1', '--', 'a/b:1', '--help']);
    expect(argv.execArgv('c1', ['ls', '-l'])).toEqual(['exec', '--', 'c1', 'ls', '-l']);
    expect(argv.limaPrefix('agents')).toEqual([
      'limactl',
      'shell',
      '--tty=false',
      'agents',
      '--',
      'podman',
    ]);
  });
  it('refuses references that could be flags or shell', () => {
    for (const bad of ['-rf', '--rm', 'a;b', 'a b', '$(x)', 'a/b:-x', 'a/b:', '`id`']) {
      expect(() => argv.imageExistsArgv(bad), bad).toThrow(/^refusing image reference/);
    }
    expect(() => argv.startArgv('-x')).toThrow('refusing container reference "-x"');
    expect(() => argv.limaPrefix('--x')).toThrow('refusing VM name "--x"');
    expect(assertImageRef('ghcr.io/a/b:1.2-x')).toBe('ghcr.io/a/b:1.2-x');
    expect(assertImageRef('localhost:5000/a:1')).toBe('localhost:5000/a:1');
  });
  it('matches podman-qualified names', () => {
    expect(sameImageRef('localhost/a:1', 'a:1')).toBe(true);
    expect(sameImageRef('docker.io/library/a:1', 'a:1')).toBe(true);
    expect(sameImageRef('ghcr.io/o/a:1', 'ghcr.io/o/a:1')).toBe(true);
    expect(sameImageRef('ghcr.io/o/a:2', 'ghcr.io/o/a:1')).toBe(false);
  });
  it('parses load output from old and new podman', () => {
    expect(parseLoaded('Getting image source signatures\nLoaded image: localhost/a:1\n')).toEqual([
      'localhost/a:1',
    ]);
    expect(parseLoaded('Loaded image(s): a:1,b:2\n')).toEqual(['a:1', 'b:2']);
  });
});

describe('typed errors', () => {
  it('maps CLI stderr and HTTP status to kinds with retryable', () => {
    expect(kindOfCliFailure('Error: localhost/x:1: image not known')).toBe('not_found');
    expect(kindOfCliFailure('Error: no container with name or ID "x" found')).toBe('not_found');
    expect(kindOfCliFailure('the container name "x" is already in use by abc')).toBe('conflict');
    expect(kindOfCliFailure('open /x: permission denied')).toBe('permission_denied');
    expect(kindOfCliFailure('something else')).toBe('command_failed');
    expect(kindOfStatus(404)).toBe('not_found');
    expect(kindOfStatus(409)).toBe('conflict');
    expect(kindOfStatus(500)).toBe('api_error');
    expect(new PodmanError('timeout', 'x').retryable).toBe(true);
    expect(new PodmanError('transport_unavailable', 'x').retryable).toBe(true);
    expect(new PodmanError('not_found', 'x').retryable).toBe(false);
    expect(new PodmanError('api_error', 'x', { retryable: true }).retryable).toBe(true);
  });
});

describe('Demuxer', () => {
  it('splits frames across arbitrary chunk boundaries', () => {
    const frame = (stream: number, text: string) => {
      const body = Buffer.from(text);
      const head = Buffer.alloc(8);
      head[0] = stream;
      head.writeUInt32BE(body.length, 4);
      return Buffer.concat([head, body]);
    };
    const all = Buffer.concat([frame(1, 'out1\n'), frame(2, 'err\n'), frame(1, 'out2\n')]);
    const got = { stdout: '', stderr: '' };
    const demux = new Demuxer((s, d) => {
      got[s] += d.toString();
    });
    for (let i = 0; i < all.length; i += 3) demux.push(all.subarray(i, i + 3));
    expect(got).toEqual({ stdout: 'out1\nout2\n', stderr: 'err\n' });
  });
});

describe('outputTail', () => {
  it('keeps the last lines', () => {
    const text = Array.from({ length: 30 }, (_, i) => `line ${i}`).join('\n');
    expect(outputTail(text).split('\n')).toHaveLength(20);
    expect(outputTail(text)).toMatch(/^line 10\n[\s\S]*line 29$/);
    expect(outputTail('  \n')).toBe('(no output)');
  });
});
