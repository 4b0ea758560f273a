/**
 * The tarball and its install.sh: the layout inside, an install into a
 * throw-away root (--root) under /usr and under another prefix, the library
 * the executable carries in PREFIX/lib/cfntools, the unit paths rewritten to
 * the prefix, the /opt/aws/bin links, a second run that changes nothing, and
 * aws-cfn-bootstrap's own files kept unless --force. Then install.sh as in
 * packaging/, under dash and busybox sh, against hostile prefixes and roots:
 * prefixes systemd must read back as written or refuse, plans refused before
 * any change, links in the root followed as inside it.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { skipUnless } from '../support/skip';
import {
  BUNDLED, bundledMode, CFN_TOOLS, EXE, HOST_LIBATOMIC, LIB_DIR, LOGROTATE_SRC, PACKAGING, PRESET, PRESET_SRC, SYSTEMD_SRC, TARBALL, TARBALL_TOP, TOOLS, UNITS, VERSION,
  artifactMissing, commandMissing, removeTemp, run, runOk, staleness, systemdWords, tempDir, treeListing,
} from './artifacts';

describe('packaging: tarball and install.sh', function () {
  let unpacked: string | undefined;
  let top: string;
  let dir: string | undefined;

  before(function () {
    skipUnless(this, 'the tarball tests', artifactMissing(TARBALL));
    unpacked = tempDir('tar');
    runOk('tar', ['-C', unpacked, '-xzf', TARBALL]);
    top = path.join(unpacked, TARBALL_TOP);
  });
  after(() => removeTemp(unpacked));
  beforeEach(() => {
    dir = tempDir('root');
  });
  afterEach(() => {
    removeTemp(dir);
    dir = undefined;
  });

  const install = (root: string, ...args: string[]) => runOk(path.join(top, 'install.sh'), ['--root', root, ...args]);

  it('holds one top folder: bin/cfntools, a relative link per tool, lib/cfntools/ with libatomic, the units and their preset, the logrotate file, install.sh; owned by root', () => {
    const listing = runOk('tar', ['-tvzf', TARBALL]).trim().split('\n');
    for (const line of listing) assert.match(line, /^\S+ 0\/0 /, `not owned by 0/0: ${line}`);
    const names = listing.map((l) => l.replace(/^.* \d\d:\d\d /, '').replace(/ -> .*$/, '')).sort();
    const expected = [
      `${TARBALL_TOP}/`, `${TARBALL_TOP}/bin/`, `${TARBALL_TOP}/bin/cfntools`, ...TOOLS.map((t) => `${TARBALL_TOP}/bin/${t}`),
      `${TARBALL_TOP}/install.sh`, `${TARBALL_TOP}/logrotate/`, `${TARBALL_TOP}/logrotate/cfntools`,
      `${TARBALL_TOP}/lib/`, `${TARBALL_TOP}/${LIB_DIR}/`, ...BUNDLED.map((f) => `${TARBALL_TOP}/${LIB_DIR}/${f}`),
      `${TARBALL_TOP}/systemd/`, ...UNITS.map((u) => `${TARBALL_TOP}/systemd/${u}`), `${TARBALL_TOP}/systemd/${PRESET}`,
    ].sort();
    assert.deepEqual(names, expected);
    for (const t of TOOLS) assert.equal(fs.readlinkSync(path.join(top, 'bin', t)), 'cfntools');
    assert.equal(fs.statSync(path.join(top, 'install.sh')).mode & 0o777, 0o755);
    for (const u of [...UNITS, PRESET]) assert.equal(fs.readFileSync(path.join(top, 'systemd', u), 'utf8'), fs.readFileSync(path.join(SYSTEMD_SRC, u), 'utf8'), `${u} differs from packaging/systemd`);
    assert.equal(fs.readFileSync(path.join(top, 'install.sh'), 'utf8'), fs.readFileSync(path.join(PACKAGING, 'install.sh'), 'utf8'), 'install.sh differs from packaging/install.sh');
  });

  it('its executable is packaging/out/cfntools and its libatomic this machine\'s, byte for byte', function () {
    skipUnless(this, 'comparing with packaging/out/cfntools', artifactMissing(EXE) ?? staleness(TARBALL));
    assert.ok(fs.readFileSync(path.join(top, 'bin', 'cfntools')).equals(fs.readFileSync(EXE)));
    assert.ok(fs.readFileSync(path.join(top, LIB_DIR, 'libatomic.so.1')).equals(fs.readFileSync(HOST_LIBATOMIC)));
  });

  it('install.sh --root R --prefix /usr lays out the executable, links, its library, rewritten units and their preset, logrotate, hooks.d and /opt/aws/bin', () => {
    const out = install(dir!, '--prefix', '/usr');
    const r = dir!;
    assert.ok(fs.readFileSync(path.join(r, 'usr/bin/cfntools')).equals(fs.readFileSync(path.join(top, 'bin/cfntools'))));
    assert.equal(fs.statSync(path.join(r, 'usr/bin/cfntools')).mode & 0o777, 0o755);
    assert.deepEqual(fs.readdirSync(path.join(r, 'usr', LIB_DIR)).sort(), [...BUNDLED].sort());
    assert.equal(fs.statSync(path.join(r, 'usr', LIB_DIR)).mode & 0o777, 0o755);
    for (const f of BUNDLED) {
      assert.ok(fs.readFileSync(path.join(r, 'usr', LIB_DIR, f)).equals(fs.readFileSync(path.join(top, LIB_DIR, f))), f);
      assert.equal(fs.statSync(path.join(r, 'usr', LIB_DIR, f)).mode & 0o777, bundledMode(f), f);
    }
    for (const t of TOOLS) assert.equal(fs.readlinkSync(path.join(r, 'usr/bin', t)), 'cfntools', t);
    for (const u of UNITS) {
      const installed = fs.readFileSync(path.join(r, 'usr/lib/systemd/system', u), 'utf8');
      assert.equal(installed, fs.readFileSync(path.join(SYSTEMD_SRC, u), 'utf8'), `${u}: under /usr nothing to rewrite`);
      assert.equal(fs.statSync(path.join(r, 'usr/lib/systemd/system', u)).mode & 0o777, 0o644);
    }
    assert.equal(fs.readFileSync(path.join(r, 'usr/lib/systemd/system-preset', PRESET), 'utf8'), fs.readFileSync(PRESET_SRC, 'utf8'));
    assert.equal(fs.readFileSync(path.join(r, 'etc/logrotate.d/cfntools'), 'utf8'), fs.readFileSync(LOGROTATE_SRC, 'utf8'));
    assert.ok(fs.statSync(path.join(r, 'etc/cfn/hooks.d')).isDirectory());
    // The default: templates written for Amazon Linux call /opt/aws/bin/cfn-init.
    assert.deepEqual(fs.readdirSync(path.join(r, 'opt/aws/bin')).sort(), [...CFN_TOOLS].sort());
    for (const t of CFN_TOOLS) assert.equal(fs.readlinkSync(path.join(r, 'opt/aws/bin', t)), `/usr/bin/${t}`);
    assert.ok(!fs.existsSync(path.join(r, 'opt/aws/bin/heat-agent')));
    // Nothing outside the root, and no unit enabled.
    assert.ok(!fs.existsSync(path.join(r, 'etc/systemd')), 'a unit was enabled');
    assert.match(out, /installed {2}\/usr\/bin\/cfntools/);
    assert.match(out, new RegExp(`cfntools ${VERSION.replaceAll('.', '\\.')} in `));
    // The library is installed before the executable that needs it.
    assert.ok(out.indexOf(`installed  /usr/${LIB_DIR}/libatomic.so.1`) < out.indexOf('installed  /usr/bin/cfntools'), out);
    // The links run the tools by name.
    const v = run(path.join(r, 'usr/bin/cfn-init'), ['--version']);
    assert.equal(v.status, 0, v.stderr);
    assert.equal(v.stdout.trim(), `cfn-init (cfntools) ${VERSION}`);
  });

  it('a second run changes nothing and says so; a changed unit is put back', () => {
    install(dir!, '--prefix', '/usr');
    const before = treeListing(dir!);
    const second = install(dir!, '--prefix', '/usr');
    assert.deepEqual(treeListing(dir!), before);
    const actions = second.trim().split('\n').slice(0, -1);
    assert.ok(actions.length > 0);
    for (const line of actions) assert.match(line, /^unchanged {2}/, `second run: ${line}`);
    fs.appendFileSync(path.join(dir!, 'usr/lib/systemd/system/cfn-hup.service'), '# local edit\n');
    const third = install(dir!, '--prefix', '/usr');
    assert.match(third, /^updated {2}\/usr\/lib\/systemd\/system\/cfn-hup\.service$/m);
    assert.equal(fs.readFileSync(path.join(dir!, 'usr/lib/systemd/system/cfn-hup.service'), 'utf8'), fs.readFileSync(path.join(SYSTEMD_SRC, 'cfn-hup.service'), 'utf8'));
  });

  it('the default prefix is /usr/local, whose units systemd reads from /usr/local/lib/systemd/system (presets from ../system-preset), ExecStart= and ExecReload= rewritten', () => {
    install(dir!);
    const units = path.join(dir!, 'usr/local/lib/systemd/system');
    assert.deepEqual(fs.readdirSync(units).sort(), [...UNITS]);
    assert.deepEqual(fs.readdirSync(path.join(dir!, 'usr/local/lib/systemd/system-preset')), [PRESET]);
    for (const u of UNITS) {
      const text = fs.readFileSync(path.join(units, u), 'utf8');
      const execs = text.split('\n').filter((l) => l.startsWith('ExecStart='));
      assert.equal(execs.length, u.endsWith('.timer') ? 0 : 1, u);
      for (const e of execs) assert.match(e, /^ExecStart=\/usr\/local\/bin\/(cfn-[a-z-]+|heat-agent)( |$)/, `${u}: ${e}`);
      for (const e of text.split('\n').filter((l) => l.startsWith('ExecReload='))) assert.match(e, /^ExecReload=(\/usr\/local\/bin\/(cfn-hup|heat-agent) --check-config|\/bin\/kill -HUP \$MAINPID)$/, `${u}: ${e}`);
      // Only ExecStart= and ExecReload= move: /bin/kill and the comments stay.
      const src = fs.readFileSync(path.join(SYSTEMD_SRC, u), 'utf8');
      assert.equal(text.replace(/^(ExecStart|ExecReload)=\/usr\/local\/bin\//gm, '$1=/usr/bin/'), src);
    }
    for (const t of CFN_TOOLS) assert.equal(fs.readlinkSync(path.join(dir!, 'opt/aws/bin', t)), `/usr/local/bin/${t}`);
  });

  it('another prefix puts the units in /etc/systemd/system, the library in PREFIX/lib/cfntools; --no-aws-links, --no-systemd, --no-logrotate leave those out', () => {
    install(dir!, '--prefix', '/opt/cfntools', '--no-aws-links');
    assert.ok(fs.existsSync(path.join(dir!, 'opt/cfntools/bin/cfntools')));
    assert.ok(fs.existsSync(path.join(dir!, 'opt/cfntools', LIB_DIR, 'libatomic.so.1')));
    assert.match(fs.readFileSync(path.join(dir!, 'etc/systemd/system/cfn-hup.service'), 'utf8'), /^ExecStart=\/opt\/cfntools\/bin\/cfn-hup --foreground$/m);
    assert.match(fs.readFileSync(path.join(dir!, 'etc/systemd/system/cfn-hup.service'), 'utf8'), /^ExecReload=\/opt\/cfntools\/bin\/cfn-hup --check-config$/m);
    assert.deepEqual(fs.readdirSync(path.join(dir!, 'etc/systemd/system-preset')), [PRESET]);
    assert.ok(!fs.existsSync(path.join(dir!, 'opt/aws')));
    const bare = tempDir('root-bare');
    try {
      install(bare, '--no-systemd', '--no-logrotate', '--no-aws-links');
      assert.ok(!fs.existsSync(path.join(bare, 'usr/local/lib/systemd')));
      assert.ok(!fs.existsSync(path.join(bare, 'etc/logrotate.d')));
      assert.ok(fs.existsSync(path.join(bare, 'usr/local/bin/cfn-hup')));
    } finally {
      removeTemp(bare);
    }
  });

  it('aws-cfn-bootstrap\'s own files in /opt/aws/bin are kept unless --force; links elsewhere are replaced', () => {
    const aws = path.join(dir!, 'opt/aws/bin');
    fs.mkdirSync(aws, { recursive: true });
    fs.writeFileSync(path.join(aws, 'cfn-init'), '#!/usr/bin/python3\n# aws-cfn-bootstrap\n', { mode: 0o755 });
    fs.symlinkSync('/opt/aws/apitools/cfn-init/bin/cfn-signal', path.join(aws, 'cfn-signal'));
    const out = install(dir!, '--prefix', '/usr');
    assert.match(out, /^kept {2}\/opt\/aws\/bin\/cfn-init \(a file, not a link; --force replaces it\)$/m);
    assert.match(fs.readFileSync(path.join(aws, 'cfn-init'), 'utf8'), /aws-cfn-bootstrap/);
    assert.equal(fs.readlinkSync(path.join(aws, 'cfn-signal')), '/usr/bin/cfn-signal');
    install(dir!, '--prefix', '/usr', '--force');
    assert.equal(fs.readlinkSync(path.join(aws, 'cfn-init')), '/usr/bin/cfn-init');
  });

  it('refuses what it cannot do with one line: a relative prefix, a missing root, an unknown flag', () => {
    for (const [args, message] of [
      [['--prefix', 'usr'], /--prefix must be an absolute path/],
      [['--root', path.join(dir!, 'nope')], /--root .*: not a directory/],
      [['--bogus'], /unknown argument: --bogus/],
    ] as const) {
      const r = run(path.join(top, 'install.sh'), [...args]);
      assert.equal(r.status, 1, `${args.join(' ')}: ${r.stdout}`);
      assert.match(r.stderr.trim().split('\n').pop()!, message);
    }
    const help = runOk(path.join(top, 'install.sh'), ['--help']);
    assert.match(help, /--aws-links .*\n(.*\n)*.*This is the default/);
  });
});

/**
 * The tarball's layout made from packaging/ as it is now, with a stand-in
 * executable that answers --version as cfntools does: install.sh is what is
 * under test here, and it needs no `npm run package`.
 */
