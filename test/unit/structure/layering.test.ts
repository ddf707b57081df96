import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../../..');

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

/** Every module specifier a file imports or re-exports, static or dynamic. */
function importedSpecifiers(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const match of source.matchAll(pattern)) found.push(match[1] as string);
  }
  return found;
}

/**
 * The library takes typed options; turning raw inputs into them is the command
 * layer's job. A library module that imports a command or an input reader can no
 * longer be embedded without the action/CLI machinery.
 */
function layeringViolation(specifier: string): string | undefined {
  if (/(^|\/)commands\//.test(specifier)) return 'imports a command';
  if (/(^|\/)command\/(inputs|reader)(\.js)?$/.test(specifier))
    return 'imports an input reader of the command layer';
  return undefined;
}

describe('layering', () => {
  it('recognises the imports it must refuse', () => {
    expect(layeringViolation('../../commands/emit-manifest.js')).toBe('imports a command');
    expect(layeringViolation('../command/inputs.js')).toMatch(/input reader/);
    expect(layeringViolation('./reader.js')).toBeUndefined();
    expect(layeringViolation('../command/errors.js')).toBeUndefined();
    expect(
      importedSpecifiers("import { a } from '../x.js';\nconst m = await import('../y.js');"),
    ).toEqual(['../x.js', '../y.js']);
    expect(
      importedSpecifiers("import {\n  optional,\n  required,\n} from '../command/inputs.js';"),
    ).toEqual(['../command/inputs.js']);
  });

  it('src/lib never imports src/commands or the input readers', async () => {
    const problems: string[] = [];
    for (const file of await sourceFiles(join(ROOT, 'src/lib'))) {
      const inCommandLayer = relative(join(ROOT, 'src/lib'), file).startsWith('command/');
      for (const specifier of importedSpecifiers(await readFile(file, 'utf8'))) {
        const why = layeringViolation(specifier);
        // The command layer's own adapters read inputs; the rule is for the library.
        if (why && !(inCommandLayer && why !== 'imports a command'))
          problems.push(`${relative(ROOT, file)} ${why}: ${specifier}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('publish shares inputs through commands/shared, not another command', async () => {
    const source = await readFile(join(ROOT, 'src/commands/publish.ts'), 'utf8');
    expect(importedSpecifiers(source).filter((s) => s.includes('emit-manifest'))).toEqual([]);
  });
});
