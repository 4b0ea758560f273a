/**
 * What the packaging tests look at: the single executable and the three
 * packages `npm run package` writes into packaging/out/, the unit files they
 * were built from, and small helpers (temp dirs, commands, systemd's own
 * word splitting of an ExecStart= line).
 */
import * as assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const REPO = path.resolve(__dirname, '..', '..', '..');
export const PACKAGING = path.join(REPO, 'packaging');
export const OUT = path.join(PACKAGING, 'out');
export const SYSTEMD_SRC = path.join(PACKAGING, 'systemd');
export const LOGROTATE_SRC = path.join(PACKAGING, 'logrotate', 'cfntools');

const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };
export const VERSION = pkg.version;
/** Every tool, by the name it is started under. */
export const TOOLS: readonly string[] = Object.keys(pkg.bin).sort();
/** The tools aws-cfn-bootstrap has in /opt/aws/bin (heat-agent is not one). */
export const CFN_TOOLS: readonly string[] = TOOLS.filter((t) => t.startsWith('cfn-'));
export const UNITS: readonly string[] = fs.readdirSync(SYSTEMD_SRC).filter((f) => /\.(service|timer)$/.test(f)).sort();
/** The systemd preset installed beside the units (in ../system-preset). */
export const PRESET = '80-cfntools.preset';
export const PRESET_SRC = path.join(SYSTEMD_SRC, PRESET);

export const EXE = path.join(OUT, 'cfntools');
/**
 * The executable's RUNPATH and the private directory it names, beside bin/
 * (/usr/lib/cfntools, PREFIX/lib/cfntools), with what the packages put there
 * (scripts/bundled-libs.js): the library minimal images lack and its licence,
 * and the program launcher.
 */
export const RUNPATH = '$ORIGIN/../lib/cfntools:/usr/lib/cfntools';
export const LIB_DIR = 'lib/cfntools';
export const LIBATOMIC = 'libatomic.so.1';
/** The program launcher (shared/launcher/): the tools start programs through it when it is there. */
export const LAUNCHER = 'cfntools-launcher';
export const BUNDLED: readonly string[] = [LIBATOMIC, 'libatomic1.copyright', LAUNCHER];
/** A bundled file's permission bits: the launcher is a program. */
export const bundledMode = (f: string): number => (f === LAUNCHER ? 0o755 : 0o644);
/** The x64 launcher as this machine's npm run build made it (the same compiler and flags as the packages'). */
export const HOST_LAUNCHER = path.join(REPO, 'dist', LAUNCHER);
/** Where the x64 packages' libatomic.so.1 comes from: the build machine's Debian libatomic1. */
export const HOST_LIBATOMIC = '/usr/lib/x86_64-linux-gnu/libatomic.so.1';
export const TARBALL_TOP = `cfntools-${VERSION}-linux-x64`;
export const TARBALL = path.join(OUT, `${TARBALL_TOP}.tar.gz`);
export const DEB = path.join(OUT, `cfntools_${VERSION}_amd64.deb`);
export const RPM = path.join(OUT, `cfntools-${VERSION}-1.x86_64.rpm`);

/** The same for arm64 (scripts/arches.js): the executable in packaging/out/arm64/, the packages beside the x64 ones. */
export const ARM64 = {
  EXE: path.join(OUT, 'arm64', 'cfntools'),
  TARBALL_TOP: `cfntools-${VERSION}-linux-arm64`,
  TARBALL: path.join(OUT, `cfntools-${VERSION}-linux-arm64.tar.gz`),
  DEB: path.join(OUT, `cfntools_${VERSION}_arm64.deb`),
  RPM: path.join(OUT, `cfntools-${VERSION}-1.aarch64.rpm`),
  /** The arm64 minbase root of scripts/make-test-root.sh --arch arm64. */
  ROOT: process.env.CFNTOOLS_TEST_ROOT_ARM64 || '/var/cache/cfntools-test/minbase-bookworm-arm64',
} as const;

