/** The Content-Type a key is stored with (publish.md). */
export function contentTypeFor(key: string): string {
  if (key.endsWith('.tar.gz')) return 'application/gzip';
  if (key.endsWith('.zst')) return 'application/zstd';
  if (key.endsWith('.json')) return 'application/json';
  return 'application/octet-stream';
}
