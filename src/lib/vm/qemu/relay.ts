/**
 * What libslirp runs for each guest connection to a forwarded address (the
 * guestfwd `cmd:` form): the guest's socket is its stdin/stdout, and it relays
 * to HOST PORT (or, for a HOST that is a path, to that unix socket: the gate's
 * leaky test guests only). A dozen lines of Node we control, instead of depending on a
 * socat or netcat the host may not have.
 */
export const RELAY_SCRIPT = `'use strict';
const net = require('node:net');
const [host, port] = process.argv.slice(2);
const guest = new net.Socket({ fd: 0, readable: true, writable: true });
const upstream = host.startsWith('/') ? net.connect(host) : net.connect(Number(port), host);
guest.pipe(upstream);
upstream.pipe(guest);
const end = () => { guest.destroy(); upstream.destroy(); };
for (const s of [guest, upstream]) { s.on('error', end); s.on('close', end); }
`;