/** Why `file` cannot be tested, or undefined when it is there. */
export function artifactMissing(file: string): string | undefined {
  if (fs.existsSync(file)) return undefined;
  return `${path.relative(REPO, file)} is missing: run npm run package`;
}

/**
 * A package built from another executable than packaging/out/cfntools (it was
 * rebuilt since): the comparison would fail for a reason that is no bug.
 */
export function staleness(file: string, exe: string = EXE): string | undefined {
  if (!fs.existsSync(file) || !fs.existsSync(exe)) return undefined;
  if (fs.statSync(exe).mtimeMs > fs.statSync(file).mtimeMs) {
    return `${path.relative(REPO, exe)} is newer than ${path.relative(REPO, file)}: run node scripts/build-packages.js`;
  }
  return undefined;
}

/** Why `cmd` cannot be used, naming the Debian package that has it. */
export function commandMissing(cmd: string, debianPackage: string): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `${cmd} is not installed (Debian package ${debianPackage})`;
}

export function needRoot(what: string): string | undefined {
  return process.getuid?.() === 0 ? undefined : `${what} needs root`;
}

/** An environment whose every cfntools directory is under `dir`: a tool run with it touches nothing of the system's. */
export function isolatedEnv(dir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir, LANG: 'C.UTF-8', AWS_EC2_METADATA_DISABLED: 'true' };
  for (const v of ['HEAT', 'CACHE', 'STATE', 'CFN', 'HUP_STATE', 'PUSH_STATS', 'HEAT_AGENT', 'HEAT_CONFIG']) env[`CFNTOOLS_${v}_DIR`] = path.join(dir, v.toLowerCase());
  return env;
}

/** A fresh directory of our own under the system's temp dir; remove it with removeTemp. */
export function tempDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `cfntools-packaging-${label}-`));
}

