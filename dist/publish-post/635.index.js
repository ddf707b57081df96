export const id = 635;
export const ids = [635,445];
export const modules = {

/***/ 2358:
/***/ ((__unused_webpack_module, exports, __webpack_require__) => {

const { PutObjectCommand, ChecksumAlgorithm, CreateMultipartUploadCommand, AbortMultipartUploadCommand, UploadPartCommand, CompleteMultipartUploadCommand, PutObjectTaggingCommand } = __webpack_require__(3711);
const { toEndpointV1, getEndpointFromInstructions } = __webpack_require__(2085);
const { extendedEncodeURIComponent } = __webpack_require__(3422);
const { EventEmitter } = __webpack_require__(4434);
const { Buffer } = __webpack_require__(181);
const { statSync, ReadStream } = __webpack_require__(3024);
const { Readable } = __webpack_require__(2203);

const runtimeConfigShared = {
    statSync: () => { },
    isFileReadStream(f) {
        return false;
    },
};

const runtimeConfig = {
    ...runtimeConfigShared,
    runtime: "node",
    statSync,
    isFileReadStream(f) {
        return f instanceof ReadStream;
    },
};

const byteLength = (input) => {
    if (input == null) {
        return 0;
    }
    if (typeof input === "string") {
        return Buffer.byteLength(input);
    }
    if (typeof input.byteLength === "number") {
        return input.byteLength;
    }
    else if (typeof input.length === "number") {
        return input.length;
    }
    else if (typeof input.size === "number") {
        return input.size;
    }
    else if (typeof input.start === "number" && typeof input.end === "number") {
        return input.end + 1 - input.start;
    }
    else if (runtimeConfig.isFileReadStream(input)) {
        try {
            return runtimeConfig.statSync(input.path).size;
        }
        catch (error) {
            return undefined;
        }
    }
    return undefined;
};

var BYTE_LENGTH_SOURCE;
(function (BYTE_LENGTH_SOURCE) {
    BYTE_LENGTH_SOURCE["EMPTY_INPUT"] = "a null or undefined Body";
    BYTE_LENGTH_SOURCE["CONTENT_LENGTH"] = "the ContentLength property of the params set by the caller";
    BYTE_LENGTH_SOURCE["STRING_LENGTH"] = "the encoded byte length of the Body string";
    BYTE_LENGTH_SOURCE["TYPED_ARRAY"] = "the byteLength of a typed byte array such as Uint8Array";
    BYTE_LENGTH_SOURCE["LENGTH"] = "the value of Body.length";
    BYTE_LENGTH_SOURCE["SIZE"] = "the value of Body.size";
    BYTE_LENGTH_SOURCE["START_END_DIFF"] = "the numeric difference between Body.start and Body.end";
    BYTE_LENGTH_SOURCE["STAT"] = "the size of the file given by Body.path on disk as reported by statSync";
})(BYTE_LENGTH_SOURCE || (BYTE_LENGTH_SOURCE = {}));
const byteLengthSource = (input, override) => {
    if (override != null) {
        return BYTE_LENGTH_SOURCE.CONTENT_LENGTH;
    }
    if (input == null) {
        return BYTE_LENGTH_SOURCE.EMPTY_INPUT;
    }
    if (typeof input === "string") {
        return BYTE_LENGTH_SOURCE.STRING_LENGTH;
    }
    if (typeof input.byteLength === "number") {
        return BYTE_LENGTH_SOURCE.TYPED_ARRAY;
    }
    else if (typeof input.length === "number") {
        return BYTE_LENGTH_SOURCE.LENGTH;
    }
    else if (typeof input.size === "number") {
        return BYTE_LENGTH_SOURCE.SIZE;
    }
    else if (typeof input.start === "number" && typeof input.end === "number") {
        return BYTE_LENGTH_SOURCE.START_END_DIFF;
    }
    else if (runtimeConfig.isFileReadStream(input)) {
        try {
            runtimeConfig.statSync(input.path).size;
            return BYTE_LENGTH_SOURCE.STAT;
        }
        catch (error) {
            return undefined;
        }
    }
    return undefined;
};

async function* getChunkStream(data, partSize, getNextData) {
    let partNumber = 1;
    const currentBuffer = { chunks: [], length: 0 };
    for await (const datum of getNextData(data)) {
        currentBuffer.chunks.push(datum);
        currentBuffer.length += datum.byteLength;
        while (currentBuffer.length > partSize) {
            const dataChunk = currentBuffer.chunks.length > 1 ? Buffer.concat(currentBuffer.chunks) : currentBuffer.chunks[0];
            yield {
                partNumber,
                data: dataChunk.subarray(0, partSize),
            };
            currentBuffer.chunks = [dataChunk.subarray(partSize)];
            currentBuffer.length = currentBuffer.chunks[0].byteLength;
            partNumber += 1;
        }
    }
    yield {
        partNumber,
        data: currentBuffer.chunks.length !== 1 ? Buffer.concat(currentBuffer.chunks) : currentBuffer.chunks[0],
        lastPart: true,
    };
}

async function* getChunkUint8Array(data, partSize) {
    let partNumber = 1;
    let startByte = 0;
    let endByte = partSize;
    while (endByte < data.byteLength) {
        yield {
            partNumber,
            data: data.subarray(startByte, endByte),
        };
        partNumber += 1;
        startByte = endByte;
        endByte = startByte + partSize;
    }
    yield {
        partNumber,
        data: data.subarray(startByte),
        lastPart: true,
    };
}

async function* getDataReadable(data) {
    for await (const chunk of data) {
        if (Buffer.isBuffer(chunk) || chunk instanceof Uint8Array) {
            yield chunk;
        }
        else {
            yield Buffer.from(chunk);
        }
    }
}

async function* getDataReadableStream(data) {
    const reader = data.getReader();
    try {
        while (true) {
            const { done, value } = await reader.read();
            if (done) {
                return;
            }
            if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
                yield value;
            }
            else {
                yield Buffer.from(value);
            }
        }
    }
    catch (e) {
        throw e;
    }
    finally {
        reader.releaseLock();
    }
}

const getChunk = (data, partSize) => {
    if (data instanceof Uint8Array) {
        return getChunkUint8Array(data, partSize);
    }
    if (data instanceof Readable) {
        return getChunkStream(data, partSize, getDataReadable);
    }
    if (data instanceof String || typeof data === "string") {
        return getChunkUint8Array(Buffer.from(data), partSize);
    }
    if (typeof data.stream === "function") {
        return getChunkStream(data.stream(), partSize, getDataReadableStream);
    }
    if (data instanceof ReadableStream) {
        return getChunkStream(data, partSize, getDataReadableStream);
    }
    throw new Error("Body Data is unsupported format, expected data to be one of: string | Uint8Array | Buffer | Readable | ReadableStream | Blob;.");
};

class Upload extends EventEmitter {
    static MIN_PART_SIZE = 1024 * 1024 * 5;
    MAX_PARTS = 10_000;
    queueSize = 4;
    partSize;
    leavePartsOnError = false;
    tags = [];
    client;
    params;
    totalBytes;
    totalBytesSource;
    bytesUploadedSoFar;
    abortController;
    concurrentUploaders = [];
    createMultiPartPromise;
    abortMultipartUploadCommand = null;
    uploadedParts = [];
    uploadEnqueuedPartsCount = 0;
    expectedPartsCount;
    uploadId;
    uploadEvent;
    isMultiPart = true;
    singleUploadResult;
    sent = false;
    constructor(options) {
        super();
        this.queueSize = options.queueSize || this.queueSize;
        this.leavePartsOnError = options.leavePartsOnError || this.leavePartsOnError;
        this.tags = options.tags || this.tags;
        this.client = options.client;
        this.params = options.params;
        if (!this.params) {
            throw new Error(`InputError: Upload requires params to be passed to upload.`);
        }
        this.totalBytes = this.params.ContentLength ?? byteLength(this.params.Body);
        this.totalBytesSource = byteLengthSource(this.params.Body, this.params.ContentLength);
        this.bytesUploadedSoFar = 0;
        this.abortController = options.abortController ?? new AbortController();
        this.partSize =
            options.partSize || Math.max(Upload.MIN_PART_SIZE, Math.ceil((this.totalBytes || 0) / this.MAX_PARTS));
        if (this.totalBytes !== undefined) {
            this.expectedPartsCount = Math.ceil(this.totalBytes / this.partSize);
        }
        this.__validateInput();
    }
    async abort() {
        this.abortController.abort();
    }
    async done() {
        if (this.sent) {
            throw new Error("@aws-sdk/lib-storage: this instance of Upload has already executed .done(). Create a new instance.");
        }
        this.sent = true;
        return await Promise.race([this.__doMultipartUpload(), this.__abortTimeout(this.abortController.signal)]);
    }
    on(event, listener) {
        this.uploadEvent = event;
        return super.on(event, listener);
    }
    async __uploadUsingPut(dataPart) {
        this.isMultiPart = false;
        const params = { ...this.params, Body: dataPart.data };
        const clientConfig = this.client.config;
        const requestHandler = clientConfig.requestHandler;
        const eventEmitter = requestHandler instanceof EventEmitter ? requestHandler : null;
        const uploadEventListener = (event) => {
            this.bytesUploadedSoFar = event.loaded;
            this.totalBytes = event.total;
            this.__notifyProgress({
                loaded: this.bytesUploadedSoFar,
                total: this.totalBytes,
                part: dataPart.partNumber,
                Key: this.params.Key,
                Bucket: this.params.Bucket,
            });
        };
        if (eventEmitter !== null) {
            eventEmitter.on("xhr.upload.progress", uploadEventListener);
        }
        const resolved = await Promise.all([this.client.send(new PutObjectCommand(params)), clientConfig?.endpoint?.()]);
        const putResult = resolved[0];
        let endpoint = resolved[1];
        if (!endpoint) {
            endpoint = toEndpointV1(await getEndpointFromInstructions(params, PutObjectCommand, {
                ...clientConfig,
            }));
        }
        if (!endpoint) {
            throw new Error('Could not resolve endpoint from S3 "client.config.endpoint()" nor EndpointsV2.');
        }
        if (eventEmitter !== null) {
            eventEmitter.off("xhr.upload.progress", uploadEventListener);
        }
        const locationKey = this.params
            .Key.split("/")
            .map((segment) => extendedEncodeURIComponent(segment))
            .join("/");
        const locationBucket = extendedEncodeURIComponent(this.params.Bucket);
        const Location = (() => {
            const endpointHostnameIncludesBucket = endpoint.hostname.startsWith(`${locationBucket}.`);
            const forcePathStyle = this.client.config.forcePathStyle;
            const optionalPort = endpoint.port ? `:${endpoint.port}` : ``;
            if (forcePathStyle) {
                return `${endpoint.protocol}//${endpoint.hostname}${optionalPort}/${locationBucket}/${locationKey}`;
            }
            if (endpointHostnameIncludesBucket) {
                return `${endpoint.protocol}//${endpoint.hostname}${optionalPort}/${locationKey}`;
            }
            return `${endpoint.protocol}//${locationBucket}.${endpoint.hostname}${optionalPort}/${locationKey}`;
        })();
        this.singleUploadResult = {
            ...putResult,
            Bucket: this.params.Bucket,
            Key: this.params.Key,
            Location,
        };
        const totalSize = byteLength(dataPart.data);
        this.__notifyProgress({
            loaded: totalSize,
            total: totalSize,
            part: 1,
            Key: this.params.Key,
            Bucket: this.params.Bucket,
        });
    }
    async __createMultipartUpload() {
        const requestChecksumCalculation = await this.client.config.requestChecksumCalculation();
        if (!this.createMultiPartPromise) {
            const createCommandParams = { ...this.params, Body: undefined };
            if (requestChecksumCalculation === "WHEN_SUPPORTED") {
                createCommandParams.ChecksumAlgorithm = this.params.ChecksumAlgorithm || ChecksumAlgorithm.CRC32;
            }
            this.createMultiPartPromise = this.client
                .send(new CreateMultipartUploadCommand(createCommandParams))
                .then((createMpuResponse) => {
                this.abortMultipartUploadCommand = new AbortMultipartUploadCommand({
                    Bucket: this.params.Bucket,
                    Key: this.params.Key,
                    UploadId: createMpuResponse.UploadId,
                });
                return createMpuResponse;
            });
        }
        return this.createMultiPartPromise;
    }
    async __doConcurrentUpload(dataFeeder) {
        for await (const dataPart of dataFeeder) {
            if (this.uploadEnqueuedPartsCount > this.MAX_PARTS) {
                throw new Error(`Exceeded ${this.MAX_PARTS} parts in multipart upload to Bucket: ${this.params.Bucket} Key: ${this.params.Key}.`);
            }
            if (this.abortController.signal.aborted) {
                return;
            }
            if (dataPart.partNumber === 1 && dataPart.lastPart) {
                return await this.__uploadUsingPut(dataPart);
            }
            if (!this.uploadId) {
                const { UploadId } = await this.__createMultipartUpload();
                this.uploadId = UploadId;
                if (this.abortController.signal.aborted) {
                    return;
                }
            }
            const partSize = byteLength(dataPart.data) || 0;
            const requestHandler = this.client.config.requestHandler;
            const eventEmitter = requestHandler instanceof EventEmitter ? requestHandler : null;
            let lastSeenBytes = 0;
            const uploadEventListener = (event, request) => {
                const requestPartSize = Number(request.query["partNumber"]) || -1;
                if (requestPartSize !== dataPart.partNumber) {
                    return;
                }
                if (event.total && partSize) {
                    this.bytesUploadedSoFar += event.loaded - lastSeenBytes;
                    lastSeenBytes = event.loaded;
                }
                this.__notifyProgress({
                    loaded: this.bytesUploadedSoFar,
                    total: this.totalBytes,
                    part: dataPart.partNumber,
                    Key: this.params.Key,
                    Bucket: this.params.Bucket,
                });
            };
            if (eventEmitter !== null) {
                eventEmitter.on("xhr.upload.progress", uploadEventListener);
            }
            this.uploadEnqueuedPartsCount += 1;
            this.__validateUploadPart(dataPart);
            const partResult = await this.client.send(new UploadPartCommand({
                ...this.params,
                ContentLength: undefined,
                UploadId: this.uploadId,
                Body: dataPart.data,
                PartNumber: dataPart.partNumber,
            }));
            if (eventEmitter !== null) {
                eventEmitter.off("xhr.upload.progress", uploadEventListener);
            }
            if (this.abortController.signal.aborted) {
                return;
            }
            if (!partResult.ETag) {
                throw new Error(`Part ${dataPart.partNumber} is missing ETag in UploadPart response. Missing Bucket CORS configuration for ETag header?`);
            }
            this.uploadedParts.push({
                PartNumber: dataPart.partNumber,
                ETag: partResult.ETag,
                ...(partResult.ChecksumCRC32 && { ChecksumCRC32: partResult.ChecksumCRC32 }),
                ...(partResult.ChecksumCRC32C && { ChecksumCRC32C: partResult.ChecksumCRC32C }),
                ...(partResult.ChecksumCRC64NVME && { ChecksumCRC64NVME: partResult.ChecksumCRC64NVME }),
                ...(partResult.ChecksumSHA1 && { ChecksumSHA1: partResult.ChecksumSHA1 }),
                ...(partResult.ChecksumSHA256 && { ChecksumSHA256: partResult.ChecksumSHA256 }),
            });
            if (eventEmitter === null) {
                this.bytesUploadedSoFar += partSize;
            }
            this.__notifyProgress({
                loaded: this.bytesUploadedSoFar,
                total: this.totalBytes,
                part: dataPart.partNumber,
                Key: this.params.Key,
                Bucket: this.params.Bucket,
            });
        }
    }
    async __doMultipartUpload() {
        const dataFeeder = getChunk(this.params.Body, this.partSize);
        const concurrentUploaderFailures = [];
        for (let index = 0; index < this.queueSize; index++) {
            const currentUpload = this.__doConcurrentUpload(dataFeeder).catch((err) => {
                concurrentUploaderFailures.push(err);
            });
            this.concurrentUploaders.push(currentUpload);
        }
        await Promise.all(this.concurrentUploaders);
        if (concurrentUploaderFailures.length >= 1) {
            await this.markUploadAsAborted();
            throw concurrentUploaderFailures[0];
        }
        if (this.abortController.signal.aborted) {
            await this.markUploadAsAborted();
            throw Object.assign(new Error("Upload aborted."), { name: "AbortError" });
        }
        let result;
        if (this.isMultiPart) {
            const { expectedPartsCount, uploadedParts, totalBytes, totalBytesSource } = this;
            if (totalBytes !== undefined && expectedPartsCount !== undefined && uploadedParts.length !== expectedPartsCount) {
                await this.markUploadAsAborted();
                throw new Error(`Expected ${expectedPartsCount} part(s) but uploaded ${uploadedParts.length} part(s).
The expected part count is based on the byte-count of the input.params.Body,
which was read from ${totalBytesSource} and is ${totalBytes}.
If this is not correct, provide an override value by setting a number
to input.params.ContentLength in bytes.
`);
            }
            this.uploadedParts.sort((a, b) => a.PartNumber - b.PartNumber);
            const uploadCompleteParams = {
                ...this.params,
                Body: undefined,
                UploadId: this.uploadId,
                MultipartUpload: {
                    Parts: this.uploadedParts,
                },
            };
            try {
                result = await this.client.send(new CompleteMultipartUploadCommand(uploadCompleteParams));
            }
            catch (e) {
                await this.markUploadAsAborted().catch((abortError) => {
                    if (e instanceof Error && e.cause === undefined) {
                        e.cause = abortError;
                    }
                });
                throw e;
            }
            if (typeof result?.Location === "string" && result.Location.includes("%2F")) {
                result.Location = result.Location.replace(/%2F/g, "/");
            }
        }
        else {
            result = this.singleUploadResult;
        }
        this.abortMultipartUploadCommand = null;
        if (this.tags.length) {
            await this.client.send(new PutObjectTaggingCommand({
                ...this.params,
                Tagging: {
                    TagSet: this.tags,
                },
            }));
        }
        return result;
    }
    async markUploadAsAborted() {
        if (this.uploadId && !this.leavePartsOnError && null !== this.abortMultipartUploadCommand) {
            await this.client.send(this.abortMultipartUploadCommand);
            this.abortMultipartUploadCommand = null;
        }
    }
    __notifyProgress(progress) {
        if (this.uploadEvent) {
            this.emit(this.uploadEvent, progress);
        }
    }
    async __abortTimeout(abortSignal) {
        return new Promise((resolve, reject) => {
            abortSignal.onabort = () => {
                const abortError = new Error("Upload aborted.");
                abortError.name = "AbortError";
                reject(abortError);
            };
        });
    }
    __validateUploadPart(dataPart) {
        const actualPartSize = byteLength(dataPart.data);
        if (actualPartSize === undefined) {
            throw new Error(`A dataPart was generated without a measurable data chunk size for part number ${dataPart.partNumber}`);
        }
        if (dataPart.partNumber === 1 && dataPart.lastPart) {
            return;
        }
        if (!dataPart.lastPart && actualPartSize !== this.partSize) {
            throw new Error(`The byte size for part number ${dataPart.partNumber}, size ${actualPartSize} does not match expected size ${this.partSize}`);
        }
    }
    __validateInput() {
        if (!this.client) {
            throw new Error(`InputError: Upload requires a AWS client to do uploads with.`);
        }
        if (this.partSize < Upload.MIN_PART_SIZE) {
            throw new Error(`EntityTooSmall: Your proposed upload part size [${this.partSize}] is smaller than the minimum allowed size [${Upload.MIN_PART_SIZE}] (5MB)`);
        }
        if (this.queueSize < 1) {
            throw new Error(`Queue size: Must have at least one uploading queue.`);
        }
    }
}

exports._ = Upload;


/***/ }),

