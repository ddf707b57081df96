import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import { ROOT } from './runner.js';

const run = promisify(execFile);

export interface RgwEnv {
  RGW_DIR: string;
  RGW_BUCKET: string;
  AWS_ENDPOINT_URL_S3: string;
  AWS_ACCESS_KEY_ID: string;
  AWS_SECRET_ACCESS_KEY: string;
  AWS_REGION: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    rgw: RgwEnv;
  }
}

export function parseEnvLines(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

/**
 * Starts one real Ceph RGW for the integration and e2e projects (scripts/rgw
 * installs Ceph when missing) and stops it afterwards. VM_TOOLS_RGW_ENV names the
 * output of a `scripts/rgw start` to reuse while developing (it is then left running).
 */
export default async function setup(project: TestProject) {
  const reuse = process.env.VM_TOOLS_RGW_ENV;
  let text: string;
  if (reuse) text = await readFile(reuse, 'utf8');
  else {
    const started = await run(join(ROOT, 'scripts', 'rgw'), ['start'], {
      timeout: 300_000,
      maxBuffer: 1 << 20,
    });
    text = started.stdout;
  }
  const rgw = parseEnvLines(text) as unknown as RgwEnv;
  if (!rgw.AWS_ENDPOINT_URL_S3) throw new Error(`scripts/rgw start printed no endpoint:\n${text}`);
  project.provide('rgw', rgw);
  return async () => {
    if (!reuse) await run(join(ROOT, 'scripts', 'rgw'), ['stop', rgw.RGW_DIR], { timeout: 60_000 });
  };
}
