// esbuild settings shared by the bundle (scripts/build.js) and the single
// executable's per-tool code (scripts/package.js): one place for how our
// TypeScript becomes one CommonJS file.
'use strict';
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const version = require(path.join(root, 'package.json')).version;

/** @returns {import('esbuild').BuildOptions} */
function bundleOptions(extra) {
  return {
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    define: { CFNTOOLS_VERSION: JSON.stringify(version) },
    legalComments: 'none',
    charset: 'ascii',
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'warning',
    ...extra,
  };
}

module.exports = { root, version, bundleOptions };
