import { OUTPUT_TAIL_BYTES } from './limits.js';

/**
 * The last `limitBytes` of a stream of output. A container or a podman command
 * can print gigabytes; what a person (or an `expect` pattern) needs is the end,
 * and memory must not grow with what was printed.
 */
export class OutputTail {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Bytes that fell off the front. */
  droppedBytes = 0;

  constructor(readonly limitBytes = OUTPUT_TAIL_BYTES) {}

  push(data: Buffer | string): void {
    const chunk = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (chunk.length >= this.limitBytes) {
      this.droppedBytes += this.size + chunk.length - this.limitBytes;
      // A copy, so the (possibly huge) chunk it came from can be freed.
      this.chunks = [Buffer.from(chunk.subarray(chunk.length - this.limitBytes))];
      this.size = this.limitBytes;
      return;
    }
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.limitBytes) {
      const first = this.chunks[0] as Buffer;
      const excess = this.size - this.limitBytes;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
        this.droppedBytes += first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
        this.droppedBytes += excess;
      }
    }
  }

  get truncated(): boolean {
    return this.droppedBytes > 0;
  }

  /** The kept bytes. */
  bytes(): Buffer {
    return Buffer.concat(this.chunks, this.size);
  }

  /** The kept bytes as UTF-8; a character cut in half at the front is skipped. */
  text(): string {
    let bytes = Buffer.concat(this.chunks, this.size);
    if (this.truncated) {
      let start = 0;
      // UTF-8 continuation bytes are 10xxxxxx.
      while (start < bytes.length && start < 3 && ((bytes[start] as number) & 0xc0) === 0x80)
        start++;
      bytes = bytes.subarray(start);
    }
    return bytes.toString('utf8');
  }
}

/** `{ droppedBytes }` only when something was dropped, so ordinary results keep their shape. */
export function droppedField(droppedBytes: number): { droppedBytes?: number } {
  return droppedBytes > 0 ? { droppedBytes } : {};
}
