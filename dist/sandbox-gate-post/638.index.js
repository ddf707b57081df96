export const id = 638;
export const ids = [638];
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

/***/ 6638:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  MIN_SMOLVM_VERSION: () => (/* binding */ MIN_SMOLVM_VERSION),
  SmolvmDriver: () => (/* binding */ SmolvmDriver),
  allowlistOf: () => (/* binding */ allowlistOf),
  checkSmolvmName: () => (/* binding */ checkSmolvmName),
  hostCidr: () => (/* binding */ hostCidr),
  kvmProblem: () => (/* binding */ kvmProblem),
  parseMachineList: () => (/* binding */ parseMachineList),
  parseVersion: () => (/* binding */ parseVersion),
  smolvmArgv: () => (/* binding */ smolvmArgv),
  versionAtLeast: () => (/* binding */ versionAtLeast)
});

// EXTERNAL MODULE: external "node:dns/promises"
var promises_ = __webpack_require__(1553);
// EXTERNAL MODULE: external "node:fs/promises"
var external_node_fs_promises_ = __webpack_require__(1455);
// EXTERNAL MODULE: external "node:net"
var external_node_net_ = __webpack_require__(7030);
// EXTERNAL MODULE: external "node:os"
var external_node_os_ = __webpack_require__(8161);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(6760);
// EXTERNAL MODULE: ./src/lib/vm/driver.ts
var driver = __webpack_require__(5899);
// EXTERNAL MODULE: ./src/lib/vm/kvm-access.ts
var kvm_access = __webpack_require__(6000);
// EXTERNAL MODULE: ./node_modules/proper-lockfile/index.js
var proper_lockfile = __webpack_require__(3648);
var proper_lockfile_default = /*#__PURE__*/__webpack_require__.n(proper_lockfile);
;// CONCATENATED MODULE: ./src/lib/retry.ts
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
function backoffDelay(attempt, baseMs, maxMs, random) {
    return Math.round(random() * Math.min(maxMs, baseMs * 2 ** (attempt - 1)));
}
/**
 * A backoff schedule started now. Each `nextDelay()` is the jittered wait after
 * one more failed attempt, or undefined when the attempts or the time are used up.
 */
class Backoff {
    failures = 0;
    started;
    now;
    random;
    pause;
    baseMs;
    maxMs;
    // No parameter properties: lock.ts (and so this file) also runs under plain
    // type stripping in a child process of the lock test.
    policy;
    constructor(policy, defaults = { baseMs: 200, maxMs: 10_000 }) {
        this.policy = policy;
        this.now = policy.now ?? Date.now;
        this.random = policy.random ?? Math.random;
        this.pause = policy.sleep ?? sleep;
        this.baseMs = policy.baseMs ?? defaults.baseMs;
        this.maxMs = policy.maxMs ?? defaults.maxMs;
        this.started = this.now();
    }
    /** Failed attempts so far. */
    get attempts() {
        return this.failures;
    }
    elapsedMs() {
        return this.now() - this.started;
    }
    /** Time left before the deadline (Infinity without one). */
    remainingMs() {
        const { deadlineMs } = this.policy;
        return deadlineMs === undefined ? Number.POSITIVE_INFINITY : deadlineMs - this.elapsedMs();
    }
    /** Records a failed attempt; the wait before the next one, or undefined to give up. */
    nextDelay() {
        this.failures++;
        const delay = backoffDelay(this.failures, this.baseMs, this.maxMs, this.random);
        if (this.failures >= (this.policy.attempts ?? Number.POSITIVE_INFINITY))
            return undefined;
        if (delay > this.remainingMs())
            return undefined;
        return delay;
    }
    /**
     * For loops bounded by time alone: the wait after one more failure, cut so the
     * last try happens at the deadline; undefined once the deadline has passed.
     */
    nextDelayWithinDeadline() {
        const delay = this.nextDelay();
        const remaining = this.remainingMs();
        if (remaining <= 0)
            return undefined;
        return Math.min(delay ?? remaining, remaining);
    }
    sleep(ms) {
        return this.pause(ms);
    }
}
async function retry(fn, options) {
    const backoff = new Backoff(options);
    for (let attempt = 1;; attempt++) {
        try {
            return await fn(attempt);
        }
        catch (error) {
            const delay = backoff.nextDelay();
            if (delay === undefined || !options.isRetryable(error))
                throw error;
            options.onRetry?.(error, attempt, delay);
            await backoff.sleep(delay);
        }
    }
}

