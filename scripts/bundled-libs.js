// The shared library the single executable links that minimal images lack,
// shipped in a private directory beside it and found through the
// executable's RUNPATH (scripts/package.js sets it), so that no package
// manager has to supply it: the tarball installs anywhere.
//
// Node's official binaries link libatomic.so.1 for one symbol
// (__atomic_compare_exchange) and are linked with BIND_NOW, so a missing
// library stops every start; Debian's minbase, and other minimal images, do
// not have libatomic1. libstdc++ and libgcc_s are on every image that has
// glibc's usual companions (apt, dnf and their tools need them), so they are
// left to the system.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');

/** The private directory, relative to the prefix whose bin/ holds the executable: /usr/lib/cfntools, PREFIX/lib/cfntools. */
const LIB_DIR = 'lib/cfntools';
/**
 * The executable's DT_RUNPATH. ld.so expands $ORIGIN to the directory of the
 * executable's resolved path, read from /proc/self/exe, so the tools' links,
 * in /opt/aws/bin or anywhere, find it too. Without /proc (a chroot that
 * lacks it) $ORIGIN cannot be expanded and that entry is dropped: the
 * packages' own directory follows, so that they work there too.
 */
const RUNPATH = `$ORIGIN/../${LIB_DIR}:/usr/${LIB_DIR}`;

// Node's architecture names, as Debian's multiarch directories and package architectures name them.
const ARCHES = {
  x64: { triplet: 'x86_64-linux-gnu', deb: 'amd64' },
  arm64: { triplet: 'aarch64-linux-gnu', deb: 'arm64' },
};

class BundleError extends Error {}

/**
 * The files of LIB_DIR for `arch`: libatomic.so.1 from the build machine's
 * Debian libatomic1 of that architecture (for arm64 on an x86_64 machine:
 * dpkg --add-architecture arm64 && apt-get install libatomic1:arm64), and
 * libatomic1.copyright, Debian's copyright file for it (GPL-3 with the GCC
 * Runtime Library Exception) after a line naming the exact source package,
 * as that licence asks of whoever passes the library on.
 * @returns {{ name: string, data: Buffer, license: boolean }[]}
 */
function bundledFiles(arch) {
  const a = ARCHES[arch];
  if (!a) throw new BundleError(`no bundled libraries known for architecture ${arch} (${Object.keys(ARCHES).join(', ')})`);
  const pkg = `libatomic1:${a.deb}`;
  const lib = `/usr/lib/${a.triplet}/libatomic.so.1`;
  const q = spawnSync('dpkg-query', ['-W', '-f', '${db:Status-Status} ${Version} ${source:Package} ${source:Version}', pkg], { encoding: 'utf8' });
  const [status, version, source, sourceVersion] = (q.stdout || '').trim().split(' ');
  if (q.status !== 0 || status !== 'installed' || !fs.existsSync(lib)) {
    throw new BundleError(`${lib} is missing: the ${arch} executable ships it; install Debian's ${pkg} on this machine`);
  }
  const copyright = '/usr/share/doc/libatomic1/copyright';
  const notice = [
    `libatomic.so.1 in this directory is Debian's ${pkg} ${version}, built from Debian's source`,
    `package ${source} ${sourceVersion}: https://snapshot.debian.org/package/${source}/${encodeURIComponent(sourceVersion)}/`,
    `Its copyright and licence, from ${copyright}:`,
    '',
    '',
  ].join('\n');
  return [
    { name: 'libatomic.so.1', data: fs.readFileSync(lib), license: false },
    { name: 'libatomic1.copyright', data: Buffer.concat([Buffer.from(notice), fs.readFileSync(copyright)]), license: true },
  ];
}

module.exports = { LIB_DIR, RUNPATH, BundleError, bundledFiles };