function stageTarball(dir: string): string {
  const top = path.join(dir, TARBALL_TOP);
  fs.mkdirSync(path.join(top, 'bin'), { recursive: true });
  fs.writeFileSync(path.join(top, 'bin', 'cfntools'), `#!/bin/sh\necho "cfntools ${VERSION}"\n`, { mode: 0o755 });
  for (const t of TOOLS) fs.symlinkSync('cfntools', path.join(top, 'bin', t));
  fs.mkdirSync(path.join(top, LIB_DIR), { recursive: true });
  for (const f of BUNDLED) fs.writeFileSync(path.join(top, LIB_DIR, f), `stand-in for ${f}\n`);
  fs.mkdirSync(path.join(top, 'systemd'));
  for (const u of [...UNITS, PRESET]) fs.copyFileSync(path.join(SYSTEMD_SRC, u), path.join(top, 'systemd', u));
  fs.mkdirSync(path.join(top, 'logrotate'));
  fs.copyFileSync(LOGROTATE_SRC, path.join(top, 'logrotate', 'cfntools'));
  fs.copyFileSync(path.join(PACKAGING, 'install.sh'), path.join(top, 'install.sh'));
  fs.chmodSync(path.join(top, 'install.sh'), 0o755);
  return top;
}

/** An Exec line's words as systemd runs them: quotes removed, %% a literal %. */
function execWords(value: string): string[] {
  return systemdWords(value).map((w) => w.replaceAll('%%', '%'));
}

