/**
 * Pure checks of what a user asks for, shared by every backend and every verb:
 * each failure is a VmError('invalid') whose message names the input.
 */
import { type Endpoint, VmError } from './driver.js';

/** Lima, smolvm and qemu's `-name` all accept this; a leading letter/digit keeps it off argv flags. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function validateName(name: string): string {
  if (!NAME.test(name))
    throw new VmError(
      'invalid',
      `Input "name" must be 1-63 letters, digits, "-", "_" or "." starting with a letter or digit; got "${name}".`,
    );
  return name;
}

/**
 * `HOST:PORT` with HOST an IPv4 address or a host name: one exact endpoint, which
 * every backend can enforce. CIDRs, port ranges, wildcards and IPv6 are refused.
 */
export function parseEndpoint(entry: string): Endpoint {
  const match = /^([^:\s]+):(\d{1,5})$/.exec(entry);
  const host = match?.[1];
  const port = Number(match?.[2]);
  if (
    !match ||
    !host ||
    !(IPV4.test(host) || (HOSTNAME.test(host) && !/^[\d.]+$/.test(host))) ||
    port < 1 ||
    port > 65_535
  )
    throw new VmError(
      'invalid',
      `Input "allow" takes one HOST:PORT per line (an IPv4 address or host name and a port 1-65535, no ranges or CIDRs); got "${entry}".`,
    );
  return { host, port };
}

export function parseAllow(entries: readonly string[]): Endpoint[] {
  const endpoints = entries.map(parseEndpoint);
  const seen = new Set<string>();
  for (const e of endpoints) {
    const key = `${e.host}:${e.port}`;
    if (seen.has(key)) throw new VmError('invalid', `Input "allow" lists ${key} twice.`);
    seen.add(key);
  }
  return endpoints;
}
