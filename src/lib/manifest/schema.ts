import { z } from 'zod';
import { ARCHES } from './arch.js';
import { keyProblem } from './keys.js';

export const AGENT_NAME = /^[a-z0-9][a-z0-9-]*$/;
export const VERSION = /^[A-Za-z0-9._-]+$/;
/** An image reference without tag or digest (the docker reference grammar). */
export const IMAGE_REF =
  /^(?:[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

const agentName = z.string().regex(AGENT_NAME, 'must match [a-z0-9][a-z0-9-]*');
export const version = z.string().regex(VERSION, 'must match [A-Za-z0-9._-]+');
export const imageRef = z
  .string()
  .regex(IMAGE_REF, 'must be an image reference without tag, like ghcr.io/org/name');
export const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters');
export const key = z.string().superRefine((value, ctx) => {
  const problem = keyProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: `invalid key "${value}": ${problem}` });
});

// Loose objects: fields a newer writer adds survive a merge by an older one.
export const tarball = z.looseObject({
  key,
  sha256,
  sizeBytes: z
    .number({ error: 'must be a non-negative safe integer' })
    .refine((n) => Number.isSafeInteger(n) && n >= 0, 'must be a non-negative safe integer'),
});

const agentEntry = z.looseObject({
  image: imageRef,
  version,
  tarballs: z.partialRecord(z.enum(ARCHES), tarball),
});

const agents = z.record(agentName, agentEntry).superRefine((entries, ctx) => {
  const seen = new Map<string, string>();
  for (const [name, entry] of Object.entries(entries)) {
    for (const [arch, t] of Object.entries(entry.tarballs)) {
      const where = `${name}/${arch}`;
      const other = t && seen.get(t.key);
      if (t && other) {
        ctx.addIssue({
          code: 'custom',
          path: [name, 'tarballs', arch, 'key'],
          message: `duplicate key "${t.key}" (also used by ${other})`,
        });
      }
      if (t) seen.set(t.key, where);
    }
  }
});

export const manifestV2 = z.looseObject({
  schemaVersion: z.literal(2),
  updatedAt: z.iso.datetime(),
  agents,
});

/** Older manifests: their agents are kept, the VM-disk fields dropped. */
export const manifestV1 = z.looseObject({
  schemaVersion: z.literal(1),
  agents,
});

export const bundle = z.looseObject({
  agents: z
    .array(z.looseObject({ name: agentName, image: imageRef, version }))
    // A full slice of an empty bundle would publish a manifest with no agents.
    .min(1, 'must list at least one agent')
    .superRefine((list, ctx) => {
      const seen = new Set<string>();
      list.forEach((agent, i) => {
        if (seen.has(agent.name)) {
          ctx.addIssue({
            code: 'custom',
            path: [i, 'name'],
            message: `duplicate agent name "${agent.name}"`,
          });
        }
        seen.add(agent.name);
      });
    }),
});

export type Tarball = z.infer<typeof tarball>;
export type AgentEntry = z.infer<typeof agentEntry>;
export type Manifest = z.infer<typeof manifestV2>;
export type Bundle = z.infer<typeof bundle>;
export type BundleAgent = Bundle['agents'][number];

/** `$.agents.openclaw.tarballs.arm64.sha256`, `$.agents[1].name`. */
function jsonPath(path: readonly PropertyKey[]): string {
  let out = '$';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(String(part))) out += `.${String(part)}`;
    else out += `[${JSON.stringify(String(part))}]`;
  }
  return out;
}

/** The first problem of a failed parse, as `<json path>: <message>`. */
export function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  // A bad record key (an agent name, an arch) carries the key schema's own reason inside.
  const inner = issue.code === 'invalid_key' ? issue.issues[0]?.message : undefined;
  return `${jsonPath(issue.path)}: ${inner ? `key ${inner}` : issue.message}`;
}
