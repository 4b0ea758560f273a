/**
 * The arm64 build (scripts/arches.js): an aarch64 executable, and packages
 * that are the x64 ones with the architecture's names and its executable;
 * then, under qemu-user, the .deb installed into an arm64 Debian minbase
 * root (scripts/make-test-root.sh --arch arm64) where every tool answers
 * --version and --help from its code cache, cfn-init applies a metadata
 * file, cfn-get-metadata and cfn-signal reach the endpoint emulator on
 * loopback, dpkg --purge takes it away; then the .rpm by the host's rpm
 * (its scriptlets run in the root) and the tarball's install.sh there.
 *
 * The root is never changed: an overlay over it with its changes on a
 * tmpfs, inside scripts/with-qemu-binfmt.sh (a user namespace of its own,
 * whose private binfmt_misc starts arm64 programs under qemu: the host's is
 * left alone) with new mount, network (only `lo`) and pid namespaces, which
 * end with the run and take the emulator with them.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { skipUnless } from '../support/skip';
import {
  ARM64, DEB, EXE, OUT, REPO, RPM, TARBALL, TARBALL_TOP, TOOLS, VERSION, rootDriverPrelude,
  artifactMissing, commandMissing, driverSteps, removeTemp, runOk, staleness, tempDir,
} from './artifacts';

const WRAPPER = path.join(REPO, 'scripts', 'with-qemu-binfmt.sh');
const ELFDEPS = '/usr/lib/rpm/elfdeps';
const NAMESPACES = ['--net', '--pid', '--fork', '--kill-child', '--mount-proc'];
const EMULATOR = path.join(REPO, 'dist', 'test', 'emulator', 'main.js');
const DEMO_STACK = path.join(REPO, 'test', 'emulator', 'stacks', 'demo.yaml');

/** e_machine of an ELF file: 183 is aarch64, 62 x86-64. */
function elfMachine(file: string): number {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(20);
    fs.readSync(fd, head, 0, 20, 0);
    assert.equal(head.subarray(0, 4).toString('latin1'), '\x7fELF', `${file}: not ELF`);
    return head.readUInt16LE(18);
  } finally {
    fs.closeSync(fd);
  }
}

