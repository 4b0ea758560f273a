// Compiles shared/launcher/launcher.c into the program launcher
// (cfntools-launcher): statically linked, so that it needs nothing of the
// guest's C library (it makes no name lookups, which static glibc could not).
// build.js makes the host's for the bundle; build-packages.js one per
// architecture for the packages, with the cross compiler for arm64.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const SOURCE = path.join(root, 'shared', 'launcher', 'launcher.c');
const NAME = 'cfntools-launcher';
const COMPILERS = {
  x64: { tool: process.arch === 'x64' ? 'cc' : 'x86_64-linux-gnu-gcc', debianPackage: 'gcc' },
  arm64: { tool: process.arch === 'arm64' ? 'cc' : 'aarch64-linux-gnu-gcc', debianPackage: 'gcc-aarch64-linux-gnu (and libc6-dev-arm64-cross)' },
};

/** Builds the launcher for `arch` at `out`; the compiler's error text, or undefined when built. */
function buildLauncher(arch, out) {
  if (!COMPILERS[arch]) return `no launcher build for ${arch}`;
  const { tool, debianPackage } = COMPILERS[arch];
  const r = spawnSync(tool, ['-O2', '-Wall', '-Wextra', '-Werror', '-static', '-s', '-o', out, SOURCE], { encoding: 'utf8' });
  if (r.error && r.error.code === 'ENOENT') return `${tool} is not installed (Debian package ${debianPackage})`;
  if (r.status !== 0) return `${tool} failed: ${r.error ? r.error.message : r.stderr.trim()}`;
  return undefined;
}

module.exports = { buildLauncher, LAUNCHER_NAME: NAME };
