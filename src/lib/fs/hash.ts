import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export interface Digest {
  sha256: string;
  sizeBytes: number;
}

export async function sha256File(path: string): Promise<Digest> {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    sizeBytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), sizeBytes };
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The sidecar line tools like `sha256sum -c` read: `<sha256>  <basename>\n`. */
export function sidecarLine(sha256: string, basename: string): string {
  return `${sha256}  ${basename}\n`;
}

/** Reads the sha256 from a sidecar's text; undefined when it is not one. */
export function parseSidecar(text: string): string | undefined {
  return /^([0-9a-f]{64})(?:\s|$)/.exec(text.trim())?.[1];
}