/***/ 5445:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   abortMultipartUpload: () => (/* binding */ abortMultipartUpload),
/* harmony export */   guardMultipartUpload: () => (/* binding */ guardMultipartUpload)
/* harmony export */ });
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(7598);
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_crypto__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(3711);
/* harmony import */ var _cleanup_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(2235);



/** How long a cancel waits for an in-flight CreateMultipartUpload to answer with its id. */
const CREATE_SETTLE_MS = 5_000;
/**
 * Aborts a multipart upload; true when there was one to abort. RGW and S3 answer
 * NoSuchUpload (404) for an id already aborted or completed.
 */
async function abortMultipartUpload(client, target) {
    try {
        await client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_2__.AbortMultipartUploadCommand({
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
function guardMultipartUpload(client, upload, target, cleanups = _cleanup_js__WEBPACK_IMPORTED_MODULE_1__/* .processCleanups */ .hd) {
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
    const name = `vm-tools-multipart-guard-${(0,node_crypto__WEBPACK_IMPORTED_MODULE_0__.randomBytes)(6).toString('hex')}`;
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


/***/ }),

/***/ 5635:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   PARTS_IN_FLIGHT: () => (/* binding */ PARTS_IN_FLIGHT),
/* harmony export */   S3Store: () => (/* binding */ S3Store),
/* harmony export */   checkS3Key: () => (/* binding */ checkS3Key),
/* harmony export */   classifyS3Error: () => (/* binding */ classifyS3Error),
/* harmony export */   partSizeFor: () => (/* binding */ partSizeFor)
/* harmony export */ });
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(3024);
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_fs__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(3711);
/* harmony import */ var _aws_sdk_lib_storage__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(2358);
/* harmony import */ var _limits_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(8119);
/* harmony import */ var _manifest_keys_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(5913);
/* harmony import */ var _multipart_guard_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(5445);
/* harmony import */ var _types_js__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(748);







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
    if (error instanceof _types_js__WEBPACK_IMPORTED_MODULE_5__/* .StoreError */ .AD)
        return error;
    const e = (error ?? {});
    const status = e.$metadata?.httpStatusCode;
    const name = e.name ?? '';
    const detail = `${name || 'error'}${status ? ` (HTTP ${status})` : ''}${e.message && e.message !== name ? `: ${e.message}` : ''}`;
    const message = `${what}: ${detail}`;
    const opts = { status, cause: error };
    if (status === 412 || name === 'PreconditionFailed')
        return new _types_js__WEBPACK_IMPORTED_MODULE_5__/* .StoreError */ .AD('precondition_failed', message, opts);
    if (status === 409 || name === 'ConditionalRequestConflict')
        return new _types_js__WEBPACK_IMPORTED_MODULE_5__/* .StoreError */ .AD('conflict', message, opts);
    if (name === 'NoSuchBucket')
        return new _types_js__WEBPACK_IMPORTED_MODULE_5__/* .StoreError */ .AD('invalid', message, opts);
    if (status === 404 || name === 'NotFound' || name === 'NoSuchKey')
        return new _types_js__WEBPACK_IMPORTED_MODULE_5__/* .StoreError */ .AD('not_found', message, opts);
    if (status === 401 ||
        status === 403 ||
        ['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied'].includes(name))
        return new _types_js__WEBPACK_IMPORTED_MODULE_5__/* .StoreError */ .AD('auth', message, opts);
    if (status === 429 ||
        (status !== undefined && status >= 500) ||
        TRANSIENT_CODES.has(e.code ?? '') ||
        TRANSIENT_CODES.has(name) ||
        ['TimeoutError', 'RequestTimeout', 'SlowDown', 'AbortError'].includes(name) ||
        e.$retryable !== undefined ||
        /socket hang up|ECONNRESET|ECONNREFUSED|EPIPE|premature close|aborted/i.test(e.message ?? ''))
        return new _types_js__WEBPACK_IMPORTED_MODULE_5__/* .StoreError */ .AD('transient', message, opts);
    if (status !== undefined && status >= 400 && status < 500)
        return new _types_js__WEBPACK_IMPORTED_MODULE_5__/* .StoreError */ .AD('invalid', message, opts);
    return new _types_js__WEBPACK_IMPORTED_MODULE_5__/* .StoreError */ .AD('unknown', message, opts);
}
/**
 * The store checks every key itself rather than trusting callers: a key from a
 * manifest or an input that reached the SDK with `..` or a leading `/` would be
 * normalised by some S3-compatibles into a different object than the one named.
 * Refused before any request, and never retried.
 */