describe('packaging: arm64 executable and packages', function () {
  let dir: string | undefined;

  before(function () {
    skipUnless(this, 'the arm64 artifacts', artifactMissing(ARM64.EXE) ?? artifactMissing(ARM64.DEB) ?? artifactMissing(ARM64.RPM) ?? artifactMissing(ARM64.TARBALL));
  });
  afterEach(() => {
    removeTemp(dir);
    dir = undefined;
  });

  it('packaging/out/arm64/cfntools is an aarch64 ELF, and packaging/out/cfntools an x86-64 one', function () {
    assert.equal(elfMachine(ARM64.EXE), 183);
    skipUnless(this, 'the x64 executable', artifactMissing(EXE));
    assert.equal(elfMachine(EXE), 62);
  });

  it('each tool has its link in packaging/out/arm64/', () => {
    for (const t of TOOLS) assert.equal(fs.readlinkSync(path.join(OUT, 'arm64', t)), 'cfntools', t);
  });

  it('the .deb is arm64, and otherwise the amd64 one: the same control fields and file list; its executable is packaging/out/arm64/cfntools', function () {
    skipUnless(this, 'the arm64 .deb', commandMissing('dpkg-deb', 'dpkg') ?? staleness(ARM64.DEB, ARM64.EXE));
    assert.equal(runOk('dpkg-deb', ['-f', ARM64.DEB, 'Architecture']).trim(), 'arm64');
    dir = tempDir('deb-arm64');
    runOk('dpkg-deb', ['-x', ARM64.DEB, dir]);
    assert.ok(fs.readFileSync(path.join(dir, 'usr/bin/cfntools')).equals(fs.readFileSync(ARM64.EXE)));
    skipUnless(this, 'comparing with the amd64 .deb', artifactMissing(DEB));
    const fields = (deb: string) => runOk('dpkg-deb', ['-f', deb]).replace(/^(Architecture|Installed-Size): .*\n/gm, '');
    assert.equal(fields(ARM64.DEB), fields(DEB));
    const names = (deb: string) => runOk('dpkg-deb', ['-c', deb]).trim().split('\n').map((l) => l.replace(/^(\S+ \S+)\s+\d+ \S+ \S+ /, '$1 '));
    assert.deepEqual(names(ARM64.DEB), names(DEB));
  });

  it('the .rpm is aarch64, and otherwise the x86_64 one: the same requirements, scriptlets and files; its payload holds packaging/out/arm64/cfntools', function () {
    skipUnless(this, 'the aarch64 .rpm', commandMissing('rpm', 'rpm') ?? commandMissing('rpm2cpio', 'rpm2cpio') ?? commandMissing('cpio', 'cpio') ?? staleness(ARM64.RPM, ARM64.EXE));
    const query = (rpm: string, ...args: string[]) => runOk('rpm', ['-qp', ...args, rpm]);
    assert.equal(query(ARM64.RPM, '--queryformat', '%{NAME} %{VERSION} %{RELEASE} %{ARCH}'), `cfntools ${VERSION} 1 aarch64`);
    dir = tempDir('rpm-arm64');
    runOk('sh', ['-c', 'rpm2cpio "$1" | (cd "$2" && cpio -idm --quiet --no-absolute-filenames)', 'sh', ARM64.RPM, dir]);
    assert.ok(fs.readFileSync(path.join(dir, 'usr/bin/cfntools')).equals(fs.readFileSync(ARM64.EXE)), 'the executable in the rpm differs (stripped?)');
    skipUnless(this, 'comparing with the x86_64 .rpm', artifactMissing(RPM));
    // The provides name the package's own architecture; -lv's sizes and times (another commit's build) may differ.
    const same = (text: string) => text.replaceAll('(aarch-64)', '(x86-64)').replace(/^(\S+\s+\d+\s+\S+\s+\S+)\s+\d+ \S+ +\d+ [\d:]+ /gm, '$1 ');
    for (const q of [['--conflicts'], ['--provides'], ['--scripts'], ['-lv']]) assert.equal(same(query(ARM64.RPM, ...q)), same(query(RPM, ...q)), q.join(' '));
    // Requirements: the same beside the libraries; those are rpm's generator's for the arm64 files (aarch64's glibc symbol versions differ), less libatomic.
    const lines = (rpm: string) => query(rpm, '--requires').trim().split('\n');
    const elf = (r: string) => /\.so\.\d/.test(r) || r === 'rtld(GNU_HASH)';
    assert.deepEqual(lines(ARM64.RPM).filter((r) => !elf(r)), lines(RPM).filter((r) => !elf(r)));
    skipUnless(this, "rpm's dependency generator", fs.existsSync(ELFDEPS) ? undefined : `${ELFDEPS} is missing (Debian package rpm)`);
    const generated = new Set(['usr/bin/cfntools', 'usr/lib/cfntools/libatomic.so.1'].flatMap((f) => runOk(ELFDEPS, ['-R', path.join(dir!, f)]).trim().split('\n')));
    assert.deepEqual(lines(ARM64.RPM).filter(elf).sort(), [...generated].filter((r) => !r.startsWith('libatomic.so.1')).sort());
  });

  it('the tarball is the x64 one under cfntools-<version>-linux-arm64/ with packaging/out/arm64/cfntools', function () {
    skipUnless(this, 'the arm64 tarball', staleness(ARM64.TARBALL, ARM64.EXE));
    dir = tempDir('tar-arm64');
    runOk('tar', ['-C', dir, '-xzf', ARM64.TARBALL]);
    assert.deepEqual(fs.readdirSync(dir), [ARM64.TARBALL_TOP]);
    assert.ok(fs.readFileSync(path.join(dir, ARM64.TARBALL_TOP, 'bin', 'cfntools')).equals(fs.readFileSync(ARM64.EXE)));
    skipUnless(this, 'comparing with the x64 tarball', artifactMissing(TARBALL));
    const names = (tarball: string, top: string) => runOk('tar', ['-tzf', tarball]).trim().split('\n').map((n) => n.replace(top, 'TOP'));
    assert.deepEqual(names(ARM64.TARBALL, ARM64.TARBALL_TOP), names(TARBALL, TARBALL_TOP));
  });

  it('SHA256SUMS holds arm64/cfntools and the three arm64 packages', () => {
    const sums = fs.readFileSync(path.join(OUT, 'SHA256SUMS'), 'utf8');
    for (const f of [ARM64.EXE, ARM64.DEB, ARM64.RPM, ARM64.TARBALL]) {
      const hash = runOk('sha256sum', [f]).split(' ')[0];
      assert.match(sums, new RegExp(`^${hash}  ${path.relative(OUT, f).replaceAll('.', '\\.')}$`, 'm'), f);
    }
  });
});

