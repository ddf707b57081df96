export const id = 309;
export const ids = [309];
export const modules = {

/***/ 3309:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  openStore: () => (/* binding */ openStore),
  s3ObjectReader: () => (/* binding */ s3ObjectReader)
});

// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(3024);
// EXTERNAL MODULE: external "node:fs/promises"
var promises_ = __webpack_require__(1455);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(6760);
// EXTERNAL MODULE: external "node:stream/promises"
var external_node_stream_promises_ = __webpack_require__(6466);
// EXTERNAL MODULE: ./src/lib/cleanup.ts
var cleanup = __webpack_require__(2235);
// EXTERNAL MODULE: ./src/lib/fs/atomic.ts
var atomic = __webpack_require__(1646);
// EXTERNAL MODULE: ./src/lib/fs/hash.ts
var hash = __webpack_require__(6683);
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
    await (0,promises_.mkdir)((0,external_node_path_.dirname)(path), { recursive: true });
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

// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(7598);
// EXTERNAL MODULE: external "node:stream"
var external_node_stream_ = __webpack_require__(7075);
;// CONCATENATED MODULE: ./src/lib/fs/verified-write.ts






class VerifyError extends (/* unused pure expression or super */ null && (Error)) {
    name = 'VerifyError';
}
function partialPathOf(out) {
    return `${out}.partial`;
}
/** A pass-through that hashes and counts what flows through it. */
function digestStream() {
    const hash = (0,external_node_crypto_.createHash)('sha256');
    let sizeBytes = 0;
    const stream = new external_node_stream_.Transform({
        transform(chunk, _encoding, callback) {
            hash.update(chunk);
            sizeBytes += chunk.length;
            callback(null, chunk);
        },
    });
    return Object.assign(stream, {
        digest: () => ({ sha256: hash.digest('hex'), sizeBytes }),
        /** Counts bytes already written elsewhere (a resumed transfer's prefix) without passing them on. */
        seed: (chunk) => {
            hash.update(chunk);
            sizeBytes += chunk.length;
        },
    });
}
function checkDigest(what, actual, expected) {
    if (expected.sizeBytes !== undefined && actual.sizeBytes !== expected.sizeBytes) {
        throw new VerifyError(`size mismatch for ${what}: expected ${expected.sizeBytes} bytes, got ${actual.sizeBytes}`);
    }
    if (expected.sha256 !== undefined && actual.sha256 !== expected.sha256) {
        throw new VerifyError(`sha256 mismatch for ${what}: expected ${expected.sha256}, got ${actual.sha256}`);
    }
}
/**
 * Streams `source` to `<out>.partial` while hashing, then renames it into place
 * only when the size and sha256 match what is expected. On any failure the
 * partial is removed (unless `keepPartial` for a later resume), so a reader
 * never sees a half-written or unverified file under the final name.
 */
async function writeVerified(source, out, options = {}) {
    const partial = partialPathOf(out);
    await mkdir(dirname(out), { recursive: true });
    const digest = digestStream();
    const resumeFrom = options.resumeFrom ?? 0;
    let ok = false;
    try {
        if (resumeFrom > 0) {
            // A partial can be longer than what was acknowledged (a write that landed after the cut).
            await truncate(partial, resumeFrom);
            for await (const chunk of createReadStream(partial, {
                end: resumeFrom - 1,
                highWaterMark: 1 << 20,
            })) {
                digest.seed(chunk);
            }
        }
        await pipeline(source, digest, createWriteStream(partial, { flags: resumeFrom > 0 ? 'r+' : 'w', start: resumeFrom }));
        const actual = digest.digest();
        checkDigest(options.label ?? out, actual, options.expected ?? {});
        await rename(partial, out);
        ok = true;
        return actual;
    }
    finally {
        if (!ok && !options.keepPartialOnError)
            await rm(partial, { force: true });
    }
}
/** The size of `<out>.partial` left by an interrupted transfer, or 0. */
async function partialSize(out) {
    return stat(partialPathOf(out)).then((s) => s.size, () => 0);
}

// EXTERNAL MODULE: ./src/lib/limits.ts
var limits = __webpack_require__(8119);
// EXTERNAL MODULE: ./src/lib/manifest/keys.ts
var keys = __webpack_require__(5913);
// EXTERNAL MODULE: ./src/lib/store/types.ts
var types = __webpack_require__(748);
;// CONCATENATED MODULE: ./src/lib/store/file.ts












