#!/usr/bin/env node
// `node scripts/build-packages.js` (the last step of `npm run package`): from
// the single executable packaging/out/cfntools, the three things a guest image
// is built from, in packaging/out/:
//   cfntools-<version>-linux-x64.tar.gz   bin/, lib/cfntools/, systemd/ (units and preset), logrotate/ and install.sh
//   cfntools_<version>_amd64.deb          dpkg-deb, xz -9 extreme
//   cfntools-<version>-1.x86_64.rpm       rpmbuild with packaging/rpm/cfntools.spec
// and from packaging/out/arm64/cfntools the same for arm64
// (cfntools-<version>-linux-arm64.tar.gz, cfntools_<version>_arm64.deb,
// cfntools-<version>-1.aarch64.rpm), and SHA256SUMS over them. File times are
// SOURCE_DATE_EPOCH (else the last commit's time), owners root, entries
// sorted: rebuilding the same commit gives the same tarball and the same file set.
//   --only tar,deb,rpm   build only these
//   --arch x64,arm64     for these architectures (default both; or all)
// With CI=true (or CFNTOOLS_FAST_COMPRESSION=1) the same formats are written
// at their fastest levels: a test run needs the files, not the smallest ones.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ARCHES, ARCH_NAMES, ArchError, libatomicDebFor, runnerFor } = require('./arches');
const { LIB_DIR, BundleError, bundledFiles } = require('./bundled-libs');

const root = path.resolve(__dirname, '..');
const FAST = process.env.CI === 'true' || process.env.CFNTOOLS_FAST_COMPRESSION === '1';
/**
 * Per format: release levels, or the fastest of the same formats. The rpm's
 * payload is zstd, level 19 a third smaller than gzip.
 */
const COMPRESSION = FAST
  ? { gzip: '-1n', debLevel: ['-z0'], rpmPayload: 'w1.zstdio' }
  : { gzip: '-9n', debLevel: ['-z9', '-Sextreme'], rpmPayload: 'w19.zstdio' };
const PACKAGING = path.join(root, 'packaging');
const OUT = path.join(PACKAGING, 'out');
const pkg = require(path.join(root, 'package.json'));
const VERSION = pkg.version;
// Every tool, by the name it is started under (the links beside the executable).
const TOOLS = Object.keys(pkg.bin).sort();
const UNITS = fs.readdirSync(path.join(PACKAGING, 'systemd')).filter((f) => /\.(service|timer)$/.test(f)).sort();
// What `systemctl preset` does with the units: enable none (a distribution's default may enable all).
const PRESET = '80-cfntools.preset';
const MAINTAINER = process.env.CFNTOOLS_MAINTAINER || 'cfntools maintainers <cfntools@localhost>';

class BuildError extends Error {}

function fail(message) {
  throw new BuildError(message);
}

/** A program's output, or a BuildError with it; not blocking: the three compressors share the cores. */
function runAsync(file, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', (err) => reject(new BuildError(`${file}: ${err.code === 'ENOENT' ? 'not installed' : err.message}`)));
    child.on('close', (status) => {
      if (status === 0) resolve(out);
      else reject(new BuildError(`${file} ${args.join(' ')} failed (status ${status}):\n${out}`.trim()));
    });
  });
}

function need(tool, debianPackage) {
  const r = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { encoding: 'utf8' });
  if (r.status !== 0) fail(`${tool} is not installed (Debian package ${debianPackage})`);
}

/** SOURCE_DATE_EPOCH, else the last commit's time, else now (a tree without git history). */
function sourceDateEpoch() {
  if (/^\d+$/.test(process.env.SOURCE_DATE_EPOCH || '')) return Number(process.env.SOURCE_DATE_EPOCH);
  const r = spawnSync('git', ['-C', root, 'log', '-1', '--format=%ct'], { encoding: 'utf8' });
  if (r.status === 0 && /^\d+$/.test(r.stdout.trim())) return Number(r.stdout.trim());
  return Math.floor(Date.now() / 1000);
}

function mkdir(dir) {
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.chmodSync(dir, 0o755);
}

function copy(src, dst, mode) {
  mkdir(path.dirname(dst));
  fs.copyFileSync(src, dst);
  fs.chmodSync(dst, mode);
}