;// CONCATENATED MODULE: ./src/lib/fs/lock.ts




/**
 * Runs `fn` holding an exclusive cross-process lock on `path` (a `<path>.lock`
 * directory: mkdir is atomic on every filesystem, and proper-lockfile refreshes
 * its mtime so a holder that died is detected as stale instead of blocking forever).
 */
async function withLock(path, fn, options = {}) {
    await (0,external_node_fs_promises_.mkdir)((0,external_node_path_.dirname)(path), { recursive: true });
    const timeoutMs = options.timeoutMs ?? 60_000;
    // Holders keep a lock for milliseconds: start polling fast, never wait long.
    const backoff = new Backoff({ ...options.backoff, deadlineMs: timeoutMs }, { baseMs: 10, maxMs: 400 });
    let release;
    for (;;) {
        try {
            release = await proper_lockfile_default().lock(path, { realpath: false, stale: 10_000, update: 2_000 });
            break;
        }
        catch (error) {
            if (error.code !== 'ELOCKED')
                throw error;
            const delay = backoff.nextDelayWithinDeadline();
            if (delay === undefined) {
                throw new Error(`timed out after ${timeoutMs} ms waiting for the lock on ${options.what ?? path}`);
            }
            await backoff.sleep(delay);
        }
    }
    try {
        return await fn();
    }
    finally {
        await release().catch(() => { });
    }
}

;// CONCATENATED MODULE: ./src/lib/vm/loopback.ts