/** A cancelled step removes its temp copy; a killed one leaves it to the `post` step. */
function trackTemp(temp) {
    return cleanup/* processCleanups */.hd.track({ kind: 'file', path: temp }, () => (0,promises_.rm)(temp, { force: true }));
}
/** Kept beside the objects under a name no release key uses. */
const META_DIR = '.vm-tools';
/**
 * A directory laid out like the bucket (key = relative path). Writes are atomic
 * (temp + rename); conditional writes are a real compare-and-swap under an
 * exclusive cross-process lock, with ETag = the quoted sha256 of the content.
 */
class FileStore {
    dir;
    lockTimeoutMs;
    description;
    constructor(dir, lockTimeoutMs = 60_000) {
        this.dir = dir;
        this.lockTimeoutMs = lockTimeoutMs;
        this.description = `file://${dir}`;
    }
    /**
     * Every operation's key check: the key rules, and nothing under the store's own
     * metadata directory, which a key could otherwise read or overwrite.
     */
    path(key) {
        try {
            (0,keys/* assertKey */.sM)(key);
        }
        catch (error) {
            throw new types/* StoreError */.AD('invalid', error.message);
        }
        if (key === META_DIR || key.startsWith(`${META_DIR}/`)) {
            throw new types/* StoreError */.AD('invalid', `invalid key "${key}": it is inside the store's own ${META_DIR}/ directory`);
        }
        return (0,external_node_path_.join)(this.dir, key);
    }
    /** Lock files live with the metadata, so listing the bucket tree shows only objects. */
    lockPath(key) {
        return (0,external_node_path_.join)(this.dir, META_DIR, 'locks', key);
    }
    metaPath(key) {
        return (0,external_node_path_.join)(this.dir, META_DIR, 'meta', `${key}.json`);
    }
    async readMeta(key) {
        try {
            return JSON.parse(await (0,promises_.readFile)(this.metaPath(key), 'utf8'));
        }
        catch {
            return undefined;
        }
    }
    async head(key) {
        const path = this.path(key);
        const info = await (0,promises_.stat)(path).catch(() => undefined);
        if (!info?.isFile())
            return undefined;
        let meta = await this.readMeta(key);
        // A file put there by hand (or replaced behind our back) is hashed afresh.
        if (!meta || meta.sizeBytes !== info.size || meta.mtimeMs !== info.mtimeMs) {
            const digest = await (0,hash/* sha256File */.Q3)(path);
            meta =
                meta?.sha256 === digest.sha256
                    ? { ...meta, mtimeMs: info.mtimeMs }
                    : { ...digest, mtimeMs: info.mtimeMs, metadata: {} };
        }
        return {
            key,
            sizeBytes: meta.sizeBytes,
            etag: `"${meta.sha256}"`,
            metadata: meta.metadata,
            ...(meta.contentType ? { contentType: meta.contentType } : {}),
            ...(meta.cacheControl ? { cacheControl: meta.cacheControl } : {}),
        };
    }
    async get(key) {
        const head = await this.head(key);
        if (!head)
            return undefined;
        return { head, body: (0,external_node_fs_.createReadStream)(this.path(key), { highWaterMark: 1 << 20 }) };
    }
    async getText(key) {
        const source = `${this.description}/${key}`;
        const path = this.path(key);
        let head;
        let bytes;
        try {
            // An oversized file is refused before head() hashes it or anything reads it.
            (0,limits/* checkAnnouncedSize */.jH)((await (0,promises_.stat)(path).catch(() => undefined))?.size, source);
            head = await this.head(key);
            if (!head)
                return undefined;
            bytes = await (0,limits/* readCapped */.EF)((0,external_node_fs_.createReadStream)(path, { highWaterMark: 1 << 20 }), source);
        }
        catch (error) {
            if (error instanceof limits/* SizeLimitError */.RZ)
                throw new types/* StoreError */.AD('invalid', error.message, { retryable: false, cause: error });
            if (error instanceof types/* StoreError */.AD)
                throw error;
            // Deleted since head(): as absent as if head() had not seen it.
            return undefined;
        }
        // The bytes read decide the ETag: the file may have been replaced since head().
        return {
            head: { ...head, sizeBytes: bytes.length, etag: `"${(0,hash/* sha256Hex */.fg)(bytes)}"` },
            text: bytes.toString('utf8'),
        };
    }
    async commit(key, temp, sha256, options) {
        const path = this.path(key);
        await withLock(this.lockPath(key), async () => {
            if (options.ifMatch !== undefined || options.ifNoneMatch !== undefined) {
                const current = await this.head(key);
                if (options.ifNoneMatch === '*' && current) {
                    throw new types/* StoreError */.AD('precondition_failed', `PUT ${key}: the key already exists`, {
                        status: 412,
                    });
                }
                if (options.ifMatch !== undefined &&
                    (!current || (0,types/* unquoteEtag */.dF)(current.etag) !== (0,types/* unquoteEtag */.dF)(options.ifMatch))) {
                    throw new types/* StoreError */.AD('precondition_failed', `PUT ${key}: the ETag is ${current ? current.etag : 'absent'}, not ${options.ifMatch}`, { status: 412 });
                }
            }
            await (0,promises_.rename)(temp, path);
            const info = await (0,promises_.stat)(path);
            const meta = {
                sha256,
                sizeBytes: info.size,
                mtimeMs: info.mtimeMs,
                metadata: options.metadata ?? {},
                ...(options.contentType ? { contentType: options.contentType } : {}),
                ...(options.cacheControl ? { cacheControl: options.cacheControl } : {}),
            };
            await (0,atomic/* writeFileAtomic */.Z)(this.metaPath(key), JSON.stringify(meta));
        }, { timeoutMs: this.lockTimeoutMs, what: key });
        return { etag: `"${sha256}"` };
    }
    async put(key, body, options = {}) {
        const path = this.path(key);
        await (0,promises_.mkdir)((0,external_node_path_.dirname)(path), { recursive: true });
        const temp = (0,atomic/* tempPathFor */.F)(path);
        const tracked = trackTemp(temp);
        try {
            await (0,atomic/* writeFileAtomic */.Z)(temp, body);
            return await this.commit(key, temp, (0,hash/* sha256Hex */.fg)(body), options);
        }
        finally {
            await (0,promises_.rm)(temp, { force: true });
            tracked.release();
        }
    }
    async putFile(key, source, options) {
        const path = this.path(key);
        await (0,promises_.mkdir)((0,external_node_path_.dirname)(path), { recursive: true });
        const temp = (0,atomic/* tempPathFor */.F)(path);
        const tracked = trackTemp(temp);
        try {
            const digest = digestStream();
            await (0,external_node_stream_promises_.pipeline)((0,external_node_fs_.createReadStream)(source, { highWaterMark: 1 << 20 }), digest, (0,external_node_fs_.createWriteStream)(temp));
            const { sha256, sizeBytes } = digest.digest();
            options.onProgress?.(sizeBytes);
            return await this.commit(key, temp, sha256, options);
        }
        finally {
            await (0,promises_.rm)(temp, { force: true });
            tracked.release();
        }
    }
    async delete(key) {
        const path = this.path(key);
        await withLock(this.lockPath(key), async () => {
            await (0,promises_.rm)(path, { force: true });
            await (0,promises_.rm)(this.metaPath(key), { force: true });
        });
    }
}

