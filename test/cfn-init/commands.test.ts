/**
 * The commands handler with real processes in a temp dir: order, shell vs
 * argv, env replacement, cwd, test, ignoreErrors, waitAfterCompletion,
 * runas (a real uid change), and validation with exact key paths.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CommandError } from '../../shared/init/handlers/command';
import { CommandAction, commandsHandler, type CommandSpec } from '../../shared/init/handlers/commands';
import { compareCodePoints } from '../../shared/pystr';
import { ChangeSet, type HandlerContext, type ValidationContext } from '../../shared/init/handlers/types';
import { HostSystem } from '../../shared/system';
import { Problems } from '../../shared/init/validation';
import { CfnError } from '../../shared/errors';
import { DurableWriter } from '../../shared/durable-write';
import { MemoryLogger } from '../../shared/log';
import { principalDirectory, UnknownPrincipalError } from '../../shared/init/principals';
import { DEFAULT_LIMITS } from '../../shared/init/limits';

const system = new HostSystem();

function vctx(declaredUsers: string[] = [], createdBy?: string): ValidationContext {
  return { problems: new Problems(), principals: principalDirectory(system, { users: declaredUsers, groups: [] }), createdBy, system, authenticationNames: new Set(), limits: DEFAULT_LIMITS };
}

function hctx(env: NodeJS.ProcessEnv = { ...process.env, CFNTOOLS_TEST_MARKER: 'inherited' }): HandlerContext & { logger: MemoryLogger; commandLog: MemoryLogger } {
  return {
    logger: new MemoryLogger(),
    system,
    downloader: { blockNames: new Set(), fetch: () => Promise.reject(new Error('no downloads here')), fetchToFile: () => Promise.reject(new Error('no downloads here')) },
    changes: new ChangeSet(),
    dryRun: false,
    keyPath: 'config.commands',
    env,
    commandLog: new MemoryLogger(),
    writer: new DurableWriter(path.join(os.tmpdir(), `cfntools-test-journal-${process.pid}`)),
    limits: DEFAULT_LIMITS,
  };
}

function validate(raw: unknown, ctx = vctx()): CommandSpec[] {
  const specs = commandsHandler.validate(raw, 'config.commands', ctx);
  assert.deepEqual(ctx.problems.list, []);
  assert.ok(specs);
  return specs;
}

/** Validate, plan and apply; returns which commands reported a change. */
async function run(raw: unknown, ctx = hctx()): Promise<string[]> {
  const changed: string[] = [];
  for (const action of await commandsHandler.plan(validate(raw), ctx)) {
    const r = await action.apply(ctx);
    if (r.changed) for (const c of action.changes ?? []) changed.push(c.name);
  }
  return changed;
}