/** Why arm64 programs cannot be run here in scripts/with-qemu-binfmt.sh's namespaces, or undefined. */
function qemuNamespaceMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (a user namespace with every id mapped, chroot)';
  const missing = commandMissing('qemu-aarch64-static', 'qemu-user-static');
  if (missing) return missing;
  const probe = spawnSync(WRAPPER, [...NAMESPACES, '--', 'ip', 'link', 'set', 'lo', 'up'], { encoding: 'utf8', timeout: 60_000 });
  if (probe.error || probe.status !== 0) return `${path.relative(REPO, WRAPPER)} ${NAMESPACES.join(' ')} does not work here: ${probe.error?.message ?? probe.stderr.trim()}`;
  return undefined;
}

/** The driver run inside the namespaces: every step's exit code, stdout and stderr, into $RES/<step>.{rc,out,err}. */
const DRIVER = String.raw`
set -eu
ROOT=$1 T=$2 RES=$3 DEB=$4 RPM=$5 TARBALL=$6 NODE=$7 EMULATOR=$8 STACK=$9 META=${'$'}{10}
shift 10
ip link set lo up
# userxattr: in a user namespace overlayfs keeps its marks in user.* xattrs (without them dpkg's renames fail with EXDEV).
${rootDriverPrelude(',userxattr')}
cp "$DEB" "$M/tmp/cfntools.deb"
cp "$TARBALL" "$M/tmp/cfntools.tar.gz"
cp "$META" "$M/tmp/metadata.json"

step machine in_root uname -m
# Alone: minbase lacks libatomic1 (make-test-root.sh keeps its .deb aside), and the package carries its own.
step install in_root dpkg -i /tmp/cfntools.deb
step status in_root dpkg-query -W -f '${'$'}{Architecture} ${'$'}{Status} ${'$'}{Version}' cfntools
step ldd in_root ldd /usr/bin/cfntools
# CFNTOOLS_DEBUG=1: a tool whose code cache V8 refused says so on stderr.
step versions in_root sh -c 'for t in "$@"; do CFNTOOLS_DEBUG=1 "$t" --version || exit 1; done' sh "$@"
step helps in_root sh -c 'for t in "$@"; do CFNTOOLS_DEBUG=1 "$t" --help >/dev/null || exit 1; echo "$t"; done' sh "$@"
step init in_root cfn-init /tmp/metadata.json
step applied in_root sh -c 'stat -c "%a %U %G" /etc/cfntools-test/hello.txt; cat /etc/cfntools-test/hello.txt; cat /etc/cfntools-test/command.txt'

# Port 8000 in this private network namespace: the demo stack's file sources name it.
"$NODE" "$EMULATOR" --port 8000 --stack "$STACK" --quiet >"$RES/emulator.out" 2>"$RES/emulator.err" &
i=0
until grep -q '/resources/WaitHandle?' "$RES/emulator.out"; do
	i=$((i + 1))
	[ $i -lt 200 ] || { echo "the emulator did not start: $(cat "$RES/emulator.err")" >&2; exit 1; }
	sleep 0.1
done
BASE=$(sed -n 's/^emulator listening on //p' "$RES/emulator.out" | head -n 1)
URL=$(grep -m 1 '^ *http.*/resources/WaitHandle?' "$RES/emulator.out" | tr -d ' ')
# The demo stack's project key (test/emulator/stacks/demo.yaml, README.md).
step metadata in_root cfn-get-metadata -s teststack -r WebServer -u "$BASE/v1/" --access-key AKIDEXAMPLE0000000000000000000001 --secret-key 'SeCrEt/Key+With=Chars!' -k foo.bar

step purge in_root dpkg --purge cfntools
step gone in_root sh -c 'for f in /usr/bin/cfntools /usr/bin/cfn-init /lib/systemd/system/cfn-hup.service /etc/logrotate.d/cfntools; do [ ! -e "$f" ] || echo "$f"; done'

# The rpm by the host's rpm into the same root (no rpm database there: a scratch one, no dependencies).
rpm_in() { rpm --root "$M" --dbpath /var/lib/cfntools-test-rpm "$@"; }
rpm_install() { rpm_in --initdb && rpm_in -i --nodeps --ignorearch "$RPM"; }
step rpm-install rpm_install
step rpm-run in_root cfn-hup --version
step rpm-erase rpm_in -e cfntools
step rpm-gone in_root sh -c '[ ! -e /usr/bin/cfntools ] || echo /usr/bin/cfntools'

# The tarball, the way an image builder runs it (dash, minbase's tar and gzip: all under qemu).
step tar-install in_root sh -c 'cd /tmp && tar -xzf cfntools.tar.gz && ./cfntools-*/install.sh'
step tar-run in_root sh -c '/opt/aws/bin/cfn-init --version && /usr/local/bin/heat-agent --version'

# INSTALL.md's user data, as cloud-init's runcmd runs it (one sh script), with the package from the image:
# install, cfn-init from the stack's metadata, cfn-signal with cfn-init's status and what it wrote.
step userdata in_root sh -c 'set -e
	dpkg -i /tmp/cfntools.deb
	cfn-init -s teststack -r WebServer -u "$1" --access-key AKIDEXAMPLE0000000000000000000001 --secret-key "SeCrEt/Key+With=Chars!" || status=$?
	cfn-signal -e "${'$'}{status:-0}" -r "configured by user data" -i arm64-user-data -d "$(cat /tmp/cfn-example/out/hello.txt)" "$2"' sh "$BASE/v1/" "$URL"
step userdata-applied in_root cat /tmp/cfn-example/out/cmds.log /tmp/cfn-example/out/fromsource.txt
"$NODE" -e 'fetch(process.argv[1]).then((r) => r.text()).then((t) => process.stdout.write(t))' "$BASE/_emulator/resources/teststack/WaitCondition" >"$RES/wait.json"
`;

