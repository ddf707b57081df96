/**
 * Progress lines for long transfers: at most one every `intervalMs`, plus the
 * final one. The first comes only `intervalMs` after the start: a line for the
 * first bytes (a 10-byte gzip header) says nothing, and a short transfer needs
 * only its final line.
 */
export function throttledProgress(
  print: (line: string) => void,
  { intervalMs = 3_000, now = Date.now }: { intervalMs?: number; now?: () => number } = {},
) {
  let last = now();
  return {
    update(line: string): void {
      const t = now();
      if (t - last >= intervalMs) {
        last = t;
        print(line);
      }
    },
    done(line: string): void {
      print(line);
    },
  };
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit]}`;
}