// EXTERNAL MODULE: ./src/lib/store/url.ts
var store_url = __webpack_require__(956);
;// CONCATENATED MODULE: ./src/lib/store/open.ts


/** Opens a store; the AWS SDK is loaded only when an s3:// store is used. */
async function openStore(config, options = {}) {
    if (config.kind === 'file')
        return new FileStore(config.dir);
    const { S3Store } = await Promise.all(/* import() */[__webpack_require__.e(358), __webpack_require__.e(112)]).then(__webpack_require__.bind(__webpack_require__, 4112));
    return new S3Store({ ...config, ...options });
}
/** Reads an `s3://bucket/key` object's text through the configured client (merge baselines). */
function s3ObjectReader(client) {
    return async (url) => {
        const { bucket, key } = (0,store_url/* parseObjectUrl */.K)(url);
        const store = await openStore({ kind: 's3', bucket, prefix: '', ...client });
        return (await store.getText(key))?.text;
    };
}


/***/ }),

/***/ 748:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   AD: () => (/* binding */ StoreError),
/* harmony export */   dF: () => (/* binding */ unquoteEtag)
/* harmony export */ });
/* unused harmony exports isStoreError, quoteEtag */
/** An error at the store boundary, as a value the callers can branch on. */
class StoreError extends Error {
    name = 'StoreError';
    kind;
    retryable;
    status;
    constructor(kind, message, options = {}) {
        super(message, { cause: options.cause });
        this.kind = kind;
        this.status = options.status;
        // Someone else winning a compare-and-swap is worth another try; so is a blip.
        this.retryable =
            options.retryable ?? (kind === 'transient' || kind === 'conflict' || kind === 'unknown');
    }
}
function isStoreError(error, kind) {
    return error instanceof StoreError && (kind === undefined || error.kind === kind);
}
function unquoteEtag(etag) {
    return etag.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}
function quoteEtag(etag) {
    return `"${unquoteEtag(etag)}"`;
}


/***/ })

};
