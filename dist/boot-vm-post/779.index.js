export const id = 779;
export const ids = [779];
export const modules = {

/***/ 779:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  KVM_HELP: () => (/* binding */ KVM_HELP),
  QEMU_BINARY: () => (/* binding */ QEMU_BINARY),
  QemuDriver: () => (/* binding */ QemuDriver),
  UNSAFE_DNS_ADDRESS: () => (/* binding */ UNSAFE_DNS_ADDRESS)
});

// EXTERNAL MODULE: external "node:child_process"
var external_node_child_process_ = __webpack_require__(1421);
// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(3024);
// EXTERNAL MODULE: external "node:fs/promises"
var promises_ = __webpack_require__(1455);
// EXTERNAL MODULE: external "node:os"
var external_node_os_ = __webpack_require__(8161);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(6760);
// EXTERNAL MODULE: ./src/lib/vm/driver.ts
var driver = __webpack_require__(5899);
// EXTERNAL MODULE: ./src/lib/vm/spec.ts
var vm_spec = __webpack_require__(4742);
// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(7598);
// EXTERNAL MODULE: external "node:net"
var external_node_net_ = __webpack_require__(7030);
;// CONCATENATED MODULE: ./src/lib/vm/qemu/agent-channel.ts
/**
 * The host end of the guest agent's line protocol (see guest/scripts.ts) over
 * the virtserialport's unix socket; qemu accepts one client at a time. A client
 * sends `H <session>` on connect and is in sync once it reads either the agent's
 * boot-time READY or the echo of its own session: the first line of either kind
 * is the readiness signal, pushed by the guest. Request ids carry the session,
 * so an answer meant for an earlier client that went away is skipped.
 */