const recordsDir = (dir) => (0,external_node_path_.join)(dir, 'allocations');
/** Decodes `/proc/net/tcp` and `/proc/net/tcp6` rows in LISTEN state (0A) to IPv4 addresses. */
function listeningIpv4(procNetTcp) {
    const out = new Set();
    for (const line of procNetTcp.split('\n').slice(1)) {
        const fields = line.trim().split(/\s+/);
        const local = fields[1];
        if (!local || fields[3] !== '0A')
            continue;
        const hex = local.split(':')[0] ?? '';
        // tcp: 8 hex digits, little-endian; tcp6: a v4-mapped ::ffff:a.b.c.d ends in the same 8.
        const v4 = hex.length === 8
            ? hex
            : hex.length === 32 && hex.slice(0, 24) === '0000000000000000FFFF0000'
                ? hex.slice(24)
                : undefined;
        if (!v4)
            continue;
        const bytes = [6, 4, 2, 0].map((i) => Number.parseInt(v4.slice(i, i + 2), 16));
        out.add(bytes.join('.'));
    }
    return out;
}
async function listeningFromProc() {
    const out = new Set();
    for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
        const text = await (0,external_node_fs_promises_.readFile)(file, 'utf8').catch(() => '');
        for (const address of listeningIpv4(text))
            out.add(address);
    }
    return out;
}
async function readAllocations(dir) {
    const names = await (0,external_node_fs_promises_.readdir)(recordsDir(dir)).catch(() => []);
    const out = [];
    for (const name of names.filter((n) => n.endsWith('.json'))) {
        const text = await (0,external_node_fs_promises_.readFile)((0,external_node_path_.join)(recordsDir(dir), name), 'utf8').catch(() => undefined);
        if (text === undefined)
            continue;
        try {
            out.push(JSON.parse(text));
        }
        catch {
            // A record is written to a temp name and renamed: a torn one is not ours to trust or reuse.
        }
    }
    return out;
}
/** Gives `owner` its own 127.0.0.N (the same one again if it already has one). */
async function allocateLoopback(owner, options) {
    const first = options.first ?? 2;
    const last = options.last ?? 254;
    return withLock((0,external_node_path_.join)(options.dir, 'allocations'), async () => {
        const allocations = await readAllocations(options.dir);
        const mine = allocations.find((a) => a.owner === owner);
        if (mine)
            return mine.address;
        const taken = new Set(allocations.map((a) => a.address));
        const listening = (await (options.listening ?? (process.platform === 'linux' ? listeningFromProc : undefined))?.()) ?? new Set();
        for (let n = first; n <= last; n++) {
            const address = `127.0.0.${n}`;
            if (taken.has(address) || listening.has(address))
                continue;
            await (0,external_node_fs_promises_.mkdir)(recordsDir(options.dir), { recursive: true });
            const record = { owner, address, pid: process.pid };
            const path = (0,external_node_path_.join)(recordsDir(options.dir), `${address}.json`);
            await (0,external_node_fs_promises_.writeFile)(`${path}.tmp`, JSON.stringify(record));
            await (0,external_node_fs_promises_.rename)(`${path}.tmp`, path);
            return address;
        }
        throw new Error(`no free loopback address in 127.0.0.${first}–127.0.0.${last}`);
    }, { what: `loopback allocations in ${options.dir}` });
}
/** Frees `owner`'s address; freeing one it does not have is not an error. */
async function releaseLoopback(owner, options) {
    await withLock((0,external_node_path_.join)(options.dir, 'allocations'), async () => {
        for (const allocation of await readAllocations(options.dir)) {
            if (allocation.owner !== owner)
                continue;
            await (0,external_node_fs_promises_.rm)((0,external_node_path_.join)(recordsDir(options.dir), `${allocation.address}.json`), { force: true });
        }
    }, { what: `loopback allocations in ${options.dir}` });
}

// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(3024);
// EXTERNAL MODULE: external "node:sqlite"
var external_node_sqlite_ = __webpack_require__(99);
;// CONCATENATED MODULE: ./src/lib/vm/sqlite-allowlist.ts





/**
 * smolvm persists each machine's egress allowlist in its SQLite state DB
 * (`vms(name TEXT PRIMARY KEY, data BLOB)`, `data` a JSON document with an
 * `allowed_cidrs` array). Several smolvm releases lost the allowlist on some
 * paths (spec vm.md), so the driver confirms what is stored before it lets the
 * machine start, and refuses when it cannot make it right.
 *
 * The DB runs in WAL mode: it is opened with real SQLite (node:sqlite), never
 * read as a file, so committed WAL frames are seen and nothing newer is overwritten.
 */
/** Where smolvm keeps its state DB on this platform. */
function smolvmDbPath(env = process.env, platform = process.platform, home = (0,external_node_os_.homedir)()) {
    if (platform === 'darwin') {
        return (0,external_node_path_.join)(home, 'Library', 'Application Support', 'smolvm', 'server', 'smolvm.db');
    }
    const data = env.XDG_DATA_HOME || (0,external_node_path_.join)(home, '.local', 'share');
    return (0,external_node_path_.join)(data, 'smolvm', 'server', 'smolvm.db');
}
/** One canonical order, so the stored list and the requested one compare as sets. */
const canonicalCidrs = (cidrs) => [...new Set(cidrs)].sort();
const sameList = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
function decode(name, row) {
    const text = typeof row.data === 'string' ? row.data : Buffer.from(row.data ?? new Uint8Array()).toString();
    try {
        const doc = JSON.parse(text);
        if (doc && typeof doc === 'object' && !Array.isArray(doc))
            return doc;
    }
    catch { }
    throw refuse(`the state row for "${name}" is not a JSON object (saw ${JSON.stringify(text.slice(0, 200))})`);
}
function storedCidrs(doc) {
    const list = doc.allowed_cidrs;
    if (list === undefined || list === null)
        return [];
    if (!Array.isArray(list) || !list.every((c) => typeof c === 'string'))
        return undefined;
    return canonicalCidrs(list);
}
const refuse = (why) => new driver/* VmError */.w('start_failed', `refusing to start: cannot confirm the egress allowlist: ${why}`);
/**
 * Makes the stored allowlist of machine `name` equal `wanted`, writing only when
 * it differs, and reads it back. Throws VmError('start_failed') — fail closed —
 * when the DB or the row is missing or the stored list still differs afterwards.
 */