describe('cfn-init commands', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-cmd-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const out = (name = 'out') => path.join(dir, name);
  const read = (name = 'out') => fs.readFileSync(out(name), 'utf8');

  it('runs in code-point order of the names (10_x before 2_x, upper case before lower case), like both peers', async () => {
    const names = ['a_lower', '2_second', 'A_upper', '10_first', '1_sorts_before_10'];
    const raw = Object.fromEntries(names.map((n) => [n, { command: `echo ${n} >> ${out()}` }]));
    const changed = await run(raw);
    assert.deepEqual(read().trim().split('\n'), ['10_first', '1_sorts_before_10', '2_second', 'A_upper', 'a_lower']);
    assert.deepEqual(changed, ['10_first', '1_sorts_before_10', '2_second', 'A_upper', 'a_lower']);
  });

  it('sorts by code point above U+FFFF too, where UTF-16 order differs (Python sorted())', () => {
    assert.ok(compareCodePoints('\uffff', '\u{1f600}') < 0);
    assert.ok(['\u{1f600}', '\uffff'].sort()[0] === '\u{1f600}', 'JS default sort would put the emoji first');
    assert.deepEqual(['\u{1f600}', '\uffff', 'b', 'a', 'ab'].sort(compareCodePoints), ['a', 'ab', 'b', '\uffff', '\u{1f600}']);
  });

  it('a string runs through /bin/sh; a list runs directly, with no shell expansion', async () => {
    await run({
      a: { command: `echo "$((1+2)) $CFNTOOLS_TEST_MARKER" > ${out('shell')}` },
      b: { command: ['/bin/sh', '-c', `printf '%s\\n' "$0" > ${out('argv')}`, '$CFNTOOLS_TEST_MARKER'] },
    });
    assert.equal(read('shell'), '3 inherited\n');
    assert.equal(read('argv'), '$CFNTOOLS_TEST_MARKER\n');
  });

  it('a command that leaves a daemon holding its output does not hang the run (AWS cfn-init hangs)', async () => {
    const started = Date.now();
    await run({ daemon: { command: `echo started; sleep 30 & echo $! > ${out('pid')}` }, next: { command: `echo next > ${out('next')}` } });
    try {
      assert.equal(read('next'), 'next\n');
      assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
    } finally {
      process.kill(Number(read('pid')), 'SIGTERM');
    }
  });

  it('env replaces the whole environment (AWS and heat-cfntools); {} inherits it', async () => {
    await run({
      a: { command: `echo "FOO=$FOO HOME=\${HOME-unset} MARKER=\${CFNTOOLS_TEST_MARKER-unset}" > ${out('replaced')}`, env: { FOO: 'bar', NUM: 5 } },
      b: { command: `echo "MARKER=$CFNTOOLS_TEST_MARKER" > ${out('inherited')}`, env: {} },
    });
    assert.equal(read('replaced'), 'FOO=bar HOME=unset MARKER=unset\n');
    assert.equal(read('inherited'), 'MARKER=inherited\n');
  });

  it('cwd sets the working directory, ~ expands to HOME; a missing cwd fails naming the key path', async () => {
    fs.mkdirSync(out('home'));
    await run(
      {
        a: { command: `pwd > ${out('pwd1')}`, cwd: dir },
        b: { command: ['sh', '-c', `pwd > ${out('pwd2')}`], cwd: '~' },
      },
      hctx({ ...process.env, HOME: out('home') }),
    );
    assert.equal(read('pwd1'), `${fs.realpathSync(dir)}\n`);
    assert.equal(read('pwd2'), `${fs.realpathSync(out('home'))}\n`);
    await assert.rejects(run({ c: { command: `touch ${out('never')}`, cwd: out('missing') } }), (err: unknown) => {
      assert.ok(err instanceof CfnError);
      assert.equal(err.message, `config.commands.c.cwd: working directory ${out('missing')} does not exist`);
      return true;
    });
    assert.ok(!fs.existsSync(out('never')));
  });

  it('test: a non-zero exit skips the command, which is not a change; zero runs it; list form too', async () => {
    const ctx = hctx();
    const changed = await run(
      {
        skipped: { command: `touch ${out('skipped')}`, test: 'exit 1' },
        ran: { command: `touch ${out('ran')}`, test: `test -d ${dir}` },
        listtest: { command: `touch ${out('listtest')}`, test: ['/bin/false'] },
      },
      ctx,
    );
    assert.deepEqual(changed, ['ran']);
    assert.ok(!fs.existsSync(out('skipped')));
    assert.ok(fs.existsSync(out('ran')));
    assert.ok(!fs.existsSync(out('listtest')));
    assert.ok(ctx.logger.lines.some((l) => /config\.commands\.skipped: test exited with code 1; skipping the command/.test(l)), ctx.logger.lines.join('\n'));
  });

  it('a failure stops with "<path>.<name> failed with exit code N"; later commands do not run; output goes to the command log', async () => {
    const ctx = hctx();
    await assert.rejects(
      run({ '01_ok': { command: `echo 01 >> ${out()}` }, '02_fail': { command: `echo 02 >> ${out()}; echo oops; exit 5` }, '03_never': { command: `echo 03 >> ${out()}` } }, ctx),
      (err: unknown) => {
        assert.ok(err instanceof CommandError);
        assert.equal(err.status, 5);
        assert.equal(err.message, 'config.commands.02_fail failed with exit code 5 (last output: "oops")');
        return true;
      },
    );
    assert.equal(read(), '01\n02\n');
    assert.ok(ctx.commandLog.lines.includes('INFO \toops'), ctx.commandLog.lines.join('\n'));
    assert.ok(ctx.commandLog.lines.includes('INFO Exited with error code 5'));
  });

  it('ignoreErrors (any of the peers\' boolean spellings) continues and still counts the command as run', async () => {
    const changed = await run({
      a: { command: 'exit 3', ignoreErrors: 'true' },
      b: { command: ['/nonexistent/program'], ignoreErrors: true },
      c: { command: `touch ${out()}` },
    });
    assert.deepEqual(changed, ['a', 'b', 'c']);
    assert.ok(fs.existsSync(out()));
  });

  it('a missing program in list form fails like exit 127 would', async () => {
    await assert.rejects(run({ a: { command: ['/nonexistent/program', 'x'] } }), /config\.commands\.a failed with exit code 127 \(last output: ".*command not found/);
  });

  it('runas runs with the real uid and gid of that user (heat-cfntools only sets the euid, which sh drops)', async function () {
    if (process.getuid?.() !== 0) this.skip();
    const nobody = system.user('nobody');
    assert.ok(nobody, 'the nobody user exists');
    fs.chmodSync(dir, 0o777);
    await run({
      shell: { command: `echo "$(id -u) $(id -ru) $(id -g) $(id -rg) $HOME $USER" > ${out('shell')}`, runas: 'nobody' },
      argv: { command: ['/bin/sh', '-c', `id -ru > ${out('argv')}`], runas: 'nobody' },
    });
    assert.equal(read('shell'), `${nobody.uid} ${nobody.uid} ${nobody.gid} ${nobody.gid} ${nobody.home} nobody\n`);
    assert.equal(read('argv'), `${nobody.uid}\n`);
    assert.equal(fs.statSync(out('shell')).uid, nobody.uid);
  });

  it('runas gives the user its supplementary groups, as a login would', async function () {
    if (process.getuid?.() !== 0) this.skip();
    const name = `cfntest-${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
    const sh = (c: string) => assert.equal(spawnSync('/bin/sh', ['-c', c]).status, 0, c);
    sh(`groupadd ${name}g && useradd -M -N -g nogroup -G ${name}g -s /usr/sbin/nologin ${name}`);
    try {
      const group = system.group(`${name}g`);
      assert.ok(group);
      fs.chmodSync(dir, 0o777);
      await run({ groups: { command: `id -G > ${out('groups')}`, runas: name } });
      assert.ok(read('groups').trim().split(' ').includes(String(group.gid)), read('groups'));
    } finally {
      spawnSync('/bin/sh', ['-c', `userdel ${name}; groupdel ${name}g`]);
    }
  });

  it('command: "" and test: "" run sh -c "" as aws-cfn-bootstrap does (a tolerated mistake): the command counts as run', async () => {
    const ctx = vctx();
    const specs = commandsHandler.validate({ a: { command: '' }, b: { command: `echo b > ${out()}`, test: ' ' } }, 'config.commands', ctx);
    assert.deepEqual(ctx.problems.list, []);
    assert.deepEqual(ctx.problems.tolerated, [
      { path: 'config.commands.a.command', message: 'empty command', tolerated: 'runs sh -c "", which does nothing' },
      { path: 'config.commands.b.test', message: 'empty command', tolerated: 'runs sh -c "", which succeeds: the command runs' },
    ]);
    const h = hctx();
    const actions = await commandsHandler.plan(specs!, h);
    assert.equal(actions[0].summary, 'run command a: ""');
    const changed: string[] = [];
    for (const a of actions) if ((await a.apply(h)).changed) changed.push(...(a.changes ?? []).map((c) => c.name));
    assert.deepEqual(changed, ['a', 'b']);
    assert.equal(read(), 'b\n');
    assert.match(h.commandLog.lines.join('\n'), /Running: ""\n.*Completed successfully\./);
  });

  it('waitAfterCompletion: seconds wait after the command ran, not when its test skipped it', async () => {
    let t0 = Date.now();
    await run({ a: { command: 'true', waitAfterCompletion: 0.4 } });
    assert.ok(Date.now() - t0 >= 400, `waited ${Date.now() - t0} ms`);
    t0 = Date.now();
    await run({ a: { command: 'true', test: 'false', waitAfterCompletion: '5' } });
    assert.ok(Date.now() - t0 < 2000);
  });

  it('waitAfterCompletion: forever marks the action as stopping the run (the engine stops after it)', async () => {
    const [forever, plain] = await commandsHandler.plan(validate({ a: { command: 'true', waitAfterCompletion: 'Forever' }, b: { command: 'true' } }), hctx());
    assert.ok(forever.step?.stopsRun === true);
    assert.ok(plain.step?.stopsRun === false);
    assert.match(forever.summary, /then stop for a reboot/);
  });

  it('validation reports every problem with its key path and changes nothing', () => {
    const ctx = vctx(['newuser']);
    const specs = commandsHandler.validate(
      {
        a: { cmd: 'typo' },
        b: { command: 'x', env: { GOOD: 'v', BAD: { no: 1 } }, cwd: 'relative/dir', waitAfterCompletion: 'later', ignoreErrors: 'perhaps' },
        c: { command: [], test: 42 },
        d: { command: 'x', runas: 'no-such-user-cfntools' },
        e: { command: 'x', runas: 'newuser' },
        f: { command: ['ok', { not: 'a string' }], defaults: 'cmd' },
        g: 'not an object',
        h: { command: 'x', cwd: 'C:\\cfn' },
      },
      'config.commands',
      ctx,
    );
    assert.equal(specs, undefined);
    assert.deepEqual(
      ctx.problems.list.map((p) => p.path),
      [
        'config.commands.a',
        'config.commands.b.env.BAD',
        'config.commands.b.cwd',
        'config.commands.b.ignoreErrors',
        'config.commands.b.waitAfterCompletion',
        'config.commands.c.command',
        'config.commands.c.test',
        'config.commands.d.runas',
        'config.commands.f.defaults',
        'config.commands.f.command[1]',
        'config.commands.g',
        'config.commands.h.cwd',
      ],
    );
    const msg = (p: string) => ctx.problems.list.find((x) => x.path === p)!.message;
    // aws-cfn-bootstrap reads only the attributes it knows: the others are tolerated.
    assert.deepEqual(ctx.problems.tolerated, [{ path: 'config.commands.a.cmd', message: 'unknown key; expected one of command, env, cwd, test, ignoreErrors, waitAfterCompletion, runas', tolerated: 'ignored' }]);
    assert.match(msg('config.commands.a'), /no 'command' attribute/);
    assert.match(msg('config.commands.b.cwd'), /absolute path/);
    assert.match(msg('config.commands.d.runas'), /no user "no-such-user-cfntools"/);
    assert.match(msg('config.commands.f.defaults'), /not supported/);
    assert.equal(msg('config.commands.h.cwd'), 'a Windows path: Windows is not supported on Linux');
  });

  it('a runas user that an earlier step may create is accepted, noted in the plan, and looked up when the command runs', async () => {
    const specs = validate({ a: { command: 'true', runas: 'cfntest-made-later' } }, vctx([], 'the commands of config setup'));
    assert.deepEqual(specs[0].runas, { name: 'cfntest-made-later', after: 'the commands of config setup' });
    const action = new CommandAction(specs[0]);
    assert.match(action.summary, /; runas cfntest-made-later: looked up when the command runs, after the commands of config setup$/);
    await assert.rejects(action.apply(hctx()), (e: unknown) => e instanceof UnknownPrincipalError && e.message === 'config.commands.a.runas: no such user "cfntest-made-later" (it was expected to exist after the commands of config setup)');
  });
});
