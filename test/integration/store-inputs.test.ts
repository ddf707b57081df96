import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startProxy, type TestProxy } from '../support/proxy.js';
import { rgwEnv, rgwStore, uniquePrefix, workspace } from '../support/publish-fixtures.js';
import { runCliBundle } from '../support/runner.js';

/**
 * Every bad input fails with its exact message and exit 2 before any request:
 * the endpoint is a counting proxy in front of the real RGW, and it must see nothing.
 */
describe('store commands: bad inputs fail before any request', () => {
  let counter: TestProxy;
  let dir: string;
  const prefix = uniquePrefix();
  beforeAll(async () => {
    counter = await startProxy({ target: inject('rgw').AWS_ENDPOINT_URL_S3 });
    dir = (await workspace(['alpha'], '1.0.0')).dir;
    await writeFile(join(dir, 'file.bin'), 'payload');
  });
  afterAll(() => counter.close());

  const env = () => ({
    ...rgwEnv(inject('rgw'), counter.url),
    AWS_DEFAULT_REGION: undefined,
    AWS_ENDPOINT_URL: undefined,
  });
  const bucket = () => inject('rgw').RGW_BUCKET;

  const cases: [string, () => string[], () => Record<string, string | undefined>, string][] = [
    [
      'missing access key id',
      () => [
        'upload',
        '--file',
        'file.bin',
        '--key',
        'vm/a.bin',
        '--store',
        `s3://${bucket()}/${prefix}`,
      ],
      () => ({ ...env(), AWS_ACCESS_KEY_ID: undefined }),
      'Input "access-key-id" is required for an s3:// store: pass it or set AWS_ACCESS_KEY_ID.',
    ],
    [
      'missing secret access key',
      () => [
        'download',
        '--key',
        'vm/a.bin',
        '--out',
        'out.bin',
        '--store',
        `s3://${bucket()}/${prefix}`,
      ],
      () => ({ ...env(), AWS_SECRET_ACCESS_KEY: undefined }),
      'Input "secret-access-key" is required for an s3:// store: pass it or set AWS_SECRET_ACCESS_KEY.',
    ],
    [
      'missing endpoint with region auto',
      () => [
        'upload',
        '--file',
        'file.bin',
        '--key',
        'vm/a.bin',
        '--store',
        `s3://${bucket()}/${prefix}`,
      ],
      () => ({ ...env(), AWS_ENDPOINT_URL_S3: undefined, AWS_REGION: undefined }),
      'Input "endpoint" is required for an s3:// store with region auto (R2): pass it or set AWS_ENDPOINT_URL_S3 (or set region to an AWS region for AWS S3).',
    ],
    [
      'an endpoint that is not a URL',
      () => [
        'upload',
        '--file',
        'file.bin',
        '--key',
        'vm/a.bin',
        '--store',
        `s3://${bucket()}`,
        '--endpoint',
        '127.0.0.1:9000',
      ],
      env,
      'Input "endpoint" must be an http(s):// URL without credentials; got "127.0.0.1:9000".',
    ],
    [
      'missing bucket',
      () => ['upload', '--file', 'file.bin', '--key', 'vm/a.bin', '--store', 's3://'],
      env,
      'Input "store" names no bucket (expected s3://BUCKET[/PREFIX]); got "s3://".',
    ],
    [
      'malformed s3 URL',
      () => ['upload', '--file', 'file.bin', '--key', 'vm/a.bin', '--store', `s3:/${bucket()}`],
      env,
      `Input "store" is not a store URL (expected s3://BUCKET[/PREFIX] or file:///DIR); got "s3:/${bucket()}".`,
    ],
    [
      'bad bucket name',
      () => ['upload', '--file', 'file.bin', '--key', 'vm/a.bin', '--store', 's3://Bad_Bucket/x'],
      env,
      'Input "store" has a bad bucket: "Bad_Bucket" is not a bucket name (3-63 characters of a-z, 0-9, "." and "-"); got "s3://Bad_Bucket/x".',
    ],
    [
      'prefix breaking the key rules',
      () => [
        'upload',
        '--file',
        'file.bin',
        '--key',
        'vm/a.bin',
        '--store',
        `s3://${bucket()}/a/../b`,
      ],
      env,
      `Input "store" has a bad prefix "a/../b": it has a ".." segment; got "s3://${bucket()}/a/../b".`,
    ],
    [
      'key breaking the key rules',
      () => [
        'upload',
        '--file',
        'file.bin',
        '--key',
        '../escape.bin',
        '--store',
        `s3://${bucket()}/${prefix}`,
      ],
      env,
      'Input "key" breaks the key rules: "../escape.bin" has a ".." segment.',
    ],
    [
      'absolute key',
      () => [
        'download',
        '--key',
        '/etc/passwd',
        '--out',
        'out.bin',
        '--store',
        `s3://${bucket()}/${prefix}`,
      ],
      env,
      'Input "key" breaks the key rules: "/etc/passwd" is absolute.',
    ],
    [
      'bad expected sha256',
      () => [
        'download',
        '--key',
        'vm/a.bin',
        '--out',
        'out.bin',
        '--sha256',
        'abc',
        '--store',
        `s3://${bucket()}/${prefix}`,
      ],
      env,
      'Input "sha256" must be 64 lowercase hex characters; got "abc".',
    ],
    [
      'file not found',
      () => [
        'upload',
        '--file',
        'missing.bin',
        '--key',
        'vm/a.bin',
        '--store',
        `s3://${bucket()}/${prefix}`,
      ],
      env,
      'file not found: <cwd>/missing.bin',
    ],
    [
      'publish without a store',
      () => ['publish', '--slice', 'full'],
      env,
      'Input "store" is required: s3://BUCKET[/PREFIX] or file:///DIR.',
    ],
    [
      'publish with an unknown slice',
      () => ['publish', '--slice', 'vm', '--store', `s3://${bucket()}/${prefix}`],
      env,
      'unknown slice: vm',
    ],
  ];

  it.each(cases)('%s', async (_name, args, envOf, message) => {
    const before = counter.requests;
    const run = await runCliBundle(args(), { cwd: dir, env: envOf() });
    expect(run.stderr).toBe(`error: ${message.replace('<cwd>', dir)}\n`);
    expect(run.exitCode).toBe(2);
    expect(run.stdout).toBe('');
    expect(counter.requests).toBe(before);
    expect((await readdir(dir)).sort()).toEqual(['bundle.json', 'dist', 'file.bin']);
  });

  it('wrote nothing to the store', async () => {
    const store = rgwStore(inject('rgw'), prefix);
    expect(await store.head('vm/a.bin')).toBeUndefined();
    expect(counter.requests).toBe(0);
  });
});