function confirmAllowlist(dbPath, name, wanted) {
    // DatabaseSync would create a missing file: look first, so "no DB" is seen, not made.
    try {
        if (!(0,external_node_fs_.statSync)(dbPath).isFile())
            throw refuse(`${dbPath} is not a file`);
    }
    catch (error) {
        if (error instanceof driver/* VmError */.w)
            throw error;
        throw refuse(`no smolvm state DB at ${dbPath}`);
    }
    const want = canonicalCidrs(wanted);
    const db = new external_node_sqlite_.DatabaseSync(dbPath);
    try {
        // smolvm's own process may be writing: wait for its lock instead of failing at once.
        db.exec('PRAGMA busy_timeout = 5000');
        const table = db
            .prepare("SELECT 1 AS present FROM sqlite_master WHERE type = 'table' AND name = 'vms'")
            .get();
        if (!table)
            throw refuse(`${dbPath} has no vms table`);
        const read = db.prepare('SELECT data FROM vms WHERE name = ?');
        const readRow = () => read.get(name);
        db.exec('BEGIN IMMEDIATE');
        let seen;
        try {
            const row = readRow();
            if (!row) {
                const names = db.prepare('SELECT name FROM vms ORDER BY name').all()
                    .map((r) => r.name)
                    .slice(0, 20);
                throw refuse(`${dbPath} has no row for "${name}" (machines seen: ${names.length ? names.join(', ') : 'none'})`);
            }
            const doc = decode(name, row);
            seen = storedCidrs(doc);
            if (seen !== undefined && sameList(seen, want)) {
                db.exec('COMMIT');
                return { patched: false, seen };
            }
            doc.allowed_cidrs = want;
            // A BLOB, as smolvm writes it: smolvm fails to read a row whose data is TEXT.
            db.prepare('UPDATE vms SET data = ? WHERE name = ?').run(Buffer.from(JSON.stringify(doc)), name);
            db.exec('COMMIT');
        }
        catch (error) {
            if (db.isTransaction)
                db.exec('ROLLBACK');
            throw error;
        }
        const after = readRow();
        const stored = after ? storedCidrs(decode(name, after)) : undefined;
        if (stored === undefined || !sameList(stored, want)) {
            throw refuse(`the patch of "${name}" did not stick: wanted ${JSON.stringify(want)}, the DB still holds ${after ? JSON.stringify(stored ?? decode(name, after).allowed_cidrs) : 'no row'}`);
        }
        return { patched: true, seen: seen ?? [] };
    }
    finally {
        db.close();
    }
}

// EXTERNAL MODULE: ./src/lib/vm/tool-process.ts + 2 modules
var tool_process = __webpack_require__(2739);
;// CONCATENATED MODULE: ./src/lib/vm/smolvm.ts










/**
 * smolvm (libkrun micro-VMs) through its CLI, 1.9.x. The name is always the
 * `--name` flag, never positional; the egress allowlist is confirmed in
 * smolvm's state DB before the machine may start.
 */
/**
 * Before 1.9.0 smolvm ignored the allowlist on some paths: TSI ignored it
 * (fixed 1.1.3), `--from` dropped it (1.8.0), `--oci-cache` runs ignored it (1.9.0).
 */
