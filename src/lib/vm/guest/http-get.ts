/**
 * A guest-side HTTP GET with busybox nc, as an argv for `exec` (busybox wget
 * segfaults in a bare initramfs). nc quits when its stdin ends, possibly before
 * the host relay has even connected, so stdin stays open (a FIFO fed by a
 * sleeper) until the server closes. `then` is a shell pipeline stage for the
 * response (e.g. dropping the headers and hashing the body).
 */
export function guestHttpGet(host: string, port: number, path = '/', then?: string): string[] {
  const script = [
    'f=/tmp/get.$$; mkfifo $f',
    `(printf 'GET ${path} HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n'; sleep 60) > $f & s=$!`,
    `nc -w 30 ${host} ${port} < $f${then ? ` | ${then}` : ''}; rc=$?`,
    'kill $s; rm -f $f; exit $rc',
  ].join('; ');
  return ['sh', '-c', script];
}
