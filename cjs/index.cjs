'use strict';
// CommonJS entry point of `tatami` (package.json exports → "require"). Tatami is written as ES modules (it locates
// its kernels and data with import.meta.url), so rather than a second, diverging CommonJS build this wrapper loads
// the ES build with require(esm): built into Node ≥ 20.19 and ≥ 22.12, where `require('tatami')` returns the same
// module namespace as `import * as tt from 'tatami'` (no top-level await anywhere in the library makes that legal).
try {
  module.exports = require('../dist/index.js');
} catch (err) {
  if (err && (err.code === 'ERR_REQUIRE_ESM' || err.code === 'ERR_REQUIRE_ASYNC_MODULE')) {
    throw new Error(
      `require('tatami') needs Node ≥ 20.19 or ≥ 22.12 (require of ES modules); this is Node ${process.versions.node}. ` +
      `Use \`const tt = await import('tatami')\` instead, or upgrade Node.`,
      { cause: err },
    );
  }
  throw err;
}
