export const id = 318;
export const ids = [318];
export const modules = {

/***/ 9318:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   hydrateWithActionsCache: () => (/* binding */ hydrateWithActionsCache)
/* harmony export */ });
/* unused harmony exports UNAVAILABLE_NOTICE, cacheKeyPrefix */
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(6760);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_path__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var _command_errors_js__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(3794);
/* harmony import */ var _fs_hash_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(6683);
/* harmony import */ var _hydrate_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(8665);
/* harmony import */ var _plan_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(4075);
/* harmony import */ var _source_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(1161);
/* harmony import */ var _transport_js__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(9002);







const UNAVAILABLE_NOTICE = 'The GitHub Actions cache service is not available here (not running on a GitHub runner?): hydrating without it.';
/** `vm-tools-<arch>-`: the restore-key prefix, so a newer manifest still starts from an older cache. */
function cacheKeyPrefix(inputs, hostArch) {
    const label = inputs.arch === 'all' ? 'all' : (0,_plan_js__WEBPACK_IMPORTED_MODULE_3__/* .resolveArches */ .RV)(inputs.arch, hostArch)[0];
    return `vm-tools-${label}-`;
}
/**
 * Restores the cache directory from the Actions cache (key: arch + sha256 of the
 * remote manifest), syncs it, and saves it when the sync downloaded something.
 * The cache is an accelerator only: when it is unavailable or fails, the sync
 * still runs and the step still succeeds.
 */
async function hydrateWithActionsCache(inputs, ctx, deps = {}) {
    const prefix = cacheKeyPrefix(inputs, deps.hostArch);
    const source = (0,_source_js__WEBPACK_IMPORTED_MODULE_4__/* .parseManifestUrl */ .yX)(inputs.manifestUrl);
    const manifestBytes = await (0,_transport_js__WEBPACK_IMPORTED_MODULE_5__/* .fetchBytes */ .ci)(source.manifestUrl, {
        onRetry: (m) => ctx.log.warning(m),
    });
    const key = `${prefix}${(0,_fs_hash_js__WEBPACK_IMPORTED_MODULE_1__/* .sha256Hex */ .fg)(manifestBytes)}`;
    const cacheDir = (0,node_path__WEBPACK_IMPORTED_MODULE_0__.resolve)(ctx.cwd, inputs.cacheDir ?? (0,_hydrate_js__WEBPACK_IMPORTED_MODULE_2__/* .defaultCacheDir */ .$g)(ctx.env));
    const cache = deps.cache ?? (await Promise.all(/* import() */[__webpack_require__.e(838), __webpack_require__.e(691)]).then(__webpack_require__.bind(__webpack_require__, 1691)));
    const notice = deps.notice ?? (await __webpack_require__.e(/* import() */ 838).then(__webpack_require__.bind(__webpack_require__, 3838))).notice;
    const available = cache.isFeatureAvailable();
    let cacheHit = false;
    if (!available) {
        notice(UNAVAILABLE_NOTICE);
    }
    else {
        try {
            const restored = await cache.restoreCache([cacheDir], key, [prefix]);
            cacheHit = restored === key;
            ctx.log.info(restored
                ? `restored ${cacheDir} from Actions cache ${restored}`
                : `no Actions cache for ${key}`);
        }
        catch (error) {
            ctx.log.warning(`Actions cache restore failed, hydrating without it: ${(0,_command_errors_js__WEBPACK_IMPORTED_MODULE_6__/* .errorMessage */ .g)(error)}`);
        }
    }
    const result = await (0,_hydrate_js__WEBPACK_IMPORTED_MODULE_2__/* .hydrate */ .Qv)({ ...inputs, cacheDir }, ctx, { manifestBytes });
    if (available && result.downloaded.length > 0) {
        try {
            await cache.saveCache([cacheDir], key);
            ctx.log.info(`saved ${cacheDir} to Actions cache ${key}`);
        }
        catch (error) {
            ctx.log.warning(`Actions cache save failed: ${(0,_command_errors_js__WEBPACK_IMPORTED_MODULE_6__/* .errorMessage */ .g)(error)}`);
        }
    }
    return (0,_hydrate_js__WEBPACK_IMPORTED_MODULE_2__/* .hydrateResult */ .Fg)(result, inputs.manifestUrl, cacheHit);
}


/***/ })

};
