export const id = 467;
export const ids = [467];
export const modules = {

/***/ 4848:
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
// EXTERNAL MODULE: ./src/lib/fs/atomic.ts
var atomic = __webpack_require__(1646);
// EXTERNAL MODULE: ./src/lib/fs/hash.ts
var hash = __webpack_require__(6683);
// EXTERNAL MODULE: ./node_modules/proper-lockfile/index.js
var proper_lockfile = __webpack_require__(3648);
var proper_lockfile_default = /*#__PURE__*/__webpack_require__.n(proper_lockfile);
;// CONCATENATED MODULE: ./src/lib/fs/lock.ts



/**
 * Runs `fn` holding an exclusive cross-process lock on `path` (a `<path>.lock`
 * directory: mkdir is atomic on every filesystem, and proper-lockfile refreshes
 * its mtime so a holder that died is detected as stale instead of blocking forever).
 */
async function withLock(path, fn, options = {}) {
    await (0,promises_.mkdir)((0,external_node_path_.dirname)(path), { recursive: true });
    const timeoutMs = options.timeoutMs ?? 60_000;
    const started = Date.now();
    let release;
    for (let delay = 5;; delay = Math.min(delay * 2, 200)) {
        try {
            release = await proper_lockfile_default().lock(path, { realpath: false, stale: 10_000, update: 2_000 });
            break;
        }
        catch (error) {
            if (error.code !== 'ELOCKED')
                throw error;
            if (Date.now() - started > timeoutMs) {
                throw new Error(`timed out after ${timeoutMs} ms waiting for the lock on ${options.what ?? path}`);
            }
            await new Promise((resolve) => setTimeout(resolve, delay + Math.random() * delay));
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

// EXTERNAL MODULE: ./src/lib/manifest/keys.ts
var keys = __webpack_require__(5913);
// EXTERNAL MODULE: ./src/lib/store/types.ts
var types = __webpack_require__(748);
;// CONCATENATED MODULE: ./src/lib/store/file.ts










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
    path(key) {
        try {
            (0,keys/* assertKey */.sM)(key);
        }
        catch (error) {
            throw new types/* StoreError */.AD('invalid', error.message);
        }
        return (0,external_node_path_.join)(this.dir, key);
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
        const head = await this.head(key);
        if (!head)
            return undefined;
        const bytes = await (0,promises_.readFile)(this.path(key)).catch(() => undefined);
        if (!bytes)
            return undefined;
        // The bytes read decide the ETag: the file may have been replaced since head().
        return {
            head: { ...head, sizeBytes: bytes.length, etag: `"${(0,hash/* sha256Hex */.fg)(bytes)}"` },
            text: bytes.toString('utf8'),
        };
    }
    async commit(key, temp, sha256, options) {
        const path = this.path(key);
        await withLock(path, async () => {
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
        try {
            await (0,atomic/* writeFileAtomic */.Z)(temp, body);
            return await this.commit(key, temp, (0,hash/* sha256Hex */.fg)(body), options);
        }
        finally {
            await (0,promises_.rm)(temp, { force: true });
        }
    }
    async putFile(key, source, options) {
        const path = this.path(key);
        await (0,promises_.mkdir)((0,external_node_path_.dirname)(path), { recursive: true });
        const temp = (0,atomic/* tempPathFor */.F)(path);
        try {
            const digest = digestStream();
            await (0,external_node_stream_promises_.pipeline)((0,external_node_fs_.createReadStream)(source, { highWaterMark: 1 << 20 }), digest, (0,external_node_fs_.createWriteStream)(temp));
            const { sha256, sizeBytes } = digest.digest();
            options.onProgress?.(sizeBytes);
            return await this.commit(key, temp, sha256, options);
        }
        finally {
            await (0,promises_.rm)(temp, { force: true });
        }
    }
    async delete(key) {
        const path = this.path(key);
        await withLock(path, async () => {
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
    const { S3Store } = await Promise.all(/* import() */[__webpack_require__.e(358), __webpack_require__.e(635)]).then(__webpack_require__.bind(__webpack_require__, 5635));
    return new S3Store({ ...config, ...options });
}
/** Reads an `s3://bucket/key` object's text through the configured client (merge baselines). */
function s3ObjectReader(client) {
    return async (url) => {
        const { bucket, key } = (0,store_url/* parseObjectUrl */.Ky)(url);
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
