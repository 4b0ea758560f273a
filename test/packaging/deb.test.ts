/**
 * The .deb: its contents and control fields, maintainer scripts that enable
 * nothing, and an install into a Debian minbase root (no node, no python3, no
 * libatomic1; scripts/make-test-root.sh prepares it) where the tools run:
 * cfn-init applies a metadata file, cfn-get-metadata and cfn-signal reach the
 * endpoint emulator on loopback, and dpkg --purge takes it all away; apt-get
 * installs it the same way; then the tarball's install.sh installs the same
 * tools there.
 *
 * The root itself is never changed: each run mounts an overlay over it with
 * its changes on a tmpfs, inside `unshare -m -n -p` (a mount namespace that
 * disappears with the run, only `lo` for a network, and a pid namespace whose
 * end kills the emulator and anything else left running).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BUNDLE } from '../support/cli';
import { namespaceMissing, runInNamespace } from '../support/namespace';
import { skipUnless } from '../support/skip';
import {
  BUNDLED, bundledMode, DEB, EXE, HOST_LAUNCHER, HOST_LIBATOMIC, LAUNCHER, LIBATOMIC, LIB_DIR, LOGROTATE_SRC, PRESET, PRESET_SRC, REPO, SYSTEMD_SRC, TARBALL, TOOLS, UNITS, VERSION,
  arMembers, artifactMissing, commandMissing, driverSteps, removeTemp, rootDriverPrelude, run, runOk, staleness, tempDir,
} from './artifacts';

const TEST_ROOT = process.env.CFNTOOLS_TEST_ROOT || '/var/cache/cfntools-test/minbase-bookworm';
const EMULATOR = path.join(REPO, 'dist', 'test', 'emulator', 'main.js');
const DEMO_STACK = path.join(REPO, 'test', 'emulator', 'stacks', 'demo.yaml');
const TRANSPORTS_STACK = path.join(REPO, 'test', 'emulator', 'stacks', 'metadata-transports.yaml');

describe('packaging: .deb', function () {
  let dir: string | undefined;

  before(function () {
    skipUnless(this, 'the .deb tests', artifactMissing(DEB) ?? commandMissing('dpkg-deb', 'dpkg'));
  });
  afterEach(() => {
    removeTemp(dir);
    dir = undefined;
  });

  const field = (name: string) => runOk('dpkg-deb', ['-f', DEB, name]).trim();

  it('dpkg-deb -c: the executable, a relative link per tool, its library in /usr/lib/cfntools, units in /lib/systemd/system and their preset, logrotate, /etc/cfn/hooks.d; all root-owned, ./ mode 0755', () => {
    const lines = runOk('dpkg-deb', ['-c', DEB]).trim().split('\n');
    const entries = new Map(lines.map((l) => {
      const m = /^(\S+) (\S+)\s+\d+ \S+ \S+ \.(\/\S*)(?: -> (\S+))?$/.exec(l);
      assert.ok(m, `unexpected dpkg-deb -c line: ${l}`);
      assert.equal(m[2], 'root/root', l);
      return [m[3]!, { mode: m[1]!, target: m[4] }] as const;
    }));
    const expected = [
      '/', '/etc/', '/etc/cfn/', '/etc/cfn/hooks.d/', '/etc/logrotate.d/', '/etc/logrotate.d/cfntools',
      '/lib/', '/lib/systemd/', '/lib/systemd/system/', ...UNITS.map((u) => `/lib/systemd/system/${u}`),
      '/lib/systemd/system-preset/', `/lib/systemd/system-preset/${PRESET}`,
      '/usr/', '/usr/bin/', '/usr/bin/cfntools', ...TOOLS.map((t) => `/usr/bin/${t}`),
      '/usr/lib/', `/usr/${LIB_DIR}/`, ...BUNDLED.map((f) => `/usr/${LIB_DIR}/${f}`),
    ].sort();
    assert.deepEqual([...entries.keys()].sort(), expected);
    assert.equal(entries.get('/')!.mode, 'drwxr-xr-x');
    for (const [p, e] of entries) if (p.endsWith('/')) assert.equal(e.mode, 'drwxr-xr-x', p);
    assert.equal(entries.get('/usr/bin/cfntools')!.mode, '-rwxr-xr-x');
    for (const t of TOOLS) assert.deepEqual(entries.get(`/usr/bin/${t}`), { mode: 'lrwxrwxrwx', target: 'cfntools' });
    for (const u of UNITS) assert.equal(entries.get(`/lib/systemd/system/${u}`)!.mode, '-rw-r--r--');
    for (const f of BUNDLED) assert.equal(entries.get(`/usr/${LIB_DIR}/${f}`)!.mode, bundledMode(f) === 0o755 ? '-rwxr-xr-x' : '-rw-r--r--', f);
  });

  it('control: name, version, amd64, the real library floor without libatomic1 (carried), and it takes heat-cfntools\' place', () => {
    assert.equal(field('Package'), 'cfntools');
    assert.equal(field('Version'), VERSION);
    assert.equal(field('Architecture'), 'amd64');
    assert.equal(field('Depends'), 'libc6 (>= 2.28), libstdc++6, libgcc-s1 | libgcc1');
    for (const f of ['Conflicts', 'Replaces', 'Provides']) assert.equal(field(f), 'heat-cfntools', f);
    assert.ok(Number(field('Installed-Size')) * 1024 >= fs.statSync(DEB).size, 'Installed-Size smaller than the package');
    assert.match(field('Description'), /\S/);
    assert.match(field('Maintainer'), /<.+@.+>/);
  });

  it('Depends names the package of every library the executable links (ldd, dpkg -S on this host), but the one it carries', function () {
    skipUnless(this, 'ldd of packaging/out/cfntools', artifactMissing(EXE) ?? commandMissing('ldd', 'libc-bin'));
    const depends = field('Depends').split(',').flatMap((d) => d.split('|')).map((d) => d.trim().replace(/ \(.*\)$/, ''));
    const libs = [...runOk('ldd', [EXE]).matchAll(/=> (\/\S+)/g)].map((m) => m[1]!);
    assert.ok(libs.length > 0);
    assert.ok(libs.some((lib) => path.basename(lib) === LIBATOMIC), `${LIBATOMIC} is no longer linked: drop it from the packages`);
    for (const lib of libs.filter((l) => !BUNDLED.includes(path.basename(l)))) {
      // Merged /usr: dpkg knows a library by one of its two paths.
      const found = [lib, fs.realpathSync(lib)].map((p) => run('dpkg', ['-S', p])).find((r) => r.status === 0);
      assert.ok(found, `no package owns ${lib}`);
      const owner = found.stdout.split(':')[0]!;
      assert.ok(depends.includes(owner), `${lib} is in ${owner}, which Depends does not name: ${depends.join(', ')}`);
    }
  });

  it('compressed with xz (data.tar.xz)', () => {
    assert.deepEqual(arMembers(DEB), ['debian-binary', 'control.tar.xz', 'data.tar.xz']);
  });

  it('maintainer scripts: valid sh, daemon-reload only under a running systemd, stop on removal, enable nothing; the logrotate file is a conffile', () => {
    dir = tempDir('deb-control');
    runOk('dpkg-deb', ['-e', DEB, path.join(dir, 'DEBIAN')]);
    const read = (f: string) => fs.readFileSync(path.join(dir!, 'DEBIAN', f), 'utf8');
    for (const s of ['postinst', 'prerm', 'postrm']) {
      runOk('sh', ['-n', path.join(dir, 'DEBIAN', s)]);
      assert.equal(fs.statSync(path.join(dir, 'DEBIAN', s)).mode & 0o777, 0o755, s);
      const text = read(s).split('\n').filter((l) => !l.trim().startsWith('#')).join('\n');
      assert.doesNotMatch(text, /systemctl (--[a-z-]+ )*(enable|preset|start)\b|deb-systemd-helper|deb-systemd-invoke start/, s);
      for (const line of text.split('\n').filter((l) => /systemctl /.test(l) && !l.trim().startsWith('#'))) {
        // Each systemctl call is inside an `if [ -d /run/systemd/system ]` block.
        if (line.includes('[ -d /run/systemd/system ]')) continue;
        const before = text.slice(0, text.indexOf(line));
        assert.ok(before.lastIndexOf('[ -d /run/systemd/system ]') > before.lastIndexOf('\tfi\n'), `${s}: unguarded ${line.trim()}`);
      }
    }
    assert.match(read('prerm'), /remove \| deconfigure\)[\s\S]*systemctl stop cfn-hup\.timer cfn-hup-pass\.service cfn-hup\.service heat-agent\.service/);
    assert.match(read('postinst'), /daemon-reload/);
    assert.equal(read('conffiles'), '/etc/logrotate.d/cfntools\n');
  });

  it("postrm purge removes the log of every tool that keeps one (each tool's --help names its default), rotated ones too, and cfntools' state, cache and work directories", () => {
    dir = tempDir('deb-postrm');
    runOk('dpkg-deb', ['-e', DEB, path.join(dir, 'DEBIAN')]);
    const postrm = fs.readFileSync(path.join(dir, 'DEBIAN', 'postrm'), 'utf8');
    const purge = /^purge\)\n([\s\S]*?)^\t;;$/m.exec(postrm)?.[1];
    assert.ok(purge, postrm);
    const names = /for name in ([a-z -]+); do\n\t\trm -f "\/var\/log\/\$name\.log" "\/var\/log\/\$name\.log"\.\*\n/.exec(purge)?.[1]?.split(' ');
    assert.ok(names, purge);
    const defaults = new Set(['cfn-init-cmd']);
    for (const t of TOOLS) {
      const help = runOk(process.execPath, [BUNDLE, t, '--help']);
      for (const m of help.matchAll(/"\/var\/log\/([a-z-]+)\.log"/g)) defaults.add(m[1]!);
    }
    assert.ok(defaults.has('heat-agent') && defaults.has('cfn-hup'), [...defaults].join(', '));
    assert.deepEqual([...names].sort(), [...defaults].sort());
    assert.match(purge, /^\trm -rf \/var\/cache\/cfntools \/var\/lib\/cfn-hup \/var\/lib\/cfntools \/var\/lib\/heat-agent$/m);
    assert.doesNotMatch(postrm.replace(purge, ''), /rm -rf/, 'state removed outside a purge');
  });

  it('its files are packaging/out/cfntools, this machine\'s libatomic with its copyright file, the launcher npm run build made, and packaging/{systemd,logrotate}, byte for byte', function () {
    skipUnless(this, 'comparing with packaging/out/cfntools', artifactMissing(EXE) ?? staleness(DEB));
    dir = tempDir('deb-x');
    runOk('dpkg-deb', ['-x', DEB, dir]);
    assert.ok(fs.readFileSync(path.join(dir, 'usr/bin/cfntools')).equals(fs.readFileSync(EXE)));
    assert.ok(fs.readFileSync(path.join(dir, 'usr', LIB_DIR, 'libatomic.so.1')).equals(fs.readFileSync(HOST_LIBATOMIC)));
    assert.ok(fs.readFileSync(path.join(dir, 'usr', LIB_DIR, LAUNCHER)).equals(fs.readFileSync(HOST_LAUNCHER)));
    const copyright = fs.readFileSync(path.join(dir, 'usr', LIB_DIR, 'libatomic1.copyright'), 'utf8');
    assert.match(copyright, /^libatomic\.so\.1 in this directory is Debian's libatomic1:amd64 \S+, built from Debian's source\npackage gcc-\d+ \S+: https:\/\/snapshot\.debian\.org\/package\/gcc-\d+\/\S+\/\n/);
    assert.ok(copyright.endsWith(fs.readFileSync('/usr/share/doc/libatomic1/copyright', 'utf8')));
    assert.match(copyright, /GCC RUNTIME LIBRARY EXCEPTION/);
    for (const u of UNITS) assert.equal(fs.readFileSync(path.join(dir, 'lib/systemd/system', u), 'utf8'), fs.readFileSync(path.join(SYSTEMD_SRC, u), 'utf8'), u);
    assert.equal(fs.readFileSync(path.join(dir, 'lib/systemd/system-preset', PRESET), 'utf8'), fs.readFileSync(PRESET_SRC, 'utf8'));
    assert.equal(fs.readFileSync(path.join(dir, 'etc/logrotate.d/cfntools'), 'utf8'), fs.readFileSync(LOGROTATE_SRC, 'utf8'));
  });
});

/** The driver run inside the namespace: every step's exit code, stdout and stderr, into $RES/<step>.{rc,out,err}. */
const DRIVER = String.raw`
set -eu
ROOT=$1 T=$2 RES=$3 DEB=$4 NODE=$5 EMULATOR=$6 STACK=$7 META=$8 TARBALL=$9 TRANSPORTS=${'$'}{10}
shift 10
ip link set lo up
${rootDriverPrelude()}
cp "$DEB" "$M/tmp/cfntools.deb"
cp "$META" "$M/tmp/metadata.json"

step absent in_root sh -c 'for p in node nodejs python3 python; do command -v "$p"; done; ls /usr/lib/*/libatomic.so* 2>/dev/null; exit 0'
# Alone: the executable carries the one library minbase lacks (libatomic.so.1).
step install in_root dpkg -i /tmp/cfntools.deb
step ldd in_root ldd /usr/bin/cfntools
step status in_root dpkg-query -W -f '${'$'}{Status} ${'$'}{Version}' cfntools
step version in_root cfn-init --version
step versions in_root sh -c 'for t in "$@"; do "$t" --version || exit 1; done' sh "$@"
# A chroot without /proc: ld.so cannot expand $ORIGIN, and the RUNPATH's /usr/lib/cfntools serves.
umount "$M/proc"
step noproc in_root /usr/bin/cfn-init --version
mount -t proc proc "$M/proc"
# Set-user-ID and started by nobody (secure mode), ld.so expands $ORIGIN only to a directory under a
# trusted system one (/usr/lib/...): a hard link elsewhere never opens the "library" planted beside it
# (which stops a start that does open it), and takes the RUNPATH's /usr/lib/cfntools instead.
step setuid in_root sh -c '
	chmod u+s /usr/bin/cfntools
	mkdir -p /tmp/elsewhere/bin /tmp/elsewhere/lib/cfntools
	ln /usr/bin/cfntools /tmp/elsewhere/bin/cfntools
	echo planted >/tmp/elsewhere/lib/cfntools/libatomic.so.1
	setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/cfntools --version; echo "packaged: $?"
	setpriv --reuid=65534 --regid=65534 --clear-groups /tmp/elsewhere/bin/cfntools --version; echo "hard link: $?"
	/tmp/elsewhere/bin/cfntools --version; echo "hard link, started by its owner: $?"
	chmod u-s /usr/bin/cfntools
	rm -r /tmp/elsewhere'
step init in_root cfn-init /tmp/metadata.json
step applied in_root sh -c 'stat -c "%a %U %G" /etc/cfntools-test/hello.txt; cat /etc/cfntools-test/hello.txt; cat /etc/cfntools-test/command.txt; stat -c %a /var/log/cfn-init.log'

"$NODE" "$EMULATOR" --port 0 --stack "$STACK" --stack "$TRANSPORTS" --quiet >"$RES/emulator.out" 2>"$RES/emulator.err" &
i=0
until grep -q '/resources/WaitHandle?' "$RES/emulator.out"; do
	i=$((i + 1))
	[ $i -lt 200 ] || { echo "the emulator did not start: $(cat "$RES/emulator.err")" >&2; exit 1; }
	sleep 0.1
done
BASE=$(sed -n 's/^emulator listening on //p' "$RES/emulator.out" | head -n 1)
URL=$(grep -m 1 '^ *http.*/resources/WaitHandle?' "$RES/emulator.out" | tr -d ' ')
echo "$BASE" >"$RES/base.txt"
# The demo stack's project key (test/emulator/stacks/demo.yaml, README.md).
step metadata in_root cfn-get-metadata -s teststack -r WebServer -u "$BASE/v1/" --access-key AKIDEXAMPLE0000000000000000000001 --secret-key 'SeCrEt/Key+With=Chars!' -k foo.bar
step signal in_root cfn-signal -e 0 -r 'installed from the .deb' -i deb-test -d 'minbase' "$URL"
"$NODE" -e 'fetch(process.argv[1]).then((r) => r.text()).then((t) => process.stdout.write(t))' "$BASE/_emulator/resources/teststack/WaitCondition" >"$RES/wait.json"

# Heat's boot data and nothing else: the server's metadata as Heat's part handler writes it (its
# os-collect-config block, no deployments yet); heat-agent finds the collector there and deploys.
mkdir -p "$M/var/lib/heat-cfntools"
"$NODE" -e 'fetch(process.argv[1]).then((r) => r.json()).then((v) => process.stdout.write(JSON.stringify({ ...v.metadata, deployments: [] })))' "$BASE/_emulator/resources/transports/ViaHeat" >"$M/var/lib/heat-cfntools/cfn-init-data"
step heat-agent in_root heat-agent --one-time
"$NODE" -e 'fetch(process.argv[1]).then((r) => r.text()).then((t) => process.stdout.write(t))' "$BASE/_emulator/deployments/transports/DeployHeat" >"$RES/deployment.json"

# What a machine that ran the tools for a while has, beside what they wrote above: rotated logs, cfn-hup's
# state, a metadata cache, cfn-create-aws-symlinks' links, the user data's cfn-hup.conf.
step aws-links in_root cfn-create-aws-symlinks
step aged in_root sh -c 'set -e
	for f in cfn-init.log cfn-hup.log heat-agent.log; do echo old >/var/log/$f.1; echo older | gzip >/var/log/$f.2.gz; done
	mkdir -p /var/lib/cfn-hup/data /var/cache/cfntools/metadata /var/lib/cfntools/cfn-push-stats
	echo "{}" >/var/lib/cfn-hup/data/metadata_db.json; echo "{}" >/var/cache/cfntools/metadata/teststack.json; echo 1 >/var/lib/cfntools/cfn-push-stats/cpu
	printf "[main]\nstack=s\n" >/etc/cfn/cfn-hup.conf'
LEFTOVERS='/var/log/cfn-init.log /var/log/cfn-init.log.1 /var/log/cfn-init.log.2.gz /var/log/cfn-init-cmd.log /var/log/cfn-get-metadata.log
	/var/log/cfn-signal.log /var/log/cfn-hup.log.1 /var/log/heat-agent.log /var/log/heat-agent.log.2.gz /var/lib/heat-agent
	/var/lib/cfn-hup/data/metadata_db.json /var/lib/cfntools/cfn-push-stats/cpu /var/cache/cfntools/metadata/teststack.json
	/opt/aws/bin/cfn-init /opt/aws/bin/cfn-signal'
step remove in_root dpkg -r cfntools
step kept in_root sh -c 'for f in $1; do [ -e "$f" ] || [ -L "$f" ] || echo "$f"; done' sh "$LEFTOVERS"
step purge in_root dpkg --purge cfntools
step gone in_root sh -c 'for f in /usr/bin/cfntools /usr/bin/cfn-init /usr/lib/cfntools /lib/systemd/system/cfn-hup.service /lib/systemd/system-preset/80-cfntools.preset /etc/logrotate.d/cfntools $1; do [ ! -e "$f" ] && [ ! -L "$f" ] || echo "$f"; done' sh "$LEFTOVERS"
step others in_root sh -c 'ls /etc/cfn /var/lib/heat-cfntools'

# The documented command, with no package lists and no network: nothing to fetch.
step apt-install in_root apt-get install -y -q --no-install-recommends /tmp/cfntools.deb
step apt-run in_root cfn-signal --version
step apt-purge in_root apt-get purge -y -q cfntools

# The tarball on the same system, the way an image builder runs it (no --root; dash, minbase's tools).
cp "$TARBALL" "$M/tmp/cfntools.tar.gz"
step tar-install in_root sh -c 'cd /tmp && tar -xzf cfntools.tar.gz && ./cfntools-*/install.sh'
step tar-again in_root sh -c '/tmp/cfntools-*/install.sh'
step tar-run in_root sh -c '/opt/aws/bin/cfn-init --version && /usr/local/bin/heat-agent --version && grep "^ExecStart=" /usr/local/lib/systemd/system/cfn-hup.service'
step tar-ldd in_root ldd /usr/local/bin/cfntools
# An executable that cannot start on the system (as below the glibc floor) fails the install, naming why.
step tar-nostart in_root sh -c 'cp -a /tmp/cfntools-*/ /tmp/nostart && printf "#!/bin/sh\necho \"version GLIBC_2.28 not found\" >&2\nexit 1\n" >/tmp/nostart/bin/cfntools && /tmp/nostart/install.sh --prefix /opt/nostart --no-systemd --no-logrotate --no-aws-links'
# With the system's libatomic1 installed too (make-test-root.sh keeps its .deb), the private copy still wins.
step system-lib in_root sh -c 'dpkg -i /var/cache/cfntools-test-debs/libatomic1_*.deb >/dev/null && ldd /usr/local/bin/cfntools && /opt/aws/bin/cfn-signal --version'
`;