export function removeTemp(dir: string | undefined): void {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

/** Run a program to its end; stdout and stderr as text. */
export function run(file: string, args: string[], opts: { cwd?: string; input?: string | Buffer; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): SpawnSyncReturns<string> {
  const r = spawnSync(file, args, {
    cwd: opts.cwd,
    input: opts.input,
    env: opts.env ?? { PATH: process.env.PATH, LANG: 'C.UTF-8', AWS_EC2_METADATA_DISABLED: 'true' },
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return r;
}

/** run(), asserted to exit 0; its stdout. */
export function runOk(file: string, args: string[], opts: Parameters<typeof run>[2] = {}): string {
  const r = run(file, args, opts);
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')}: exit ${r.status ?? r.signal}\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/**
 * A command line split as systemd splits ExecStart= (systemd.syntax(7),
 * "Quoting"): words at whitespace; a quote opens only at the start of a word
 * and wraps the whole word. Escapes are refused: our units need none.
 */
export function systemdWords(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i]!)) i++;
    if (i >= line.length) break;
    const c = line[i]!;
    if (c === '"' || c === "'") {
      const end = line.indexOf(c, i + 1);
      if (end < 0) throw new Error(`unterminated ${c} in: ${line}`);
      if (end + 1 < line.length && !/\s/.test(line[end + 1]!)) throw new Error(`a closing ${c} must end its word (systemd.syntax(7)): ${line}`);
      words.push(line.slice(i + 1, end));
      i = end + 1;
    } else {
      let j = i;
      while (j < line.length && !/\s/.test(line[j]!)) j++;
      const word = line.slice(i, j);
      if (/["'\\]/.test(word)) throw new Error(`a quote or backslash inside a word is not systemd quoting: ${word}`);
      words.push(word);
      i = j;
    }
  }
  return words;
}

/** The settings of a unit file: section -> key -> values in order (comments dropped). */
export function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      current = new Map();
      sections.set(section[1]!, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (!current || eq < 0) throw new Error(`not a unit line: ${line}`);
    const key = line.slice(0, eq).trim();
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return sections;
}

export function unitValue(unit: Map<string, Map<string, string[]>>, section: string, key: string): string | undefined {
  const values = unit.get(section)?.get(key);
  return values?.[values.length - 1];
}

export function readUnit(name: string): Map<string, Map<string, string[]>> {
  return parseUnit(fs.readFileSync(path.join(SYSTEMD_SRC, name), 'utf8'));
}

/** Names of an ar archive's members (a .deb is one): debian-binary, control.tar.*, data.tar.*. */
export function arMembers(file: string): string[] {
  const buf = fs.readFileSync(file);
  if (buf.subarray(0, 8).toString('latin1') !== '!<arch>\n') throw new Error(`${file}: not an ar archive`);
  const names: string[] = [];
  let off = 8;
  while (off + 60 <= buf.length) {
    const header = buf.subarray(off, off + 60).toString('latin1');
    names.push(header.slice(0, 16).trim().replace(/\/$/, ''));
    const size = Number(header.slice(48, 58).trim());
    off += 60 + size + (size % 2);
  }
  return names;
}

/** Every path below `dir`: `f MODE SIZE MTIME INODE`, `l -> TARGET`, `d MODE`; equal listings mean nothing was rewritten. */
export function treeListing(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      const p = path.join(dir, r);
      const st = fs.lstatSync(p);
      const mode = (st.mode & 0o7777).toString(8);
      if (e.isSymbolicLink()) out.set(r, `l -> ${fs.readlinkSync(p)}`);
      else if (e.isDirectory()) {
        out.set(r, `d ${mode}`);
        walk(r);
      } else out.set(r, `f ${mode} ${st.size} ${st.mtimeMs} ${st.ino}`);
    }
  };
  walk('');
  return out;
}

/** A root driver's recorded steps in the directory `res()` names (`<step>.{rc,out,err}`); `ok` asserts the step exited 0. */
export function driverSteps(res: () => string): { step: (name: string) => { rc: number; out: string; err: string }; ok: (name: string) => { rc: number; out: string; err: string } } {
  const step = (name: string) => ({
    rc: Number(fs.readFileSync(path.join(res(), `${name}.rc`), 'utf8')),
    out: fs.readFileSync(path.join(res(), `${name}.out`), 'utf8'),
    err: fs.readFileSync(path.join(res(), `${name}.err`), 'utf8'),
  });
  const ok = (name: string) => {
    const s = step(name);
    assert.equal(s.rc, 0, `${name}: exit ${s.rc}\n${s.err}${s.out}`);
    return s;
  };
  return { step, ok };
}

/**
 * The start of a driver that works in a throw-away copy of a Debian root
 * (deb.test.ts, arm64.test.ts), in sh: a tmpfs at $T, an overlay of $ROOT
 * at $M=$T/root (a copy where overlayfs is missing) with `overlayOptions`
 * added, /proc and /dev in it; then `in_root CMD...` runs in the root with a
 * clean environment and `step NAME CMD...` records CMD's exit code, stdout
 * and stderr into $RES/NAME.{rc,out,err}.
 */
export function rootDriverPrelude(overlayOptions = ''): string {
  return String.raw`
mount -t tmpfs -o size=2g,mode=0755 cfntools-test "$T"
mkdir "$T/upper" "$T/work" "$T/root"
M=$T/root
if ! mount -t overlay overlay -o "lowerdir=$ROOT,upperdir=$T/upper,workdir=$T/work${overlayOptions}" "$M" 2>"$RES/overlay.err"; then
	cp -a "$ROOT/." "$M/"    # no overlayfs here: a copy, on the same tmpfs
fi
mount -t proc proc "$M/proc"
mount --rbind /dev "$M/dev"

in_root() { chroot "$M" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root "$@"; }
step() {
	name=$1; shift
	set +e
	"$@" >"$RES/$name.out" 2>"$RES/$name.err" </dev/null
	echo $? >"$RES/$name.rc"
	set -e
}
`;
}
