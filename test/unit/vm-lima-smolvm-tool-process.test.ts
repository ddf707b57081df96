import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { OutputTail } from '../../src/lib/output-tail.js';
import { lastWords, runTool } from '../../src/lib/vm/tool-process.js';

// The process runner both the Lima and the smolvm driver use, with real processes.
describe('runTool', { timeout: 60_000 }, () => {
  it('keeps only the last 64 KiB of a chatty tool', async () => {
    const script = "for (let i = 0; i < 20000; i++) process.stdout.write('line ' + i + '\\n')";
    const ran = await runTool(process.execPath, ['-e', script]);
    expect(ran.exitCode).toBe(0);
    expect(ran.truncated).toBe(true);
    expect(ran.stdout.length).toBe(64 * 1024);
    expect(ran.stdout.toString().endsWith('line 19999\n')).toBe(true);
  });

  it('closes stdin when there is nothing to feed, so a prompt reads EOF instead of hanging', async () => {
    const ran = await runTool('sh', ['-c', 'read answer || echo EOF'], { timeoutMs: 10_000 });
    expect(ran).toMatchObject({ exitCode: 0, timedOut: false });
    expect(ran.stdout.toString()).toBe('EOF\n');
  });

  it('a timeout kills the whole process group (what the tool started, too)', async () => {
    const ran = await runTool('sh', ['-c', 'sleep 30 & echo $!; wait'], { timeoutMs: 300 });
    expect(ran.timedOut).toBe(true);
    const pid = Number(ran.stdout.toString().trim());
    await new Promise((r) => setTimeout(r, 100));
    const state = await readFile(`/proc/${pid}/status`, 'utf8').then(
      (text) => /State:\s+(\w)/.exec(text)?.[1],
      () => 'gone',
    );
    // Killed: reaped ('gone') or a zombie waiting for init to reap it ('Z').
    expect(['gone', 'Z']).toContain(state);
  });

  it('a missing tool is "unavailable", naming it', async () => {
    await expect(runTool('/nonexistent/limactl', ['list'])).rejects.toMatchObject({
      kind: 'unavailable',
      message: '/nonexistent/limactl was not found (is it installed and on PATH?)',
    });
  });

  it('the output tail drops from the front, lastWords picks the end of stderr', () => {
    const tail = new OutputTail(5);
    tail.push(Buffer.from('abc'));
    tail.push(Buffer.from('defg'));
    expect(tail.bytes().toString()).toBe('cdefg');
    expect(tail.truncated).toBe(true);
    const words = lastWords({
      exitCode: 1,
      stdout: Buffer.from('x'),
      stderr: Buffer.from('a\nb\nc\nd\n'),
    });
    expect(words).toBe('b | c | d');
  });
});