/** Every entry below dir (dir included) gets time `epoch`; links themselves, not their targets. */
function setTimes(dir, epoch) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) setTimes(p, epoch);
    else fs.lutimesSync(p, epoch, epoch);
  }
  fs.utimesSync(dir, epoch, epoch);
}

/** Installed-Size in KiB, as dpkg-gencontrol counts it: each file rounded up, each other entry 1. */
function installedSizeKiB(dir) {
  let kib = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'DEBIAN') continue;
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) kib += 1 + installedSizeKiB(p);
    else if (entry.isFile()) kib += Math.ceil(fs.statSync(p).size / 1024);
    else kib += 1;
  }
  return kib;
}

/** The launcher and libraries the executable carries and their licences (scripts/bundled-libs.js), into `libDir`. */
function stageLibs(libDir, libs) {
  mkdir(libDir);
  for (const f of libs) {
    fs.writeFileSync(path.join(libDir, f.name), f.data);
    fs.chmodSync(path.join(libDir, f.name), f.mode);
  }
}

/** Where systemd reads the presets of the units in `unitDir` (/lib/systemd/system-preset for /lib/systemd/system). */
function presetDir(unitDir) {
  return path.posix.join(path.posix.dirname(unitDir), 'system-preset');
}

/**
 * The installed file set under `dir`: the executable and a relative link per
 * tool in /usr/bin, its libraries in /usr/lib/cfntools, the units in
 * `unitDir` and their preset beside them, the logrotate file, /etc/cfn/hooks.d.
 */
function stageSystem(dir, exe, libs, unitDir) {
  mkdir(dir);
  copy(exe, path.join(dir, 'usr/bin/cfntools'), 0o755);
  for (const t of TOOLS) fs.symlinkSync('cfntools', path.join(dir, 'usr/bin', t));
  stageLibs(path.join(dir, 'usr', LIB_DIR), libs);
  for (const u of UNITS) copy(path.join(PACKAGING, 'systemd', u), path.join(dir, unitDir.slice(1), u), 0o644);
  copy(path.join(PACKAGING, 'systemd', PRESET), path.join(dir, presetDir(unitDir).slice(1), PRESET), 0o644);
  copy(path.join(PACKAGING, 'logrotate', 'cfntools'), path.join(dir, 'etc/logrotate.d/cfntools'), 0o644);
  mkdir(path.join(dir, 'etc/cfn/hooks.d'));
}

async function buildTarball(work, exe, libs, epoch, a) {
  const name = `cfntools-${VERSION}-${a.tar}`;
  const top = path.join(work, 'tar', name);
  mkdir(top);
  copy(exe, path.join(top, 'bin', 'cfntools'), 0o755);
  for (const t of TOOLS) fs.symlinkSync('cfntools', path.join(top, 'bin', t));
  // Where install.sh puts it too: PREFIX/lib/cfntools beside PREFIX/bin, as the RUNPATH expects.
  stageLibs(path.join(top, LIB_DIR), libs);
  for (const u of [...UNITS, PRESET]) copy(path.join(PACKAGING, 'systemd', u), path.join(top, 'systemd', u), 0o644);
  copy(path.join(PACKAGING, 'logrotate', 'cfntools'), path.join(top, 'logrotate', 'cfntools'), 0o644);
  copy(path.join(PACKAGING, 'install.sh'), path.join(top, 'install.sh'), 0o755);
  setTimes(path.dirname(top), epoch);
  const out = path.join(OUT, `${name}.tar.gz`);
  const tmp = `${out}.tmp`;
  // gzip -n: no name or time in the gzip header either.
  await runAsync('sh', ['-c', 'set -e; tar -C "$1" --sort=name --format=gnu --owner=0 --group=0 --numeric-owner --mtime="@$2" -cf - "$3" | gzip "$5" >"$4"', 'sh', path.dirname(top), String(epoch), name, tmp, COMPRESSION.gzip]);
  fs.renameSync(tmp, out);
  return out;
}

const DEB_POSTINST = `#!/bin/sh
# Tells a running systemd about the units and restarts the daemons that were
# running, so that they run the new executable; enables nothing (the image
# builder or the stack's user data picks cfn-hup.service or cfn-hup.timer).
set -e
case "$1" in
configure | abort-upgrade | abort-remove | abort-deconfigure)
	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload || true
		if [ -n "$2" ]; then
			systemctl try-restart cfn-hup.service heat-agent.service || true
		fi
	fi
	;;
esac
exit 0
`;

