import { MANIFEST_KEY } from '../manifest/keys.js';

/** Where a manifest lives and where the artifacts it names are fetched from. */
export interface ManifestSource {
  manifestUrl: string;
  /** The bucket root: the manifest URL without its key, ending in `/`. */
  rootUrl: string;
  protocol: 'https:' | 'http:' | 'file:';
}

export const MANIFEST_URL_ACCEPTED = `an https://, http:// or file:// URL ending in /${MANIFEST_KEY}`;

/**
 * Parses a manifest URL. Artifacts resolve against the bucket root, so the URL
 * must end with the manifest's own key; query strings (signed URLs) are not
 * carried over to artifact URLs, which would be signed for a different path.
 */
export function parseManifestUrl(value: string): ManifestSource {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`manifest URL must be ${MANIFEST_URL_ACCEPTED}; got "${value}"`);
  }
  const protocol = url.protocol;
  if (protocol !== 'https:' && protocol !== 'http:' && protocol !== 'file:') {
    throw new Error(`manifest URL must be ${MANIFEST_URL_ACCEPTED}; got "${value}"`);
  }
  if (!url.pathname.endsWith(`/${MANIFEST_KEY}`)) {
    throw new Error(`manifest URL must be ${MANIFEST_URL_ACCEPTED}; got "${value}"`);
  }
  const root = new URL(url.href);
  root.pathname = url.pathname.slice(0, -MANIFEST_KEY.length);
  root.search = '';
  root.hash = '';
  return { manifestUrl: url.href, rootUrl: root.href, protocol };
}

/** `https://cdn.example/` + `vm/images/a.tar.gz`; keys are already checked against the key rules. */
export function artifactUrl(source: ManifestSource, key: string): string {
  return new URL(key, source.rootUrl).href;
}