describe('download into place', () => {
  it('fails on a wrong expected sha256 through the CLI and leaves no file, not even .partial', async () => {
    const rgw = inject('rgw');
    const prefix = uniquePrefix();
    const dir = await mkdtemp(join(tmpdir(), 'vm-tools-dl-cli-'));
    await writeFile(join(dir, 'in.bin'), 'some bytes');
    const store = `s3://${rgw.RGW_BUCKET}/${prefix}`;
    const up = await runCliBundle(
      ['upload', '--file', 'in.bin', '--key', 'vm/x.bin', '--store', store, '--sidecar-sha'],
      { cwd: dir, env: rgwEnv(rgw) },
    );
    expect(up.exitCode).toBe(0);
    const bad = await runCliBundle(
      [
        'download',
        '--key',
        'vm/x.bin',
        '--out',
        'out/x.bin',
        '--sha256',
        'f'.repeat(64),
        '--store',
        store,
      ],
      { cwd: dir, env: rgwEnv(rgw) },
    );
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain(
      `error: sha256 mismatch for vm/x.bin: expected ${'f'.repeat(64)}, got ${up.outputs.sha256}\n`,
    );
    expect(await readdir(join(dir, 'out')).catch(() => [])).toEqual([]);
    const good = await runCliBundle(
      ['download', '--key', 'vm/x.bin', '--out', 'out/x.bin', '--store', store],
      { cwd: dir, env: rgwEnv(rgw) },
    );
    expect(good.exitCode).toBe(0);
    expect(good.outputs.sha256).toBe(up.outputs.sha256);
    expect(await readdir(join(dir, 'out'))).toEqual(['x.bin']);
  });
});
