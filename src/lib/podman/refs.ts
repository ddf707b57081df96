import { IMAGE_REF } from '../manifest/schema.js';

/** The docker tag grammar: a word character first, so a tag can never read as a flag. */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const CONTAINER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const IMAGE_ID = /^(?:sha256:)?[0-9a-f]{12,64}$/;

/** Why `name` is not a repository reference we pass to podman, or undefined. */
export function imageNameProblem(name: string): string | undefined {
  // The domain part of the grammar accepts a leading "-": never let it reach argv as a flag.
  if (name.startsWith('-')) return 'starts with "-"';
  if (!IMAGE_REF.test(name)) return 'is not an image reference like ghcr.io/org/name';
  return undefined;
}

export function tagProblem(tag: string): string | undefined {
  return TAG.test(tag) ? undefined : 'is not a tag ([A-Za-z0-9_][A-Za-z0-9_.-]*)';
}

/** Accepts `name:tag`, `name` (a tag is implied by podman) or an image id. */
export function assertImageRef(ref: string): string {
  if (IMAGE_ID.test(ref)) return ref;
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  const [name, tag] =
    colon > slash ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, undefined];
  const problem = imageNameProblem(name) ?? (tag === undefined ? undefined : tagProblem(tag));
  if (problem) throw new Error(`refusing image reference "${ref}": ${problem}`);
  return ref;
}

export function assertContainerRef(ref: string): string {
  if (!CONTAINER_NAME.test(ref)) throw new Error(`refusing container reference "${ref}"`);
  return ref;
}

/**
 * Podman names images without a domain `localhost/…` (local) or
 * `docker.io/library/…` (pulled): all of them are the same `image:version`.
 */
export function sameImageRef(loaded: string, expected: string): boolean {
  if (loaded === expected) return true;
  const strip = (ref: string) => ref.replace(/^(?:localhost|docker\.io)\/(?:library\/)?/, '');
  return strip(loaded) === strip(expected);
}
