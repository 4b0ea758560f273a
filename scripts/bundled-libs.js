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
const os = require('node:os');
const path = require('node:path');
const { buildLauncher, LAUNCHER_NAME } = require('./launcher');

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

/** A package's version and its source's, as Debian's fields give them ("gcc-12 (12.2.0-14)" when they differ). */
function sourceOf(version, sourceField) {
  const m = /^(\S+)(?: \((\S+)\))?$/.exec(sourceField.trim());
  if (!m) throw new BundleError(`cannot read the source of libatomic1 from ${JSON.stringify(sourceField)}`);
  return { source: m[1], sourceVersion: m[2] ?? version };
}

/** libatomic1 of `a` installed on this machine: its files and versions. */
function installed(a) {
  const pkg = `libatomic1:${a.deb}`;
  const lib = `/usr/lib/${a.triplet}/libatomic.so.1`;
  const q = spawnSync('dpkg-query', ['-W', '-f', '${db:Status-Status}\t${Version}\t${source:Package}\t${source:Version}', pkg], { encoding: 'utf8' });
  const [status, version, source, sourceVersion] = (q.stdout || '').trim().split('\t');
  if (q.status !== 0 || status !== 'installed' || !fs.existsSync(lib)) {
    throw new BundleError(`${lib} is missing: the executable ships it; install Debian's ${pkg} on this machine`);
  }
  return { pkg, version, source, sourceVersion, lib: fs.readFileSync(lib), copyright: fs.readFileSync('/usr/share/doc/libatomic1/copyright') };
}

/**
 * The copyright file a .deb unpacked at `file`, or, where Debian links its
 * doc directory to gcc-N-base's (not in the .deb), this machine's copy, which
 * is the same text when this machine's libatomic1 comes from the same source.
 */
function copyrightOf(file, source, deb) {
  if (fs.existsSync(file)) return fs.readFileSync(file);
  const host = spawnSync('dpkg-query', ['-W', '-f', '${source:Package}', 'libatomic1'], { encoding: 'utf8' }).stdout?.trim();
  if (host !== source) throw new BundleError(`${deb} holds no copyright file and this machine's libatomic1 is not from ${source}: cannot ship its licence`);
  return fs.readFileSync('/usr/share/doc/libatomic1/copyright');
}

/** libatomic1 of `a` from its .deb `deb`, unpacked in a scratch directory. */
function fromDeb(a, deb) {
  const field = (name) => {
    const r = spawnSync('dpkg-deb', ['-f', deb, name], { encoding: 'utf8' });
    if (r.status !== 0) throw new BundleError(`dpkg-deb -f ${deb} ${name}: ${r.error?.message ?? r.stderr.trim()}`);
    return r.stdout.trim();
  };
  const version = field('Version');
  const { source, sourceVersion } = sourceOf(version, field('Source') || 'libatomic1');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-libatomic-'));
  try {
    const x = spawnSync('dpkg-deb', ['-x', deb, dir], { encoding: 'utf8' });
    if (x.status !== 0) throw new BundleError(`dpkg-deb -x ${deb}: ${x.error?.message ?? x.stderr.trim()}`);
    return {
      pkg: `libatomic1:${a.deb}`, version, source, sourceVersion,
      lib: fs.readFileSync(path.join(dir, 'usr', 'lib', a.triplet, 'libatomic.so.1')),
      copyright: copyrightOf(path.join(dir, 'usr', 'share', 'doc', 'libatomic1', 'copyright'), source, deb),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The files of LIB_DIR for `arch`: the program launcher (shared/launcher/,
 * statically linked: no library of its own), libatomic.so.1 from Debian's libatomic1
 * of that architecture (this machine's, or the .deb `deb` when given: the
 * arm64 build on an x86_64 machine), and libatomic1.copyright, Debian's
 * copyright file for it (GPL-3 with the GCC Runtime Library Exception) after
 * a line naming the exact source package, as that licence asks of whoever
 * passes the library on.
 * @returns {{ name: string, data: Buffer, license: boolean, mode: number }[]}
 */
function bundledFiles(arch, deb) {
  const a = ARCHES[arch];
  if (!a) throw new BundleError(`no bundled libraries known for architecture ${arch} (${Object.keys(ARCHES).join(', ')})`);
  const p = deb ? fromDeb(a, deb) : installed(a);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-launcher-'));
  let launcher;
  try {
    const problem = buildLauncher(arch, path.join(scratch, LAUNCHER_NAME));
    if (problem) throw new BundleError(`the ${arch} program launcher: ${problem}`);
    launcher = fs.readFileSync(path.join(scratch, LAUNCHER_NAME));
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  const notice = [
    `libatomic.so.1 in this directory is Debian's ${p.pkg} ${p.version}, built from Debian's source`,
    `package ${p.source} ${p.sourceVersion}: https://snapshot.debian.org/package/${p.source}/${encodeURIComponent(p.sourceVersion)}/`,
    'Its copyright and licence, from /usr/share/doc/libatomic1/copyright:',
    '',
    '',
  ].join('\n');
  return [
    { name: LAUNCHER_NAME, data: launcher, license: false, mode: 0o755 },
    { name: 'libatomic.so.1', data: p.lib, license: false, mode: 0o644 },
    { name: 'libatomic1.copyright', data: Buffer.concat([Buffer.from(notice), p.copyright]), license: true, mode: 0o644 },
  ];
}

module.exports = { LIB_DIR, RUNPATH, BundleError, bundledFiles };
