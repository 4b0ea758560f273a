/**
 * The engine with recording handlers for every key but `commands` (the
 * real one, real processes): validate-everything-first, key order, change
 * recording, failure stops the run, --dry-run, and the stop/resume protocol
 * of waitAfterCompletion: forever.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { applyRun, validateRun, type ApplyOptions, type Checkpointer } from '../../shared/init/engine';
import { commandsHandler } from '../../shared/init/handlers/commands';
import type { FilesSpec } from '../../shared/init/handlers/files';
import { HANDLERS } from '../../shared/init/handlers';
import { DEFAULT_LIMITS } from '../../shared/init/limits';
import { ChangeSet, INIT_KEYS, type Action, type InitHandler, type InitKey } from '../../shared/init/handlers/types';
import { restoreChanges, type Position, type SerializedChanges } from '../../shared/init/progress';
import { HostSystem } from '../../shared/system';
import { child, expectObject, InitValidationError, type JsonObject } from '../../shared/init/validation';
import { DurableWriter } from '../../shared/durable-write';
import { CfnError } from '../../shared/errors';
import { MemoryLogger } from '../../shared/log';

const system = new HostSystem();

/**
 * A handler whose spec is `{name: behaviour}`: `ok` changes, `same` is
 * already as required, `fail` throws when applied, `bad` is a validation
 * problem. Plans and applies are written to the journal.
 */
function recorder(key: InitKey, journal: string[]): InitHandler<Record<string, string>> {
  return {
    key,
    validate(raw, at, ctx) {
      const obj = expectObject(raw, at, ctx.problems);
      if (!obj) return undefined;
      let ok = true;
      for (const [name, v] of Object.entries(obj)) {
        if (v === 'bad') {
          ctx.problems.add(child(at, name), `bad value (user alice known: ${ctx.principals.known('user', 'alice')})`);
          ok = false;
        }
      }
      return ok ? (obj as Record<string, string>) : undefined;
    },
    async plan(spec, ctx) {
      journal.push(`plan ${ctx.keyPath}`);
      return Object.entries(spec).map(([name, behaviour]): Action => ({
        summary: `${key} ${name}`,
        changes: key === 'packages' ? [{ key, manager: 'apt', name }] : key === 'services' ? undefined : [{ key, name }],
        async apply(c) {
          journal.push(key === 'services' ? `apply ${c.keyPath}.${name} changed-files=${[...c.changes.files].join(',')}` : `apply ${c.keyPath}.${name}`);
          if (behaviour === 'fail') throw new CfnError(`${c.keyPath}.${name}: boom`);
          return { changed: behaviour !== 'same' };
        },
      }));
    },
  };
}

function handlers(journal: string[]): InitHandler<unknown>[] {
  return INIT_KEYS.map((k) => (k === 'commands' ? commandsHandler : recorder(k, journal))) as InitHandler<unknown>[];
}

const noDownloads = { blockNames: new Set<string>(), fetch: () => Promise.reject(new Error('no downloads')), fetchToFile: () => Promise.reject(new Error('no downloads')) };

