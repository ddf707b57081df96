import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFileCommands, ROOT, runActionBundle } from '../support/runner.js';

const actionYml = join(ROOT, 'test', 'fixtures', 'state-action', 'action.yml');

describe('runActionBundle', () => {
  it('hands the state main saved to post as STATE_*', async () => {
    const main = await runActionBundle('state-action', { actionYml, inputs: { token: 'abc123' } });
    expect(main.exitCode).toBe(0);
    expect(main.outputs).toEqual({ saved: '2' });
    expect(main.state).toEqual({ token: 'abc123', lines: 'first\nsecond' });
    expect(main.stdout).toBe('main done\n');

    const post = await runActionBundle('state-action', {
      actionYml,
      phase: 'post',
      inputs: { token: 'abc123' },
      state: main.state,
    });
    expect(post.errors).toEqual([]);
    expect(post.exitCode).toBe(0);
    expect(post.summary).toBe('post saw token=abc123 lines="first\\nsecond"\n');
    expect(post.stdout).toBe('post done, input token=abc123\n');
  });

  it('applies action.yml defaults and fails a post without state', async () => {
    const main = await runActionBundle('state-action', { actionYml });
    expect(main.state.token).toBe('from-default');
    const post = await runActionBundle('state-action', { actionYml, phase: 'post' });
    expect(post.exitCode).toBe(1);
    expect(post.errors).toEqual(['post did not get the state main saved']);
  });

  it('parses name=value lines and heredocs', () => {
    expect(parseFileCommands('a=1\nb<<EOF\nx\ny=z\nEOF\nc=\n')).toEqual({
      a: '1',
      b: 'x\ny=z',
      c: '',
    });
  });
});