const DEB_PRERM = `#!/bin/sh
# On removal the daemons and the timer stop before their executable goes; an
# upgrade leaves them running (postinst restarts them).
set -e
case "$1" in
remove | deconfigure)
	if [ -d /run/systemd/system ]; then
		systemctl stop cfn-hup.timer cfn-hup-pass.service cfn-hup.service heat-agent.service || true
	fi
	;;
esac
exit 0
`;

/**
 * What the tools leave on the machine, which a purge (dpkg --purge) or an
 * erase (rpm -e) removes and dpkg -r keeps: the logs of every tool's default
 * --log-file (and cfn-init's command log), rotated ones too, and the state,
 * cache and work directories of shared/paths.ts that are cfntools' own (not
 * Heat's boot data in /var/lib/heat-cfntools, nor heat-config's or
 * os-collect-config's directories, nor /etc/cfn, which the user data wrote).
 */
const LOG_NAMES = ['cfn-get-metadata', 'cfn-hup', 'cfn-init', 'cfn-init-cmd', 'cfn-push-stats', 'cfn-signal', 'heat-agent'];
const STATE_DIRS = ['/var/cache/cfntools', '/var/lib/cfn-hup', '/var/lib/cfntools', '/var/lib/heat-agent'];

const DEB_POSTRM = `#!/bin/sh
# After removal systemd forgets the units; a purge also drops the links an
# administrator's systemctl enable left, which would now point nowhere, the
# links cfn-create-aws-symlinks made to the tools, and what the tools wrote:
# logs (rotated ones too), state, the metadata cache (which can hold secrets)
# and work directories. /etc/cfn, written by the user data, stays.
set -e
case "$1" in
purge)
	for unit in ${UNITS.join(' ')}; do
		for link in /etc/systemd/system/*.wants/"$unit" /etc/systemd/system/*.requires/"$unit"; do
			if [ -L "$link" ] && [ ! -e "$link" ]; then rm -f "$link"; fi
		done
	done
	for link in /opt/aws/bin/cfn-*; do
		if [ -L "$link" ] && [ ! -e "$link" ]; then
			case "$(readlink "$link")" in /usr/bin/cfn-*) rm -f "$link" ;; esac
		fi
	done
	for name in ${LOG_NAMES.join(' ')}; do
		rm -f "/var/log/$name.log" "/var/log/$name.log".*
	done
	rm -rf ${STATE_DIRS.join(' ')}
	;;
esac
case "$1" in
remove | purge)
	if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
	;;
esac
exit 0
`;

function debDescription() {
  return [
    `Description: ${pkg.description.split(':')[0]}`,
    ' The in-instance tools of CloudFormation-style orchestration for OpenStack',
    ' Heat and AWS: cfn-init, cfn-signal, cfn-hup, cfn-push-stats,',
    ' cfn-get-metadata, cfn-create-aws-symlinks and heat-agent, as one',
    ' self-contained executable that needs no Node.js or Python on the guest.',
    ' A drop-in replacement for heat-cfntools and aws-cfn-bootstrap.',
  ].join('\n');
}

async function buildDeb(work, exe, libs, epoch, a) {
  need('dpkg-deb', 'dpkg');
  const dir = path.join(work, 'deb');
  // mkdtemp-style 0700 would become the package's ./ and every path below it unreadable.
  stageSystem(dir, exe, libs, '/lib/systemd/system');
  mkdir(path.join(dir, 'DEBIAN'));
  const control = [
    'Package: cfntools',
    `Version: ${VERSION}`,
    `Architecture: ${a.deb}`,
    `Maintainer: ${MAINTAINER}`,
    `Installed-Size: ${installedSizeKiB(dir)}`,
    // What the executable links (ldd): glibc >= 2.28 (its newest GLIBC_ symbol version), libstdc++, libgcc_s
    // (libgcc1 is Debian 10's name); not libatomic, which it carries in /usr/lib/cfntools.
    'Depends: libc6 (>= 2.28), libstdc++6, libgcc-s1 | libgcc1',
    // Both ship /usr/bin/cfn-init, cfn-signal, cfn-hup, ...; cfntools takes their place.
    'Conflicts: heat-cfntools',
    'Replaces: heat-cfntools',
    'Provides: heat-cfntools',
    'Section: admin',
    'Priority: optional',
    debDescription(),
    '',
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'DEBIAN', 'control'), control);
  fs.writeFileSync(path.join(dir, 'DEBIAN', 'conffiles'), '/etc/logrotate.d/cfntools\n');
  for (const [name, text] of [['postinst', DEB_POSTINST], ['prerm', DEB_PRERM], ['postrm', DEB_POSTRM]]) {
    fs.writeFileSync(path.join(dir, 'DEBIAN', name), text, { mode: 0o755 });
    fs.chmodSync(path.join(dir, 'DEBIAN', name), 0o755);
  }
  fs.chmodSync(path.join(dir, 'DEBIAN', 'control'), 0o644);
  fs.chmodSync(path.join(dir, 'DEBIAN', 'conffiles'), 0o644);
  setTimes(dir, epoch);
  const out = path.join(OUT, `cfntools_${VERSION}_${a.deb}.deb`);
  const tmp = path.join(OUT, `.cfntools_${VERSION}_${a.deb}.deb.tmp`);
  await runAsync('dpkg-deb', ['--root-owner-group', '-Zxz', ...COMPRESSION.debLevel, '--build', dir, tmp], { env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) } });
  fs.renameSync(tmp, out);
  return out;
}

