export const id = 776;
export const ids = [776];
export const modules = {

/***/ 6000:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   N7: () => (/* binding */ KVM_DENIED_FIX),
/* harmony export */   Zq: () => (/* binding */ kvmAccess),
/* harmony export */   w1: () => (/* binding */ KVM_MISSING_FIX)
/* harmony export */ });
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(3024);
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_fs__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(1455);
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__webpack_require__.n(node_fs_promises__WEBPACK_IMPORTED_MODULE_1__);


/** Whether this user can open `/dev/kvm` read-write (what every KVM hypervisor needs). */
async function kvmAccess(path = '/dev/kvm') {
    try {
        await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.access)(path, node_fs__WEBPACK_IMPORTED_MODULE_0__.constants.F_OK);
    }
    catch {
        return 'missing';
    }
    try {
        await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.access)(path, node_fs__WEBPACK_IMPORTED_MODULE_0__.constants.R_OK | node_fs__WEBPACK_IMPORTED_MODULE_0__.constants.W_OK);
        return 'usable';
    }
    catch {
        return 'denied';
    }
}
const KVM_MISSING_FIX = 'load kvm-intel or kvm-amd and enable virtualization in firmware';
const KVM_DENIED_FIX = 'add your user to the kvm group, or on GitHub-hosted runners install the udev rule giving /dev/kvm mode 0666';


/***/ }),

/***/ 1776:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   LIMA_HOST_ADDRESS: () => (/* binding */ LIMA_HOST_ADDRESS),
/* harmony export */   LimaDriver: () => (/* binding */ LimaDriver),
/* harmony export */   checkLimaName: () => (/* binding */ checkLimaName),
/* harmony export */   checkTemplate: () => (/* binding */ checkTemplate),
/* harmony export */   goDuration: () => (/* binding */ goDuration),
/* harmony export */   limaArgv: () => (/* binding */ limaArgv),
/* harmony export */   parseLimaList: () => (/* binding */ parseLimaList),
/* harmony export */   pingPodmanSocket: () => (/* binding */ pingPodmanSocket),
/* harmony export */   podmanSocketOf: () => (/* binding */ podmanSocketOf)
/* harmony export */ });
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(1455);
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_fs_promises__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var node_http__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(7067);
/* harmony import */ var node_http__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__webpack_require__.n(node_http__WEBPACK_IMPORTED_MODULE_1__);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(6760);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_2___default = /*#__PURE__*/__webpack_require__.n(node_path__WEBPACK_IMPORTED_MODULE_2__);
/* harmony import */ var yaml__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(8815);
/* harmony import */ var _driver_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(5899);
/* harmony import */ var _kvm_access_js__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(6000);
/* harmony import */ var _tool_process_js__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(2151);







/**
 * Lima through `limactl` (2.x). Every command line is built by the pure
 * functions in `limaArgv`; the driver owns what the exit codes and JSON mean.
 */
/** Lima's own identifier rule (pkg/identifiers): alphanumerics joined by single `.`, `_` or `-`. */
const LIMA_NAME = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;
const LIMA_NAME_MAX = 76;
function checkLimaName(name) {
    if (!LIMA_NAME.test(name) || name.length > LIMA_NAME_MAX) {
        throw new _driver_js__WEBPACK_IMPORTED_MODULE_4__/* .VmError */ .w('invalid', `name "${name}" is not a valid Lima instance name: use letters and digits joined by single ".", "_" or "-" (at most ${LIMA_NAME_MAX} characters)`);
    }
}
/** Go's duration syntax, which `--timeout` parses; whole seconds, at least one. */
function goDuration(ms) {
    return `${Math.max(1, Math.ceil(ms / 1000))}s`;
}
/**
 * `--tty=false` goes right after the subcommand on every call: limactl must never
 * prompt (a runner has no terminal to answer on). It is Lima's global flag; `-y`
 * means the same for `start` and giving both is an error, so we never pass `-y`.
 */
