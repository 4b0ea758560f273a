#!/usr/bin/env node
// Type-check and compile everything to dist/ (tests run from there), then
// bundle the tools into one CommonJS file, dist/cfntools.cjs, which the bin/
// wrappers run (the single executable is built from the same sources by
// scripts/package.js).
'use strict';
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const fs = require('node:fs');

const { root, bundleOptions } = require('./bundle-options');
const { buildLauncher, LAUNCHER_NAME } = require('./launcher');
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
esbuild.buildSync(bundleOptions({
  entryPoints: [path.join(root, 'agents', 'main.ts')],
  outfile: path.join(root, 'dist', 'cfntools.cjs'),
}));
// Without a C compiler the tools start programs with Node's own spawn, slower (shared/launcher/locate.ts).
const launcher = path.join(root, 'dist', LAUNCHER_NAME);
const launcherProblem = buildLauncher(process.arch, launcher);
if (launcherProblem) {
  fs.rmSync(launcher, { force: true });
  console.error(`build: no program launcher, programs will be started by Node: ${launcherProblem}`);
}
if (typeErrors) {
  console.error('build: type errors (above)');
  process.exitCode = 1;
}
