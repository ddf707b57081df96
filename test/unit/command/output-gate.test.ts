import { describe, expect, it } from 'vitest';
import { runCli } from '../../../src/lib/command/cli.js';
import {
  defuseCommands,
  gateHtml,
  gateText,
  redactUrls,
} from '../../../src/lib/command/output-gate.js';
import { defineCommand } from '../../../src/lib/command/types.js';

const SIGNED =
  'https://bucket.s3.amazonaws.com/vm/manifest.json?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20261205&X-Amz-Signature=deadbeefcafe';

/** What the runner would obey: `::cmd` after optional whitespace at a line start. */
const COMMAND_LINE = /^\s*::[a-z-]+/m;

describe('redactUrls', () => {
  it('drops the query of a pre-signed URL, keeping where it points', () => {
    expect(redactUrls(`cannot read baseline ${SIGNED}: HTTP 403`)).toBe(
      'cannot read baseline https://bucket.s3.amazonaws.com/vm/manifest.json?REDACTED: HTTP 403',
    );
  });

  it('stops at quotes, so JSON around the URL survives', () => {
    expect(redactUrls(JSON.stringify({ url: SIGNED, n: 1 }))).toBe(
      '{"url":"https://bucket.s3.amazonaws.com/vm/manifest.json?REDACTED","n":1}',
    );
  });

  it('redacts signing parameters quoted without a URL', () => {
    expect(redactUrls('canonical: X-Amz-Signature=abc123&X-Amz-Security-Token=tok x')).toBe(
      'canonical: X-Amz-Signature=REDACTED&X-Amz-Security-Token=REDACTED x',
    );
  });

  it('leaves URLs without a query alone', () => {
    const text = 'GET http://127.0.0.1:8080/vm/manifest.json failed: HTTP 500';
    expect(redactUrls(text)).toBe(text);
  });
});

describe('defuseCommands', () => {
  it.each([
    'body\n::set-output name=x::y',
    'body\n   ::add-mask::secret',
    '::error::forged',
    'a\r\n\t::stop-commands::tok',
  ])('no line of %j is a workflow command any more', (text) => {
    expect(text).toMatch(COMMAND_LINE);
    const out = defuseCommands(text);
    expect(out).not.toMatch(COMMAND_LINE);
    // Readable: only an invisible character was added.
    expect(out.replaceAll('\u200b', '')).toBe(text);
  });

  it('defuses the legacy ##[command] form anywhere in a line', () => {
    expect(defuseCommands('x ##[set-output name=a;]b')).not.toContain('##[');
  });

  it('leaves ordinary colons alone', () => {
    expect(defuseCommands('time 12:00: done :: not at start')).toBe(
      'time 12:00: done :: not at start',
    );
  });
});

describe('gateHtml', () => {
  it('escapes markup and redacts', () => {
    expect(gateHtml(`<img src=x onerror=alert(1)> & ${SIGNED}`)).toBe(
      '&lt;img src=x onerror=alert(1)&gt; &amp; https://bucket.s3.amazonaws.com/vm/manifest.json?REDACTED',
    );
  });
});

describe('the CLI adapter prints only gated text', () => {
  const hostile = defineCommand({
    name: 'hostile',
    description: 'echoes what a hostile server said',
    inputs: { fail: { description: 'fail', boolean: true, default: 'false' } },
    outputs: { url: 'a url' },
    parse: (read) => read('fail') === 'true',
    async run(fail, ctx) {
      ctx.log.info('server said:\n::add-mask::x');
      ctx.log.warning(`retrying ${SIGNED}`);
      if (fail) throw new Error(`GET ${SIGNED}: <Message>\n::set-output name=x::y</Message>`);
      return {
        outputs: { url: `${SIGNED}\n::set-output name=x::y` },
        summary: { heading: 'h', lines: ['##[error]x'] },
      };
    },
  });

  it.each([[[]], [['--fail']]])('argv %j', async (argv) => {
    let stdout = '';
    let stderr = '';
    await runCli(hostile, argv, {
      stdout: (t) => {
        stdout += t;
      },
      stderr: (t) => {
        stderr += t;
      },
      env: {},
      cwd: '/',
    });
    for (const text of [stdout, stderr]) {
      expect(text).not.toMatch(COMMAND_LINE);
      expect(text).not.toContain('##[');
      expect(text).not.toContain('deadbeefcafe');
    }
    expect(stderr).toContain('REDACTED');
  });
});

describe('gateText', () => {
  it('redacts then defuses', () => {
    expect(gateText(`\n::warning::${SIGNED}`)).toBe(
      '\n\u200b::warning::https://bucket.s3.amazonaws.com/vm/manifest.json?REDACTED',
    );
  });
});