/** The targets our units name or systemd adds, as empty units: enough for systemd-analyze verify --root. */
const STUB_TARGETS = ['sysinit.target', 'basic.target', 'shutdown.target', 'network-online.target', 'multi-user.target', 'timers.target'];

// Minimal images have dash or busybox as /bin/sh; install.sh must work under both.
for (const shell of [['sh'], ['busybox', 'sh']] as const) {
  const shellName = shell.join(' ');
  describe(`packaging: install.sh (packaging/) under ${shellName}, against hostile prefixes and roots`, function () {
    let work: string | undefined;
    let top: string;
    let root: string;
    let outside: string;

    before(function () {
      if (shell[0] === 'busybox') skipUnless(this, 'install.sh under busybox sh', commandMissing('busybox', 'busybox'));
    });
    beforeEach(() => {
      work = tempDir('hostile');
      top = stageTarball(work);
      root = path.join(work, 'root');
      fs.mkdirSync(root);
      // Somewhere outside the root, by an absolute path; nothing may appear in it.
      outside = path.join(work, 'outside');
      fs.mkdirSync(outside);
    });
    afterEach(() => {
      removeTemp(work);
      work = undefined;
    });

    const installSh = (...args: string[]) => run(shell[0], [...shell.slice(1), path.join(top, 'install.sh'), ...args]);
    const install = (...args: string[]): string => {
      const r = installSh('--root', root, ...args);
      assert.equal(r.status, 0, `install.sh ${args.join(' ')}: exit ${r.status}\n${r.stderr}${r.stdout}`);
      return r.stdout;
    };
    /** install.sh refuses with exit 1 and one line matching `message`, having changed nothing in the root. */
    const refuses = (message: RegExp, ...args: string[]) => {
      const before = treeListing(root);
      const r = installSh('--root', root, ...args);
      assert.equal(r.status, 1, `${JSON.stringify(args)}: exit ${r.status}\n${r.stdout}`);
      assert.equal(r.stderr.split('\n').length, 2, `one line: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.deepEqual(treeListing(root), before, `${JSON.stringify(args)}: the root was changed before the refusal`);
      assert.equal(r.stdout, '');
    };

    // A space (systemd would split there), & and # (sed's replacement and delimiter), %n (a systemd specifier), glob characters.
    const PREFIX = '/opt/cfn tools&co #1 50%n [x]*?';

    it('a prefix with a space, & # % and glob characters: every ExecStart= and ExecReload= runs PREFIX/bin/TOOL with the same arguments, as systemd splits them', () => {
      install('--prefix', PREFIX);
      assert.ok(fs.statSync(path.join(root, PREFIX, 'bin/cfntools')).isFile());
      for (const t of TOOLS) assert.equal(fs.readlinkSync(path.join(root, PREFIX, 'bin', t)), 'cfntools');
      assert.deepEqual(fs.readdirSync(path.join(root, PREFIX, LIB_DIR)).sort(), [...BUNDLED].sort());
      let execs = 0;
      for (const u of UNITS) {
        const src = fs.readFileSync(path.join(SYSTEMD_SRC, u), 'utf8').split('\n');
        const installed = fs.readFileSync(path.join(root, 'etc/systemd/system', u), 'utf8').split('\n');
        assert.equal(installed.length, src.length, u);
        src.forEach((line, i) => {
          const m = /^(ExecStart|ExecReload)=(\/usr\/bin\/.*)$/.exec(line);
          if (!m) {
            assert.equal(installed[i], line, `${u}: only the programs move`);
            return;
          }
          execs++;
          assert.ok(installed[i]!.startsWith(`${m[1]}=`), `${u}: ${installed[i]}`);
          const [program, ...args] = execWords(installed[i]!.slice(m[1]!.length + 1));
          const [srcProgram, ...srcArgs] = execWords(m[2]!);
          assert.equal(program, `${PREFIX}/bin/${path.basename(srcProgram!)}`, `${u}: ${installed[i]}`);
          assert.deepEqual(args, srcArgs, `${u}: ${installed[i]}`);
        });
      }
      assert.ok(execs >= 5, `${execs} Exec lines`);
      for (const t of CFN_TOOLS) assert.equal(fs.readlinkSync(path.join(root, 'opt/aws/bin', t)), `${PREFIX}/bin/${t}`);
    });

    it('systemd itself (systemd-analyze verify --root) finds the program of every unit under that prefix', function () {
      skipUnless(this, 'systemd-analyze verify', commandMissing('systemd-analyze', 'systemd'));
      install('--prefix', PREFIX);
      const lib = path.join(root, 'usr/lib/systemd/system');
      fs.mkdirSync(lib, { recursive: true });
      for (const t of STUB_TARGETS) fs.writeFileSync(path.join(lib, t), '[Unit]\nDescription=stand-in\n');
      const r = run('systemd-analyze', ['verify', `--root=${root}`, ...UNITS]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, '');
      // Not vacuous: the same units pointed at a prefix that is not there fail.
      for (const u of UNITS) {
        const f = path.join(root, 'etc/systemd/system', u);
        fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replaceAll('%%n', '%n'));
      }
      const wrong = run('systemd-analyze', ['verify', `--root=${root}`, 'cfn-hup.service']);
      assert.match(wrong.stderr, /cfn-hup\.service: Command .* is not executable/);
    });

    it('refuses, in one line and before any change, a prefix systemd cannot run (a quote, a backslash, a $, a control character, beyond ASCII) or one not normalized', () => {
      for (const [prefix, message] of [
        ["/opt/it's", /--prefix \/opt\/it's: systemd cannot run a program whose path holds a quote, a backslash or a \$/],
        ['/opt/"x"', /holds a quote, a backslash or a \$/],
        ['/opt/a\\b', /--prefix \/opt\/a\\b: .*backslash/],
        ['/opt/$HOME', /holds a quote, a backslash or a \$/],
        ['/opt/${x}', /holds a quote, a backslash or a \$/],
        ['/opt/a\nExecStartPre=/bin/true', /--prefix: a control character in the path/],
        ['/opt/a\tb', /--prefix: a control character in the path/],
        ['/opt/caf\u00e9', /--prefix: only printable ASCII characters/],
        ['/opt/../usr', /--prefix \/opt\/\.\.\/usr: write it without \/\/, \. or \.\. components/],
        ['/opt/./x', /write it without/],
        ['/opt//x', /write it without/],
      ] as const) refuses(message, '--prefix', prefix);
    });

    it('refuses, in one line and before any change, a plan it cannot carry out: a file where a directory goes, a directory where a file goes, a loop of links', () => {
      fs.mkdirSync(path.join(root, 'etc'));
      fs.writeFileSync(path.join(root, 'etc/logrotate.d'), 'not a directory\n');
      refuses(/^install\.sh: cannot install into \/etc\/logrotate\.d: \/etc\/logrotate\.d is not a directory \(in --root .*\)$/m, '--prefix', '/usr');
      fs.rmSync(path.join(root, 'etc'), { recursive: true });

      fs.mkdirSync(path.join(root, 'usr/local/bin/cfntools'), { recursive: true });
      fs.writeFileSync(path.join(root, 'usr/local/bin/cfntools/keep'), 'x');
      refuses(/^install\.sh: cannot install \/usr\/local\/bin\/cfntools: a directory is in its place/m);
      fs.rmSync(path.join(root, 'usr'), { recursive: true });

      fs.writeFileSync(path.join(root, 'opt'), 'the last thing installed is /opt/aws/bin: nothing before it may be\n');
      refuses(/\/opt is not a directory/, '--prefix', '/usr');
      fs.rmSync(path.join(root, 'opt'));

      fs.mkdirSync(path.join(root, 'opt'));
      fs.symlinkSync('loop', path.join(root, 'opt/loop'));
      refuses(/\/opt\/loop\/bin: more than 40 links to follow/, '--prefix', '/opt/loop');
    });

    it('--root: absolute links in the tree, and .. past its top, are followed inside it; nothing is written outside the root', () => {
      const parents = '../'.repeat(outside.split('/').length + 4);
      for (const d of ['bin', 'lib', 'logrotate.d', 'cfn', 'aws']) fs.mkdirSync(path.join(outside, d));
      fs.mkdirSync(path.join(root, 'usr'));
      fs.mkdirSync(path.join(root, 'etc'));
      fs.mkdirSync(path.join(root, 'opt/aws'), { recursive: true });
      const links: Record<string, string> = {
        'usr/bin': path.join(outside, 'bin'),
        'usr/lib': `${parents}${outside.slice(1)}/lib`,
        'etc/logrotate.d': path.join(outside, 'logrotate.d'),
        'etc/cfn': path.join(outside, 'cfn'),
        'opt/aws/bin': path.join(outside, 'aws'),
      };
      for (const [at, to] of Object.entries(links)) fs.symlinkSync(to, path.join(root, at));
      const before = treeListing(outside);
      install('--prefix', '/usr');
      assert.deepEqual(treeListing(outside), before, 'written outside the root');
      for (const [at, to] of Object.entries(links)) assert.equal(fs.readlinkSync(path.join(root, at)), to, `${at} is still the tree's link`);
      // Where the image will see them: through its own links, from its own /.
      const inRoot = path.join(root, outside);
      assert.ok(fs.statSync(path.join(inRoot, 'bin/cfntools')).isFile());
      assert.equal(fs.readlinkSync(path.join(inRoot, 'bin/cfn-hup')), 'cfntools');
      assert.ok(fs.statSync(path.join(inRoot, LIB_DIR, 'libatomic.so.1')).isFile());
      assert.ok(fs.statSync(path.join(inRoot, 'lib/systemd/system/cfn-hup.service')).isFile());
      assert.ok(fs.statSync(path.join(inRoot, 'lib/systemd/system-preset', PRESET)).isFile());
      assert.ok(fs.statSync(path.join(inRoot, 'logrotate.d/cfntools')).isFile());
      assert.ok(fs.statSync(path.join(inRoot, 'cfn/hooks.d')).isDirectory());
      assert.equal(fs.readlinkSync(path.join(inRoot, 'aws/cfn-init')), '/usr/bin/cfn-init');
    });

    it('a link to a directory where a file goes is replaced, never written through', () => {
      const trap = path.join(outside, 'trap');
      fs.mkdirSync(trap);
      fs.mkdirSync(path.join(root, 'usr/local/bin'), { recursive: true });
      fs.mkdirSync(path.join(root, 'opt/aws/bin'), { recursive: true });
      fs.symlinkSync(trap, path.join(root, 'usr/local/bin/cfntools'));
      fs.symlinkSync(trap, path.join(root, 'usr/local/bin/cfn-hup'));
      fs.symlinkSync(trap, path.join(root, 'opt/aws/bin/cfn-init'));
      const out = install();
      assert.deepEqual(fs.readdirSync(trap), [], 'written through a link');
      assert.ok(fs.lstatSync(path.join(root, 'usr/local/bin/cfntools')).isFile());
      assert.equal(fs.readlinkSync(path.join(root, 'usr/local/bin/cfn-hup')), 'cfntools');
      assert.equal(fs.readlinkSync(path.join(root, 'opt/aws/bin/cfn-init')), '/usr/local/bin/cfn-init');
      assert.match(out, /^updated {2}\/usr\/local\/bin\/cfntools$/m);
      assert.match(out, /^relinked {2}\/opt\/aws\/bin\/cfn-init -> \/usr\/local\/bin\/cfn-init$/m);
    });

    it('a merged-/usr root (/bin -> usr/bin, /lib -> usr/lib): its links stay, the files land under /usr', () => {
      for (const d of ['usr/bin', 'usr/lib', 'usr/sbin', 'etc']) fs.mkdirSync(path.join(root, d), { recursive: true });
      for (const d of ['bin', 'lib', 'sbin']) fs.symlinkSync(`usr/${d}`, path.join(root, d));
      const out = install('--prefix', '/usr', '--unit-dir', '/lib/systemd/system');
      for (const d of ['bin', 'lib', 'sbin']) assert.equal(fs.readlinkSync(path.join(root, d)), `usr/${d}`);
      assert.ok(fs.statSync(path.join(root, 'usr/bin/cfntools')).isFile());
      assert.ok(fs.statSync(path.join(root, 'usr/lib/systemd/system/cfn-hup.service')).isFile());
      assert.ok(fs.statSync(path.join(root, 'usr/lib/systemd/system-preset', PRESET)).isFile());
      assert.match(out, /^installed {2}\/usr\/lib\/systemd\/system\/cfn-hup\.service$/m);
    });

    it('an absolute link such as /lib/systemd -> /usr/lib/systemd leads to the root\'s /usr/lib/systemd, not this machine\'s', () => {
      // A name of our own below the machine's /usr/lib/systemd: a wrong install lands there, and is removed.
      const mine = `cfntools-test-${process.pid}-${path.basename(work!)}`;
      try {
        fs.mkdirSync(path.join(root, 'usr/lib/systemd'), { recursive: true });
        fs.mkdirSync(path.join(root, 'lib'));
        fs.symlinkSync('/usr/lib/systemd', path.join(root, 'lib/systemd'));
        install('--prefix', '/usr', '--unit-dir', `/lib/systemd/${mine}/system`);
        assert.ok(!fs.existsSync(path.join('/usr/lib/systemd', mine)), 'written into this machine\'s /usr/lib/systemd');
        assert.ok(fs.statSync(path.join(root, 'usr/lib/systemd', mine, 'system/cfn-hup.service')).isFile());
        assert.ok(fs.statSync(path.join(root, 'usr/lib/systemd', mine, 'system-preset', PRESET)).isFile());
        assert.equal(fs.readlinkSync(path.join(root, 'lib/systemd')), '/usr/lib/systemd');
      } finally {
        fs.rmSync(path.join('/usr/lib/systemd', mine), { recursive: true, force: true });
      }
    });

    it('the library goes beside the directory PREFIX/bin really is, where the executable\'s $ORIGIN/../lib/cfntools finds it', () => {
      fs.mkdirSync(path.join(root, 'usr/bin'), { recursive: true });
      fs.mkdirSync(path.join(root, 'usr/local'), { recursive: true });
      fs.symlinkSync('../bin', path.join(root, 'usr/local/bin'));
      const out = install();
      const origin = path.dirname(fs.realpathSync(path.join(root, 'usr/local/bin/cfn-init')));
      assert.equal(origin, path.join(fs.realpathSync(root), 'usr/bin'));
      for (const f of BUNDLED) assert.ok(fs.statSync(path.join(origin, '..', LIB_DIR, f)).isFile(), f);
      assert.ok(!fs.existsSync(path.join(root, 'usr/local/lib/cfntools')), 'a library where nothing looks for it');
      assert.match(out, /^installed {2}\/usr\/lib\/cfntools\/libatomic\.so\.1$/m);
      // The units and links still name the prefix as given.
      assert.match(fs.readFileSync(path.join(root, 'usr/local/lib/systemd/system/cfn-hup.service'), 'utf8'), /^ExecStart=\/usr\/local\/bin\/cfn-hup /m);
      assert.equal(fs.readlinkSync(path.join(root, 'opt/aws/bin/cfn-init')), '/usr/local/bin/cfn-init');
    });
  });
}