/** The host's binfmt_misc entries, each with its settings. */
function hostBinfmt(): Map<string, string> {
  const dir = '/proc/sys/fs/binfmt_misc';
  return new Map(fs.readdirSync(dir).filter((e) => e !== 'register').map((e) => [e, fs.readFileSync(path.join(dir, e), 'utf8')]));
}

describe('packaging: arm64 under qemu-user, in an arm64 Debian minbase root, network only on loopback', function () {
  let work: string | undefined;
  let res: string;
  let binfmtBefore: Map<string, string>;
  const { ok } = driverSteps(() => res);

  before(function () {
    this.timeout(15 * 60_000);
    const rootMissing = fs.existsSync(path.join(ARM64.ROOT, 'usr/bin/dpkg')) && fs.existsSync(path.join(ARM64.ROOT, 'var/cache/cfntools-test-debs'))
      ? undefined
      : `no arm64 test root at ${ARM64.ROOT} (or one without var/cache/cfntools-test-debs): run bash scripts/make-test-root.sh --arch arm64 (as root; it needs the network once)`;
    skipUnless(this, 'the arm64 root tests', artifactMissing(ARM64.DEB) ?? artifactMissing(ARM64.RPM) ?? artifactMissing(ARM64.TARBALL)
      ?? commandMissing('rpm', 'rpm') ?? rootMissing ?? qemuNamespaceMissing() ?? (fs.existsSync(EMULATOR) ? undefined : `${EMULATOR} is missing: run npm run build`));
    work = tempDir('arm64');
    res = path.join(work, 'results');
    fs.mkdirSync(res);
    fs.mkdirSync(path.join(work, 'mnt'));
    const meta = path.join(work, 'metadata.json');
    fs.writeFileSync(meta, JSON.stringify({
      'AWS::CloudFormation::Init': {
        config: {
          files: { '/etc/cfntools-test/hello.txt': { content: 'hello from arm64\n', mode: '000640', owner: 'root', group: 'root' } },
          commands: { '10_mark': { command: 'echo command ran by $(cat /proc/$PPID/comm) > /etc/cfntools-test/command.txt' } },
        },
      },
    }));
    binfmtBefore = hostBinfmt();
    const args = [ARM64.ROOT, path.join(work, 'mnt'), res, ARM64.DEB, ARM64.RPM, ARM64.TARBALL, process.execPath, EMULATOR, DEMO_STACK, meta, ...TOOLS];
    const r = spawnSync(WRAPPER, [...NAMESPACES, '--', 'sh', '-c', DRIVER, 'sh', ...args], { encoding: 'utf8', timeout: 14 * 60_000, maxBuffer: 16 * 1024 * 1024 });
    if (r.error || r.status !== 0) throw new Error(`driver failed (status ${r.status}): ${r.error?.message ?? ''}\n${r.stderr}`);
  });
  after(() => {
    // The namespaces took their mounts and processes with them; only files remain.
    removeTemp(work);
  });

  it('runs arm64 programs (uname -m says aarch64), and the host\'s binfmt_misc is as it was (the registration was private)', () => {
    assert.equal(ok('machine').out.trim(), 'aarch64');
    assert.deepEqual(hostBinfmt(), binfmtBefore);
  });

  it('dpkg -i installs the arm64 .deb on the root without libatomic1; every library it links is there, libatomic its own', () => {
    ok('install');
    assert.equal(ok('status').out, `arm64 install ok installed ${VERSION}`);
    const ldd = ok('ldd').out;
    // $ORIGIN/../lib/cfntools, as ld.so spells it.
    assert.match(ldd, /libatomic\.so\.1 => \/usr\/bin\/\.\.\/lib\/cfntools\/libatomic\.so\.1 /);
    assert.doesNotMatch(ldd, /not found/, ldd);
  });

  it('every tool answers --version and --help by its link, each from its code cache (made under qemu by the arm64 node)', () => {
    const versions = ok('versions');
    assert.deepEqual(versions.out.trim().split('\n'), TOOLS.map((t) => `${t} (cfntools) ${VERSION}`));
    const helps = ok('helps');
    assert.deepEqual(helps.out.trim().split('\n'), [...TOOLS]);
    assert.doesNotMatch(versions.err + helps.err, /rejected/);
  });

  it('cfn-init applies a metadata file: a file with its content and mode, a command', () => {
    ok('init');
    assert.deepEqual(ok('applied').out.split('\n'), ['640 root root', 'hello from arm64', 'command ran by cfntools-launch', '']);
  });

  it('cfn-get-metadata fetches a key, signed, from the emulator on loopback', () => {
    assert.equal(JSON.parse(ok('metadata').out), 'baz');
  });

  it('dpkg --purge removes it', () => {
    ok('purge');
    assert.equal(ok('gone').out, '', 'left behind');
  });

  it('the aarch64 .rpm installs there (its scriptlets run in the root), its tools run, rpm -e removes it', () => {
    ok('rpm-install');
    assert.equal(ok('rpm-run').out.trim(), `cfn-hup (cfntools) ${VERSION}`);
    ok('rpm-erase');
    assert.equal(ok('rpm-gone').out, '', 'left behind');
  });

  it("the arm64 tarball's install.sh installs there with minbase's tools, and the tools run from /opt/aws/bin", () => {
    assert.match(ok('tar-install').out, /^linked {2}\/opt\/aws\/bin\/cfn-init -> \/usr\/local\/bin\/cfn-init$/m);
    assert.deepEqual(ok('tar-run').out.trim().split('\n'), [`cfn-init (cfntools) ${VERSION}`, `heat-agent (cfntools) ${VERSION}`]);
  });

  it("INSTALL.md's user data configures the root: dpkg -i, cfn-init from the emulator, cfn-signal completes the wait condition with what cfn-init wrote", () => {
    ok('userdata');
    assert.equal(ok('userdata-applied').out, 'cfn-init ran\ndownloaded content\n', "the command's line, then the file from the demo stack's source");
    const wait = JSON.parse(fs.readFileSync(path.join(res, 'wait.json'), 'utf8')) as { status: string; waitCondition?: { data?: Record<string, string> } };
    assert.equal(wait.status, 'CREATE_COMPLETE', JSON.stringify(wait));
    assert.deepEqual(wait.waitCondition?.data, { 'arm64-user-data': 'hello' });
  });
});
