export const id = 415;
export const ids = [415];
export const modules = {

/***/ 5415:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  sandboxCheck: () => (/* binding */ sandboxCheck)
});

// EXTERNAL MODULE: external "node:fs/promises"
var promises_ = __webpack_require__(1455);
// EXTERNAL MODULE: ./src/lib/cleanup.ts
var cleanup = __webpack_require__(2235);
// EXTERNAL MODULE: ./src/lib/command/invoke.ts
var invoke = __webpack_require__(5197);
// EXTERNAL MODULE: ./src/lib/vm/delete.ts
var vm_delete = __webpack_require__(3662);
// EXTERNAL MODULE: ./src/lib/vm/drivers.ts
var drivers = __webpack_require__(9738);
;// CONCATENATED MODULE: ./src/lib/vm/guest/http-get.ts
/**
 * A guest-side HTTP GET with busybox nc, as an argv for `exec` (busybox wget
 * segfaults in a bare initramfs). nc quits when its stdin ends, possibly before
 * the host relay has even connected, so stdin stays open (a FIFO fed by a
 * sleeper) until the server closes. `then` is a shell pipeline stage for the
 * response (e.g. dropping the headers and hashing the body).
 */
function guestHttpGet(host, port, path = '/', then) {
    const script = [
        'f=/tmp/get.$$; mkfifo $f',
        `(printf 'GET ${path} HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n'; sleep 60) > $f & s=$!`,
        `nc -w 30 ${host} ${port} < $f${then ? ` | ${then}` : ''}; rc=$?`,
        'kill $s; rm -f $f; exit $rc',
    ].join('; ');
    return ['sh', '-c', script];
}

// EXTERNAL MODULE: ./src/lib/vm/state.ts
var state = __webpack_require__(680);
;// CONCATENATED MODULE: ./src/lib/release/sandbox.ts







/** In the guest: the body's sha256 (headers dropped) of an HTTP GET through busybox nc. */
const fetchSha256 = (address, port, path) => guestHttpGet(address, port, path, "sed '1,/^\\r$/d' | sha256sum");
/**
 * Boots the default guest (boot-vm, the same command the action runs) allowed only
 * the release's HTTP server, reads the published manifest from inside it through
 * that endpoint, checks that the host's own loopback is not reachable, runs the
 * sandbox-escape gate on it (the same command as the action), and deletes the VM.
 */
async function sandboxCheck(o, ctx) {
    const { name, stateDir } = o;
    const remove = async () => {
        if (await (0,vm_delete/* deleteVm */.p)(stateDir, name))
            ctx.log.info(`deleted VM ${name}`);
    };
    // A VM that came up is this step's to delete, also when the run is cancelled.
    const tracked = cleanup/* processCleanups */.hd.track({ kind: 'vm', name, stateDir }, remove);
    try {
        const { outputs } = await (0,invoke/* invoke */.l)(o.boot, { name, allow: `${o.server.host}:${o.server.port}`, 'state-dir': stateDir, keep: 'true' }, ctx);
        const handle = await (0,state/* loadHandle */.Vj)(stateDir, name);
        const driver = await (0,drivers/* driverFor */.Q)(handle.backend);
        const read = async (address) => {
            const run = await driver.exec(handle, fetchSha256(address, o.server.port, o.manifestPath), {
                timeoutMs: 30_000,
            });
            return run.stdout.toString('utf8').split(/\s/)[0] ?? '';
        };
        // Where the guest reaches the release's server, and where it would reach the host itself.
        const network = driver.guestNetwork(handle, [o.server]);
        const allowed = await read(network.forwards[0]?.guestAddress ?? '');
        const loopback = await read(network.gateway);
        const empty = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
        const allow = `${o.server.host}:${o.server.port}`;
        const gate = await ctx.log.group('sandbox-gate', () => (0,invoke/* invoke */.l)(o.gate, { name, allow, 'state-dir': stateDir, 'control-log': o.controlLog, report: o.gateReport }, ctx));
        const report = JSON.parse(await (0,promises_.readFile)(o.gateReport, 'utf8'));
        return {
            name,
            accel: outputs.accel ?? '',
            bootMs: Number(outputs['boot-ms']),
            fetchedManifest: allowed === o.manifestSha256,
            hostLoopbackRefused: loopback === empty,
            gate: {
                verdict: gate.outputs.verdict ?? '',
                probes: report.probes.length,
                escapes: JSON.parse(gate.outputs.escapes ?? '[]').length,
                report: o.gateReport,
                ...(gate.failure ? { failure: gate.failure } : {}),
            },
        };
    }
    finally {
        await remove();
        tracked.release();
    }
}


/***/ })

};
