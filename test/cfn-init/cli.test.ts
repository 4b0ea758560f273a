/**
 * cfn-init as a user runs it (the bundle, real processes, temp dirs): input
 * rules, exit codes and messages, validation before any change, failure
 * handling, --dry-run, the metadata cache, waitAfterCompletion: forever and
 * --resume, runas, and a run against the endpoint emulator with signed
 * DescribeStackResource and a download.
 */
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MetadataCache } from '../../shared/metadata-source';
import { BUNDLE, runTool, toolEnv } from '../support/cli';
import { skipUnless } from '../support/skip';
import { startEmulator, type Emulator } from '../emulator/server';

const INIT = 'AWS::CloudFormation::Init';

describe('cfn-init CLI', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-init-'));
    fs.mkdirSync(path.join(dir, 'log'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const p = (...s: string[]) => path.join(dir, ...s);
  const env = (extra: NodeJS.ProcessEnv = {}) => toolEnv({ CFNTOOLS_HEAT_DIR: p('heat'), CFNTOOLS_CACHE_DIR: p('cache'), CFNTOOLS_STATE_DIR: p('state'), ...extra });
  const logArgs = () => ['--log-file', p('log', 'cfn-init.log')];
  const log = () => fs.readFileSync(p('log', 'cfn-init.log'), 'utf8');
  const cmdLog = () => fs.readFileSync(p('log', 'cfn-init-cmd.log'), 'utf8');
  const lines = (name: string) => (fs.existsSync(p(name)) ? fs.readFileSync(p(name), 'utf8').trim().split('\n') : []);
  const echo = (word: string, extra: object = {}) => ({ command: `echo ${word} >> ${p('out')}`, ...extra });
  const writeMeta = (meta: unknown, name = 'meta.json') => {
    fs.writeFileSync(p(name), JSON.stringify(meta));
    return p(name);
  };
  const cfnInit = (args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}) => runTool('cfn-init', [...logArgs(), ...args], { env: opts.env ?? env(), input: opts.input });

  describe('input rules', () => {
    const cases: Array<[string, string[], RegExp]> = [
      ['a file and -s/-r', ['-s', 'st', '-r', 'R', 'meta.json'], /more than one input source/],
      ['stdin and -s/-r', ['-s', 'st', '-r', 'R', '-'], /more than one input source/],
      ['only -s', ['-s', 'st'], /both a stack name \(-s\) and a logical resource id \(-r\)/],
      ['only -r', ['-r', 'R'], /both a stack name/],
      ['two files', ['a.json', 'b.json'], /Unknown argument: b\.json/],
      ['--resume with a source', ['--resume', '-s', 'st', '-r', 'R'], /--resume continues the saved run/],
      ['an empty -c name', ['-c', 'a,,b', 'meta.json'], /empty configSet name/],
      ['an unknown flag', ['--bogus'], /Unknown argument: bogus/],
    ];
    for (const [name, args, re] of cases) {
      it(`${name} is a usage error (exit 2)`, async () => {
        const r = await cfnInit(args);
        assert.equal(r.status, 2, r.stderr);
        assert.match(r.stderr, re);
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      });
    }

    it('accepts both peers\' flags (-f, --role, proxies, --region, -v, -t)', async () => {
      const meta = writeMeta({ [INIT]: { config: { commands: { a: echo('ran') } } } });
      fs.writeFileSync(p('creds'), 'AWSAccessKeyId=AKID\nAWSSecretKey=secret\n', { mode: 0o600 });
      const peers = ['-v', '-t', '--region', 'RegionOne', '-f', p('creds'), '--role', 'r', '--http-proxy', 'http://127.0.0.1:9', '--https-proxy', 'http://127.0.0.1:9'];
      const r = await cfnInit([...peers, meta]);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(lines('out'), ['ran']);
    });
  });

  it('reads the whole Metadata object from a file, or from stdin with -', async () => {
    const meta = { [INIT]: { config: { commands: { a: echo('file') } } } };
    assert.equal((await cfnInit([writeMeta(meta)])).status, 0);
    const r = await cfnInit(['-'], { input: JSON.stringify({ [INIT]: { config: { commands: { a: echo('stdin') } } } }) });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.deepEqual(lines('out'), ['file', 'stdin']);
  });

  it("with no source reads Heat's cfn-init-data (heat-cfntools' normal path); without it, says what to give", async () => {
    const missing = await cfnInit([]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^cfn-init: no metadata: give --stack and --resource, a file, or - for stdin \(.*heat\/cfn-init-data does not exist\)\n$/);
    fs.mkdirSync(p('heat'));
    fs.writeFileSync(p('heat', 'cfn-init-data'), JSON.stringify({ [INIT]: { config: { commands: { a: echo('heat') } } } }));
    const r = await cfnInit([]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(lines('out'), ['heat']);
  });

  it("metadata without AWS::CloudFormation::Init fails (exit 1, like heat-cfntools; aws-cfn-bootstrap exits 0)", async () => {
    const r = await cfnInit([writeMeta({ other: 1 })]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^cfn-init: Could not find 'AWS::CloudFormation::Init' key in the metadata from .*meta\.json \(it has other\)\n$/);
    const bad = await cfnInit(['-'], { input: '{"a": ' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /stdin: not valid JSON/);
  });

  it('an empty Init, or selected configs that are all empty: nothing runs, exit 0, and a warning (as aws-cfn-bootstrap)', async () => {
    const empties: unknown[] = [{}, { config: {} }, { configSets: { default: [] } }, { configSets: { default: ['a', 'b'] }, a: { files: {}, commands: {} }, b: { packages: { yum: {} }, services: { sysvinit: {} } } }];
    for (const init of empties) {
      const meta = writeMeta({ [INIT]: init });
      const r = await cfnInit([meta]);
      assert.equal(r.status, 0, `${JSON.stringify(init)}: ${r.stderr}`);
      assert.equal(r.stderr, `cfn-init: warning: nothing was configured: the selected configs of ${INIT} in ${meta} are empty\n`);
      assert.match(log(), /WARNING .*nothing was configured/);
    }
    // Configs that nothing selects are a mistake, not an empty run; so is a set that does not exist.
    const unselected = await cfnInit([writeMeta({ [INIT]: { setup: { commands: { a: echo('x') } } } })]);
    assert.equal(unselected.status, 1);
    assert.match(unselected.stderr, /config: no configSets key and no config named "config": nothing to run \(defined: setup\)/);
    const noSet = await cfnInit(['-c', 'other', writeMeta({ [INIT]: {} })]);
    assert.equal(noSet.status, 1);
    assert.match(noSet.stderr, /no configSet named "other"/);
    assert.deepEqual(lines('out'), []);
  });

  describe('users and groups that an earlier step of the run creates (as root)', () => {
    const made: string[] = [];
    before(function () {
      if (process.getuid?.() !== 0) this.skip();
    });
    afterEach(() => {
      for (const name of made.splice(0)) {
        spawnSync('userdel', [name]);
        spawnSync('groupdel', [name]);
      }
    });
    const fresh = () => {
      const name = `cfnt-${Math.random().toString(36).slice(2, 8)}`;
      made.push(name);
      return name;
    };
    const idOf = (db: string, name: string) => Number(spawnSync('getent', [db, name], { encoding: 'utf8' }).stdout.split(':')[2]);

    it('a file owner, a runas user and a supplementary group made by commands of an earlier config', async () => {
      const user = fresh();
      const group = fresh();
      const meta = writeMeta({
        [INIT]: {
          configSets: { default: ['setup', 'use'] },
          setup: { commands: { a_group: { command: `groupadd -r ${group}` }, b_user: { command: `useradd -r -M -s /usr/sbin/nologin ${user}` } } },
          use: {
            users: { [fresh()]: { groups: [group] } },
            files: { [p('owned.txt')]: { content: 'mine\n', owner: user, group } },
            commands: { whoami: { command: `id -un > ${p('who')}`, runas: user, cwd: '/' } },
          },
        },
      });
      fs.chmodSync(dir, 0o777);
      const plan = await cfnInit(['--dry-run', meta]);
      assert.equal(plan.status, 0, plan.stderr);
      assert.match(plan.stdout, new RegExp(`owner ${user}: looked up when the file is written, after the commands of config setup`));
      assert.match(plan.stdout, new RegExp(`runas ${user}: looked up when the command runs, after the commands of config setup`));
      assert.match(plan.stdout, new RegExp(`group ${group}: looked up when the user is added, after the commands of config setup`));

      const r = await cfnInit([meta]);
      assert.equal(r.status, 0, `${r.stderr}\n${log()}`);
      const st = fs.statSync(p('owned.txt'));
      assert.deepEqual([st.uid, st.gid], [idOf('passwd', user), idOf('group', group)]);
      assert.equal(fs.readFileSync(p('who'), 'utf8').trim(), user);
      const member = made[2];
      assert.ok(spawnSync('id', ['-Gn', member], { encoding: 'utf8' }).stdout.split(/\s+/).includes(group), `${member} is in ${group}`);
    });

    it('a name that the earlier step did not create: the error names the key path, and no file of that key is written', async () => {
      const meta = writeMeta({
        [INIT]: {
          configSets: { default: ['setup', 'use'] },
          setup: { commands: { a: { command: 'true' } } },
          use: { files: { [p('a.txt')]: { content: 'a' }, [p('b.txt')]: { content: 'b', owner: 'cfnt-never-made' } } },
        },
      });
      const r = await cfnInit([meta]);
      assert.equal(r.status, 1);
      assert.equal(r.stderr, `cfn-init: configSets.default[1] -> use.files.${p('b.txt')}.owner: no such user "cfnt-never-made" (it was expected to exist after the commands of config setup)\n`);
      assert.ok(!fs.existsSync(p('a.txt')) && !fs.existsSync(p('b.txt')));
    });
  });

  it('-c runs sets in the order given, names trimmed; a config listed twice runs twice', async () => {
    const meta = writeMeta({ [INIT]: { configSets: { default: ['c1', 'c2'], other: 'c2' }, c1: { commands: { x: echo('c1') } }, c2: { commands: { x: echo('c2') } } } });
    assert.equal((await cfnInit(['-c', 'other, default', meta])).status, 0);
    assert.deepEqual(lines('out'), ['c2', 'c1', 'c2']);
  });

  it('validation problems: every one listed, exit 1, and nothing changes (not even what an earlier config would do); tolerated mistakes are told too', async () => {
    const meta = writeMeta({
      [INIT]: {
        configSets: { default: ['first', 'second'] },
        first: { files: { [p('first.txt')]: { content: 'x\n' } }, commands: { a: echo('never') } },
        second: { files: { [p('second.txt')]: { content: 'y\n', mode: '000644' } }, commands: { b: { command: 'true', waitAfterCompletion: 'soon' }, c: { command: 'true', cwd: 'relative' } }, servics: {} },
      },
    });
    const r = await cfnInit([meta]);
    assert.equal(r.status, 1);
    assert.equal(
      r.stderr,
      'cfn-init: warning: configSets.default[1] -> second.servics: unknown key; a config holds packages, groups, users, sources, files, commands, services (ignored)\n' +
        `cfn-init: ${meta}: 2 problems in AWS::CloudFormation::Init:\n` +
        '  configSets.default[1] -> second.commands.b.waitAfterCompletion: expected a number of seconds or "forever", got string "soon"\n' +
        '  configSets.default[1] -> second.commands.c.cwd: expected an absolute path (or ~), got "relative"\n',
    );
    assert.deepEqual(lines('out'), []);
    assert.ok(!fs.existsSync(p('first.txt')), 'a file of an earlier config is not written');
    assert.ok(!fs.existsSync(p('second.txt')), 'a file of an earlier key of the same config is not written');
    assert.match(log(), /ERROR .*cfn-init failed: .*2 problems/);
  });

  it('a failing command: exit 1 with one line naming it, later configs not run, the log says what was done', async () => {
    const meta = writeMeta({
      [INIT]: {
        configSets: { default: ['a', 'b'] },
        a: { commands: { '01_ok': echo('01'), '02_fail': { command: `echo 02 >> ${p('out')}; echo broken >&2; exit 5` }, '03': echo('03') } },
        b: { commands: { x: echo('b') } },
      },
    });
    const r = await cfnInit([meta]);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, 'cfn-init: configSets.default[0] -> a.commands.02_fail failed with exit code 5 (last output: "broken")\n');
    assert.deepEqual(lines('out'), ['01', '02']);
    const l = log();
    assert.match(l, /ERROR .*BUILD FAILED at configSets\.default\[0\] -> a\.commands/);
    assert.match(l, /ERROR .*Applied before the failure: run command 01_ok/);
    assert.match(l, /ERROR .*Not run: .* and the configs configSets\.default\[1\] -> b/);
    assert.match(cmdLog(), /==== Command 02_fail \(configSets\.default\[0\] -> a\.commands\.02_fail\)\n.*Running: echo 02[^\n]*\n.*Command output:\n.*\tbroken\n.*Exited with error code 5/);
  });

  it('--cmd-log-file moves the command log', async () => {
    const meta = writeMeta({ [INIT]: { config: { commands: { a: { command: 'echo hello-output' } } } } });
    assert.equal((await cfnInit(['--cmd-log-file', p('cmds.log'), meta])).status, 0);
    assert.match(fs.readFileSync(p('cmds.log'), 'utf8'), /INFO \[.*\] \thello-output\n/);
    assert.ok(!fs.existsSync(p('log', 'cfn-init-cmd.log')));
  });

  it('--dry-run prints the plan, changes nothing, saves no progress and exits 0', async () => {
    const meta = writeMeta({ [INIT]: { config: { commands: { a: echo('x'), b: echo('y', { waitAfterCompletion: 'forever' }), c: echo('z') } } } });
    const r = await cfnInit(['--dry-run', meta]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(
      r.stdout,
      [
        'configSet default',
        '  config config',
        '    commands:',
        `      - run command a: echo x >> ${p('out')}`,
        `      - run command b: echo y >> ${p('out')} (then stop for a reboot)`,
        `      - run command c: echo z >> ${p('out')}`,
        '',
      ].join('\n'),
    );
    assert.deepEqual(lines('out'), []);
    assert.ok(!fs.existsSync(p('state')));
    assert.deepEqual(fs.readdirSync(p('log')), [], 'a dry run wrote a log file');
    assert.equal(r.stderr, '');
  });

  it('--dry-run writes no log, at --log-file or the default path (an empty /var/log of its own stays empty); with -v its log is on stderr', async function () {
    const meta = writeMeta({ [INIT]: { config: { commands: { a: echo('x') } } } });
    skipUnless(this, 'a dry run with the default log path', process.getuid?.() === 0 ? undefined : 'needs root for a mount namespace with its own /var/log');
    // The host's /var/log is shared with whatever else runs: a private, empty one shows every file the run creates.
    const own = spawnSync('unshare', ['-m', '--', 'sh', '-c', 'mount -t tmpfs -o size=1m cfntools-test /var/log && "$@" && ls -A /var/log', 'sh', process.execPath, BUNDLE, 'cfn-init', '--dry-run', meta], { env: env(), encoding: 'utf8', timeout: 60_000 });
    assert.equal(own.status, 0, own.stderr);
    assert.match(own.stdout, /^configSet default\n/);
    assert.ok(own.stdout.endsWith(`echo x >> ${p('out')}\n`), `files in /var/log after the dry run:\n${own.stdout}`);
    const verbose = await cfnInit(['--dry-run', '-v', '--cmd-log-file', p('log', 'cmd.log'), meta]);
    assert.equal(verbose.status, 0, verbose.stderr);
    assert.match(verbose.stderr, /^INFO \[.*\] Starting build \(dry run\)$/m);
    assert.deepEqual(fs.readdirSync(p('log')), []);
    const broken = await cfnInit(['--dry-run', writeMeta({ [INIT]: { config: { files: { '/x': { mode: '0x644' } } } } })]);
    assert.equal(broken.status, 1);
    assert.match(broken.stderr, /^cfn-init: \S*meta\.json: 2 problems in AWS::CloudFormation::Init:\n/);
    assert.doesNotMatch(broken.stderr, /ERROR|cfn-init failed/, 'said twice');
    assert.deepEqual(fs.readdirSync(p('log')), []);
  });

  describe('mistakes aws-cfn-bootstrap runs anyway: warnings, or refused with --strict', () => {
    /** One of each tolerated mistake, beside what is valid: two files and a command. */
    const document = () => ({
      'AWS::CloudFormation::Authentication': { unusedRole: { type: 'S3', roleName: ['a', 'list'], buckets: ['nobody-downloads-from-it'] } },
      [INIT]: {
        config: {
          packages: { yumm: { httpd: [] } },
          files: {
            [p('app.conf')]: { content: 'app\n', mode: '000640', authentification: 'basic' },
            [p('settings.json')]: { content: { a: 1 }, context: { a: 2 }, authentication: 'unusedRole' },
          },
          // A Quick Start's !If [UseSSL, cmd, ''] on its default path.
          commands: { '01_ssl': { command: '' }, '02_say': echo('said', { ignoreErors: true }) },
          services: { httpd: { enabled: true, ensureRunning: true } },
          comands: { never: echo('never') },
        },
      },
    });
    const tolerated = () => [
      ['AWS::CloudFormation::Authentication.unusedRole.roleName', 'expected a string, got a list', 'the block is used by no download, so a run never reads it'],
      ['config.comands', 'unknown key; a config holds packages, groups, users, sources, files, commands, services', 'ignored'],
      ['config.packages.yumm', 'unknown package manager; expected one of rpm, apt, yum, dnf, python, rubygems', 'skipped'],
      [`config.files.${p('app.conf')}.authentification`, 'unknown key; expected one of content, source, encoding, mode, owner, group, authentication, context', 'ignored'],
      [`config.files.${p('settings.json')}.authentication`, 'only applies to source downloads', 'ignored'],
      [`config.files.${p('settings.json')}.content`, 'context is not applied to JSON content (give the content as a string to use a template)', 'context ignored'],
      ['config.commands.01_ssl.command', 'empty command', 'runs sh -c "", which does nothing'],
      ['config.commands.02_say.ignoreErors', 'unknown key; expected one of command, env, cwd, test, ignoreErrors, waitAfterCompletion, runas', 'ignored'],
      ['config.services.httpd', 'unknown service manager; expected sysvinit or systemd', 'skipped'],
    ];

    it('a run applies what is valid, exit 0, with a warning naming each key path on stderr and in the log', async () => {
      const r = await cfnInit([writeMeta(document())]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, tolerated().map(([at, what, outcome]) => `cfn-init: warning: ${at}: ${what} (${outcome})\n`).join(''));
      const warnings = log().split('\n').filter((line) => line.startsWith('WARNING '));
      assert.deepEqual(
        warnings.map((line) => line.replace(/^WARNING \[[^\]]*\] /, '')),
        tolerated().map(([at, what, outcome]) => `tolerated, as aws-cfn-bootstrap does (--strict refuses it): ${at}: ${what} (${outcome})`),
      );
      assert.equal(fs.readFileSync(p('app.conf'), 'utf8'), 'app\n');
      assert.equal(fs.statSync(p('app.conf')).mode & 0o7777, 0o640);
      assert.equal(fs.readFileSync(p('settings.json'), 'utf8'), '{"a": 1}');
      assert.deepEqual(lines('out'), ['said'], 'the misspelt comands are not run');
      assert.match(cmdLog(), /==== Command 01_ssl .*\n.*Running: ""\n.*Completed successfully\./);
    });

    it('--strict (and -t) refuses them all, each with its path, exit 1, and changes nothing', async () => {
      const meta = writeMeta(document());
      for (const flag of ['--strict', '-t']) {
        const r = await cfnInit([flag, meta]);
        assert.equal(r.status, 1, r.stderr);
        assert.equal(
          r.stderr,
          `cfn-init: ${meta}: ${tolerated().length} problems in AWS::CloudFormation::Init:\n` +
            tolerated().map(([at, what, outcome]) => `  ${at}: ${what} (refused by --strict; without it: ${outcome})\n`).join(''),
        );
      }
      assert.ok(!fs.existsSync(p('app.conf')) && !fs.existsSync(p('settings.json')));
      assert.deepEqual(lines('out'), []);
      assert.match(log(), /ERROR .*cfn-init failed: .*9 problems/);
    });

    it('--dry-run lists them before the plan, as what a run tolerates and --strict refuses; --dry-run --strict refuses them', async () => {
      const meta = writeMeta(document());
      const r = await cfnInit(['--dry-run', meta]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, '');
      const out = r.stdout.split('\n');
      assert.deepEqual(out.slice(0, tolerated().length + 1), [
        'tolerated: a run goes on with a warning for each, as aws-cfn-bootstrap does; --strict refuses them:',
        ...tolerated().map(([at, what, outcome]) => `  ${at}: ${what} (${outcome})`),
      ]);
      const plan = out.slice(tolerated().length + 1).join('\n');
      assert.match(plan, /^configSet default\n/);
      assert.match(plan, /- run command 01_ssl: ""\n/);
      assert.match(plan, /\n {4}services: nothing to do\n/);
      assert.doesNotMatch(plan, /never|httpd/);
      const strict = await cfnInit(['--dry-run', '--strict', meta]);
      assert.equal(strict.status, 1);
      assert.match(strict.stderr, /9 problems in AWS::CloudFormation::Init:\n {2}AWS::CloudFormation::Authentication\.unusedRole\.roleName: /);
      assert.equal(strict.stdout, '');
      assert.ok(!fs.existsSync(p('app.conf')));
      assert.deepEqual(lines('out'), []);
    });

    it('what would change what is written or run stays an error, and a used Authentication block is fully validated', async () => {
      const r = await cfnInit([
        writeMeta({
          'AWS::CloudFormation::Authentication': { used: { type: 'S3', roleName: ['a', 'list'], buckets: ['cfntest-bucket'] } },
          [INIT]: { config: { files: { [p('x')]: { source: 'https://cfntest-bucket.s3.amazonaws.com/x', mode: '0x644' } }, commands: { a: { command: [] } } } },
        }),
      ]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /3 problems/);
      assert.match(r.stderr, /\n {2}AWS::CloudFormation::Authentication\.used\.roleName: expected a string, got a list\n/);
      assert.match(r.stderr, /\.mode: expected up to 6 octal digits/);
      assert.match(r.stderr, /config\.commands\.a\.command: empty command list\n/);
      assert.doesNotMatch(r.stderr, /warning/);
    });

    it('--help shows --strict', async () => {
      const r = await cfnInit(['--help']);
      assert.equal(r.status, 0);
      assert.match(r.stdout, /--strict.*refuse the mistakes aws-cfn-bootstrap runs anyway/s);
    });
  });

  it('runas runs the command as that user for real (uid from id -u)', async function () {
    if (process.getuid?.() !== 0) this.skip();
    fs.chmodSync(dir, 0o755);
    fs.mkdirSync(p('shared'), { mode: 0o777 });
    fs.chmodSync(p('shared'), 0o777);
    const meta = writeMeta({ [INIT]: { config: { commands: { who: { command: `id -u > ${p('shared', 'uid')}; id -ru >> ${p('shared', 'uid')}`, runas: 'nobody' } } } } });
    const r = await cfnInit([meta]);
    assert.equal(r.status, 0, r.stderr);
    const nobody = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('nobody:'))!.split(':')[2];
    assert.deepEqual(fs.readFileSync(p('shared', 'uid'), 'utf8').trim().split('\n'), [nobody, nobody]);
  });

  it("a command's child, as nobody or root, never inherits the tool's credentials; a command's own env keeps what it gives", async function () {
    if (process.getuid?.() !== 0) this.skip();
    fs.chmodSync(dir, 0o755);
    fs.mkdirSync(p('shared'), { mode: 0o777 });
    fs.chmodSync(p('shared'), 0o777);
    // Each child reads its own environment, as anything of that uid could from /proc.
    const dump = (name: string) => `cat /proc/self/environ > ${p('shared', name)}`;
    const meta = writeMeta({
      [INIT]: {
        config: {
          commands: {
            a_nobody: { command: dump('nobody'), runas: 'nobody' },
            b_root: { command: dump('root') },
            c_own: { command: dump('own'), runas: 'nobody', env: { PATH: '/usr/bin:/bin', AWS_SECRET_ACCESS_KEY: 'a-key-of-its-own' } },
          },
        },
      },
    });
    const tool = { AWS_ACCESS_KEY_ID: 'AKIDTOOLKEY', AWS_SECRET_ACCESS_KEY: 'tool-secret-key-0001', AWS_SESSION_TOKEN: 'tool-session-token-1', OS_PASSWORD: 'tool-os-password', CFN_SIGNAL_AUTH_TOKEN: 'tool-keystone-token' };
    const r = await cfnInit([meta], { env: env({ ...tool, CFNTOOLS_TEST_MARKER: 'inherited' }) });
    assert.equal(r.status, 0, `${r.stderr}\n${log()}`);
    const environ = (name: string) => new Map(fs.readFileSync(p('shared', name), 'utf8').split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    for (const who of ['nobody', 'root']) {
      const seen = environ(who);
      assert.equal(seen.get('CFNTOOLS_TEST_MARKER'), 'inherited', `${who} inherits the rest`);
      for (const name of Object.keys(tool)) assert.ok(!seen.has(name), `${who}'s child has ${name}`);
    }
    const own = environ('own');
    assert.equal(own.get('AWS_SECRET_ACCESS_KEY'), 'a-key-of-its-own');
    assert.ok(!own.has('AWS_ACCESS_KEY_ID') && !own.has('CFNTOOLS_TEST_MARKER'), 'a command\'s env replaces the environment');
  });

  it('killed while writing files: every file is old or new, and the next run removes the temp files whatever it writes', async function () {
    this.timeout(60_000);
    const files: Record<string, unknown> = {};
    for (let i = 0; i < 400; i++) files[p('tree', `d${i % 4}`, `f${i}`)] = { content: `new ${i}\n`.repeat(2000) };
    const meta = writeMeta({ [INIT]: { config: { files } } });
    const temps = () => fs.readdirSync(p('tree'), { recursive: true }).map(String).filter((n) => path.basename(n).startsWith('.cfntools-'));
    for (let attempt = 0; ; attempt++) {
      fs.rmSync(p('tree'), { recursive: true, force: true });
      const child = spawn(process.execPath, [BUNDLE, 'cfn-init', ...logArgs(), meta], { env: env(), stdio: 'ignore' });
      // Killed as soon as temp files exist: in the middle of the batch.
      while (!(fs.existsSync(p('tree')) && temps().length) && child.exitCode === null) await new Promise((r) => setTimeout(r, 1));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('close', r));
      if (child.signalCode === 'SIGKILL' && temps().length) break;
      assert.ok(attempt < 20, 'the batch finished before it could be killed, 20 times');
    }
    for (const name of fs.readdirSync(p('tree'), { recursive: true }).map(String)) {
      const full = p('tree', name);
      if (fs.statSync(full).isDirectory() || path.basename(name).startsWith('.cfntools-')) continue;
      const i = Number(/f(\d+)$/.exec(name)![1]);
      assert.equal(fs.readFileSync(full, 'utf8'), `new ${i}\n`.repeat(2000), `${name} is whole`);
    }
    const left = temps().length;
    const next = await cfnInit([writeMeta({ [INIT]: { config: { commands: { a: echo('next') } } } }, 'next.json')]);
    assert.equal(next.status, 0, next.stderr);
    assert.deepEqual(temps(), []);
    assert.match(log(), new RegExp(`Removed ${left} temp file\\(s\\) left by an interrupted write`));
  });

  describe('waitAfterCompletion: forever and --resume', () => {
    const meta = () =>
      writeMeta({
        [INIT]: {
          configSets: { default: ['a', 'b'] },
          a: { commands: { '1': echo('1'), '2_reboot': echo('2', { waitAfterCompletion: 'forever' }), '3': echo('3') } },
          b: { commands: { x: echo('b') } },
        },
      });

    it('stops with exit 0 after the command, saves progress; --resume continues exactly after it, then clears it', async () => {
      const m = meta();
      const first = await cfnInit([m]);
      assert.equal(first.status, 0, first.stderr);
      assert.match(first.stdout, /^cfn-init: stopped after configSets\.default\[0\] -> a\.commands\.2_reboot \(waitAfterCompletion: forever\); progress saved in .*state\/progress\.json; 'cfn-init --resume' continues after it/);
      assert.deepEqual(lines('out'), ['1', '2']);
      const file = p('state', 'progress.json');
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
      assert.deepEqual(saved.position, { config: 0, configName: 'a', commandsDone: ['1', '2_reboot'] });
      fs.rmSync(m); // the resumed run needs nothing but the saved progress

      const second = await cfnInit(['--resume']);
      assert.equal(second.status, 0, second.stderr);
      assert.deepEqual(lines('out'), ['1', '2', '3', 'b']);
      assert.ok(!fs.existsSync(file));
      assert.match(log(), /Resuming at config configSets\.default\[0\] -> a/);

      const again = await cfnInit(['--resume']);
      assert.equal(again.status, 1);
      assert.match(again.stderr, /nothing to resume: .*progress\.json does not exist/);
    });

    it('a normal run of the same metadata and sets continues the saved run (no reboot loop); other metadata starts over', async () => {
      const m = meta();
      await cfnInit([m]);
      const same = await cfnInit([m]);
      assert.equal(same.status, 0, same.stderr);
      assert.deepEqual(lines('out'), ['1', '2', '3', 'b']);
      assert.match(log(), /Continuing the run that stopped after configSets\.default\[0\] -> a\.commands\.2_reboot/);

      fs.rmSync(p('out'));
      await cfnInit([m]);
      const other = writeMeta({ [INIT]: { config: { commands: { z: echo('other') } } } }, 'other.json');
      const r = await cfnInit([other]);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(lines('out'), ['1', '2', 'other']);
      assert.match(log(), /WARNING .*is for other metadata or configSets; starting over/);
      assert.ok(!fs.existsSync(p('state', 'progress.json')));
    });
  });
});

