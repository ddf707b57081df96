export const id = 635;
export const ids = [635];
export const modules = {

/***/ 5635:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   S3Store: () => (/* binding */ S3Store)
/* harmony export */ });
/* unused harmony exports partSizeFor, PARTS_IN_FLIGHT, classifyS3Error */
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(3024);
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_fs__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(3711);
/* harmony import */ var _aws_sdk_lib_storage__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(2358);
/* harmony import */ var _types_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(748);




const MiB = 1024 * 1024;
/**
 * Parts of at least 8 MiB, growing so an object never needs more than ~1000 parts
 * (R2 and S3 cap at 10,000; fewer, larger parts cost fewer requests). R2 wants equal
 * part sizes, which lib-storage gives us.
 */
function partSizeFor(sizeBytes) {
    return Math.max(8 * MiB, Math.ceil(sizeBytes / 1000 / MiB) * MiB);
}
const PARTS_IN_FLIGHT = 4;
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
    if (error instanceof _types_js__WEBPACK_IMPORTED_MODULE_2__/* .StoreError */ .AD)
        return error;
    const e = (error ?? {});
    const status = e.$metadata?.httpStatusCode;
    const name = e.name ?? '';
    const detail = `${name || 'error'}${status ? ` (HTTP ${status})` : ''}${e.message && e.message !== name ? `: ${e.message}` : ''}`;
    const message = `${what}: ${detail}`;
    const opts = { status, cause: error };
    if (status === 412 || name === 'PreconditionFailed')
        return new _types_js__WEBPACK_IMPORTED_MODULE_2__/* .StoreError */ .AD('precondition_failed', message, opts);
    if (status === 409 || name === 'ConditionalRequestConflict')
        return new _types_js__WEBPACK_IMPORTED_MODULE_2__/* .StoreError */ .AD('conflict', message, opts);
    if (name === 'NoSuchBucket')
        return new _types_js__WEBPACK_IMPORTED_MODULE_2__/* .StoreError */ .AD('invalid', message, opts);
    if (status === 404 || name === 'NotFound' || name === 'NoSuchKey')
        return new _types_js__WEBPACK_IMPORTED_MODULE_2__/* .StoreError */ .AD('not_found', message, opts);
    if (status === 401 ||
        status === 403 ||
        ['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied'].includes(name))
        return new _types_js__WEBPACK_IMPORTED_MODULE_2__/* .StoreError */ .AD('auth', message, opts);
    if (status === 429 ||
        (status !== undefined && status >= 500) ||
        TRANSIENT_CODES.has(e.code ?? '') ||
        TRANSIENT_CODES.has(name) ||
        ['TimeoutError', 'RequestTimeout', 'SlowDown', 'AbortError'].includes(name) ||
        e.$retryable !== undefined ||
        /socket hang up|ECONNRESET|ECONNREFUSED|EPIPE|premature close|aborted/i.test(e.message ?? ''))
        return new _types_js__WEBPACK_IMPORTED_MODULE_2__/* .StoreError */ .AD('transient', message, opts);
    if (status !== undefined && status >= 400 && status < 500)
        return new _types_js__WEBPACK_IMPORTED_MODULE_2__/* .StoreError */ .AD('invalid', message, opts);
    return new _types_js__WEBPACK_IMPORTED_MODULE_2__/* .StoreError */ .AD('unknown', message, opts);
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
        this.client = new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_3__.S3Client({
            region: options.region,
            ...(options.endpoint ? { endpoint: options.endpoint, forcePathStyle: true } : {}),
            credentials: {
                accessKeyId: options.accessKeyId,
                secretAccessKey: options.secretAccessKey,
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
        try {
            const out = await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_3__.HeadObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
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
        try {
            const out = await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_3__.GetObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
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
        try {
            const out = await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_3__.GetObjectCommand({
                Bucket: this.bucket,
                Key: this.fullKey(key),
                ResponseCacheControl: 'no-cache',
            }));
            const text = (await out.Body?.transformToString('utf8')) ?? '';
            return { head: this.toHead(key, out), text };
        }
        catch (error) {
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
        try {
            const out = await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_3__.PutObjectCommand({ ...this.putParams(key, options), Body: body }));
            return { etag: out.ETag ?? '' };
        }
        catch (error) {
            throw classifyS3Error(error, `PUT ${key}`);
        }
    }
    /** Multipart for files larger than one part (lib-storage aborts the upload on failure). */
    async putFile(key, path, options) {
        const upload = new _aws_sdk_lib_storage__WEBPACK_IMPORTED_MODULE_1__/* .Upload */ ._({
            client: this.client,
            params: {
                ...this.putParams(key, options),
                Body: (0,node_fs__WEBPACK_IMPORTED_MODULE_0__.createReadStream)(path, { highWaterMark: MiB }),
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
        try {
            const out = await upload.done();
            // RGW can return an empty ETag for a completed multipart upload.
            return { etag: ('ETag' in out ? out.ETag : undefined) ?? '' };
        }
        catch (error) {
            throw classifyS3Error(error, `upload ${key}`);
        }
    }
    /** A single PutObject of a whole file (benchmarks compare it with putFile). */
    async putFileSingle(key, path, options) {
        try {
            const out = await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_3__.PutObjectCommand({
                ...this.putParams(key, options),
                Body: (0,node_fs__WEBPACK_IMPORTED_MODULE_0__.createReadStream)(path, { highWaterMark: MiB }),
                ContentLength: options.sizeBytes,
            }));
            return { etag: out.ETag ?? '' };
        }
        catch (error) {
            throw classifyS3Error(error, `PUT ${key}`);
        }
    }
    async delete(key) {
        try {
            await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_3__.DeleteObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
        }
        catch (error) {
            throw classifyS3Error(error, `DELETE ${key}`);
        }
    }
}


/***/ })

};
