export const id = 112;
export const ids = [112];
export const modules = {

/***/ 4112:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  S3Store: () => (/* binding */ S3Store)
});

// UNUSED EXPORTS: PARTS_IN_FLIGHT, checkS3Key, classifyS3Error, partSizeFor

// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(3024);
// EXTERNAL MODULE: ./node_modules/@aws-sdk/client-s3/dist-cjs/index.js
var dist_cjs = __webpack_require__(3711);
// EXTERNAL MODULE: ./node_modules/@aws-sdk/lib-storage/dist-cjs/index.js
var lib_storage_dist_cjs = __webpack_require__(2358);
// EXTERNAL MODULE: ./src/lib/limits.ts
var limits = __webpack_require__(8119);
// EXTERNAL MODULE: ./src/lib/manifest/keys.ts
var keys = __webpack_require__(5913);
// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(7598);
// EXTERNAL MODULE: ./src/lib/cleanup.ts
var cleanup = __webpack_require__(2235);
;// CONCATENATED MODULE: ./src/lib/store/multipart-guard.ts



/** How long a cancel waits for an in-flight CreateMultipartUpload to answer with its id. */
const CREATE_SETTLE_MS = 5_000;
/**
 * Aborts a multipart upload; true when there was one to abort. RGW and S3 answer
 * NoSuchUpload (404) for an id already aborted or completed.
 */
async function abortMultipartUpload(client, target) {
    try {
        await client.send(new dist_cjs.AbortMultipartUploadCommand({
            Bucket: target.bucket,
            Key: target.key,
            UploadId: target.uploadId,
        }));
        return true;
    }
    catch (error) {
        const e = error;
        if (e.name === 'NoSuchUpload' || e.$metadata?.httpStatusCode === 404)
            return false;
        throw error;
    }
}
/**
 * Keeps a cancelled `Upload` from leaving parts behind. lib-storage aborts the
 * multipart upload itself on an error, but only after its in-flight parts
 * settle, and `upload.abort()` only flips a signal: a process that exits on
 * SIGINT right after never sends the AbortMultipartUpload. So the upload id is
 * caught as CreateMultipartUpload answers (a middleware on the client: lib-storage
 * has no event for it), saved at once for the `post` step, and on a cancel
 * aborted here directly. Returns the function that ends the guard.
 */
function guardMultipartUpload(client, upload, target, cleanups = cleanup/* processCleanups */.hd) {
    let uploadId;
    let creating;
    const tracked = cleanups.track({ kind: 'multipart', ...target }, async () => {
        await upload.abort();
        if (!uploadId && creating) {
            let timer;
            await Promise.race([
                creating.catch(() => { }),
                new Promise((resolve) => {
                    timer = setTimeout(resolve, CREATE_SETTLE_MS);
                }),
            ]);
            clearTimeout(timer);
        }
        if (uploadId)
            await abortMultipartUpload(client, { ...target, uploadId });
    });
    const name = `vm-tools-multipart-guard-${(0,external_node_crypto_.randomBytes)(6).toString('hex')}`;
    client.middlewareStack.add((next, context) => async (args) => {
        const input = args.input;
        if (context.commandName !== 'CreateMultipartUploadCommand' ||
            input.Bucket !== target.bucket ||
            input.Key !== target.key ||
            creating) {
            return next(args);
        }
        const created = next(args);
        creating = created;
        const result = await created;
        uploadId = result.output.UploadId;
        if (uploadId)
            tracked.update({ kind: 'multipart', ...target, uploadId });
        return result;
    }, { step: 'initialize', name });
    return () => {
        client.middlewareStack.remove(name);
        tracked.release();
    };
}

// EXTERNAL MODULE: ./src/lib/store/types.ts
var types = __webpack_require__(748);
;// CONCATENATED MODULE: ./src/lib/store/s3.ts







const MiB = 1024 * 1024;
/**
 * Parts of at least 8 MiB, growing so an object never needs more than ~1000 parts
 * (R2 and S3 cap at 10,000; fewer, larger parts cost fewer requests). R2 wants equal
 * part sizes, which lib-storage gives us.
 */
function partSizeFor(sizeBytes) {
    return Math.max(8 * MiB, Math.ceil(sizeBytes / 1000 / MiB) * MiB);
}
/**
 * One connection across a real network is capped (window / RTT, per-flow shaping),
 * so parts in flight multiply throughput, but each slot also idles between parts
 * (the server commits the part, a new request starts). Behind a proxy capping each
 * connection at 8 MiB/s (+20 ms per request) on a loaded 2-core machine, 4 in
 * flight reached 2.4-3.5x a single PutObject and 8 reached 3.4-5.3x (bench/store.mjs).
 * Costs 8 parts of memory: 64 MiB at the usual 8 MiB parts.
 */