const MIN_SMOLVM_VERSION = '1.9.0';
const SMOLVM_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
function checkSmolvmName(name) {
    if (!SMOLVM_NAME.test(name)) {
        throw new driver/* VmError */.w('invalid', `name "${name}" is not a valid smolvm machine name: 1–63 letters, digits, ".", "_" or "-", starting with a letter or digit`);
    }
}
function parseVersion(text) {
    const m = /(\d+)\.(\d+)\.(\d+)/.exec(text);
    return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}
function versionAtLeast(have, want) {
    for (let i = 0; i < 3; i++) {
        const a = have[i] ?? 0;
        const b = want[i] ?? 0;
        if (a !== b)
            return a > b;
    }
    return true;
}
/** Grace on smolvm's own `--timeout`: ours fires first (so we can say timedOut), smolvm's is the backstop. */
const EXEC_TIMEOUT_GRACE_S = 5;
const DEFAULT_EXEC_TIMEOUT_MS = 10 * 60_000;
const smolvmArgv = {
    version: () => ['--version'],
    create: (o) => [
        'machine',
        'create',
        '--name',
        o.name,
        ...(o.image ? ['-I', o.image] : []),
        // No allowed endpoint means no network at all: `--net` without an allowlist would open everything.
        ...(o.cidrs.length > 0 ? ['--net', ...o.cidrs.flatMap((c) => ['--allow-cidr', c])] : []),
    ],
    start: (name) => ['machine', 'start', '--name', name],
    exec: (name, timeoutMs, argv, stdin) => [
        'machine',
        'exec',
        '--name',
        name,
        '--timeout',
        `${Math.ceil(timeoutMs / 1000) + EXEC_TIMEOUT_GRACE_S}s`,
        ...(stdin ? ['-i'] : []),
        '--',
        ...argv,
    ],
    stop: (name) => ['machine', 'stop', '--name', name],
    /** `-f` always: without it smolvm prompts, and at EOF prints "Cancelled" and exits 0 having deleted nothing. */
    delete: (name) => ['machine', 'delete', '--name', name, '-f'],
    list: () => ['machine', 'ls', '--json'],
    egressEvents: (name) => ['machine', 'egress-events', '--name', name, '--json'],
};
/** `machine ls --json` is one pretty-printed JSON array. */
function parseMachineList(stdout) {
    const doc = JSON.parse(stdout || '[]');
    if (!Array.isArray(doc))
        throw new Error('machine ls --json did not print an array');
    return doc;
}
/** The CIDR smolvm stores for one address. */
const hostCidr = (address) => (0,external_node_net_.isIP)(address) === 6 ? `${address}/128` : `${address}/32`;
const resolveAll = async (host) => (await (0,promises_.lookup)(host, { all: true })).map((a) => a.address);
/**
 * The CIDRs a machine may reach: each endpoint's address, plus its own loopback.
 * Host names are resolved here, once, rather than with `--allow-host`, so the
 * list we confirm in the DB is exactly the list we asked for.
 */
