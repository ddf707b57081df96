import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBundle, readBundle } from '../../../src/lib/manifest/bundle.js';
import { tempDir } from '../../support/release.js';

const agent = { name: 'openclaw', image: 'ghcr.io/openclaw/openclaw', version: '2026.4.12' };
const parse = (value: unknown) => parseBundle(JSON.stringify(value), 'bundle.json');

describe('bundle.json', () => {
  it('reads the agents to release', () => {
    const two = {
      agents: [agent, { name: 'coder', image: 'localhost:5000/a/b', version: 'v1_2-3.4' }],
    };
    expect(parse(two)).toEqual({ bundle: two, warnings: [] });
  });

  it('ignores a legacy vmVersion with a warning', () => {
    const { bundle, warnings } = parse({ vmVersion: '2026.1', agents: [agent] });
    expect(bundle.agents).toEqual([agent]);
    expect(warnings).toEqual([
      'bundle.json: the legacy "vmVersion" field is ignored (the VM disk is no longer released here)',
    ]);
  });

  it.each([
    [
      { agents: [{ ...agent, name: 'OpenClaw' }] },
      '$.agents[0].name: must match [a-z0-9][a-z0-9-]*',
    ],
    [{ agents: [{ ...agent, name: '-x' }] }, '$.agents[0].name: must match [a-z0-9][a-z0-9-]*'],
    [{ agents: [{ ...agent, name: 'a_b' }] }, '$.agents[0].name: must match [a-z0-9][a-z0-9-]*'],
    [{ agents: [agent, { ...agent }] }, '$.agents[1].name: duplicate agent name "openclaw"'],
    [
      { agents: [{ ...agent, image: 'ghcr.io/openclaw/openclaw:2026.4.12' }] },
      '$.agents[0].image: must be an image reference without tag, like ghcr.io/org/name',
    ],
    [
      { agents: [{ ...agent, image: 'ghcr.io/openclaw/openclaw@sha256:abc' }] },
      '$.agents[0].image: must be an image reference without tag, like ghcr.io/org/name',
    ],
    [
      { agents: [{ ...agent, image: 'ghcr.io/OpenClaw/openclaw' }] },
      '$.agents[0].image: must be an image reference without tag, like ghcr.io/org/name',
    ],
    [{ agents: [{ ...agent, version: '1 2' }] }, '$.agents[0].version: must match [A-Za-z0-9._-]+'],
    [{ agents: [{ ...agent, version: '' }] }, '$.agents[0].version: must match [A-Za-z0-9._-]+'],
    [
      { agents: [{ ...agent, version: 'v1/2' }] },
      '$.agents[0].version: must match [A-Za-z0-9._-]+',
    ],
    [
      { agents: [{ name: 'openclaw', image: 'ghcr.io/openclaw/openclaw' }] },
      '$.agents[0].version: Invalid input: expected string, received undefined',
    ],
    [{ agents: [] }, '$.agents: must list at least one agent'],
    [{}, '$.agents: Invalid input: expected array, received undefined'],
    [[], '$: Invalid input: expected object, received array'],
  ])('rejects %j with the JSON path', (value, reason) => {
    expect(() => parse(value)).toThrow(new Error(`bundle.json is not a valid bundle: ${reason}`));
  });

  it('rejects text that is not JSON', () => {
    expect(() => parseBundle('{ agents: ', 'b.json')).toThrow(/^b\.json is not JSON: /);
  });

  it('reads a file, and names a missing one', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'bundle.json'), JSON.stringify({ agents: [agent] }));
    expect((await readBundle(join(dir, 'bundle.json'))).bundle.agents).toEqual([agent]);
    await expect(readBundle(join(dir, 'nope.json'))).rejects.toThrow(
      new Error(`bundle not found: ${join(dir, 'nope.json')}`),
    );
    await expect(readBundle(dir)).rejects.toThrow(new Error(`cannot read bundle ${dir}: EISDIR`));
  });
});