describe('cfn-init engine', () => {
  let dir: string;
  let journal: string[];
  let log: MemoryLogger;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-engine-'));
    journal = [];
    log = new MemoryLogger();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function validate(init: JsonObject, configSets?: string[], strict = false) {
    return validateRun(init, { configSets, system, authenticationNames: new Set(), handlers: handlers(journal), limits: DEFAULT_LIMITS, strict });
  }
  function opts(extra: Partial<ApplyOptions> = {}): ApplyOptions {
    return { system, logger: log, commandLog: new MemoryLogger(), downloader: noDownloads, env: process.env, dryRun: false, handlers: handlers(journal), writer: new DurableWriter(path.join(dir, 'journal')), limits: DEFAULT_LIMITS, ...extra };
  }
  const cmd = (line: string, extra: object = {}) => ({ command: `echo ${line} >> ${path.join(dir, 'cmds')}`, ...extra });
  const cmds = () => (fs.existsSync(path.join(dir, 'cmds')) ? fs.readFileSync(path.join(dir, 'cmds'), 'utf8').trim().split('\n') : []);

  it('a problem quotes a long value by its start: a 2 MB string is not repeated in the error', () => {
    assert.throws(
      () => validate({ config: 'z'.repeat(2_000_000) as unknown as JsonObject }),
      (err: Error) => err instanceof InitValidationError && /expected a config object .*, got string "z{100}"\.\.\. \(2000000 characters\)/.test(err.message) && err.message.length < 1000,
    );
  });

  it('applies configs in set order and each config\'s keys in AWS order, whatever the JSON order; records only real changes', async () => {
    const init = {
      configSets: { default: ['second', 'first'] },
      first: { services: { svc: 'ok' }, files: { '/f1': 'ok', '/f2': 'same' }, packages: { nginx: 'ok' }, commands: { c: cmd('first') } },
      second: { users: { u: 'ok' }, groups: { g: 'ok' }, sources: { '/src': 'ok' } },
    };
    const outcome = await applyRun(validate(init), opts());
    assert.equal(outcome.kind, 'complete');
    assert.deepEqual(journal, [
      'plan configSets.default[0] -> second.groups',
      'apply configSets.default[0] -> second.groups.g',
      'plan configSets.default[0] -> second.users',
      'apply configSets.default[0] -> second.users.u',
      'plan configSets.default[0] -> second.sources',
      'apply configSets.default[0] -> second.sources./src',
      'plan configSets.default[1] -> first.packages',
      'apply configSets.default[1] -> first.packages.nginx',
      'plan configSets.default[1] -> first.files',
      'apply configSets.default[1] -> first.files./f1',
      'apply configSets.default[1] -> first.files./f2',
      'plan configSets.default[1] -> first.services',
      'apply configSets.default[1] -> first.services.svc changed-files=/f1',
    ]);
    assert.deepEqual(cmds(), ['first']);
    const c = outcome.changes;
    assert.deepEqual([...c.files], ['/f1']);
    assert.deepEqual([...c.commands], ['c']);
    assert.deepEqual([...(c.packages.get('apt') ?? [])], ['nginx']);
    assert.deepEqual([...c.users, ...c.groups, ...c.sources], ['u', 'g', '/src']);
    assert.ok(log.lines.includes('INFO configSets.default[1] -> first.files: files /f1'), log.lines.join('\n'));
  });

  it('validates the whole run first: every problem of every selected config, with its path, and nothing is planned or applied', () => {
    const init = {
      configSets: { default: ['a', 'b'], other: ['c'] },
      a: { files: { '/ok': 'ok' }, users: { alice: 'ok' }, comands: {} },
      b: { files: { '/x': 'bad' }, services: { s: 'bad' }, commands: { run: { command: 'true', runas: 'alice' }, broken: { command: 7 } } },
      c: { files: { '/not-selected': 'bad' } },
    };
    assert.throws(() => validate(init), (err: unknown) => {
      assert.ok(err instanceof InitValidationError);
      assert.deepEqual(
        err.problems.map((p) => p.path),
        [
          'configSets.default[1] -> b.files./x',
          'configSets.default[1] -> b.commands.broken.command',
          'configSets.default[1] -> b.services.s',
        ],
      );
      // Users declared by any selected config are known to all of them (runas alice is fine; the recorder shows them).
      assert.match(err.problems[0].message, /user alice known: true/);
      assert.match(err.message, /^3 problems in AWS::CloudFormation::Init:\n {2}configSets\.default\[1\] -> b\.files\.\/x: /);
      return true;
    });
    // Under strict the unknown config key (tolerated otherwise) is among them, saying so.
    assert.throws(() => validate(init, undefined, true), (err: unknown) => {
      assert.ok(err instanceof InitValidationError);
      assert.deepEqual(err.problems.map((p) => p.path).sort(), ['configSets.default[0] -> a.comands', 'configSets.default[1] -> b.commands.broken.command', 'configSets.default[1] -> b.files./x', 'configSets.default[1] -> b.services.s']);
      assert.match(err.message, /\n {2}configSets\.default\[0\] -> a\.comands: unknown key; a config holds packages, groups, users, sources, files, commands, services \(refused by --strict; without it: ignored\)$/m);
      return true;
    });
    assert.deepEqual(journal, []);
    assert.deepEqual(cmds(), []);
  });

  it('an unknown owner is accepted where an earlier step can create it: this config\'s packages, an earlier config\'s commands or packages; never a later one', () => {
    const file = (owner: string) => ({ files: { '/srv/x': { content: 'x', owner } } });
    const ownerOf = (init: JsonObject) => {
      const run = validateRun(init, { system, authenticationNames: new Set(), handlers: HANDLERS, configSets: undefined, limits: DEFAULT_LIMITS });
      return (run.configs.at(-1)!.keys.find((k) => k.key === 'files')!.spec as FilesSpec)[0].owner;
    };
    const pkg = { apt: { 'cfntest-pkg': [] } };
    assert.deepEqual(ownerOf({ config: { packages: pkg, ...file('cfnt-u') } }), { name: 'cfnt-u', after: 'packages' });
    assert.deepEqual(ownerOf({ configSets: { default: ['a', 'b'] }, a: { packages: pkg }, b: file('cfnt-u') }), { name: 'cfnt-u', after: 'the packages of config a' });
    assert.deepEqual(ownerOf({ configSets: { default: ['a', 'b', 'c'] }, a: { commands: { x: { command: 'true' } } }, b: { packages: {} }, c: file('cfnt-u') }), { name: 'cfnt-u', after: 'the commands of config a' });
    assert.deepEqual(ownerOf({ config: file('root') }), { name: 'root' });
    // The commands of the same config run after its files; a later config runs after it.
    assert.throws(
      () => validateRun({ configSets: { default: ['a', 'b'] }, a: { ...file('cfnt-u'), commands: { x: { command: 'true' } } }, b: { packages: pkg } }, { system, authenticationNames: new Set(), handlers: HANDLERS, configSets: undefined, limits: DEFAULT_LIMITS }),
      /configSets\.default\[0\] -> a\.files\.\/srv\/x\.owner: no such user "cfnt-u" on this machine, and no selected config creates it/,
    );
  });

  it('a config listed twice is reported once and a non-object config is a problem', () => {
    assert.throws(
      () => validate({ configSets: { default: ['a', 'a', 'n'] }, a: { files: { '/x': 'bad' } }, n: 'oops' }),
      (err: unknown) => {
        assert.ok(err instanceof InitValidationError);
        assert.deepEqual(err.problems.map((p) => p.path), ['configSets.default[0] -> a.files./x', 'configSets.default[2] -> n']);
        return true;
      },
    );
  });

  it('tolerated problems come with the valid run, once for a config listed twice; a config of unknown keys only configures nothing', () => {
    const run = validate({ configSets: { default: ['a', 'a'] }, a: { comands: { x: cmd('never') } } });
    assert.deepEqual(run.tolerated, [{ path: 'configSets.default[0] -> a.comands', message: 'unknown key; a config holds packages, groups, users, sources, files, commands, services', tolerated: 'ignored' }]);
    assert.deepEqual(run.configs.map((c) => c.keys), [[], []]);
    assert.equal(run.empty, true);
  });

  it('a failure stops the run: the rest of that config and the later configs are not applied; the log says what was done', async () => {
    const init = { configSets: { default: ['a', 'b'] }, a: { files: { '/1': 'ok', '/2': 'fail', '/3': 'ok' }, commands: { c: cmd('a') } }, b: { commands: { c: cmd('b') } } };
    await assert.rejects(applyRun(validate(init), opts()), /configSets\.default\[0\] -> a\.files\.\/2: boom/);
    assert.deepEqual(journal, ['plan configSets.default[0] -> a.files', 'apply configSets.default[0] -> a.files./1', 'apply configSets.default[0] -> a.files./2']);
    assert.deepEqual(cmds(), []);
    const errors = log.lines.filter((l) => l.startsWith('ERROR'));
    assert.deepEqual(errors, [
      'ERROR BUILD FAILED at configSets.default[0] -> a.files: configSets.default[0] -> a.files./2: boom',
      'ERROR Applied before the failure: files /1',
      'ERROR Not run: the rest of configSets.default[0] -> a.files and the configs configSets.default[1] -> b',
    ]);
  });

  it('--dry-run plans and prints everything, records planned changes (services see them), applies nothing', async () => {
    const lines: string[] = [];
    const init = { config: { files: { '/f': 'ok' }, commands: { '01': cmd('x', { test: 'true' }), '02': cmd('y', { waitAfterCompletion: 'forever' }) }, services: { svc: 'ok' } } };
    const outcome = await applyRun(validate(init), opts({ dryRun: true, print: (l) => lines.push(l) }));
    assert.equal(outcome.kind, 'complete');
    assert.deepEqual(journal, ['plan config.files', 'plan config.services']);
    assert.deepEqual(cmds(), []);
    assert.deepEqual([...outcome.changes.files], ['/f']);
    assert.deepEqual([...outcome.changes.commands], ['01', '02']);
    assert.deepEqual(lines, [
      'configSet default',
      '  config config',
      '    files:',
      '      - files /f',
      '    commands:',
      `      - run command 01: echo x >> ${path.join(dir, 'cmds')} (if test true succeeds)`,
      `      - run command 02: echo y >> ${path.join(dir, 'cmds')} (then stop for a reboot)`,
      '    services:',
      '      - services svc',
    ]);
  });

  describe('waitAfterCompletion: forever', () => {
    const init = () => ({
      configSets: { default: ['a', 'b'] },
      a: { files: { '/f': 'ok' }, commands: { '1': cmd('1'), '2_reboot': cmd('2', { waitAfterCompletion: 'forever' }), '3': cmd('3') }, services: { svc: 'ok' } },
      b: { commands: { '1': cmd('b1') } },
    });
    function saver() {
      const saved: Array<{ position: Position; changes: SerializedChanges; at: string }> = [];
      let reverted = 0;
      const cp: Checkpointer = {
        save: async (position, changes, at) => void saved.push({ position, changes, at }),
        revert: async () => void reverted++,
      };
      return { cp, saved, reverted: () => reverted };
    }

    it('saves progress before the command (it may reboot before returning), then stops right after it', async () => {
      const s = saver();
      const outcome = await applyRun(validate(init()), opts({ checkpoint: s.cp }));
      assert.deepEqual(outcome.kind === 'stopped' && outcome.at, 'configSets.default[0] -> a.commands.2_reboot');
      assert.deepEqual(cmds(), ['1', '2']);
      assert.equal(s.saved.length, 1);
      assert.deepEqual(s.saved[0].position, { config: 0, configName: 'a', commandsDone: ['1', '2_reboot'] });
      assert.deepEqual(s.saved[0].changes.files, ['/f']);
      assert.deepEqual(s.saved[0].changes.commands, ['1', '2_reboot']);
      assert.equal(s.reverted(), 0);
      assert.ok(!journal.some((j) => j.includes('services')), 'services come after the stop');
    });

    it('resuming continues exactly after that command: earlier keys and commands are not repeated; services still see earlier changes', async () => {
      const s = saver();
      await applyRun(validate(init()), opts({ checkpoint: s.cp }));
      journal.length = 0;
      const { position, changes } = s.saved[0];
      const outcome = await applyRun(validate(init()), opts({ resume: { position, changes: restoreChanges(changes) } }));
      assert.equal(outcome.kind, 'complete');
      assert.deepEqual(cmds(), ['1', '2', '3', 'b1']);
      assert.deepEqual(journal, ['plan configSets.default[0] -> a.services', 'apply configSets.default[0] -> a.services.svc changed-files=/f']);
      assert.deepEqual([...outcome.changes.commands].sort(), ['1', '2_reboot', '3']);
    });

    it('a forever command whose test fails does not stop the run', async () => {
      const s = saver();
      const i = init();
      i.a.commands['2_reboot'] = cmd('2', { waitAfterCompletion: 'forever', test: 'false' });
      const outcome = await applyRun(validate(i), opts({ checkpoint: s.cp }));
      assert.equal(outcome.kind, 'complete');
      assert.deepEqual(cmds(), ['1', '3', 'b1']);
    });

    it('a forever command that fails takes its saved progress back', async () => {
      const s = saver();
      const i = init();
      i.a.commands['2_reboot'] = { command: 'exit 4', waitAfterCompletion: 'forever' } as never;
      await assert.rejects(applyRun(validate(i), opts({ checkpoint: s.cp })), /configSets\.default\[0\] -> a\.commands\.2_reboot failed with exit code 4/);
      assert.equal(s.saved.length, 1);
      assert.equal(s.reverted(), 1);
    });

    it('refuses to resume a run whose configs do not match the saved position', async () => {
      await assert.rejects(
        applyRun(validate(init()), opts({ resume: { position: { config: 1, configName: 'a', commandsDone: [] }, changes: new ChangeSet() } })),
        /saved progress does not match this run: config #2 is b, expected a/,
      );
      assert.deepEqual(cmds(), []);
    });
  });

  it('keeps key paths readable: no configSets means paths start at the config name', async () => {
    const outcome = await applyRun(validate({ config: { commands: { x: { command: 'exit 2' } } } }), opts()).catch((e: Error) => e);
    assert.ok(outcome instanceof CfnError);
    assert.equal(outcome.message, 'config.commands.x failed with exit code 2');
  });
});
