import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBundle } from '../../../src/lib/manifest/bundle.js';
import { parseManifest, serializeManifest } from '../../../src/lib/manifest/manifest.js';
import { parseSlice } from '../../../src/lib/manifest/slice.js';
import { type PublishOptions, publishSlice } from '../../../src/lib/publish/publish.js';
import { FileStore } from '../../../src/lib/store/file.js';
import { type PutOptions, type Store, StoreError } from '../../../src/lib/store/types.js';
import { workspace } from '../../support/publish-fixtures.js';

const MANIFEST = 'vm/manifest.json';

/** A real file:// store whose methods a test can wrap. */
function wrap(inner: Store, overrides: Partial<Store>): Store {
  return {
    description: inner.description,
    head: (k) => inner.head(k),
    get: (k) => inner.get(k),
    getText: (k) => inner.getText(k),
    put: (k, b, o) => inner.put(k, b, o),
    putFile: (k, p, o) => inner.putFile(k, p, o),
    delete: (k) => inner.delete(k),
    ...overrides,
  };
}

/** A fake clock that only the injected sleep (and the test) moves. */
function fakeTime() {
  const time = { now: 0, sleeps: [] as number[] };
  return {
    time,
    clock: () => time.now,
    sleep: async (ms: number) => {
      time.sleeps.push(ms);
      time.now += ms;
    },
    random: () => 1,
  };
}

async function setup(version: string, agents = ['alpha', 'beta']) {
  const ws = await workspace(agents, version);
  const { bundle } = await readBundle(join(ws.dir, 'bundle.json'));
  return { ws, bundle };
}

async function seededStore() {
  const inner = new FileStore(await mkdtemp(join(tmpdir(), 'vm-tools-publish-unit-')));
  const base = await setup('1.0.0');
  await publishSlice({
    store: inner,
    bundle: base.bundle,
    distDir: base.ws.distDir,
    slice: parseSlice('full'),
    deadlineMs: 10_000,
  });
  return inner;
}

function options(
  store: Store,
  rest: Pick<PublishOptions, 'bundle' | 'distDir'> & Partial<PublishOptions>,
): PublishOptions {
  return { store, slice: parseSlice('agents:beta'), deadlineMs: 60_000, ...rest };
}

describe('publish: the merge deadline starts when the merge starts', () => {
  it('a 10-minute upload followed by contention still gets several merge attempts', async () => {
    const inner = await seededStore();
    const t = fakeTime();
    let rivals = 0;
    const store = wrap(inner, {
      putFile: async (k, p, o) => {
        t.time.now += 10 * 60_000; // a slow upload on a slow link
        return inner.putFile(k, p, o);
      },
      put: async (k, b, o?: PutOptions) => {
        if (k === MANIFEST && o?.ifMatch !== undefined && rivals < 3) {
          // Another publisher lands its slice just before our write: real contention.
          rivals++;
          const current = parseManifest((await inner.getText(MANIFEST))?.text ?? '', 'm');
          current.agents[`rival-${rivals}`] = { image: 'ghcr.io/x/r', version: '1', tarballs: {} };
          await inner.put(MANIFEST, serializeManifest(current));
        }
        return inner.put(k, b, o);
      },
    });
    const next = await setup('1.1.0');
    const logs: string[] = [];
    const result = await publishSlice(
      options(store, {
        bundle: next.bundle,
        distDir: next.ws.distDir,
        clock: t.clock,
        sleep: t.sleep,
        random: t.random,
        log: (m) => logs.push(m),
      }),
    );
    expect(result.attempts).toBe(4);
    expect(result.lostToContention).toBe(3);
    expect(logs.filter((l) => l.includes('lost to another publisher (contention'))).toHaveLength(3);
    const final = parseManifest((await inner.getText(MANIFEST))?.text ?? '', 'm');
    expect(Object.keys(final.agents)).toEqual(['alpha', 'beta', 'rival-1', 'rival-2', 'rival-3']);
    expect(final.agents.beta?.version).toBe('1.1.0');
    // The uploads took 20 minutes of the fake clock, far past the 60 s budget.
    expect(t.time.now).toBeGreaterThan(20 * 60_000);
  });
});

describe('publish: If-Match quoting', () => {
  it('backs off against a store refusing both quotings and gives up after a bounded number of writes', async () => {
    const inner = await seededStore();
    const t = fakeTime();
    const sent: string[] = [];
    const store = wrap(inner, {
      put: async (k, b, o?: PutOptions) => {
        if (k === MANIFEST && o?.ifMatch !== undefined) {
          sent.push(o.ifMatch);
          // Without a bound the old loop never stopped; stop the test instead.
          if (sent.length > 50) throw new Error('hammered');
          throw new StoreError('precondition_failed', `PUT ${k}: PreconditionFailed (HTTP 412)`, {
            status: 412,
          });
        }
        return inner.put(k, b, o);
      },
    });
    const next = await setup('1.1.0');
    await expect(
      publishSlice(
        options(store, {
          bundle: next.bundle,
          distDir: next.ws.distDir,
          clock: t.clock,
          sleep: t.sleep,
          random: t.random,
        }),
      ),
    ).rejects.toThrow(
      /refused If-Match on vm\/manifest\.json 6 times in both ETag quotings although its ETag was unchanged/,
    );
    expect(sent).toHaveLength(6);
    expect(sent.map((e) => e.startsWith('"'))).toEqual([true, false, true, false, true, false]);
    // The first flip is immediate (the expected RGW case); then waits that grow.
    expect(t.time.sleeps).toEqual([100, 200, 400, 800]);
  });

  it('remembers the working quoting per store: the second publish sends it first', async () => {
    const inner = await seededStore();
    const sent: string[] = [];
    // Like RGW 16: If-Match matches only the unquoted ETag.
    const store = wrap(inner, {
      put: async (k, b, o?: PutOptions) => {
        if (k === MANIFEST && o?.ifMatch !== undefined) {
          sent.push(o.ifMatch);
          if (o.ifMatch.startsWith('"')) {
            throw new StoreError('precondition_failed', `PUT ${k}: (HTTP 412)`, { status: 412 });
          }
        }
        return inner.put(k, b, o);
      },
    });
    const first = await setup('1.1.0');
    const a = await publishSlice(
      options(store, { bundle: first.bundle, distDir: first.ws.distDir }),
    );
    expect(a.attempts).toBe(2);
    expect(a.lostToContention).toBe(0);
    const second = await setup('1.2.0');
    const b = await publishSlice(
      options(store, { bundle: second.bundle, distDir: second.ws.distDir }),
    );
    expect(b.attempts).toBe(1);
    expect(sent.map((e) => e.startsWith('"'))).toEqual([true, false, false]);
  });
});
