/**
 * The tarball and its install.sh: the layout inside, an install into a
 * throw-away root (--root) under /usr and under another prefix, the library
 * the executable carries in PREFIX/lib/cfntools, the unit paths rewritten to
 * the prefix, the /opt/aws/bin links, a second run that changes nothing, and
 * aws-cfn-bootstrap's own files kept unless --force.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { skipUnless } from '../support/skip';
import {
  BUNDLED, CFN_TOOLS, EXE, HOST_LIBATOMIC, LIB_DIR, LOGROTATE_SRC, PRESET, PRESET_SRC, SYSTEMD_SRC, TARBALL, TARBALL_TOP, TOOLS, UNITS, VERSION,
  artifactMissing, removeTemp, run, runOk, staleness, tempDir, treeListing,
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
      assert.equal(fs.statSync(path.join(r, 'usr', LIB_DIR, f)).mode & 0o777, 0o644, f);
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
