export const id = 445;
export const ids = [445];
export const modules = {

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


/***/ })

};