const PARTS_IN_FLIGHT = 8;
const TRANSIENT_CODES = new Set([
    'ECONNRESET',
    'ECONNREFUSED',
    'EPIPE',
    'ETIMEDOUT',
    'EAI_AGAIN',
    'ECONNABORTED',
    'ENOTFOUND',
    'UND_ERR_SOCKET',
]);
/** Maps an SDK/transport error to a StoreError kind. */
function classifyS3Error(error, what) {
    if (error instanceof types/* StoreError */.AD)
        return error;
    const e = (error ?? {});
    const status = e.$metadata?.httpStatusCode;
    const name = e.name ?? '';
    const detail = `${name || 'error'}${status ? ` (HTTP ${status})` : ''}${e.message && e.message !== name ? `: ${e.message}` : ''}`;
    const message = `${what}: ${detail}`;
    const opts = { status, cause: error };
    if (status === 412 || name === 'PreconditionFailed')
        return new types/* StoreError */.AD('precondition_failed', message, opts);
    if (status === 409 || name === 'ConditionalRequestConflict')
        return new types/* StoreError */.AD('conflict', message, opts);
    if (name === 'NoSuchBucket')
        return new types/* StoreError */.AD('invalid', message, opts);
    if (status === 404 || name === 'NotFound' || name === 'NoSuchKey')
        return new types/* StoreError */.AD('not_found', message, opts);
    if (status === 401 ||
        status === 403 ||
        ['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied'].includes(name))
        return new types/* StoreError */.AD('auth', message, opts);
    if (status === 429 ||
        (status !== undefined && status >= 500) ||
        TRANSIENT_CODES.has(e.code ?? '') ||
        TRANSIENT_CODES.has(name) ||
        ['TimeoutError', 'RequestTimeout', 'SlowDown', 'AbortError'].includes(name) ||
        e.$retryable !== undefined ||
        /socket hang up|ECONNRESET|ECONNREFUSED|EPIPE|premature close|aborted/i.test(e.message ?? ''))
        return new types/* StoreError */.AD('transient', message, opts);
    if (status !== undefined && status >= 400 && status < 500)
        return new types/* StoreError */.AD('invalid', message, opts);
    return new types/* StoreError */.AD('unknown', message, opts);
}
/**
 * The store checks every key itself rather than trusting callers: a key from a
 * manifest or an input that reached the SDK with `..` or a leading `/` would be
 * normalised by some S3-compatibles into a different object than the one named.
 * Refused before any request, and never retried.
 */
