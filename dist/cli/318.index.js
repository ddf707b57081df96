export const id = 318;
export const ids = [318];
export const modules = {

/***/ 9318:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   hydrateWithActionsCache: () => (/* binding */ hydrateWithActionsCache)
/* harmony export */ });
/* unused harmony exports UNAVAILABLE_NOTICE, actionsCacheKey */
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(1455);
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_fs_promises__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(6760);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__webpack_require__.n(node_path__WEBPACK_IMPORTED_MODULE_1__);
/* harmony import */ var _command_errors_js__WEBPACK_IMPORTED_MODULE_10__ = __webpack_require__(3794);
/* harmony import */ var _fs_hash_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(6683);
/* harmony import */ var _fs_lock_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(3968);
/* harmony import */ var _hydrate_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(8665);
/* harmony import */ var _plan_js__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(4075);
/* harmony import */ var _source_js__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(1161);
/* harmony import */ var _sync_js__WEBPACK_IMPORTED_MODULE_7__ = __webpack_require__(4211);
/* harmony import */ var _transport_js__WEBPACK_IMPORTED_MODULE_8__ = __webpack_require__(9002);
/* harmony import */ var _verified_index_js__WEBPACK_IMPORTED_MODULE_9__ = __webpack_require__(3013);











const UNAVAILABLE_NOTICE = 'The GitHub Actions cache service is not available here (not running on a GitHub runner?): hydrating without it.';
/**
 * `vm-tools-<arch>-<selection>-<manifest sha256>`. The selection hashes what else
 * changes the content: which agents, whether old artifacts are pruned, and which
 * manifest (its URL without the query, which for a pre-signed URL changes on every
 * run while naming the same object). The restore prefix stops before the sha256,
 * so a newer manifest still starts from an older cache of the same selection, and
 * never from a cache of other agents or another bucket.
 */
function actionsCacheKey(inputs, hostArch) {
    const arch = inputs.arch === 'all' ? 'all' : (0,_plan_js__WEBPACK_IMPORTED_MODULE_5__/* .resolveArches */ .RV)(inputs.arch, hostArch)[0];
    const source = new URL((0,_source_js__WEBPACK_IMPORTED_MODULE_6__/* .parseManifestUrl */ .yX)(inputs.manifestUrl).manifestUrl);
    source.search = '';
    source.hash = '';
    const selection = (0,_fs_hash_js__WEBPACK_IMPORTED_MODULE_2__/* .sha256Hex */ .fg)(JSON.stringify({
        manifest: source.href,
        agents: [...new Set(inputs.agents)].sort(),
        prune: inputs.prune,
    })).slice(0, 16);
    const restorePrefix = `vm-tools-${arch}-${selection}-`;
    return { key: `${restorePrefix}${inputs.manifestSha256}`, restorePrefix };
}
/**
 * Restores the cache directory from the Actions cache, syncs it, and saves it
 * when the sync downloaded something. The cache is an accelerator only: when it
 * is unavailable or fails, the sync still runs and the step still succeeds.
 */
async function hydrateWithActionsCache(inputs, ctx, deps = {}) {
    const source = (0,_source_js__WEBPACK_IMPORTED_MODULE_6__/* .parseManifestUrl */ .yX)(inputs.manifestUrl);
    const manifestBytes = await (0,_transport_js__WEBPACK_IMPORTED_MODULE_8__/* .fetchBytes */ .ci)(source.manifestUrl, {
        onRetry: (m) => ctx.log.warning(m),
    });
    const { key, restorePrefix } = actionsCacheKey({ ...inputs, manifestSha256: (0,_fs_hash_js__WEBPACK_IMPORTED_MODULE_2__/* .sha256Hex */ .fg)(manifestBytes) }, deps.hostArch);
    const cacheDir = (0,node_path__WEBPACK_IMPORTED_MODULE_1__.resolve)(ctx.cwd, inputs.cacheDir ?? (0,_hydrate_js__WEBPACK_IMPORTED_MODULE_4__/* .defaultCacheDir */ .$g)(ctx.env));
    // The verified-file index is never cached: see restoreLocked.
    const paths = [cacheDir, `!${(0,_verified_index_js__WEBPACK_IMPORTED_MODULE_9__/* .indexPath */ .AV)(cacheDir)}`];
    const cache = deps.cache ?? (await Promise.all(/* import() */[__webpack_require__.e(838), __webpack_require__.e(691)]).then(__webpack_require__.bind(__webpack_require__, 1691)));
    const notice = deps.notice ?? (await __webpack_require__.e(/* import() */ 838).then(__webpack_require__.bind(__webpack_require__, 3838))).notice;
    const available = cache.isFeatureAvailable();
    let cacheHit = false;
    if (!available) {
        notice(UNAVAILABLE_NOTICE);
    }
    else {
        try {
            const restored = await (0,_fs_lock_js__WEBPACK_IMPORTED_MODULE_3__/* .withLock */ .k)((0,_sync_js__WEBPACK_IMPORTED_MODULE_7__/* .cacheDirLockPath */ .yQ)(cacheDir), () => restoreLocked(cache, paths, key, restorePrefix, cacheDir), { timeoutMs: deps.lockTimeoutMs ?? 30 * 60_000, what: `cache directory ${cacheDir}` });
            cacheHit = restored === key;
            ctx.log.info(restored
                ? `restored ${cacheDir} from Actions cache ${restored}`
                : `no Actions cache for ${key}`);
        }
        catch (error) {
            ctx.log.warning(`Actions cache restore failed, hydrating without it: ${(0,_command_errors_js__WEBPACK_IMPORTED_MODULE_10__/* .errorMessage */ .g)(error)}`);
        }
    }
    const result = await (0,_hydrate_js__WEBPACK_IMPORTED_MODULE_4__/* .hydrate */ .Qv)({ ...inputs, cacheDir }, ctx, { manifestBytes });
    if (available && result.downloaded.length > 0) {
        try {
            await cache.saveCache(paths, key);
            ctx.log.info(`saved ${cacheDir} to Actions cache ${key}`);
        }
        catch (error) {
            ctx.log.warning(`Actions cache save failed: ${(0,_command_errors_js__WEBPACK_IMPORTED_MODULE_10__/* .errorMessage */ .g)(error)}`);
        }
    }
    return (0,_hydrate_js__WEBPACK_IMPORTED_MODULE_4__/* .hydrateResult */ .Fg)(result, inputs.manifestUrl, cacheHit);
}
/**
 * Under the cache-dir lock, so a restore never unpacks over files another process
 * is syncing. Whatever index a restored archive carries is dropped: it vouches for
 * files by size and mtime, which a tar restore reproduces for any content, so
 * restored files are hashed once by the sync instead of trusted.
 */
async function restoreLocked(cache, paths, key, restorePrefix, cacheDir) {
    const restored = await cache.restoreCache(paths, key, [restorePrefix]);
    if (restored)
        await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.rm)((0,_verified_index_js__WEBPACK_IMPORTED_MODULE_9__/* .indexPath */ .AV)(cacheDir), { force: true });
    return restored;
}


/***/ })

};