const limaArgv = {
    version: () => ['--version'],
    start: (o) => [
        'start',
        `--name=${o.name}`,
        '--tty=false',
        `--timeout=${goDuration(o.timeoutMs)}`,
        ...(o.mountNone ? ['--mount-none'] : []),
        o.template,
    ],
    list: (name) => ['list', '--tty=false', name, '--json'],
    shell: (name, argv, workdir) => [
        'shell',
        '--tty=false',
        ...(workdir ? [`--workdir=${workdir}`] : []),
        name,
        '--',
        ...argv,
    ],
    copy: (hostPath, name, guestPath) => [
        'copy',
        '--tty=false',
        hostPath,
        `${name}:${guestPath}`,
    ],
    stop: (name, force) => [
        'stop',
        '--tty=false',
        ...(force ? ['--force'] : []),
        name,
    ],
    delete: (name) => ['delete', '--tty=false', '--force', name],
};
/** `limactl list --json` prints one JSON object per line when stdout is not a terminal. */
function parseLimaList(stdout) {
    return stdout
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line));
}
/** What in a Lima template could expose the host: its own mounts and any base it extends. */
function checkTemplate(text) {
    const doc = ((0,yaml__WEBPACK_IMPORTED_MODULE_3__/* .parse */ .qg)(text) ?? {});
    const mounts = Array.isArray(doc.mounts) ? doc.mounts : [];
    const base = doc.base;
    const bases = base === undefined || base === null ? [] : Array.isArray(base) ? base : [base];
    return { mounts, bases: bases.map((b) => (typeof b === 'string' ? b : JSON.stringify(b))) };
}
const isLocalTemplate = (locator) => !/^[a-z][a-z0-9+.-]*:/i.test(locator) && locator !== '-';
/** Asks the forwarded libpod socket for `_ping`; true only for a 200 `OK`. */
function pingPodmanSocket(socketPath, timeoutMs) {
    return new Promise((resolve) => {
        const req = (0,node_http__WEBPACK_IMPORTED_MODULE_1__.request)({ socketPath, path: '/libpod/_ping', method: 'GET', timeout: timeoutMs });
        req.on('response', (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (d) => {
                if (body.length < 64)
                    body += d;
            });
            res.on('end', () => resolve(res.statusCode === 200 && body.trim() === 'OK'));
            res.on('error', () => resolve(false));
        });
        req.on('timeout', () => req.destroy());
        req.on('error', () => resolve(false));
        req.end();
    });
}
const LOG_TAIL_BYTES = 4096;
/** How long limactl itself may overrun its own `--timeout` before we kill it. */
const START_GRACE_MS = 30_000;
/** Where a Lima guest reaches the host's loopback (host.lima.internal). */
const LIMA_HOST_ADDRESS = '192.168.5.2';
const isLoopbackHost = (host) => host === 'localhost' || host.startsWith('127.') || host === '::1';
class LimaDriver {
    options;
    backend = 'lima';
    limactl;
    pollMs;
    ping;
    sleep;
    now;
    constructor(options = {}) {
        this.options = options;
        this.limactl = options.limactl ?? 'limactl';
        this.pollMs = options.pollMs ?? 25;
        this.ping = options.ping ?? pingPodmanSocket;
        this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
        this.now = options.now ?? Date.now;
    }
    run(args, extra = {}) {
        return (0,_tool_process_js__WEBPACK_IMPORTED_MODULE_6__/* .runTool */ .qI)(this.limactl, args, {
            env: this.options.env,
            spawn: this.options.spawn,
            ...extra,
        });
    }
    template(spec) {
        const template = spec.template ?? this.options.defaultTemplate;
        if (!template)
            throw new _driver_js__WEBPACK_IMPORTED_MODULE_4__/* .VmError */ .w('invalid', 'lima needs a template (a file, URL or template:NAME)');
        return template;
    }
    async accel(spec) {
        const platform = this.options.platform ?? process.platform;
        if (platform === 'darwin')
            return { accel: 'hvf', notes: [] };
        const kvm = await (0,_kvm_access_js__WEBPACK_IMPORTED_MODULE_5__/* .kvmAccess */ .Zq)(this.options.kvmPath);
        if (kvm === 'usable') {
            const notes = spec.accel === 'tcg'
                ? ['accel=tcg: Lima picks KVM itself when /dev/kvm is usable; it will use KVM']
                : [];
            return { accel: 'kvm', notes };
        }
        const fix = kvm === 'missing' ? _kvm_access_js__WEBPACK_IMPORTED_MODULE_5__/* .KVM_MISSING_FIX */ .w1 : _kvm_access_js__WEBPACK_IMPORTED_MODULE_5__/* .KVM_DENIED_FIX */ .N7;
        const why = kvm === 'missing' ? '/dev/kvm is missing' : '/dev/kvm is not read-writable by this user';
        if (spec.accel === 'kvm') {
            throw new _driver_js__WEBPACK_IMPORTED_MODULE_4__/* .VmError */ .w('unavailable', `accel=kvm but ${why}: ${fix}`);
        }
        return {
            accel: 'tcg',
            notes: [
                `${why}: Lima's qemu will fall back to slow software emulation (tcg); to use KVM, ${fix}`,
            ],
        };
    }
    async preflight(spec) {
        checkLimaName(spec.name);
        const template = this.template(spec);
        const uid = (this.options.uid ?? process.getuid)?.();
        if (uid === 0) {
            // A set-up the user must change before anything can start: reported as bad input.
            throw new _driver_js__WEBPACK_IMPORTED_MODULE_4__/* .VmError */ .w('invalid', 'Lima refuses to run as root ("limactl: must not run as the root user"): run this job as a regular user');
        }
        const notes = [];
        if (spec.allow.length > 0) {
            notes.push('allow is not enforced by Lima: its user-mode network reaches whatever the host can (use smolvm or qemu for an egress allowlist)');
        }
        if (isLocalTemplate(template)) {
            let text;
            try {
                text = await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.readFile)(template, 'utf8');
            }
            catch (error) {
                throw new _driver_js__WEBPACK_IMPORTED_MODULE_4__/* .VmError */ .w('invalid', `template ${template} cannot be read: ${error.message}`);
            }
            const check = checkTemplate(text);
            if (check.mounts.length > 0) {
                throw new _driver_js__WEBPACK_IMPORTED_MODULE_4__/* .VmError */ .w('invalid', `template ${template} mounts host paths (${JSON.stringify(check.mounts)}): the sandbox VM must have no mounts`);
            }
            if (check.bases.length > 0) {
                notes.push(`template extends ${check.bases.join(', ')}: starting with --mount-none so no base mount survives`);
            }
        }
        else {
            notes.push(`template ${template} cannot be inspected before start: starting with --mount-none and checking the effective mounts after`);
        }
        const version = await this.run(limactlVersion(), { timeoutMs: 30_000 });
        if (version.exitCode !== 0) {
            throw new _driver_js__WEBPACK_IMPORTED_MODULE_4__/* .VmError */ .w('unavailable', `${this.limactl} --version failed: ${(0,_tool_process_js__WEBPACK_IMPORTED_MODULE_6__/* .lastWords */ .aN)(version)}`);
        }
        notes.unshift(version.stdout.toString('utf8').trim());
        const accel = await this.accel(spec);
        return { accel: accel.accel, notes: [...notes, ...accel.notes] };
    }
    async start(spec, signal) {
        checkLimaName(spec.name);
        const template = this.template(spec);
        const { accel } = await this.accel(spec);
        // Our own self-contained template needs nothing more; one we cannot read, or one
        // whose bases may add mounts, starts with --mount-none (and is checked after start).
        const mountNone = !isLocalTemplate(template) ||
            checkTemplate(await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.readFile)(template, 'utf8')).bases.length > 0;
        // A failed start is torn down; that must never hit an instance this run did not create.
        const existing = await this.instance(spec.name);
        if (existing) {
            throw new _driver_js__WEBPACK_IMPORTED_MODULE_4__/* .VmError */ .w('invalid', `a Lima instance named ${spec.name} already exists (${existing.status || 'no status'}): delete it (limactl delete --force ${spec.name}) or choose another name`);
        }
        const started = await this.run(limaArgv.start({ name: spec.name, template, timeoutMs: spec.timeoutMs, mountNone }), { timeoutMs: spec.timeoutMs + START_GRACE_MS, signal });
        if (started.exitCode !== 0 || started.timedOut || signal?.aborted) {
            const why = signal?.aborted
                ? 'cancelled'
                : started.timedOut
                    ? `limactl start did not return within ${spec.timeoutMs + START_GRACE_MS} ms`
                    : (0,_tool_process_js__WEBPACK_IMPORTED_MODULE_6__/* .lastWords */ .aN)(started);
            throw await this.failStart(spec.name, `limactl start failed: ${why}`);
        }
        const instance = await this.instance(spec.name);
        if (!instance)
            throw await this.failStart(spec.name, 'limactl start succeeded but the instance is not listed');
        const mounts = instance.config?.mounts ?? [];
        if (mounts.length > 0) {
            throw await this.failStart(spec.name, `the started instance mounts host paths (${JSON.stringify(mounts)}): refusing to use it`);
        }
        const state = { dir: instance.dir, accel };
        return { name: spec.name, backend: 'lima', state: { ...state } };
    }
    /** Collects the evidence, tears the instance down (a DEGRADED start leaves it running) and builds the error. */
    async failStart(name, why) {
        const report = await this.failureReport(name).catch((e) => `(no logs: ${String(e)})`);
        const teardown = await this.delete({ name, backend: 'lima', state: {} }).then(() => 'torn down', (e) => `teardown failed: ${e.message}`);
        return new _driver_js__WEBPACK_IMPORTED_MODULE_4__/* .VmError */ .w('start_failed', `${why} (${teardown})${report}`);
    }
    /** Tails of the host-side logs and the guest's cloud-init log, for a failed start or readiness. */
    async failureReport(name) {
        const instance = await this.instance(name).catch(() => undefined);
        if (!instance)
            return '';
        const parts = [
            `\ninstance status: ${instance.status || '(empty)'}${instance.message ? ` (${instance.message})` : ''}`,
        ];
        const files = await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.readdir)(instance.dir).catch(() => []);
        const logs = ['ha.stderr.log', ...files.filter((f) => /^serial.*\.log$/.test(f)).sort()];
        for (const log of logs) {
            const tail = await tailOfFile((0,node_path__WEBPACK_IMPORTED_MODULE_2__.join)(instance.dir, log), LOG_TAIL_BYTES);
            if (tail !== undefined)
                parts.push(`--- ${log} (last ${LOG_TAIL_BYTES} bytes) ---\n${tail}`);
        }
        if (instance.status === 'Running') {
            const cloudInit = await this.run(limaArgv.shell(name, [
                'tail',
                '-c',
                String(LOG_TAIL_BYTES),
                '/var/log/cloud-init-output.log',
            ]), { timeoutMs: 20_000 }).catch(() => undefined);
            if (cloudInit?.exitCode === 0) {
                parts.push(`--- guest /var/log/cloud-init-output.log ---\n${cloudInit.stdout.toString('utf8')}`);
            }
        }
        return parts.join('\n');
    }
    /** The instance as `limactl list` sees it, or undefined when there is none of that name. */
    async instance(name) {
        const listed = await this.run(limaArgv.list(name), { timeoutMs: 30_000 });
        if (listed.exitCode !== 0) {
            // An unknown name exits 1 ("unmatched instances"): that is an answer, not a failure.
            if (/unmatched|not exist|no instance/i.test(listed.stderr.toString('utf8')))
                return undefined;
            throw new _driver_js__WEBPACK_IMPORTED_MODULE_4__/* .VmError */ .w('unavailable', `limactl list ${name} failed: ${(0,_tool_process_js__WEBPACK_IMPORTED_MODULE_6__/* .lastWords */ .aN)(listed)}`);
        }
        return parseLimaList(listed.stdout.toString('utf8')).find((i) => i.name === name);
    }
    async ready(handle, timeoutMs, signal) {
        const { dir } = stateOf(handle);
        const socket = podmanSocketOf(dir);
        const deadline = this.now() + timeoutMs;
        let nextStatusCheck = this.now() + 1000;
        for (;;) {
            if (signal?.aborted)
                throw new _driver_js__WEBPACK_IMPORTED_MODULE_4__/* .VmError */ .w('timeout', `waiting for ${handle.name} was cancelled`);
            const left = deadline - this.now();
            if (await this.ping(socket, Math.max(1, Math.min(1000, left))))
                return;
            // A broken or stopped instance will never answer: say so now rather than at the deadline.
            if (this.now() >= nextStatusCheck) {
                nextStatusCheck = this.now() + 1000;
                const instance = await this.instance(handle.name);
                if (instance?.status !== 'Running') {
                    throw new _driver_js__WEBPACK_IMPORTED_MODULE_4__/* .VmError */ .w('start_failed', `${handle.name} is ${instance ? instance.status || 'not running' : 'gone'} while waiting for ${socket}${await this.failureReport(handle.name)}`);
                }
            }
            if (this.now() >= deadline) {
                throw new _driver_js__WEBPACK_IMPORTED_MODULE_4__/* .VmError */ .w('timeout', `the podman socket ${socket} did not answer GET /libpod/_ping within ${timeoutMs} ms${await this.failureReport(handle.name)}`);
            }
            await this.sleep(Math.min(this.pollMs, Math.max(0, deadline - this.now())));
        }
    }
    async exec(handle, argv, options = {}) {
        if (argv.length === 0)
            throw new _driver_js__WEBPACK_IMPORTED_MODULE_4__/* .VmError */ .w('invalid', 'exec needs a command');
        const ran = await this.run(limaArgv.shell(handle.name, argv), {
            timeoutMs: options.timeoutMs,
            stdin: options.stdin,
        });
        // limactl's own errors ("instance … is stopped") also exit 1, and ssh failing exits 255:
        // only a running instance makes those the guest command's exit code.
        if (!ran.timedOut && (ran.exitCode === 1 || ran.exitCode === 255)) {
            const instance = await this.instance(handle.name);
            if (instance?.status !== 'Running') {
                throw new _driver_js__WEBPACK_IMPORTED_MODULE_4__/* .VmError */ .w('exec_failed', `cannot run commands in ${handle.name}: it is ${instance ? instance.status || 'not running' : 'gone'} (${(0,_tool_process_js__WEBPACK_IMPORTED_MODULE_6__/* .lastWords */ .aN)(ran)})`);
            }
        }
        return {
            exitCode: ran.exitCode,
            stdout: ran.stdout,
            stderr: ran.stderr,
            timedOut: ran.timedOut,
        };
    }
    async copyIn(handle, hostPath, guestPath) {
        // limactl copy splits each argument at ':' to find "instance:path"; a second colon is an error.
        if (hostPath.includes(':') || guestPath.includes(':')) {
            throw new _driver_js__WEBPACK_IMPORTED_MODULE_4__/* .VmError */ .w('invalid', `limactl copy cannot handle paths with ":" (${hostPath} → ${guestPath})`);
        }
        if (!(0,node_path__WEBPACK_IMPORTED_MODULE_2__.isAbsolute)(hostPath) || !node_path__WEBPACK_IMPORTED_MODULE_2__.posix.isAbsolute(guestPath)) {
            throw new _driver_js__WEBPACK_IMPORTED_MODULE_4__/* .VmError */ .w('invalid', `copyIn needs absolute paths (${hostPath} → ${guestPath})`);
        }
        // scp does not create parent directories.
        const mkdir = await this.exec(handle, ['mkdir', '-p', node_path__WEBPACK_IMPORTED_MODULE_2__.posix.dirname(guestPath)], {
            timeoutMs: 60_000,
        });
        if (mkdir.exitCode !== 0) {
            throw new _driver_js__WEBPACK_IMPORTED_MODULE_4__/* .VmError */ .w('exec_failed', `mkdir -p ${node_path__WEBPACK_IMPORTED_MODULE_2__.posix.dirname(guestPath)} in ${handle.name} failed: ${(0,_tool_process_js__WEBPACK_IMPORTED_MODULE_6__/* .lastWords */ .aN)(mkdir)}`);
        }
        const copied = await this.run(limaArgv.copy(hostPath, handle.name, guestPath), {
            timeoutMs: 10 * 60_000,
        });
        if (copied.exitCode !== 0 || copied.timedOut) {
            throw new _driver_js__WEBPACK_IMPORTED_MODULE_4__/* .VmError */ .w('exec_failed', `limactl copy ${hostPath} → ${handle.name}:${guestPath} failed: ${copied.timedOut ? 'timed out' : (0,_tool_process_js__WEBPACK_IMPORTED_MODULE_6__/* .lastWords */ .aN)(copied)}`);
        }
    }
    async stop(handle) {
        const stopped = await this.run(limaArgv.stop(handle.name, false), { timeoutMs: 5 * 60_000 });
        if (stopped.exitCode === 0)
            return;
        const instance = await this.instance(handle.name);
        if (instance === undefined || instance.status === 'Stopped')
            return;
        throw new _driver_js__WEBPACK_IMPORTED_MODULE_4__/* .VmError */ .w('exec_failed', `limactl stop ${handle.name} failed: ${(0,_tool_process_js__WEBPACK_IMPORTED_MODULE_6__/* .lastWords */ .aN)(stopped)}`);
    }
    async delete(handle) {
        // Force-stop first: delete refuses a running instance, and a DEGRADED start leaves one running.
        await this.run(limaArgv.stop(handle.name, true), { timeoutMs: 5 * 60_000 });
        const deleted = await this.run(limaArgv.delete(handle.name), { timeoutMs: 5 * 60_000 });
        if (deleted.exitCode === 0)
            return;
        if ((await this.instance(handle.name)) === undefined)
            return;
        throw new _driver_js__WEBPACK_IMPORTED_MODULE_4__/* .VmError */ .w('exec_failed', `limactl delete --force ${handle.name} failed: ${(0,_tool_process_js__WEBPACK_IMPORTED_MODULE_6__/* .lastWords */ .aN)(deleted)}`);
    }
    /**
     * Lima's user-mode network: the host's loopback answers at 192.168.5.2
     * (host.lima.internal), its DNS at 192.168.5.3. Lima enforces no allowlist, so an
     * allowed loopback endpoint is reached through the host address like any other
     * host port — which is what the gate then finds.
     */
    guestNetwork(_handle, allow) {
        return {
            gateway: LIMA_HOST_ADDRESS,
            dns: '192.168.5.3',
            forwards: allow.map((target) => ({
                guestAddress: isLoopbackHost(target.host) ? LIMA_HOST_ADDRESS : target.host,
                guestPort: target.port,
                target,
            })),
        };
    }
    async describe(handle) {
        const instance = await this.instance(handle.name);
        const accel = handle.state.accel ?? 'tcg';
        if (!instance)
            return { name: handle.name, backend: 'lima', accel, status: 'missing', details: {} };
        const details = { dir: instance.dir, status: instance.status };
        for (const key of ['vmType', 'arch', 'cpus', 'memory']) {
            if (instance[key] !== undefined)
                details[key] = String(instance[key]);
        }
        return {
            name: handle.name,
            backend: 'lima',
            accel,
            status: describeStatus(instance.status),
            podmanSocket: podmanSocketOf(instance.dir),
            details,
        };
    }
}
const limactlVersion = limaArgv.version;
function describeStatus(status) {
    if (status === 'Running')
        return 'running';
    if (status === 'Broken')
        return 'broken';
    return 'stopped';
}
/** Where Lima forwards the guest's podman socket (our template's `hostSocket`). */
const podmanSocketOf = (dir) => (0,node_path__WEBPACK_IMPORTED_MODULE_2__.join)(dir, 'sock', 'podman.sock');
function stateOf(handle) {
    const { dir, accel } = handle.state;
    if (typeof dir !== 'string')
        throw new _driver_js__WEBPACK_IMPORTED_MODULE_4__/* .VmError */ .w('invalid', `handle for ${handle.name} has no instance directory`);
    return { dir, accel: accel ?? 'tcg' };
}
async function tailOfFile(path, bytes) {
    let file;
    try {
        file = await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.open)(path, 'r');
        const { size } = await file.stat();
        const length = Math.min(size, bytes);
        const buffer = Buffer.alloc(length);
        await file.read(buffer, 0, length, size - length);
        return buffer.toString('utf8');
    }
    catch {
        return undefined;
    }
    finally {
        await file?.close();
    }
}


/***/ })

};