/** POSIX sh single-quoting: the guest runs exactly these argv words. */
function shellQuote(argv) {
    return argv
        .map((a) => (/^[A-Za-z0-9_./=:@%+-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`))
        .join(' ');
}
const b64 = (data) => `-${Buffer.from(data).toString('base64')}`;
const unb64 = (field) => Buffer.from((field ?? '-').slice(1), 'base64');
/** Extra time the host waits beyond the guest-side timeout before giving up on the channel. */
const HOST_GRACE_MS = 10_000;
class AgentChannel {
    socket;
    session;
    hello;
    buffer = '';
    waiters = [];
    closedError;
    nextId = 1;
    constructor(socket, session, 
    /** The READY line's fields after "READY": agent name, protocol, guest uptime (s). */
    hello) {
        this.socket = socket;
        this.session = session;
        this.hello = hello;
    }
    /**
     * Connects and waits for the agent's READY line. `onClose` fires if the socket
     * ends before that (qemu died, or the guest never came up).
     */
    static connect(socketPath, options) {
        return new Promise((resolve, reject) => {
            const socket = (0,external_node_net_.createConnection)(socketPath);
            const session = (0,external_node_crypto_.randomBytes)(6).toString('hex');
            socket.on('connect', () => socket.write(`H ${session}\n`));
            let buffer = '';
            const fail = (error) => {
                cleanup();
                socket.destroy();
                reject(error);
            };
            const timer = setTimeout(() => fail(new driver/* VmError */.w('timeout', `the guest agent did not announce itself within ${options.timeoutMs} ms`)), options.timeoutMs);
            const onAbort = () => fail(new driver/* VmError */.w('start_failed', 'interrupted while waiting for the guest agent'));
            const onData = (chunk) => {
                buffer += chunk.toString('latin1');
                for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
                    const line = buffer.slice(0, nl);
                    buffer = buffer.slice(nl + 1);
                    // Anything else is a stale answer to a client that went away.
                    if (!line.startsWith('READY ') && !line.startsWith(`H ${session} `))
                        continue;
                    cleanup();
                    const hello = line.startsWith('READY ') ? line.slice('READY '.length) : 'in session';
                    const channel = new AgentChannel(socket, session, hello);
                    channel.attach(buffer);
                    resolve(channel);
                    return;
                }
            };
            const onError = (error) => fail(new driver/* VmError */.w('start_failed', `cannot reach the guest agent at ${socketPath}: ${error.code ?? error.message}`, { cause: error }));
            const onClose = () => fail(new driver/* VmError */.w('start_failed', 'the VM closed the agent channel before the agent was ready (qemu exited?)'));
            function cleanup() {
                clearTimeout(timer);
                options.signal?.removeEventListener('abort', onAbort);
                socket.off('data', onData);
                socket.off('error', onError);
                socket.off('close', onClose);
            }
            if (options.signal?.aborted)
                return onAbort();
            options.signal?.addEventListener('abort', onAbort, { once: true });
            socket.on('data', onData);
            socket.on('error', onError);
            socket.on('close', onClose);
        });
    }
    attach(rest) {
        this.buffer = rest;
        this.socket.on('data', (chunk) => {
            this.buffer += chunk.toString('latin1');
            this.drain();
        });
        const closed = () => {
            this.closedError ??= new driver/* VmError */.w('exec_failed', 'the agent channel closed (the VM stopped?)');
            for (const waiter of this.waiters.splice(0))
                waiter('');
        };
        this.socket.on('close', closed);
        this.socket.on('error', closed);
    }
    drain() {
        for (let nl = this.buffer.indexOf('\n'); nl !== -1 && this.waiters.length; nl = this.buffer.indexOf('\n')) {
            const line = this.buffer.slice(0, nl);
            this.buffer = this.buffer.slice(nl + 1);
            // Only answers to this session's requests count: our handshake's echo or a
            // stale answer meant for an earlier client can trail in.
            if (line.split(' ')[1]?.startsWith(`${this.session}-`))
                this.waiters.shift()?.(line);
        }
    }
    /** Resolves with the next line from the agent, or rejects when the channel closes or time runs out. */
    nextLine(timeoutMs) {
        if (this.closedError)
            return Promise.reject(this.closedError);
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                this.waiters = this.waiters.filter((w) => w !== waiter);
                reject(new driver/* VmError */.w('timeout', `no answer from the guest agent within ${timeoutMs} ms`));
            }, timeoutMs);
            const waiter = (line) => {
                clearTimeout(timer);
                if (this.closedError && line === '')
                    reject(this.closedError);
                else
                    resolve(line);
            };
            this.waiters.push(waiter);
            this.drain();
        });
    }
    send(text) {
        if (this.closedError)
            throw this.closedError;
        this.socket.write(text);
    }
    async exec(argv, options = {}) {
        const id = `${this.session}-${this.nextId++}`;
        const seconds = options.timeoutMs ? (options.timeoutMs / 1000).toFixed(3) : '0';
        this.send(`X ${id} ${seconds} ${b64(shellQuote(argv))} ${b64(options.stdin ?? '')}\n`);
        const waitMs = (options.timeoutMs ?? 24 * 3600_000) + HOST_GRACE_MS;
        const line = await this.nextLine(waitMs);
        const [tag, gotId, code, timedOut, out, err] = line.split(' ');
        if (tag !== 'R' || gotId !== id)
            throw new driver/* VmError */.w('exec_failed', `unexpected answer from the guest agent: ${line.slice(0, 200)}`);
        return {
            exitCode: Number(code),
            timedOut: timedOut === '1',
            stdout: unb64(out),
            stderr: unb64(err),
        };
    }
    /** Sends the bytes base64-encoded; the agent writes `guestPath` only if its sha256 matches. */
    async copyIn(data, guestPath) {
        const id = `${this.session}-${this.nextId++}`;
        const sha256 = (0,external_node_crypto_.createHash)('sha256').update(data).digest('hex');
        const encoded = data.toString('base64');
        const lines = [`C ${id} ${b64(guestPath)} ${sha256}`];
        for (let i = 0; i < encoded.length; i += 76)
            lines.push(encoded.slice(i, i + 76));
        lines.push('.');
        this.send(`${lines.join('\n')}\n`);
        // busybox `read` takes the data a byte at a time: allow ~20 kB/s under emulation.
        const line = await this.nextLine(30_000 + encoded.length);
        const [tag, gotId, status, seen] = line.split(' ');
        if (tag !== 'K' || gotId !== id)
            throw new driver/* VmError */.w('exec_failed', `unexpected answer from the guest agent: ${line.slice(0, 200)}`);
        if (status !== '0')
            throw new driver/* VmError */.w('exec_failed', `copy to ${guestPath} failed its sha256 check in the guest (sent ${sha256}, guest saw ${seen})`);
        return { sha256 };
    }
    /**
     * Maps the guest's uptime clock onto the host's: the guest uptime now and the
     * host time its answer arrived (off by at most the answer's one-way latency).
     */
    async clock() {
        const id = `${this.session}-${this.nextId++}`;
        this.send(`H ${id}\n`);
        const line = await this.nextLine(30_000);
        const hostMs = Date.now();
        const [tag, gotId, uptime] = line.split(' ');
        if (tag !== 'H' || gotId !== id)
            throw new driver/* VmError */.w('exec_failed', `unexpected answer from the guest agent: ${line.slice(0, 200)}`);
        return { guestUptimeMs: Number(uptime) * 1000, hostMs };
    }
    close() {
        this.socket.destroy();
    }
}

// EXTERNAL MODULE: ./src/lib/vm/guest/scripts.ts
var scripts = __webpack_require__(5790);
;// CONCATENATED MODULE: ./src/lib/vm/qemu/plan.ts


/** The first guest address a forwarded endpoint takes: 10.0.2.100, .101, … in `allow` order. */
const FIRST_FORWARD_HOST = 100;
const LAST_FORWARD_HOST = 254;
const MAX_FORWARDS = LAST_FORWARD_HOST - FIRST_FORWARD_HOST + 1;
/** One guest address per endpoint, same port: the guest can tell the endpoints apart by address alone. */
function planForwards(allow) {
    if (allow.length > MAX_FORWARDS)
        throw new driver/* VmError */.w('invalid', `Input "allow" has ${allow.length} entries; qemu forwards at most ${MAX_FORWARDS}.`);
    return allow.map((target, i) => ({
        guestAddress: `10.0.2.${FIRST_FORWARD_HOST + i}`,
        guestPort: target.port,
        target,
    }));
}
const KERNEL_ARGS = [
    'console=ttyS0',
    'quiet',
    // The guest's PID 1 dying must end qemu, not hang it.
    'panic=-1',
    // No keyboard/mouse controller probing: a few hundred ms under emulation.
    'i8042.noaux',
    'i8042.nokbd',
    'i8042.nopnp',
    'no_timer_check',
    'tsc=reliable',
].join(' ');
function workPaths(workDir) {
    return {
        agentSocket: `${workDir}/agent.sock`,
        pidFile: `${workDir}/qemu.pid`,
        serialLog: `${workDir}/serial.log`,
        relayScript: `${workDir}/relay.cjs`,
    };
}
/** qemu splits options on ","; libslirp splits the guestfwd command on spaces and does no quoting. */
function checkOptionSafe(what, value, spaces = false) {
    if (value.includes(',') || (!spaces && /\s/.test(value)))
        throw new driver/* VmError */.w('invalid', `${what} "${value}" must not contain commas${spaces ? '' : ' or spaces'} (qemu option syntax).`);
}
function qemuArgv(plan) {
    const paths = workPaths(plan.workDir);
    checkOptionSafe('the qemu work directory', plan.workDir);
    checkOptionSafe('Input "kernel"', plan.kernel, true);
    checkOptionSafe('Input "initrd"', plan.initrd, true);
    for (const part of plan.relay)
        checkOptionSafe('the relay command', part);
    if (plan.share)
        checkOptionSafe('the shared directory', plan.share);
    const netdev = ['user', 'id=net0', ...(plan.restrict === false ? [] : ['restrict=on'])];
    for (const f of [...plan.forwards, ...(plan.unlisted ?? [])]) {
        netdev.push(`guestfwd=tcp:${f.guestAddress}:${f.guestPort}-cmd:${[...plan.relay, f.target.host, String(f.target.port)].join(' ')}`);
    }
    return [
        '-name',
        `vm-tools-${plan.name}`,
        // pc came up faster than q35 here; the default NIC and VGA ROMs are not needed.
        '-M',
        'pc',
        '-accel',
        plan.accel === 'kvm' ? 'kvm' : 'tcg',
        ...(plan.accel === 'kvm' ? ['-cpu', 'host'] : []),
        '-smp',
        String(plan.cpus),
        '-m',
        String(plan.memoryMiB),
        '-nodefaults',
        '-no-user-config',
        '-display',
        'none',
        '-vga',
        'none',
        '-no-reboot',
        '-kernel',
        plan.kernel,
        '-initrd',
        plan.initrd,
        '-append',
        KERNEL_ARGS,
        '-serial',
        `file:${paths.serialLog}`,
        '-device',
        'virtio-serial-pci,romfile=',
        '-chardev',
        `socket,id=agent,path=${paths.agentSocket},server=on,wait=off`,
        '-device',
        `virtserialport,chardev=agent,name=${scripts/* AGENT_PORT_NAME */.MK}`,
        '-netdev',
        netdev.join(','),
        '-device',
        'virtio-net-pci,netdev=net0,romfile=',
        ...(plan.share
            ? ['-virtfs', `local,path=${plan.share},mount_tag=hostshare,security_model=none,readonly=on`]
            : []),
        '-daemonize',
        '-pidfile',
        paths.pidFile,
    ];
}
/**
 * Reads a qemu command line the way the host sees it (`/proc/PID/cmdline`), so the
 * sandbox gate has host-side evidence the guest cannot hide: user networking
 * without `restrict=on`, a guestfwd the VM's state does not list, a host
 * directory shared over 9p or virtiofs.
 */
function auditQemuArgv(argv, forwards) {
    const findings = [];
    const listed = new Set(forwards.map((f) => `${f.guestAddress}:${f.guestPort}`));
    argv.forEach((arg, i) => {
        const prev = argv[i - 1];
        if (prev === '-netdev' && /^user(,|$)/.test(arg)) {
            const options = arg.split(',');
            if (!options.includes('restrict=on') && !options.includes('restrict=yes'))
                findings.push({
                    what: "user networking without restrict=on: the guest reaches the host's loopback and beyond",
                    arg,
                });
            for (const option of options) {
                const fwd = /^guestfwd=tcp:([^:]+):(\d+)-/.exec(option);
                if (fwd && !listed.has(`${fwd[1]}:${fwd[2]}`))
                    findings.push({
                        what: `a forward the VM's state does not list: ${fwd[1]}:${fwd[2]}`,
                        arg: option,
                    });
            }
        }
        if (prev === '-virtfs' || prev === '-fsdev')
            findings.push({ what: 'a host directory shared into the guest (9p)', arg: `${prev} ${arg}` });
        if (prev === '-device' && /^(virtio-9p|vhost-user-fs)/.test(arg))
            findings.push({ what: 'a host directory shared into the guest', arg: `${prev} ${arg}` });
    });
    return findings;
}