async function allowlistOf(allow, loopback, resolve = resolveAll) {
    const cidrs = [hostCidr(loopback)];
    for (const endpoint of allow) {
        if ((0,external_node_net_.isIP)(endpoint.host)) {
            cidrs.push(hostCidr(endpoint.host));
            continue;
        }
        let addresses;
        try {
            addresses = await resolve(endpoint.host);
        }
        catch (error) {
            throw new driver/* VmError */.w('invalid', `allow: cannot resolve ${endpoint.host}: ${error.message}`);
        }
        cidrs.push(...addresses.map(hostCidr));
    }
    return canonicalCidrs(cidrs);
}
function kvmProblem(access, path) {
    if (access === 'missing')
        return `${path} is missing: ${kvm_access/* KVM_MISSING_FIX */.w1}`;
    if (access === 'denied')
        return `${path} is not readable and writable by this user: ${kvm_access/* KVM_DENIED_FIX */.N7}`;
    return undefined;
}
class SmolvmDriver {
    options;
    backend = 'smolvm';
    smolvm;
    platform;
    kvmPath;
    loopback;
    sleep;
    now;
    constructor(options = {}) {
        this.options = options;
        this.smolvm = options.smolvm ?? 'smolvm';
        this.platform = options.platform ?? process.platform;
        this.kvmPath = options.kvmPath ?? '/dev/kvm';
        this.loopback = { dir: (0,external_node_path_.join)((0,external_node_os_.tmpdir)(), 'vm-tools-loopback'), ...options.loopback };
        this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
        this.now = options.now ?? Date.now;
    }
    run(args, extra = {}) {
        return (0,tool_process/* runTool */.qI)(this.smolvm, args, {
            env: this.options.env,
            spawn: this.options.spawn,
            ...extra,
        });
    }
    get dbPath() {
        return this.options.dbPath ?? smolvmDbPath(this.options.env ?? process.env, this.platform);
    }
    async accel() {
        if (this.platform === 'darwin')
            return 'hvf';
        const problem = kvmProblem(await (0,kvm_access/* kvmAccess */.Zq)(this.kvmPath), this.kvmPath);
        if (problem)
            throw new driver/* VmError */.w('unavailable', `smolvm needs KVM: ${problem}`);
        return 'kvm';
    }
    async preflight(spec) {
        checkSmolvmName(spec.name);
        if (spec.accel === 'tcg') {
            throw new driver/* VmError */.w('invalid', 'accel=tcg: smolvm has no software emulation (it needs KVM or Hypervisor.framework); use backend qemu for tcg');
        }
        const min = this.options.minVersion ?? MIN_SMOLVM_VERSION;
        const version = await this.run(smolvmArgv.version(), { timeoutMs: 30_000 }).catch((error) => {
            if (error instanceof driver/* VmError */.w && error.kind === 'unavailable') {
                throw new driver/* VmError */.w('unavailable', `${error.message}: install smolvm ${min} or newer (https://smolmachines.com/install.sh)`);
            }
            throw error;
        });
        const text = version.stdout.toString('utf8').trim();
        const have = parseVersion(text);
        const want = parseVersion(min) ?? [0, 0, 0];
        if (version.exitCode !== 0 || !have) {
            throw new driver/* VmError */.w('unavailable', `${this.smolvm} --version failed: ${(0,tool_process/* lastWords */.aN)(version)}`);
        }
        if (!versionAtLeast(have, want)) {
            throw new driver/* VmError */.w('unavailable', `smolvm ${have.join('.')} is older than ${min}, whose egress allowlist is not enforced on every path: upgrade smolvm to ${min} or newer`);
        }
        const accel = await this.accel();
        return { accel, notes: [text, `state DB: ${this.dbPath}`] };
    }
    async start(spec, signal) {
        checkSmolvmName(spec.name);
        const accel = await this.accel();
        // A failed start is deleted; that must never hit a machine this run did not create.
        const existing = await this.machine(spec.name);
        if (existing) {
            throw new driver/* VmError */.w('invalid', `a smolvm machine named ${spec.name} already exists (${existing.state}): delete it (smolvm machine delete --name ${spec.name} -f) or choose another name`);
        }
        const loopback = await allocateLoopback(spec.name, this.loopback);
        const undo = async () => {
            await this.run(smolvmArgv.delete(spec.name), { timeoutMs: 120_000 }).catch(() => { });
            await releaseLoopback(spec.name, this.loopback).catch(() => { });
        };
        let created = false;
        try {
            const cidrs = await allowlistOf(spec.allow, loopback, this.options.resolve);
            const create = await this.run(smolvmArgv.create({ name: spec.name, image: spec.image, cidrs }), { timeoutMs: spec.timeoutMs, signal });
            // Killed mid-way, create may have left a machine behind: clean up as if it had succeeded.
            created = create.exitCode === 0 || create.timedOut || signal?.aborted === true;
            if (create.exitCode !== 0 || create.timedOut) {
                throw new driver/* VmError */.w('start_failed', `smolvm machine create --name ${spec.name} failed: ${create.timedOut ? 'timed out' : (0,tool_process/* lastWords */.aN)(create)}`);
            }
            // Fail closed: the machine does not start unless the stored allowlist is exactly ours.
            confirmAllowlist(this.dbPath, spec.name, cidrs);
            const start = await this.run(smolvmArgv.start(spec.name), {
                timeoutMs: spec.timeoutMs,
                signal,
            });
            if (start.exitCode !== 0 || start.timedOut) {
                throw new driver/* VmError */.w('start_failed', `smolvm machine start --name ${spec.name} failed: ${start.timedOut ? 'timed out' : (0,tool_process/* lastWords */.aN)(start)}`);
            }
            const state = {
                accel,
                loopback,
                allowedCidrs: cidrs,
                dbPath: this.dbPath,
            };
            return { name: spec.name, backend: 'smolvm', state: { ...state } };
        }
        catch (error) {
            if (created)
                await undo();
            else
                await releaseLoopback(spec.name, this.loopback).catch(() => { });
            throw error;
        }
    }
    async ready(handle, timeoutMs, signal) {
        const deadline = this.now() + timeoutMs;
        let last = '';
        for (;;) {
            if (signal?.aborted)
                throw new driver/* VmError */.w('timeout', `waiting for ${handle.name} was cancelled`);
            const machine = await this.machine(handle.name);
            if (!machine)
                throw new driver/* VmError */.w('start_failed', `${handle.name} is gone while waiting for it`);
            if (machine.state === 'failed')
                throw new driver/* VmError */.w('start_failed', `${handle.name} failed to boot`);
            if (machine.state === 'running') {
                const left = Math.max(1000, deadline - this.now());
                const probe = await this.exec(handle, ['true'], { timeoutMs: Math.min(left, 30_000) });
                if (probe.exitCode === 0)
                    return;
                last = `: last probe exited ${probe.exitCode}${probe.timedOut ? ' (timed out)' : ''}: ${(0,tool_process/* lastWords */.aN)(probe)}`;
            }
            else {
                last = `: state ${machine.state}`;
            }
            if (this.now() >= deadline) {
                throw new driver/* VmError */.w('timeout', `${handle.name} could not run commands within ${timeoutMs} ms${last}`);
            }
            await this.sleep(Math.min(this.options.pollMs ?? 25, Math.max(0, deadline - this.now())));
        }
    }
    async exec(handle, argv, options = {}) {
        if (argv.length === 0)
            throw new driver/* VmError */.w('invalid', 'exec needs a command');
        const timeoutMs = options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
        const ran = await this.run(smolvmArgv.exec(handle.name, timeoutMs, argv, options.stdin !== undefined), {
            timeoutMs,
            stdin: options.stdin,
        });
        return {
            exitCode: ran.exitCode,
            stdout: ran.stdout,
            stderr: ran.stderr,
            timedOut: ran.timedOut,
        };
    }
    async copyIn(handle, hostPath, guestPath) {
        if (!external_node_path_.posix.isAbsolute(guestPath))
            throw new driver/* VmError */.w('invalid', `copyIn needs an absolute guest path (${guestPath})`);
        // smolvm has no copy command: the file goes through exec's stdin (buffered; meant for small files).
        const bytes = await (0,external_node_fs_promises_.readFile)(hostPath);
        const ran = await this.exec(handle, ['sh', '-c', 'mkdir -p "$(dirname "$1")" && cat > "$1"', 'sh', guestPath], { stdin: bytes, timeoutMs: 10 * 60_000 });
        if (ran.exitCode !== 0 || ran.timedOut) {
            throw new driver/* VmError */.w('exec_failed', `copying ${hostPath} to ${handle.name}:${guestPath} failed: ${ran.timedOut ? 'timed out' : (0,tool_process/* lastWords */.aN)(ran)}`);
        }
    }
    async stop(handle) {
        const stopped = await this.run(smolvmArgv.stop(handle.name), { timeoutMs: 120_000 });
        if (stopped.exitCode === 0)
            return;
        const machine = await this.machine(handle.name);
        if (!machine || machine.state === 'stopped' || machine.state === 'created')
            return;
        throw new driver/* VmError */.w('exec_failed', `smolvm machine stop --name ${handle.name} failed: ${(0,tool_process/* lastWords */.aN)(stopped)}`);
    }
    async delete(handle) {
        try {
            const deleted = await this.run(smolvmArgv.delete(handle.name), { timeoutMs: 120_000 });
            // An exit 0 is not proof (a prompt that read EOF also exits 0): the list is.
            const still = await this.machine(handle.name);
            if (still) {
                throw new driver/* VmError */.w('exec_failed', `smolvm machine delete --name ${handle.name} -f left the machine in place (${still.state}): ${(0,tool_process/* lastWords */.aN)(deleted)}`);
            }
        }
        finally {
            await releaseLoopback(handle.name, this.loopback);
        }
    }
    async machine(name) {
        const listed = await this.run(smolvmArgv.list(), {
            timeoutMs: 60_000,
            tailBytes: 16 * 1024 * 1024,
        });
        if (listed.exitCode !== 0) {
            throw new driver/* VmError */.w('unavailable', `smolvm machine ls --json failed: ${(0,tool_process/* lastWords */.aN)(listed)}`);
        }
        return parseMachineList(listed.stdout.toString('utf8')).find((m) => m.name === name);
    }
    /**
     * libkrun's TSI carries the guest's sockets to the host's: an allowed endpoint is
     * reached at its own address, and the host's loopback at 127.0.0.1 (refused unless
     * allowed). No DNS address of its own: the guest's resolv.conf says where DNS goes.
     */
    guestNetwork(_handle, allow) {
        return {
            gateway: '127.0.0.1',
            gateway6: '::1',
            forwards: allow.map((target) => ({
                guestAddress: target.host,
                guestPort: target.port,
                target,
            })),
        };
    }
    /** `machine egress-events --json`: smolvm's log of the connections its allowlist refused. */
    async egressEvents(handle) {
        const ran = await this.run(smolvmArgv.egressEvents(handle.name), { timeoutMs: 30_000 });
        if (ran.exitCode !== 0 || ran.timedOut)
            throw new driver/* VmError */.w('exec_failed', `smolvm machine egress-events --name ${handle.name} failed: ${ran.timedOut ? 'timed out' : (0,tool_process/* lastWords */.aN)(ran)}`);
        const text = ran.stdout.toString('utf8').trim();
        if (text === '')
            return [];
        // A JSON array, or one JSON object per line.
        if (text.startsWith('['))
            return JSON.parse(text);
        return text
            .split('\n')
            .filter((l) => l.trim() !== '')
            .map((l) => JSON.parse(l));
    }
    async describe(handle) {
        const state = handle.state;
        const accel = state.accel ?? (this.platform === 'darwin' ? 'hvf' : 'kvm');
        const machine = await this.machine(handle.name);
        const details = {};
        if (state.loopback)
            details.loopback = state.loopback;
        if (state.allowedCidrs)
            details.allowedCidrs = state.allowedCidrs.join(' ');
        if (!machine)
            return { name: handle.name, backend: 'smolvm', accel, status: 'missing', details };
        details.state = machine.state;
        return {
            name: handle.name,
            backend: 'smolvm',
            accel,
            status: describeState(machine.state),
            details,
        };
    }
}
function describeState(state) {
    if (state === 'running')
        return 'running';
    if (state === 'failed' || state === 'unreachable')
        return 'broken';
    return 'stopped';
}


/***/ })

};
