export const id = 954;
export const ids = [954];
export const modules = {

/***/ 9954:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   startStaticServer: () => (/* binding */ startStaticServer)
/* harmony export */ });
/* unused harmony exports parseRange, staticHandler, listen */
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(3024);
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_fs__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(1455);
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__webpack_require__.n(node_fs_promises__WEBPACK_IMPORTED_MODULE_1__);
/* harmony import */ var node_http__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(7067);
/* harmony import */ var node_http__WEBPACK_IMPORTED_MODULE_2___default = /*#__PURE__*/__webpack_require__.n(node_http__WEBPACK_IMPORTED_MODULE_2__);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(6760);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_3___default = /*#__PURE__*/__webpack_require__.n(node_path__WEBPACK_IMPORTED_MODULE_3__);




const TYPES = {
    '.json': 'application/json',
    '.gz': 'application/gzip',
    '.zst': 'application/zstd',
};
/**
 * `bytes=a-b`, `bytes=a-`, `bytes=-n` (one range only; multipart ranges are
 * answered with the whole file, which RFC 9110 allows). Returns 'unsatisfiable'
 * for a range that starts past the end.
 */
function parseRange(header, size) {
    const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
    if (!m || (m[1] === '' && m[2] === ''))
        return undefined;
    if (m[1] === '') {
        const suffix = Number(m[2]);
        if (suffix === 0)
            return 'unsatisfiable';
        return { start: Math.max(0, size - suffix), end: size - 1 };
    }
    const start = Number(m[1]);
    const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (start >= size || end < start)
        return 'unsatisfiable';
    return { start, end };
}
/** Maps a URL path to a file under root, or undefined when it would leave root. */
async function resolveInside(root, urlPath) {
    let decoded;
    try {
        decoded = decodeURIComponent(urlPath);
    }
    catch {
        return undefined;
    }
    const segments = decoded.split('/').filter((s) => s !== '');
    if (segments.some((s) => s === '..' || s === '.' || s.includes('\\') || s.includes('\0')))
        return undefined;
    const candidate = (0,node_path__WEBPACK_IMPORTED_MODULE_3__.join)(root, ...segments);
    // A symlink inside the served tree must not lead out of it.
    const real = await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.realpath)(candidate).catch(() => undefined);
    if (real === undefined || (real !== root && !real.startsWith(root + node_path__WEBPACK_IMPORTED_MODULE_3__.sep)))
        return undefined;
    return real;
}
/**
 * A request handler serving the files under `root` read-only: GET and HEAD,
 * single byte ranges (206, 416), ETag / Last-Modified with If-None-Match and
 * If-Range, and no way out of `root` (`..`, encoded slashes, symlinks).
 */
function staticHandler(rootDir, options = {}) {
    const ranges = options.ranges ?? true;
    const rootReal = (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.realpath)(rootDir);
    // A missing root fails each request, not the process (an unhandled rejection).
    rootReal.catch(() => { });
    return (req, res) => {
        const path = (req.url ?? '/').split('?')[0] ?? '/';
        const rangeHeader = req.headers.range;
        res.on('finish', () => options.onRequest?.({
            method: req.method ?? '',
            path,
            ...(rangeHeader ? { range: rangeHeader } : {}),
            status: res.statusCode,
        }));
        void (async () => {
            if (req.method !== 'GET' && req.method !== 'HEAD') {
                res.writeHead(405, { Allow: 'GET, HEAD' }).end();
                return;
            }
            const file = await resolveInside(await rootReal, path);
            const info = file ? await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.stat)(file).catch(() => undefined) : undefined;
            if (!file || !info?.isFile()) {
                res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
                return;
            }
            const etag = `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
            const headers = {
                ETag: etag,
                'Last-Modified': info.mtime.toUTCString(),
                'Content-Type': TYPES[(0,node_path__WEBPACK_IMPORTED_MODULE_3__.extname)(file)] ?? 'application/octet-stream',
            };
            if (ranges)
                headers['Accept-Ranges'] = 'bytes';
            if (req.headers['if-none-match'] === etag) {
                res.writeHead(304, headers).end();
                return;
            }
            const ifRange = req.headers['if-range'];
            const rangeApplies = ranges && (ifRange === undefined || ifRange === etag);
            const range = rangeApplies ? parseRange(rangeHeader, info.size) : undefined;
            if (range === 'unsatisfiable') {
                res.writeHead(416, { ...headers, 'Content-Range': `bytes */${info.size}` }).end();
                return;
            }
            const { start, end } = range ?? { start: 0, end: info.size - 1 };
            if (range)
                headers['Content-Range'] = `bytes ${start}-${end}/${info.size}`;
            headers['Content-Length'] = Math.max(0, end - start + 1);
            res.writeHead(range ? 206 : 200, headers);
            if (req.method === 'HEAD' || info.size === 0) {
                res.end();
                return;
            }
            const body = (0,node_fs__WEBPACK_IMPORTED_MODULE_0__.createReadStream)(file, { start, end });
            body.on('error', () => res.destroy());
            body.pipe(res);
        })().catch(() => {
            if (!res.headersSent)
                res.writeHead(500).end();
            else
                res.destroy();
        });
    };
}
/** Starts a server for `handler` on 127.0.0.1 (port 0 = any free port). */
async function listen(handler, { port = 0, host = '127.0.0.1' } = {}) {
    const server = (0,node_http__WEBPACK_IMPORTED_MODULE_2__.createServer)(handler);
    await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve());
    });
    const actual = server.address().port;
    return {
        server,
        url: `http://${host}:${actual}/`,
        port: actual,
        close: () => new Promise((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
        }),
    };
}
/** Serves the directory `root` over HTTP on 127.0.0.1, recording every request. */
async function startStaticServer(root, options = {}) {
    const requests = [];
    const handler = staticHandler(root, {
        ...options,
        onRequest: (r) => {
            requests.push(r);
            options.onRequest?.(r);
        },
    });
    const { url, port, close } = await listen(handler, { port: options.port });
    return { url, port, requests, close };
}


/***/ })

};