async function buildRpm(work, exe, libs, epoch, a) {
  need('rpmbuild', 'rpm');
  const unitDir = '/usr/lib/systemd/system';
  const stage = path.join(work, 'rpm-stage');
  stageSystem(stage, exe, libs, unitDir);
  setTimes(stage, epoch);
  const fileList = [
    '%attr(0755,root,root) /usr/bin/cfntools',
    ...TOOLS.map((t) => `/usr/bin/${t}`),
    `%dir %attr(0755,root,root) /usr/${LIB_DIR}`,
    ...libs.map((f) => `${f.license ? '%license ' : ''}%attr(0${f.mode.toString(8)},root,root) /usr/${LIB_DIR}/${f.name}`),
    ...UNITS.map((u) => `%attr(0644,root,root) ${unitDir}/${u}`),
    `%attr(0644,root,root) ${presetDir(unitDir)}/${PRESET}`,
    '%config(noreplace) %attr(0644,root,root) /etc/logrotate.d/cfntools',
    '%dir %attr(0755,root,root) /etc/cfn',
    '%dir %attr(0755,root,root) /etc/cfn/hooks.d',
  ];
  const list = path.join(work, 'rpm-files.txt');
  fs.writeFileSync(list, fileList.join('\n') + '\n');
  const topdir = path.join(work, 'rpmbuild');
  mkdir(topdir);
  await runAsync('rpmbuild', [
    '-bb', '--quiet', '--target', a.rpm,
    '--define', `_topdir ${topdir}`,
    '--define', `_rpmdir ${path.join(topdir, 'RPMS')}`,
    '--define', `_tmppath ${path.join(topdir, 'tmp')}`,
    '--define', `_binary_payload ${COMPRESSION.rpmPayload}`,
    '--define', `cfntools_version ${VERSION}`,
    '--define', `cfntools_stage ${stage}`,
    '--define', `cfntools_filelist ${list}`,
    '--define', `cfntools_units ${UNITS.join(' ')}`,
    '--define', `cfntools_logs ${LOG_NAMES.join(' ')}`,
    '--define', `cfntools_state_dirs ${STATE_DIRS.join(' ')}`,
    '--define', `cfntools_description ${pkg.description.split(':')[0]}`,
    path.join(PACKAGING, 'rpm', 'cfntools.spec'),
  ], { env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) } });
  const built = path.join(topdir, 'RPMS', a.rpm, `cfntools-${VERSION}-1.${a.rpm}.rpm`);
  if (!fs.existsSync(built)) fail(`rpmbuild did not write ${built}`);
  const out = path.join(OUT, path.basename(built));
  fs.copyFileSync(built, `${out}.tmp`);
  fs.renameSync(`${out}.tmp`, out);
  return out;
}

function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** An architecture's packages, by file name in packaging/out/. */
function packageNames(a) {
  return [`cfntools-${VERSION}-${a.tar}.tar.gz`, `cfntools_${VERSION}_${a.deb}.deb`, `cfntools-${VERSION}-1.${a.rpm}.rpm`];
}