;// CONCATENATED MODULE: ./src/lib/vm/qemu/process.ts
/** Finding and ending a daemonized qemu by its work directory, never by name alone. */

async function cmdline(pid) {
    try {
        return (await (0,promises_.readFile)(`/proc/${pid}/cmdline`, 'latin1')).replaceAll('\0', ' ');
    }
    catch {
        return undefined;
    }
}
/** True when `pid` is a qemu started with this work directory's pidfile (pids get reused). */
async function isOurQemu(pid, pidFile) {
    const line = await cmdline(pid);
    return line?.includes('qemu-system') === true && line.includes(` -pidfile ${pidFile}`);
}
/**
 * The qemu owning `pidFile`: from the pidfile when qemu wrote it, else by scanning
 * /proc (a start killed before the pidfile existed still left a qemu behind).
 */
async function findQemu(pidFile, hint) {
    const candidates = [];
    if (hint)
        candidates.push(hint);
    const fromFile = Number((await (0,promises_.readFile)(pidFile, 'utf8').catch(() => '')).trim());
    if (fromFile)
        candidates.push(fromFile);
    for (const pid of candidates)
        if (await isOurQemu(pid, pidFile))
            return pid;
    for (const entry of await (0,promises_.readdir)('/proc').catch(() => [])) {
        const pid = Number(entry);
        if (pid && (await isOurQemu(pid, pidFile)))
            return pid;
    }
    return undefined;
}
function alive(pid) {
    try {
        process.kill(pid, 0);
        return true;
    }
    catch (error) {
        return error.code === 'EPERM';
    }
}
/** SIGTERM (qemu exits cleanly on it), SIGKILL after `graceMs`; resolves once the pid is gone. */
async function killQemu(pid, options = {}) {
    const sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    const graceMs = options.graceMs ?? 5_000;
    const signal = (name) => {
        try {
            process.kill(pid, name);
        }
        catch { }
    };
    signal('SIGTERM');
    // Not our child (qemu daemonized), so there is no exit event to wait for.
    for (let waited = 0; alive(pid); waited += 20) {
        if (waited >= graceMs)
            signal('SIGKILL');
        if (waited >= graceMs + 5_000)
            throw new Error(`qemu pid ${pid} did not exit after SIGKILL`);
        await sleep(20);
    }
}

