/**
 * cfn-hup's configuration from both peers' layouts: where the files are,
 * what each key means, and errors that name the file, line, section and key.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_HOOK_RETRIES, DEFAULT_HOOK_TIMEOUT_MS, DEFAULT_INTERVAL_MS, loadConfig, locateConfig } from '../../agents/cfn-hup/config';
import { ConfigError } from '../../shared/errors';

const HOOK = (name: string, extra = '') => `[${name}]\ntriggers=post.update\npath=Resources.Web.Metadata\naction=echo ${name}\n${extra}`;

describe('cfn-hup configuration', () => {
  let dir: string;
  const write = (rel: string, text: string, mode = 0o644) => {
    const file = path.join(dir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text, { mode });
    fs.chmodSync(file, mode);
    return file;
  };
  const env = () => ({ CFNTOOLS_CFN_DIR: path.join(dir, 'etc') });
  const load = (configDir?: string) => loadConfig(locateConfig(configDir, env()));
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-hup-config-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("reads AWS's layout: cfn-hup.conf, hooks.conf, then hooks.d/* by name; a later file's keys win", () => {
    write('etc/cfn-hup.conf', '[main]\nstack=teststack\n');
    write('etc/hooks.conf', HOOK('first') + HOOK('shared'));
    write('etc/hooks.d/b.conf', '[shared]\naction=echo from b\n');
    write('etc/hooks.d/a', HOOK('second'));
    const c = load();
    assert.deepEqual(c.hooks.map((h) => h.name), ['first', 'shared', 'second']);
    assert.equal(c.hooks[1].action, 'echo from b');
    assert.equal(c.hooks[1].file, path.join(dir, 'etc', 'hooks.d', 'b.conf'));
    assert.equal(c.main.stack, 'teststack');
    assert.equal(c.main.intervalMs, DEFAULT_INTERVAL_MS);
    assert.equal(c.main.hookTimeoutMs, DEFAULT_HOOK_TIMEOUT_MS);
    assert.equal(c.main.hookRetries, DEFAULT_HOOK_RETRIES);
    assert.equal(c.main.umask, 0o022);
    assert.deepEqual(c.warnings, []);
  });

  it("reads heat-cfntools' layout: -c names the hooks directory, cfn-hup.conf stays in /etc/cfn and may hold hooks itself", () => {
    write('etc/cfn-hup.conf', '[main]\nstack=teststack\n' + HOOK('in-main'));
    write('hooks/web.conf', HOOK('web'));
    const files = locateConfig(path.join(dir, 'hooks'), env());
    assert.equal(files.layout, 'heat');
    assert.equal(files.main, path.join(dir, 'etc', 'cfn-hup.conf'));
    assert.deepEqual(loadConfig(files).hooks.map((h) => h.name), ['in-main', 'web']);
  });

  it('a -c directory holding cfn-hup.conf is read the AWS way', () => {
    write('other/cfn-hup.conf', '[main]\nstack=s\n');
    write('other/hooks.d/x', HOOK('x'));
    const files = locateConfig(path.join(dir, 'other'), env());
    assert.equal(files.layout, 'aws');
    assert.deepEqual(loadConfig(files).hooks.map((h) => h.name), ['x']);
  });

  it('reads every [main] key of both peers and ours', () => {
    write(
      'etc/cfn-hup.conf',
      '[main]\nstack = arn:aws:cloudformation:us-east-1:1:stack/s/id\ncredential-file=/etc/cfn/cfn-credentials\nrole = web\nregion=us-east-1\nurl=http://127.0.0.1:8000/v1/\ninterval=5\nverbose=true\numask=077\nhook-timeout=60\nhook-retries=0\nsplay=0\nhttp-proxy=\nca-bundle=/etc/ssl/ca.pem\n',
    );
    write('etc/hooks.d/h', HOOK('h', 'timeout=9\nrunas=nobody\n'));
    const { main, hooks } = load();
    assert.deepEqual(
      { ...main, file: undefined },
      {
        file: undefined, stack: 'arn:aws:cloudformation:us-east-1:1:stack/s/id', credentialFile: '/etc/cfn/cfn-credentials', role: 'web', region: 'us-east-1', url: 'http://127.0.0.1:8000/v1/',
        intervalMs: 300_000, verbose: true, umask: 0o077, hookTimeoutMs: 60_000, hookRetries: 0, splayMs: 0, httpProxy: '', httpsProxy: undefined, caBundle: '/etc/ssl/ca.pem',
      },
    );
    assert.equal(hooks[0].timeoutMs, 9000);
    assert.equal(hooks[0].runas, 'nobody');
  });

  it('interval is minutes, as both peers read it, or seconds with an s; at most a day', () => {
    write('etc/hooks.d/h', HOOK('h'));
    for (const [v, ms] of [['1', 60_000], ['30s', 30_000], [' 2 ', 120_000], ['1440', 86_400_000], ['86400s', 86_400_000]] as const) {
      write('etc/cfn-hup.conf', `[main]\nstack=s\ninterval=${v}\n`);
      assert.equal(load().main.intervalMs, ms, v);
    }
    // Past a day: the daemon's next check would be past what a Date holds (it stopped with "Invalid time value").
    for (const v of ['0', '1.5', 'x', '-1', '0s', '1441', '86401s', '999999999999999', '9'.repeat(400)]) {
      write('etc/cfn-hup.conf', `[main]\nstack=s\ninterval=${v}\n`);
      assert.throws(() => load(), (e: unknown) => e instanceof ConfigError && e.message === `${path.join(dir, 'etc', 'cfn-hup.conf')}: line 3: [main] interval: expected whole minutes (15) or seconds (30s), at least 1, at most a day (1440 or 86400s), got ${JSON.stringify(v.trim())}`, v);
    }
  });

  it('splay is at most a day; hook-timeout and a hook\'s timeout take any whole number of seconds (a timer for any duration runs them)', () => {
    write('etc/hooks.d/h', HOOK('h', 'timeout=3000000\n'));
    write('etc/cfn-hup.conf', '[main]\nstack=s\nsplay=86400\nhook-timeout=2147484\n');
    const c = load();
    assert.deepEqual([c.main.splayMs, c.main.hookTimeoutMs, c.hooks[0]?.timeoutMs], [86_400_000, 2_147_484_000, 3_000_000_000]);
    write('etc/cfn-hup.conf', '[main]\nstack=s\nsplay=86401\n');
    assert.throws(() => load(), (e: unknown) => e instanceof ConfigError && e.message === `${path.join(dir, 'etc', 'cfn-hup.conf')}: line 3: [main] splay: expected at most a day (86400 s), got 86401`);
  });

  it('a runas that a program would read as an option is refused, naming file, line, hook and key', () => {
    write('etc/cfn-hup.conf', '[main]\nstack=s\n');
    write('etc/hooks.d/h', HOOK('h', 'runas=--service=files\n'));
    assert.throws(() => load(), (e: unknown) => e instanceof ConfigError && e.message === `${path.join(dir, 'etc', 'hooks.d', 'h')}: line 5: [h] runas: a user name cannot start with "-", got "--service=files"`);
    write('etc/hooks.d/h', HOOK('h', 'runas=nobody\n'));
    assert.equal(load().hooks[0]?.runas, 'nobody');
  });

  it('CFNTOOLS_HUP_INTERVAL_MS (benchmarks) is bounded the same way', () => {
    assert.throws(() => locateConfig(undefined, { CFNTOOLS_HUP_INTERVAL_MS: '86400001' }), /^ConfigError: CFNTOOLS_HUP_INTERVAL_MS: expected milliseconds from 1 to 86400000, got "86400001"$/);
    assert.equal(locateConfig(undefined, { CFNTOOLS_HUP_INTERVAL_MS: '86400000' }).intervalMs, 86_400_000);
  });

  it('hook paths: Metadata with a key path, PhysicalResourceId, the bare resource; the words in any case', () => {
    write('etc/cfn-hup.conf', '[main]\nstack=s\n');
    write(
      'etc/hooks.d/h',
      ['a', 'resources.Web.metadata.AWS::CloudFormation::Init.02_config', 'b', 'Resources.Db.PhysicalResourceId', 'c', 'Resources.Db', 'd', "Resources.Web.Metadata.'a.b'.c"]
        .reduce((acc, v, i, all) => (i % 2 ? acc : acc + `[${v}]\ntriggers=post.update\npath=${all[i + 1]}\naction=true\n`), ''),
    );
    assert.deepEqual(load().hooks.map((h) => h.path), [
      { resource: 'Web', kind: 'metadata', segments: ['AWS::CloudFormation::Init', '02_config'] },
      { resource: 'Db', kind: 'physical-id' },
      { resource: 'Db', kind: 'last-updated' },
      { resource: 'Web', kind: 'metadata', segments: ['a.b', 'c'] },
    ]);
  });

  it('refuses what cannot work, naming file, line, section and key', () => {
    const conf = path.join(dir, 'etc', 'cfn-hup.conf');
    const hook = path.join(dir, 'etc', 'hooks.d', 'h');
    const cases: Array<[string, string, 'conf' | 'hook', RegExp]> = [
      ['[main]\nregion=x\n', HOOK('h'), 'conf', /: \[main\] must set stack/],
      ['[other]\n', HOOK('h'), 'conf', /: no \[main\] section/],
      ['[main]\nstack=s\n', '[h]\ntriggers=post.update\npath=Resources.Web.Metadata\n', 'hook', /: \[h\] must set action/],
      ['[main]\nstack=s\n', HOOK('h').replace('post.update', 'post.updated'), 'hook', /: line 2: \[h\] triggers: unknown trigger "post.updated"; expected post.add, post.update, post.remove, service.restarted/],
      ['[main]\nstack=s\n', HOOK('h').replace('Resources.Web.Metadata', 'Web.Metadata'), 'hook', /: line 3: \[h\] path: "Web.Metadata" does not start with Resources\./],
      ['[main]\nstack=s\n', HOOK('h').replace('Resources.Web.Metadata', 'Resources.Web.Status'), 'hook', /: line 3: \[h\] path: "Status" is neither Metadata nor PhysicalResourceId/],
      ['[main]\nstack=s\numask=999\n', HOOK('h'), 'conf', /: line 3: \[main\] umask: expected an octal mask/],
      ['[main]\nstack=s\nverbose=perhaps\n', HOOK('h'), 'conf', /: line 3: \[main\] verbose: expected a boolean/],
      ['[main]\nstack=s\nhook-retries=-1\n', HOOK('h'), 'conf', /: line 3: \[main\] hook-retries: expected a whole number/],
      ['[main]\nstack=s\n', '', 'conf', /: no hooks: add a section with triggers, path and action/],
    ];
    for (const [main, hooks, where, error] of cases) {
      write('etc/cfn-hup.conf', main);
      write('etc/hooks.d/h', hooks);
      const file = where === 'conf' ? conf : hook;
      assert.throws(() => load(), (e: unknown) => e instanceof ConfigError && e.message.startsWith(file) && error.test(e.message), `${main} ${hooks} → ${error}`);
    }
    fs.rmSync(conf);
    assert.throws(() => load(), new RegExp(`^ConfigError: ${conf}: cannot open the main configuration: no such file`));
  });

  it('refuses files and directories other users could change: cfn-hup runs their actions', () => {
    write('etc/cfn-hup.conf', '[main]\nstack=s\n');
    const h = write('etc/hooks.d/h', HOOK('h'), 0o664);
    assert.throws(() => load(), /hooks\.d\/h: hooks file is writable by its group \(mode 0664\): refused/);
    fs.chmodSync(h, 0o644);
    if (process.getuid?.() === 0) {
      fs.chownSync(h, 65534, 65534);
      assert.throws(() => load(), /hooks\.d\/h: hooks file belongs to uid 65534, not to root/);
      fs.chownSync(h, 0, 0);
    }
    fs.chmodSync(path.join(dir, 'etc', 'hooks.d'), 0o777);
    assert.throws(() => load(), /hooks\.d: the hooks directory is writable by every user/);
  });

  it('warns about what it ignores: unknown keys, on.command hooks, [main] in a hooks file, non-files in hooks.d', () => {
    write('etc/cfn-hup.conf', '[main]\nstack=s\nintreval=5\n');
    write('etc/hooks.d/a', HOOK('h') + '[cmd]\ntriggers=on.command\npath=do-it\naction=true\n[main]\nstack=t\n' + HOOK('typo', 'actoin=x\n'));
    fs.mkdirSync(path.join(dir, 'etc', 'hooks.d', 'sub'));
    const c = load();
    assert.deepEqual(c.hooks.map((h) => h.name), ['h', 'typo']);
    const w = c.warnings.join('\n');
    assert.match(w, /cfn-hup\.conf: line 3: \[main\] intreval: not a cfn-hup key; ignored/);
    assert.match(w, /\[cmd\]: on\.command hooks .* not supported; hook ignored/);
    assert.match(w, /hooks\.d\/a: \[main\] belongs in .*cfn-hup\.conf; section ignored/);
    assert.match(w, /\[typo\] actoin: not a cfn-hup key/);
    assert.match(w, /hooks\.d\/sub: not a regular file; skipped/);
  });

  it('a bare % in an action is kept (both peers refuse the file); %% is a %', () => {
    write('etc/cfn-hup.conf', '[main]\nstack=s\n');
    write('etc/hooks.d/h', HOOK('a').replace('echo a', 'date +%s >> /tmp/x') + HOOK('b').replace('echo b', 'date +%%s'));
    assert.deepEqual(load().hooks.map((h) => h.action), ['date +%s >> /tmp/x', 'date +%s']);
  });

  it('triggers: comma- or space-separated, as heat-cfntools\' substring test reads both', () => {
    write('etc/cfn-hup.conf', '[main]\nstack=s\n');
    write('etc/hooks.d/h', HOOK('h').replace('post.update', 'post.add, post.update post.remove'));
    assert.deepEqual(load().hooks[0].triggers, ['post.add', 'post.update', 'post.remove']);
  });
});