function checkS3Key(key, what) {
    const problem = (0,_manifest_keys_js__WEBPACK_IMPORTED_MODULE_3__/* .keyProblem */ .dD)(key);
    if (problem)
        throw new _types_js__WEBPACK_IMPORTED_MODULE_5__/* .StoreError */ .AD('invalid', `${what}: invalid key ${JSON.stringify(key)}: it ${problem}`);
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
        this.client = new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_6__.S3Client({
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
            const out = await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_6__.HeadObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
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
            const out = await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_6__.GetObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
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
            const out = await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_6__.GetObjectCommand({
                Bucket: this.bucket,
                Key: this.fullKey(key),
                ResponseCacheControl: 'no-cache',
            }));
            const body = out.Body;
            const source = `${this.description.split(' at ')[0]}${key}`;
            let bytes;
            try {
                // An announced oversize is refused before a byte of the body is read.
                (0,_limits_js__WEBPACK_IMPORTED_MODULE_2__/* .checkAnnouncedSize */ .jH)(out.ContentLength, source);
                bytes = body ? await (0,_limits_js__WEBPACK_IMPORTED_MODULE_2__/* .readCapped */ .EF)(body, source) : Buffer.alloc(0);
            }
            finally {
                // Stopping early must release the connection rather than leave it half-read.
                body?.destroy();
            }
            return { head: this.toHead(key, out), text: bytes.toString('utf8') };
        }
        catch (error) {
            if (error instanceof _limits_js__WEBPACK_IMPORTED_MODULE_2__/* .SizeLimitError */ .RZ)
                throw new _types_js__WEBPACK_IMPORTED_MODULE_5__/* .StoreError */ .AD('invalid', error.message, { retryable: false, cause: error });
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
            const out = await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_6__.PutObjectCommand({ ...this.putParams(key, options), Body: body }));
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
        const unguard = (0,_multipart_guard_js__WEBPACK_IMPORTED_MODULE_4__.guardMultipartUpload)(this.client, upload, {
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
            const out = await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_6__.PutObjectCommand({
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
        checkS3Key(key, 'DELETE');
        try {
            await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_6__.DeleteObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
        }
        catch (error) {
            throw classifyS3Error(error, `DELETE ${key}`);
        }
    }
}


/***/ })

};