;// CONCATENATED MODULE: ./src/lib/vm/qemu/relay.ts
/**
 * What libslirp runs for each guest connection to a forwarded address (the
 * guestfwd `cmd:` form): the guest's socket is its stdin/stdout, and it relays
 * to HOST PORT (or, for a HOST that is a path, to that unix socket: the gate's
 * leaky test guests only). A dozen lines of Node we control, instead of depending on a
 * socat or netcat the host may not have.
 */
const RELAY_SCRIPT = `'use strict';
const net = require('node:net');
const [host, port] = process.argv.slice(2);
const guest = new net.Socket({ fd: 0, readable: true, writable: true });
const upstream = host.startsWith('/') ? net.connect(host) : net.connect(Number(port), host);
guest.pipe(upstream);
upstream.pipe(guest);
const end = () => { guest.destroy(); upstream.destroy(); };
for (const s of [guest, upstream]) { s.on('error', end); s.on('close', end); }
`;

;// CONCATENATED MODULE: ./src/lib/vm/qemu/driver.ts
/**
 * The qemu backend: direct kernel boot of a kernel + initramfs, user-mode
 * networking with `restrict=on` and one guestfwd per allowed endpoint, and an
 * exec channel to the guest agent over a virtserialport. qemu daemonizes, so a
 * VM outlives the process that started it; everything it owns lives in one
 * work directory recorded in the handle.
 */