describe('packaging: .deb in a Debian minbase root (no node, no python3), network only on loopback', function () {
  let work: string | undefined;
  let res: string;
  const { step, ok } = driverSteps(() => res);

  before(function () {
    this.timeout(10 * 60_000);
    const rootMissing = fs.existsSync(path.join(TEST_ROOT, 'usr/bin/dpkg')) && fs.existsSync(path.join(TEST_ROOT, 'var/cache/cfntools-test-debs'))
      ? undefined
      : `no test root at ${TEST_ROOT} (or one without var/cache/cfntools-test-debs): run bash scripts/make-test-root.sh (as root; it needs the network once)`;
    skipUnless(this, 'the minbase .deb tests', artifactMissing(DEB) ?? artifactMissing(TARBALL) ?? rootMissing ?? namespaceMissing(TEST_ROOT, ['-m', '-n', '-p', '-f', '--mount-proc']) ?? (fs.existsSync(EMULATOR) ? undefined : `${EMULATOR} is missing: run npm run build`));
    work = tempDir('minbase');
    res = path.join(work, 'results');
    fs.mkdirSync(res);
    fs.mkdirSync(path.join(work, 'mnt'));
    const meta = path.join(work, 'metadata.json');
    fs.writeFileSync(meta, JSON.stringify({
      'AWS::CloudFormation::Init': {
        config: {
          files: { '/etc/cfntools-test/hello.txt': { content: 'hello from the .deb\n', mode: '000640', owner: 'root', group: 'root' } },
          commands: { '10_mark': { command: 'echo command ran by $(cat /proc/$PPID/comm) > /etc/cfntools-test/command.txt' } },
        },
      },
    }));
    runInNamespace(['-m', '-n', '-p', '-f', '--mount-proc'], DRIVER, [TEST_ROOT, path.join(work, 'mnt'), res, DEB, process.execPath, EMULATOR, DEMO_STACK, meta, TARBALL, TRANSPORTS_STACK, ...TOOLS], 8 * 60_000);
  });
  after(() => {
    // The namespace took its mounts and processes with it; only files remain.
    removeTemp(work);
  });

  it('has neither node nor python3 nor libatomic', () => {
    assert.equal(ok('absent').out, '', 'found in the root');
  });

  it('dpkg -i installs the .deb alone and configures it', () => {
    ok('install');
    assert.equal(ok('status').out, `install ok installed ${VERSION}`);
  });

  it(`every library the executable links is there (ldd: nothing "not found"), libatomic from /usr/${LIB_DIR}`, () => {
    const out = ok('ldd').out;
    assert.doesNotMatch(out, /not found/, out);
    assert.match(out, new RegExp(`^\\s*libatomic\\.so\\.1 => /usr/bin/\\.\\./${LIB_DIR}/libatomic\\.so\\.1 \\(`, 'm'), out);
  });

  it('cfn-init --version runs there, and so does every tool by its link', () => {
    assert.equal(ok('version').out.trim(), `cfn-init (cfntools) ${VERSION}`);
    assert.deepEqual(ok('versions').out.trim().split('\n'), TOOLS.map((t) => `${t} (cfntools) ${VERSION}`));
  });

  it('it runs in a chroot without /proc, where $ORIGIN cannot be expanded (the RUNPATH names /usr/lib/cfntools too)', () => {
    assert.equal(ok('noproc').out.trim(), `cfn-init (cfntools) ${VERSION}`);
  });

  it('set-user-ID (it never is) and started by another user: ld.so takes its RUNPATH under /usr/lib, never a library planted beside a hard link elsewhere', () => {
    const s = ok('setuid');
    assert.deepEqual(s.out.trim().split('\n'), [
      `cfntools ${VERSION}`, 'packaged: 0', `cfntools ${VERSION}`, 'hard link: 0', 'hard link, started by its owner: 127',
    ], s.err);
    // Only the start that is not set-user-ID opened the planted file.
    assert.equal(s.err, '/tmp/elsewhere/bin/cfntools: error while loading shared libraries: /tmp/elsewhere/bin/../lib/cfntools/libatomic.so.1: file too short\n');
  });

  it('cfn-init applies a metadata file: a file with its content and mode, a command; its log is 0600', () => {
    ok('init');
    assert.deepEqual(ok('applied').out.split('\n'), ['640 root root', 'hello from the .deb', 'command ran by cfntools-launch', '600', '']);
  });

  it('cfn-get-metadata fetches a key, signed, from the emulator on loopback', () => {
    assert.equal(JSON.parse(ok('metadata').out), 'baz');
  });

  it('cfn-signal reaches the emulator on loopback, which completes the wait condition with our data', () => {
    ok('signal');
    const wait = JSON.parse(fs.readFileSync(path.join(res, 'wait.json'), 'utf8')) as { status: string; waitCondition?: { data?: Record<string, string> } };
    assert.equal(wait.status, 'CREATE_COMPLETE', JSON.stringify(wait));
    assert.deepEqual(wait.waitCondition?.data, { 'deb-test': 'minbase' });
  });

  it("heat-agent configures the image from Heat's boot data alone (cfn-init-data; no os-collect-config.conf): the deployment runs and is signalled", () => {
    ok('heat-agent');
    const d = JSON.parse(fs.readFileSync(path.join(res, 'deployment.json'), 'utf8')) as { status: string; softwareDeployment?: { output_values?: Record<string, unknown> } };
    assert.equal(d.status, 'CREATE_COMPLETE', JSON.stringify(d));
    assert.equal(d.softwareDeployment?.output_values?.result, 'heat!\n');
  });

  it('dpkg -r removes it and keeps what the tools wrote: logs (rotated ones too), state, the metadata cache, the /opt/aws/bin links', () => {
    ok('aws-links');
    ok('aged');
    ok('remove');
    assert.equal(ok('kept').out, '', 'removed by dpkg -r');
  });

  it('dpkg --purge (without systemd: the maintainer scripts cope) takes those too; the user data\'s /etc/cfn and Heat\'s boot data stay', () => {
    ok('purge');
    assert.equal(ok('gone').out, '', 'left behind');
    assert.equal(ok('others').out, '/etc/cfn:\ncfn-hup.conf\n\n/var/lib/heat-cfntools:\ncfn-init-data\n');
  });

  it('apt-get install ./cfntools_*.deb, with no package lists: nothing to fetch, the tools run; apt-get purge takes it away', () => {
    ok('apt-install');
    assert.equal(ok('apt-run').out.trim(), `cfn-signal (cfntools) ${VERSION}`);
    ok('apt-purge');
  });

  it('then the tarball\'s install.sh installs there under /usr/local with minbase\'s tools, twice, and the tools run from /opt/aws/bin', () => {
    assert.match(ok('tar-install').out, /^linked {2}\/opt\/aws\/bin\/cfn-init -> \/usr\/local\/bin\/cfn-init$/m);
    for (const line of ok('tar-again').out.trim().split('\n').slice(0, -1)) assert.match(line, /^unchanged {2}/);
    assert.deepEqual(ok('tar-run').out.trim().split('\n'), [
      `cfn-init (cfntools) ${VERSION}`, `heat-agent (cfntools) ${VERSION}`,
      'ExecStart=/usr/local/bin/cfn-hup --foreground',
    ]);
    assert.match(ok('tar-ldd').out, new RegExp(`^\\s*libatomic\\.so\\.1 => /usr/local/bin/\\.\\./${LIB_DIR}/libatomic\\.so\\.1 \\(`, 'm'));
  });

  it('install.sh fails, with the reason, when the executable it installed does not start on the system', () => {
    const s = step('tar-nostart');
    assert.equal(s.rc, 1, s.err + s.out);
    assert.equal(s.err, 'install.sh: installed, but /opt/nostart/bin/cfntools does not start on this system (it needs glibc 2.28 or later): version GLIBC_2.28 not found\n');
  });

  it('with the system\'s libatomic1 installed as well, the executable keeps to its own copy', () => {
    const out = ok('system-lib').out;
    assert.match(out, new RegExp(`^\\s*libatomic\\.so\\.1 => /usr/local/bin/\\.\\./${LIB_DIR}/libatomic\\.so\\.1 \\(`, 'm'));
    assert.match(out, new RegExp(`^cfn-signal \\(cfntools\\) ${VERSION.replaceAll('.', '\\.')}$`, 'm'));
  });
});
