import { readFile } from 'node:fs/promises';
import { type Bundle, bundle, firstIssue } from './schema.js';

export type { Bundle, BundleAgent } from './schema.js';

export interface ParsedBundle {
  bundle: Bundle;
  warnings: string[];
}

export function parseBundle(text: string, source: string): ParsedBundle {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${source} is not JSON: ${(error as Error).message}`);
  }
  const result = bundle.safeParse(value);
  if (!result.success)
    throw new Error(`${source} is not a valid bundle: ${firstIssue(result.error)}`);
  const warnings: string[] = [];
  if ('vmVersion' in result.data) {
    warnings.push(
      `${source}: the legacy "vmVersion" field is ignored (the VM disk is no longer released here)`,
    );
  }
  return { bundle: result.data, warnings };
}

export async function readBundle(path: string): Promise<ParsedBundle> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(
      code === 'ENOENT' ? `bundle not found: ${path}` : `cannot read bundle ${path}: ${code}`,
    );
  }
  return parseBundle(text, path);
}