async function main(argv) {
  let only = ['tar', 'deb', 'rpm'];
  let arches = ARCH_NAMES;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--only' && argv[i + 1]) only = argv[++i].split(',');
    else if (argv[i].startsWith('--only=')) only = argv[i].slice(7).split(',');
    else if (argv[i] === '--arch' && argv[i + 1]) arches = argv[++i] === 'all' ? ARCH_NAMES : argv[i].split(',');
    else if (argv[i] === '-h' || argv[i] === '--help') {
      console.log('usage: node scripts/build-packages.js [--only tar,deb,rpm] [--arch x64,arm64]\nwrites the tarball, .deb and .rpm of packaging/out/cfntools (x64) and packaging/out/arm64/cfntools into packaging/out/');
      return;
    } else fail(`unknown argument ${argv[i]} (--only tar,deb,rpm, --arch x64,arm64, --help)`);
  }
  for (const o of only) if (!['tar', 'deb', 'rpm'].includes(o)) fail(`--only: unknown kind ${o} (tar, deb, rpm)`);
  for (const a of arches) if (!ARCH_NAMES.includes(a)) fail(`--arch: unknown architecture ${a} (${ARCH_NAMES.join(', ')}, all)`);
  for (const a of arches) {
    const exe = path.join(ARCHES[a].dir, 'cfntools');
    if (!fs.existsSync(exe)) fail(`${path.relative(root, exe)} is missing: run npm run package${a === 'x64' ? '' : ` (or build only x64: --arch x64)`}`);
  }

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-packages-'));
  try {
    const epoch = sourceDateEpoch();
    const t0 = Date.now();
    // The executables as packaged, by their path in SHA256SUMS.
    const snapshots = new Map();
    // One architecture after the other: two xz -9 at once would need 1.3 GB.
    for (const arch of arches) {
      const a = ARCHES[arch];
      const built = path.join(a.dir, 'cfntools');
      const dir = path.join(work, arch);
      mkdir(dir);
      // One snapshot for all three: the executable may be rebuilt while we work.
      const exe = path.join(dir, 'cfntools');
      fs.copyFileSync(built, exe);
      fs.chmodSync(exe, 0o755);
      let run;
      try {
        run = runnerFor(arch, dir);
      } catch (err) {
        if (err instanceof ArchError) fail(err.message);
        throw err;
      }
      const said = spawnSync(...run(exe, ['--version']), { encoding: 'utf8', timeout: 60_000 });
      if (said.status !== 0) fail(`${path.relative(root, built)} --version failed (status ${said.status ?? said.signal}): ${(said.stderr || said.error?.message || '').trim()}; run npm run package`);
      if (said.stdout.trim() !== `cfntools ${VERSION}`) fail(`${path.relative(root, built)} says "${said.stdout.trim()}", package.json is ${VERSION}: run npm run package`);
      snapshots.set(path.relative(OUT, built), exe);
      const libs = bundledFiles(arch, libatomicDebFor(arch));
      const step = async (kind, build) => {
        const file = await build(dir, exe, libs, epoch, a);
        const size = fs.statSync(file).size;
        console.log(`build-packages: ${path.relative(root, file)} ${(size / 1e6).toFixed(1)} MB (${size} bytes, ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
        return file;
      };
      const builders = { tar: buildTarball, deb: buildDeb, rpm: buildRpm };
      const settled = await Promise.allSettled(Object.keys(builders).filter((k) => only.includes(k)).map((k) => step(k, builders[k])));
      const failed = settled.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
    }
    // Over every package and executable present (an --only or --arch run keeps the others' lines true);
    // those packaged now as packaged.
    const lines = [];
    for (const arch of ARCH_NAMES) {
      const exe = path.relative(OUT, path.join(ARCHES[arch].dir, 'cfntools'));
      const file = snapshots.get(exe) ?? path.join(OUT, exe);
      if (fs.existsSync(file)) lines.push(`${sha256(file)}  ${exe}\n`);
    }
    for (const arch of ARCH_NAMES) {
      for (const f of packageNames(ARCHES[arch])) if (fs.existsSync(path.join(OUT, f))) lines.push(`${sha256(path.join(OUT, f))}  ${f}\n`);
    }
    fs.writeFileSync(path.join(OUT, 'SHA256SUMS'), lines.join(''));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).catch((err) => {
  if (!(err instanceof BuildError || err instanceof BundleError)) throw err;
  console.error(`build-packages: ${err.message}`);
  process.exitCode = 1;
});
