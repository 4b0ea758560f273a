#!/usr/bin/env node
// Type-check and compile everything to dist/ (tests run from there), then
// bundle the tools into one CommonJS file, dist/cfntools.cjs, which the bin/
// wrappers and the single executable (packaging/) run.
'use strict';
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const fs = require('node:fs');

const root = path.resolve(__dirname, '..');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
let typeErrors = false;
try {
  execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.json')], { stdio: 'inherit', cwd: root });
} catch {
  // tsc still emitted; bundle anyway so the errors are the only thing to fix, then fail.
  typeErrors = true;
}

const esbuild = require('esbuild');
fs.mkdirSync(path.join(root, 'dist'), { recursive: true });
esbuild.buildSync({
  entryPoints: [path.join(root, 'agents', 'main.ts')],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outfile: path.join(root, 'dist', 'cfntools.cjs'),
  define: { CFNTOOLS_VERSION: JSON.stringify(require(path.join(root, 'package.json')).version) },
  legalComments: 'none',
  charset: 'ascii',
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});
if (typeErrors) {
  console.error('build: type errors (above)');
  process.exitCode = 1;
}
