/**
 * The .rpm: its file list, its requirements (rpm's generated ones by soname,
 * less the libatomic it carries, which it provides to nobody), resolved
 * against what a glibc, libstdc++ and libgcc_s provide when rpm packages
 * them, scriptlets that enable nothing, and a payload whose executable is
 * packaging/out/cfntools byte for byte (rpmbuild strips by default, which
 * would break it) and runs.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { skipUnless } from '../support/skip';
import {
  BUNDLED, bundledMode, EXE, HOST_LIBATOMIC, LIB_DIR, LOGROTATE_SRC, PRESET, PRESET_SRC, RPM, SYSTEMD_SRC, TOOLS, UNITS, VERSION,
  artifactMissing, commandMissing, needRoot, removeTemp, run, runOk, staleness, tempDir,
} from './artifacts';

const UNIT_DIR = '/usr/lib/systemd/system';
const ELFDEPS = '/usr/lib/rpm/elfdeps';

describe('packaging: .rpm', function () {
  let dir: string | undefined;

  before(function () {
    skipUnless(this, 'the .rpm tests', artifactMissing(RPM) ?? commandMissing('rpm', 'rpm'));
  });
  afterEach(() => {
    removeTemp(dir);
    dir = undefined;
  });

  const query = (...args: string[]) => runOk('rpm', ['-qp', ...args, RPM]).trim().split('\n').filter(Boolean);

  it('rpm -qlp lists the executable, a link per tool, its library and licence in /usr/lib/cfntools, the units in /usr/lib/systemd/system and their preset, logrotate and /etc/cfn/hooks.d', () => {
    const expected = [
      '/etc/cfn', '/etc/cfn/hooks.d', '/etc/logrotate.d/cfntools', '/usr/bin/cfntools',
      ...TOOLS.map((t) => `/usr/bin/${t}`), ...UNITS.map((u) => `${UNIT_DIR}/${u}`), `/usr/lib/systemd/system-preset/${PRESET}`,
      `/usr/${LIB_DIR}`, ...BUNDLED.map((f) => `/usr/${LIB_DIR}/${f}`),
    ].sort();
    assert.deepEqual(runOk('rpm', ['-qlp', RPM]).trim().split('\n').sort(), expected);
    const verbose = runOk('rpm', ['-qlvp', RPM]).trim().split('\n');
    for (const line of verbose) assert.match(line, /^\S+\s+\d+\s+root\s+root\s/, `not root-owned: ${line}`);
    for (const t of TOOLS) assert.ok(verbose.some((l) => l.startsWith('l') && l.endsWith(`/usr/bin/${t} -> cfntools`)), `${t} is no link to cfntools`);
    assert.ok(verbose.some((l) => /^-rwxr-xr-x .* \/usr\/bin\/cfntools$/.test(l)));
    assert.ok(verbose.some((l) => new RegExp(`^drwxr-xr-x .* /usr/${LIB_DIR}$`).test(l)));
    for (const f of BUNDLED) assert.ok(verbose.some((l) => l.startsWith(bundledMode(f) === 0o755 ? '-rwxr-xr-x ' : '-rw-r--r-- ') && l.endsWith(`/usr/${LIB_DIR}/${f}`)), f);
    assert.deepEqual(query('--configfiles'), ['/etc/logrotate.d/cfntools']);
    assert.deepEqual(query('--licensefiles'), [`/usr/${LIB_DIR}/libatomic1.copyright`]);
  });

  it('name, version, arch; conflicts with and provides heat-cfntools, and provides nothing of the library it carries', () => {
    assert.deepEqual(query('--queryformat', '%{NAME} %{VERSION} %{RELEASE} %{ARCH}\\n'), [`cfntools ${VERSION} 1 x86_64`]);
    assert.deepEqual(query('--conflicts'), ['heat-cfntools']);
    assert.deepEqual(query('--provides').sort(), ['cfntools = 0.1.0-1', 'cfntools(x86-64) = 0.1.0-1', 'config(cfntools) = 0.1.0-1', 'heat-cfntools'].map((p) => p.replaceAll('0.1.0', VERSION)).sort());
  });

  it('requires what rpm\'s own generator (elfdeps) finds in the executable and the library it carries, but libatomic; the glibc floor is 2.28', function () {
    skipUnless(this, 'rpm\'s dependency generator', artifactMissing(EXE) ?? (fs.existsSync(ELFDEPS) ? undefined : `${ELFDEPS} is missing (Debian package rpm)`));
    const generated = new Set([EXE, HOST_LIBATOMIC].flatMap((f) => runOk(ELFDEPS, ['-R', f]).trim().split('\n')));
    const expected = [...generated].filter((r) => !r.startsWith('libatomic.so.1'));
    assert.ok(expected.length < generated.size, 'the executable no longer links libatomic: drop it from the packages');
    const requires = query('--requires').filter((r) => !r.startsWith('rpmlib(') && r !== '/bin/sh' && !r.startsWith('config(cfntools)'));
    assert.deepEqual(requires.sort(), expected.sort());
    assert.ok(requires.includes('libc.so.6(GLIBC_2.28)(64bit)'));
    assert.ok(!requires.some((r) => r.startsWith('libc.so.6(GLIBC_2.29')), 'the floor moved: update docs/INSTALL.md and the .deb\'s libc6 (>= 2.28)');
  });

  it('rpm resolves its requirements against what glibc, libstdc++ and libgcc_s provide as rpm packages them (elfdeps -P), and refuses a glibc older than 2.28', function () {
    skipUnless(this, 'building stand-in rpms', commandMissing('rpmbuild', 'rpm') ?? (fs.existsSync(ELFDEPS) ? undefined : `${ELFDEPS} is missing (Debian package rpm)`));
    dir = tempDir('rpm-resolve');
    // This machine's libraries, as a Fedora, RHEL, Amazon Linux or SUSE build of them would provide them.
    const libs = ['libc.so.6', 'libm.so.6', 'libdl.so.2', 'libpthread.so.0', 'ld-linux-x86-64.so.2', 'libstdc++.so.6', 'libgcc_s.so.1']
      .map((so) => fs.realpathSync(path.join('/usr/lib/x86_64-linux-gnu', so)));
    // glibc's own spec file declares rtld(GNU_HASH); a shell is there for the scriptlets.
    const provides = [...new Set(libs.flatMap((l) => runOk(ELFDEPS, ['-P', l]).trim().split('\n'))), 'rtld(GNU_HASH)', '/bin/sh'];
    const older = provides.filter((p) => !/^libc\.so\.6\(GLIBC_2\.(2[89]|[3-9]\d)\)/.test(p));
    const standIn = (name: string, list: string[]) => {
      const spec = path.join(dir!, `${name}.spec`);
      fs.writeFileSync(spec, [`Name: ${name}`, 'Version: 1', 'Release: 1', 'Summary: stand-in', 'License: none', 'BuildArch: noarch', ...list.map((p) => `Provides: ${p}`), '%description', 'stand-in', '%files', ''].join('\n'));
      runOk('rpmbuild', ['-bb', '--quiet', '--define', `_topdir ${path.join(dir!, name)}`, spec]);
      return path.join(dir!, name, 'RPMS', 'noarch', `${name}-1-1.noarch.rpm`);
    };
    const check = (base: string) => {
      const root = path.join(dir!, `root-${path.basename(base)}`);
      fs.mkdirSync(root);
      runOk('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', '--initdb']);
      runOk('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', '-i', '--justdb', base]);
      return run('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', '-i', '--test', RPM]);
    };
    const good = check(standIn('base-glibc-2-36', provides));
    assert.equal(good.status, 0, good.stderr);
    const bad = check(standIn('base-glibc-2-27', older));
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /libc\.so\.6\(GLIBC_2\.28\)\(64bit\) is needed by cfntools/);
  });

  it('the scriptlets reload systemd only when it runs, stop the units only on removal, and enable nothing', () => {
    const scripts = runOk('rpm', ['-qp', '--scripts', RPM]);
    assert.doesNotMatch(scripts, /\benable\b|preset/);
    assert.match(scripts, /\[ -d \/run\/systemd\/system \][^\n]*\n?[^\n]*daemon-reload/);
    assert.match(scripts, /preuninstall[\s\S]*"\$1" -eq 0[\s\S]*systemctl stop cfn-hup\.timer cfn-hup-pass\.service cfn-hup\.service heat-agent\.service/);
  });

  it('erase (the postun scriptlet with 0) removes the logs, rotated ones too, state, caches and the dangling /opt/aws/bin links to the tools; an upgrade (1) keeps them; others\' files stay', function () {
    skipUnless(this, 'running the scriptlet in a mount namespace', needRoot('mounting over /var and /run in a namespace') ?? commandMissing('unshare', 'util-linux'));
    const postun = query('--queryformat', '%{POSTUN}').join('\n');
    // In a mount namespace of its own, with empty tmpfs over every directory the scriptlet may touch
    // (and /run, so that no systemctl reaches the host's systemd): the host sees none of it.
    const driver = String.raw`
set -eu
for d in /run /var/log /var/lib /var/cache /opt; do mount -t tmpfs -o size=8m cfntools-test "$d"; done
mkdir -p /var/lib/cfn-hup/data /var/lib/cfntools/cfn-init /var/lib/cfntools/cfn-push-stats /var/lib/heat-agent/work/d1 	/var/cache/cfntools/metadata /var/lib/heat-cfntools /var/lib/heat-config/deployed /opt/aws/bin
for f in cfn-init.log cfn-init.log.1 cfn-init.log.2.gz cfn-init-cmd.log cfn-hup.log cfn-hup.log.1 cfn-signal.log 	cfn-get-metadata.log cfn-push-stats.log heat-agent.log heat-agent.log.3.gz cfn-wire.log syslog 	../lib/cfn-hup/data/metadata_db.json ../lib/cfntools/cfn-init/progress.json ../lib/cfntools/cfn-push-stats/cpu 	../lib/heat-agent/state.json ../lib/heat-agent/work/d1/script ../cache/cfntools/metadata/s.json 	../lib/heat-cfntools/cfn-init-data ../lib/heat-config/deployed/d1.json; do
	echo x >"/var/log/$f"
done
ln -s /usr/bin/cfn-cfntools-test-gone /opt/aws/bin/cfn-gone
ln -s /opt/aws/apitools/cfn-init/bin/cfn-elect-cmd-leader /opt/aws/bin/cfn-elect-cmd-leader
ln -s /bin/sh /opt/aws/bin/cfn-there
listing() { find /var/log /var/lib /var/cache /opt -mindepth 1 | sort; }
sh -c "$1" postun 1
listing >"$2/upgrade"
sh -c "$1" postun 0
listing >"$2/erase"
`;
    dir = tempDir('rpm-postun');
    runOk('unshare', ['-m', '--', 'sh', '-c', driver, 'sh', postun, dir]);
    const upgrade = fs.readFileSync(path.join(dir, 'upgrade'), 'utf8').trim().split('\n');
    for (const kept of ['/var/log/cfn-init.log.2.gz', '/var/lib/cfn-hup/data/metadata_db.json', '/var/cache/cfntools/metadata/s.json', '/opt/aws/bin/cfn-gone']) assert.ok(upgrade.includes(kept), `an upgrade removed ${kept}`);
    assert.deepEqual(fs.readFileSync(path.join(dir, 'erase'), 'utf8').trim().split('\n'), [
      '/opt/aws', '/opt/aws/bin', '/opt/aws/bin/cfn-elect-cmd-leader', '/opt/aws/bin/cfn-there',
      '/var/lib/heat-cfntools', '/var/lib/heat-cfntools/cfn-init-data', '/var/lib/heat-config', '/var/lib/heat-config/deployed', '/var/lib/heat-config/deployed/d1.json',
      '/var/log/cfn-wire.log', '/var/log/syslog',
    ]);
  });

  it('the payload (rpm2cpio | cpio) holds packaging/out/cfntools byte for byte, and it runs', function () {
    skipUnless(this, 'extracting the payload', commandMissing('rpm2cpio', 'rpm2cpio') ?? commandMissing('cpio', 'cpio') ?? artifactMissing(EXE) ?? staleness(RPM));
    dir = tempDir('rpm');
    runOk('sh', ['-c', 'rpm2cpio "$1" | (cd "$2" && cpio -idm --quiet --no-absolute-filenames)', 'sh', RPM, dir]);
    const exe = path.join(dir, 'usr/bin/cfntools');
    assert.ok(fs.readFileSync(exe).equals(fs.readFileSync(EXE)), 'the executable in the rpm differs from packaging/out/cfntools (stripped?)');
    assert.ok(fs.readFileSync(path.join(dir, 'usr', LIB_DIR, 'libatomic.so.1')).equals(fs.readFileSync(HOST_LIBATOMIC)), 'libatomic differs from this machine\'s (stripped?)');
    for (const t of TOOLS) assert.equal(fs.readlinkSync(path.join(dir, 'usr/bin', t)), 'cfntools');
    for (const u of UNITS) assert.equal(fs.readFileSync(path.join(dir, UNIT_DIR.slice(1), u), 'utf8'), fs.readFileSync(path.join(SYSTEMD_SRC, u), 'utf8'));
    assert.equal(fs.readFileSync(path.join(dir, 'usr/lib/systemd/system-preset', PRESET), 'utf8'), fs.readFileSync(PRESET_SRC, 'utf8'));
    assert.equal(fs.readFileSync(path.join(dir, 'etc/logrotate.d/cfntools'), 'utf8'), fs.readFileSync(LOGROTATE_SRC, 'utf8'));
    assert.ok(!fs.existsSync(path.join(dir, 'usr/lib/.build-id')), 'build-id links shipped');
    const r = run(path.join(dir, 'usr/bin/cfn-hup'), ['--version']);
    assert.equal(r.status, 0, `${r.signal ?? ''} ${r.stderr}`);
    assert.equal(r.stdout.trim(), `cfn-hup (cfntools) ${VERSION}`);
    assert.equal(runOk(exe, ['--version']).trim(), `cfntools ${VERSION}`);
  });

  it('rpm -i into a scratch root and database installs it whole (rpm -V clean, the tools run), rpm -e removes every file', function () {
    skipUnless(this, 'installing the rpm', artifactMissing(EXE) ?? staleness(RPM));
    dir = tempDir('rpm-root');
    // No glibc rpm in a scratch database, and no shell inside the root for scriptlets (checked above).
    const rpmIn = (...args: string[]) => runOk('rpm', ['--root', dir!, '--dbpath', '/var/lib/rpm', ...args]);
    rpmIn('--initdb');
    rpmIn('-i', '--nodeps', '--noscripts', RPM);
    assert.equal(rpmIn('-q', 'cfntools').trim(), `cfntools-${VERSION}-1.x86_64`);
    assert.equal(run('rpm', ['--root', dir, '--dbpath', '/var/lib/rpm', '-V', '--nodeps', '--noscripts', 'cfntools']).stdout, '');
    for (const t of TOOLS) {
      const r = run(path.join(dir, 'usr/bin', t), ['--version']);
      assert.equal(r.stdout.trim(), `${t} (cfntools) ${VERSION}`, `${t}: ${r.stderr}`);
    }
    rpmIn('-e', '--noscripts', 'cfntools');
    const left = fs.readdirSync(dir, { recursive: true }).map(String).filter((f) => !f.startsWith('var/lib/rpm') && fs.lstatSync(path.join(dir!, f)).isFile());
    assert.deepEqual(left, []);
  });
});