function checkS3Key(key, what) {
    const problem = (0,keys/* keyProblem */.dD)(key);
    if (problem)
        throw new types/* StoreError */.AD('invalid', `${what}: invalid key ${JSON.stringify(key)}: it ${problem}`);
}
class S3Store {
    description;
    client;
    bucket;
    prefix;
    constructor(options) {
        this.bucket = options.bucket;
        this.prefix = options.prefix;
        this.description = `s3://${options.bucket}/${options.prefix}${options.endpoint ? ` at ${options.endpoint}` : ''}`;
        this.client = new dist_cjs.S3Client({
            region: options.region,
            ...(options.endpoint ? { endpoint: options.endpoint, forcePathStyle: true } : {}),
            credentials: {
                accessKeyId: options.accessKeyId,
                secretAccessKey: options.secretAccessKey,
                ...(options.sessionToken ? { sessionToken: options.sessionToken } : {}),
            },
            // R2 and other S3-compatibles reject or mangle the default CRC32 checksums.
            requestChecksumCalculation: 'WHEN_REQUIRED',
            responseChecksumValidation: 'WHEN_REQUIRED',
            maxAttempts: options.maxAttempts ?? 3,
            requestHandler: {
                connectionTimeout: 10_000,
                requestTimeout: options.requestTimeoutMs ?? 120_000,
            },
        });
    }
    fullKey(key) {
        return `${this.prefix}${key}`;
    }
    toHead(key, out) {
        return {
            key,
            sizeBytes: out.ContentLength ?? 0,
            etag: out.ETag ?? '',
            metadata: out.Metadata ?? {},
            ...(out.ContentType ? { contentType: out.ContentType } : {}),
            ...(out.CacheControl ? { cacheControl: out.CacheControl } : {}),
        };
    }
    async head(key) {
        checkS3Key(key, 'HEAD');
        try {
            const out = await this.client.send(new dist_cjs.HeadObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
            return this.toHead(key, out);
        }
        catch (error) {
            const e = classifyS3Error(error, `HEAD ${key}`);
            if (e.kind === 'not_found')
                return undefined;
            throw e;
        }
    }
    async get(key) {
        checkS3Key(key, 'GET');
        try {
            const out = await this.client.send(new dist_cjs.GetObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
            return { head: this.toHead(key, out), body: out.Body };
        }
        catch (error) {
            const e = classifyS3Error(error, `GET ${key}`);
            if (e.kind === 'not_found')
                return undefined;
            throw e;
        }
    }
    async getText(key) {
        checkS3Key(key, 'GET');
        try {
            const out = await this.client.send(new dist_cjs.GetObjectCommand({
                Bucket: this.bucket,
                Key: this.fullKey(key),
                ResponseCacheControl: 'no-cache',
            }));
            const body = out.Body;
            const source = `${this.description.split(' at ')[0]}${key}`;
            let bytes;
            try {
                // An announced oversize is refused before a byte of the body is read.
                (0,limits/* checkAnnouncedSize */.jH)(out.ContentLength, source);
                bytes = body ? await (0,limits/* readCapped */.EF)(body, source) : Buffer.alloc(0);
            }
            finally {
                // Stopping early must release the connection rather than leave it half-read.
                body?.destroy();
            }
            return { head: this.toHead(key, out), text: bytes.toString('utf8') };
        }
        catch (error) {
            if (error instanceof limits/* SizeLimitError */.RZ)
                throw new types/* StoreError */.AD('invalid', error.message, { retryable: false, cause: error });
            const e = classifyS3Error(error, `GET ${key}`);
            if (e.kind === 'not_found')
                return undefined;
            throw e;
        }
    }
    putParams(key, options) {
        return {
            Bucket: this.bucket,
            Key: this.fullKey(key),
            ...(options.ifMatch !== undefined ? { IfMatch: options.ifMatch } : {}),
            ...(options.ifNoneMatch !== undefined ? { IfNoneMatch: options.ifNoneMatch } : {}),
            ...(options.metadata ? { Metadata: options.metadata } : {}),
            ...(options.contentType ? { ContentType: options.contentType } : {}),
            ...(options.cacheControl ? { CacheControl: options.cacheControl } : {}),
        };
    }
    async put(key, body, options = {}) {
        checkS3Key(key, 'PUT');
        try {
            const out = await this.client.send(new dist_cjs.PutObjectCommand({ ...this.putParams(key, options), Body: body }));
            return { etag: out.ETag ?? '' };
        }
        catch (error) {
            throw classifyS3Error(error, `PUT ${key}`);
        }
    }
    /** Multipart for files larger than one part (lib-storage aborts the upload on failure). */
    async putFile(key, path, options) {
        checkS3Key(key, 'upload');
        // lib-storage spreads these params into PutObject (one part) and into
        // CompleteMultipartUpload, so If-None-Match guards both. Measured: Ceph RGW 16
        // ignores it on CompleteMultipartUpload; callers verify the object afterwards.
        const upload = new lib_storage_dist_cjs/* Upload */._({
            client: this.client,
            params: {
                ...this.putParams(key, options),
                Body: (0,external_node_fs_.createReadStream)(path, { highWaterMark: MiB }),
                ContentLength: options.sizeBytes,
            },
            partSize: partSizeFor(options.sizeBytes),
            queueSize: PARTS_IN_FLIGHT,
            leavePartsOnError: false,
        });
        if (options.onProgress) {
            const onProgress = options.onProgress;
            upload.on('httpUploadProgress', (p) => onProgress(p.loaded ?? 0));
        }
        const unguard = guardMultipartUpload(this.client, upload, {
            bucket: this.bucket,
            key: this.fullKey(key),
        });
        try {
            const out = await upload.done();
            // RGW can return an empty ETag for a completed multipart upload.
            return { etag: ('ETag' in out ? out.ETag : undefined) ?? '' };
        }
        catch (error) {
            throw classifyS3Error(error, `upload ${key}`);
        }
        finally {
            unguard();
        }
    }
    /** A single PutObject of a whole file (benchmarks compare it with putFile). */
    async putFileSingle(key, path, options) {
        checkS3Key(key, 'PUT');
        try {
            const out = await this.client.send(new dist_cjs.PutObjectCommand({
                ...this.putParams(key, options),
                Body: (0,external_node_fs_.createReadStream)(path, { highWaterMark: MiB }),
                ContentLength: options.sizeBytes,
            }));
            return { etag: out.ETag ?? '' };
        }
        catch (error) {
            throw classifyS3Error(error, `PUT ${key}`);
        }
    }
    async delete(key) {
        checkS3Key(key, 'DELETE');
        try {
            await this.client.send(new dist_cjs.DeleteObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
        }
        catch (error) {
            throw classifyS3Error(error, `DELETE ${key}`);
        }
    }
}


/***/ })

};