const KVM_HELP = 'give the runner user read+write access to /dev/kvm: add it to the kvm group, or on GitHub-hosted runners install the udev rule ' +
    `(echo 'KERNEL=="kvm", GROUP="kvm", MODE="0666", OPTIONS+="static_node=kvm"' | sudo tee /etc/udev/rules.d/99-kvm4all.rules; sudo udevadm control --reload-rules; sudo udevadm trigger --name-match=kvm)`;
const LOG_TAIL_LINES = 30;
/** The emulator the default guest (x86_64) runs on. */
const QEMU_BINARY = 'qemu-system-x86_64';
/** Where a leaky test guest's host resolver answers (VmSpec.qemuUnsafe.dnsViaHost). */
const UNSAFE_DNS_ADDRESS = '10.0.2.53';
async function tail(path, lines = LOG_TAIL_LINES) {
    const text = await (0,promises_.readFile)(path, 'utf8').catch(() => '');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
}
function stateOf(handle) {
    const state = handle.state;
    if (handle.backend !== 'qemu' || typeof state.workDir !== 'string')
        throw new driver/* VmError */.w('invalid', `VM "${handle.name}" is not a qemu VM (backend ${handle.backend})`);
    return state;
}
class QemuDriver {
    backend = 'qemu';
    qemu;
    node;
    kvmDevice;
    tempDir;
    pollMs;
    constructor(options = {}) {
        this.qemu = options.qemu ?? QEMU_BINARY;
        this.node = options.node ?? process.execPath;
        this.kvmDevice = options.kvmDevice ?? '/dev/kvm';
        this.tempDir = options.tempDir ?? (0,external_node_os_.tmpdir)();
        this.pollMs = options.readyPollMs ?? 0;
    }
    /** Why KVM cannot be used, or undefined when it can (opening it is the only honest test). */
    async kvmProblem() {
        try {
            await (0,promises_.stat)(this.kvmDevice);
        }
        catch {
            return `${this.kvmDevice} does not exist (load kvm-intel or kvm-amd and enable virtualization in firmware)`;
        }
        try {
            await (0,promises_.access)(this.kvmDevice, external_node_fs_.constants.R_OK | external_node_fs_.constants.W_OK);
            await (await (0,promises_.open)(this.kvmDevice, 'r+')).close();
            return undefined;
        }
        catch (error) {
            return `${this.kvmDevice} is not readable and writable by this user (${error.code}): ${KVM_HELP}`;
        }
    }
    async preflight(spec) {
        (0,vm_spec/* validateName */.yS)(spec.name);
        planForwards(spec.allow);
        for (const input of ['kernel', 'initrd']) {
            const path = spec[input];
            if (!path)
                throw new driver/* VmError */.w('invalid', `Input "${input}" is required for the qemu backend: a path to the guest's ${input}.`);
            const info = await (0,promises_.stat)(path).catch(() => undefined);
            if (!info?.isFile())
                throw new driver/* VmError */.w('invalid', `Input "${input}": no such file "${path}".`);
        }
        const version = await new Promise((resolve, reject) => {
            const child = (0,external_node_child_process_.spawn)(this.qemu, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
            let out = '';
            child.stdout.on('data', (d) => (out += d));
            child.on('error', () => reject(new driver/* VmError */.w('unavailable', `${this.qemu} is not installed (apt-get install qemu-system-x86)`)));
            child.on('close', () => resolve(out.split('\n')[0] ?? ''));
        });
        const notes = [version];
        const problem = await this.kvmProblem();
        if (spec.accel === 'kvm' && problem)
            throw new driver/* VmError */.w('unavailable', `accel: kvm was requested but ${problem}`);
        if (spec.accel === 'tcg')
            return { accel: 'tcg', notes: [...notes, 'software emulation (TCG) as requested'] };
        if (problem)
            notes.push(`software emulation (TCG): ${problem}`);
        return { accel: problem ? 'tcg' : 'kvm', notes };
    }
    async start(spec, signal, onHandle) {
        const report = await this.preflight(spec);
        const workDir = await (0,promises_.mkdtemp)((0,external_node_path_.join)(this.tempDir, 'vm-tools-qemu-'));
        const paths = workPaths(workDir);
        const state = {
            workDir,
            accel: report.accel,
            forwards: planForwards([...spec.allow, ...(spec.qemuUnsafe?.extraForwards ?? [])]),
        };
        const handle = {
            name: spec.name,
            backend: 'qemu',
            state: state,
        };
        try {
            await (0,promises_.writeFile)(paths.relayScript, RELAY_SCRIPT);
            // Recorded before qemu exists: a caller killed from here on can still tear it down.
            await onHandle?.(handle);
            state.launchedAtMs = Date.now();
            let launch = await this.launch(spec, state);
            if (launch.code !== 0 && spec.accel === 'auto' && state.accel === 'kvm') {
                // /dev/kvm opened but KVM did not work (nested virtualization off, …): emulate instead.
                state.accel = 'tcg';
                state.accelNote = `KVM did not start (${launch.stderr.trim().split('\n').at(-1)}); using software emulation`;
                launch = await this.launch(spec, state);
            }
            if (launch.code !== 0)
                throw new driver/* VmError */.w('start_failed', `qemu failed to start (exit ${launch.code}): ${launch.stderr.trim()}`);
            signal?.throwIfAborted();
            state.pid = await findQemu(paths.pidFile);
            if (!state.pid)
                throw new driver/* VmError */.w('start_failed', `qemu exited right after starting; serial console:\n${await tail(paths.serialLog)}`);
            await onHandle?.(handle);
            return handle;
        }
        catch (error) {
            await this.delete(handle);
            throw error;
        }
    }
    launch(spec, state) {
        const argv = qemuArgv({
            name: spec.name,
            accel: state.accel,
            cpus: spec.cpus,
            memoryMiB: spec.memoryMiB,
            kernel: spec.kernel,
            initrd: spec.initrd,
            workDir: state.workDir,
            forwards: state.forwards,
            relay: [this.node, workPaths(state.workDir).relayScript],
            ...(spec.qemuUnsafe?.restrict === false ? { restrict: false } : {}),
            ...(spec.qemuUnsafe?.dnsViaHost
                ? {
                    unlisted: [
                        {
                            guestAddress: UNSAFE_DNS_ADDRESS,
                            guestPort: 53,
                            target: spec.qemuUnsafe.dnsViaHost,
                        },
                    ],
                }
                : {}),
            ...(spec.qemuUnsafe?.share ? { share: spec.qemuUnsafe.share } : {}),
        });
        // With -daemonize the first process exits once devices and sockets are set up.
        return new Promise((resolve) => {
            const child = (0,external_node_child_process_.spawn)(this.qemu, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
            let stderr = '';
            child.stderr.on('data', (d) => (stderr += d));
            child.on('error', (error) => resolve({ code: 127, stderr: error.message }));
            child.on('close', (code) => resolve({ code: code ?? 128, stderr }));
        });
    }
    async ready(handle, timeoutMs, signal) {
        const state = stateOf(handle);
        const paths = workPaths(state.workDir);
        try {
            const channel = this.pollMs > 0
                ? await this.pollForAgent(paths.agentSocket, timeoutMs, signal)
                : await AgentChannel.connect(paths.agentSocket, { timeoutMs, signal });
            state.readyAtMs = Date.now();
            state.agent = channel.hello;
            // One extra round trip so the benchmark can place the agent's READY on the host clock.
            const announcedS = Number(channel.hello.split(' ')[2]);
            if (announcedS > 0) {
                const clock = await channel.clock();
                state.agentUpAtMs = Math.round(clock.hostMs - (clock.guestUptimeMs - announcedS * 1000));
            }
            channel.close();
        }
        catch (error) {
            const running = (await findQemu(paths.pidFile, state.pid)) !== undefined;
            throw new driver/* VmError */.w(error.kind === 'timeout' ? 'timeout' : 'start_failed', `${error.message}; qemu is ${running ? 'still running' : 'no longer running'}; last lines of the serial console (${paths.serialLog}):\n${await tail(paths.serialLog)}`, { cause: error });
        }
    }
    /**
     * The baseline the benchmark compares against (never the default): look every
     * `pollMs`, each look a short connect-and-handshake, as a socket-polling loop would.
     */
    async pollForAgent(socket, timeoutMs, signal) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
            try {
                return await AgentChannel.connect(socket, { timeoutMs: 200, signal });
            }
            catch (error) {
                if (Date.now() + this.pollMs > deadline || signal?.aborted)
                    throw error;
            }
            await new Promise((r) => setTimeout(r, this.pollMs));
        }
    }
    async withChannel(handle, fn) {
        const paths = workPaths(stateOf(handle).workDir);
        const channel = await AgentChannel.connect(paths.agentSocket, { timeoutMs: 30_000 }).catch((error) => {
            throw new driver/* VmError */.w('exec_failed', `VM "${handle.name}": ${error.message}`, { cause: error });
        });
        try {
            return await fn(channel);
        }
        finally {
            channel.close();
        }
    }
    exec(handle, argv, options = {}) {
        if (argv.length === 0)
            throw new driver/* VmError */.w('invalid', 'exec needs a command');
        return this.withChannel(handle, (channel) => channel.exec(argv, options));
    }
    async copyIn(handle, hostPath, guestPath) {
        const data = await (0,promises_.readFile)(hostPath).catch((error) => {
            throw new driver/* VmError */.w('invalid', `cannot read ${hostPath}: ${error.code}`);
        });
        if (!guestPath.startsWith('/'))
            throw new driver/* VmError */.w('invalid', `the guest path must be absolute; got "${guestPath}"`);
        await this.withChannel(handle, (channel) => channel.copyIn(data, guestPath));
    }
    async stop(handle) {
        const state = stateOf(handle);
        const pid = await findQemu(workPaths(state.workDir).pidFile, state.pid);
        if (pid)
            await killQemu(pid);
    }
    async delete(handle) {
        await this.stop(handle);
        await (0,promises_.rm)(stateOf(handle).workDir, { recursive: true, force: true });
    }
    /** libslirp: 10.0.2.2 (IPv6 fec0::2) is the host, 10.0.2.3 its DNS forwarder; each forward its own 10.0.2.100+i. */
    guestNetwork(handle) {
        return {
            gateway: '10.0.2.2',
            gateway6: 'fec0::2',
            dns: '10.0.2.3',
            forwards: stateOf(handle).forwards ?? [],
        };
    }
    /** The running qemu's own command line, read from /proc: what it really was started with. */
    async hostAudit(handle) {
        const state = stateOf(handle);
        const pid = await findQemu(workPaths(state.workDir).pidFile, state.pid);
        if (!pid)
            throw new driver/* VmError */.w('exec_failed', `VM ${handle.name} has no running qemu`);
        const argv = (await (0,promises_.readFile)(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
        return auditQemuArgv(argv, state.forwards ?? []).map((f) => ({
            what: f.what,
            evidence: `qemu (pid ${pid}) runs with ${f.arg}`,
        }));
    }
    async describe(handle) {
        const state = stateOf(handle);
        const paths = workPaths(state.workDir);
        const pid = await findQemu(paths.pidFile, state.pid);
        return {
            name: handle.name,
            backend: 'qemu',
            accel: state.accel,
            status: pid ? 'running' : 'missing',
            details: {
                pid: pid ? String(pid) : '',
                'work-dir': state.workDir,
                'accel-note': state.accelNote ?? '',
                'serial-log': paths.serialLog,
                'agent-socket': paths.agentSocket,
                forwards: state.forwards
                    .map((f) => `${f.guestAddress}:${f.guestPort} -> ${f.target.host}:${f.target.port}`)
                    .join(', '),
            },
        };
    }
}


/***/ })

};