describe('cfn-init against the endpoint emulator', () => {
  const KEYS = { accessKey: 'AKIDCFNINIT0000000000001', secretKey: 'cfn-init/secret+key=' };
  let emu: Emulator;
  let dir: string;
  const p = (...s: string[]) => path.join(dir, ...s);
  const metadata = () => ({
    'AWS::CloudFormation::Authentication': { web: { type: 'basic', username: 'demo', password: 'demo-password', uris: [emu.url] } },
    [INIT]: {
      configSets: { default: ['base', { ConfigSet: 'app' }], app: ['app'] },
      base: {
        files: {
          [p('etc', 'inline.conf')]: { content: 'inline=1\n', mode: '000600' },
          [p('etc', 'public.txt')]: { source: `${emu.url}/files/public.txt` },
          [p('etc', 'private.txt')]: { source: `${emu.url}/files/private.txt`, authentication: 'web' },
        },
        commands: { '01_hello': { command: `cat ${p('etc', 'public.txt')} ${p('etc', 'private.txt')} > ${p('hello')}` } },
      },
      app: { commands: { '02_after': { command: ['/bin/sh', '-c', `cp ${p('hello')} ${p('copy')}`] } } },
    },
  });

  before(async () => {
    emu = await startEmulator({
      stacks: [{ name: 'initstack', resources: { WebServer: { type: 'AWS::EC2::Instance', metadata: {} } }, credentials: [KEYS] }],
      files: { inline: { 'public.txt': 'public\n', 'private.txt': 'private\n' }, auth: { 'private.txt': { username: 'demo', password: 'demo-password' } } },
    });
  });
  after(() => emu.stop());
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-init-emu-'));
    emu.setMetadata('initstack', 'WebServer', metadata());
    emu.clearRequestLog();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const env = () => toolEnv({ CFNTOOLS_HEAT_DIR: p('heat'), CFNTOOLS_CACHE_DIR: p('cache'), CFNTOOLS_STATE_DIR: p('state') });
  const args = () => ['-s', 'initstack', '-r', 'WebServer', '-u', emu.apiUrl, '--access-key', KEYS.accessKey, '--secret-key', KEYS.secretKey, '--log-file', p('cfn-init.log')];
  const cache = () => new MetadataCache(p('cache'));

  it('fetches the metadata with a verified signature, writes the files (downloads with basic auth), runs the commands, then updates the cache', async () => {
    const r = await runTool('cfn-init', args(), { env: env() });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fs.readFileSync(p('etc', 'inline.conf'), 'utf8'), 'inline=1\n');
    assert.equal(fs.statSync(p('etc', 'inline.conf')).mode & 0o777, 0o600);
    assert.equal(fs.readFileSync(p('copy'), 'utf8'), 'public\nprivate\n');
    const downloads = emu.requestLog.filter((e) => e.path.startsWith('/files/')).map((e) => `${e.path} ${e.status}`);
    assert.deepEqual(downloads.sort(), ['/files/private.txt 200', '/files/public.txt 200']);
    const calls = emu.requestLog.filter((e) => e.action === 'DescribeStackResource');
    assert.equal(calls.length, 1);
    assert.equal(calls[0].verified, 'ok');
    assert.equal(calls[0].accessKey, KEYS.accessKey);
    assert.deepEqual(cache().read('initstack', 'WebServer')?.metadata, metadata());
    const logText = fs.readFileSync(p('cfn-init.log'), 'utf8');
    assert.ok(!logText.includes(KEYS.secretKey) && !logText.includes('demo-password'), 'no secret in the log');
  });

  it('a failed run leaves the cache as it was', async () => {
    const broken = metadata();
    broken[INIT].app.commands['02_after'] = { command: ['/bin/sh', '-c', 'exit 9'] };
    emu.setMetadata('initstack', 'WebServer', broken);
    const r = await runTool('cfn-init', args(), { env: env() });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /configSets\.default\[1\] -> configSets\.app\[0\] -> app\.commands\.02_after failed with exit code 9/);
    assert.equal(cache().read('initstack', 'WebServer'), undefined);
    const dry = await runTool('cfn-init', [...args(), '--dry-run'], { env: env() });
    assert.equal(dry.status, 0, dry.stderr);
    assert.equal(cache().read('initstack', 'WebServer'), undefined, 'a dry run is not a run');
  });
});
