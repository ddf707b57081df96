import type { Command, InputReader } from './types.js';

/**
 * Builds the one reader both adapters use: the raw value, else the first set
 * environment fallback, else the declared default.
 */
export function makeReader(
  command: Command<unknown>,
  raw: (name: string) => string | undefined,
  env: NodeJS.ProcessEnv,
): InputReader {
  return (name) => {
    const def = command.inputs[name];
    if (!def) throw new Error(`command ${command.name} reads undeclared input "${name}"`);
    const given = raw(name);
    if (given !== undefined && given.trim() !== '') return given;
    for (const variable of def.env ?? []) {
      const value = env[variable];
      if (value !== undefined && value.trim() !== '') return value;
    }
    return def.default;
  };
}

/** Every secret value a command could read, from inputs or their env fallbacks. */
export function secretValues(
  command: Command<unknown>,
  raw: (name: string) => string | undefined,
  env: NodeJS.ProcessEnv,
): string[] {
  const values: string[] = [];
  for (const [name, def] of Object.entries(command.inputs)) {
    if (!def.secret) continue;
    for (const value of [raw(name), ...(def.env ?? []).map((v) => env[v])]) {
      if (value?.trim()) values.push(value.trim());
    }
  }
  return values;
}
