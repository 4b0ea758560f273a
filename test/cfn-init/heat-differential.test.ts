/**
 * Differential test against the real heat-cfntools cfn-init (Debian package
 * heat-cfntools 1.4.2) on the cases where it works: string file content,
 * modes and owners, commands as strings and lists, env replacement, test,
 * ignoreErrors, command order, configSets without references, a failing
 * command.
 *
 * Both tools run in the same kind of sandbox: a private mount namespace with
 * a temp dir bind-mounted over /var (heat-cfntools hard-codes
 * /var/lib/heat-cfntools/cfn-init-data, /var/cache/heat-cfntools and
 * /var/log/cfn-init.log) and another over /srv (where the metadata writes),
 * and a private network namespace with only lo. Ours runs with its default
 * paths, so the test also shows that nothing in it is path-specific. The
 * resulting trees (content, type, mode, owner) and exit codes must match.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BUNDLE, runProcess, toolEnv, type RunResult } from '../support/cli';

const HCT = '/usr/bin/cfn-init';
const INIT = 'AWS::CloudFormation::Init';

function unavailable(): string | undefined {
  if (!fs.existsSync(HCT)) return `${HCT} is not installed (apt-get install heat-cfntools)`;
  if (process.getuid?.() !== 0) return 'needs root (mount namespaces, chown)';
  const probe = spawnSync('unshare', ['-m', '-n', 'true']);
  if (probe.status !== 0) return `unshare -m -n does not work here: ${probe.stderr}`;
  if (!fs.existsSync('/srv')) return '/srv is missing';
  return undefined;
}

/** Mount the sandbox's var/ over /var and root/ over /srv, bring lo up, exec the tool. */
const SANDBOX = 'mount --bind "$1/var" /var && mount --bind "$1/root" /srv && ip link set lo up && shift && exec "$@"';

function runSandboxed(base: string, argv: string[]): Promise<RunResult> {
  return runProcess(['unshare', '-m', '-n', '--propagation', 'private', '/bin/sh', '-c', SANDBOX, 'sandbox', base, ...argv], {
    env: toolEnv({ CFNDIFF: 'inherited' }),
    cwd: '/',
  });
}

function makeSandbox(base: string, metadata: unknown): void {
  for (const d of ['var/lib/heat-cfntools', 'var/cache', 'var/log', 'var/tmp', 'root']) fs.mkdirSync(path.join(base, d), { recursive: true, mode: 0o755 });
  fs.chmodSync(path.join(base, 'var/tmp'), 0o1777);
  fs.chmodSync(path.join(base, 'root'), 0o755);
  fs.symlinkSync('/run', path.join(base, 'var/run'));
  fs.symlinkSync('/run/lock', path.join(base, 'var/lock'));
  fs.writeFileSync(path.join(base, 'var/lib/heat-cfntools/cfn-init-data'), JSON.stringify(metadata));
}

interface Entry {
  type: string;
  mode: string;
  owner: string;
  content?: string;
}

/** Every entry under `root`: type, permission bits, owner and content. */
function tree(root: string, rel = ''): Record<string, Entry> {
  const out: Record<string, Entry> = {};
  for (const name of fs.readdirSync(path.join(root, rel)).sort()) {
    const r = path.join(rel, name);
    const st = fs.lstatSync(path.join(root, r));
    const e: Entry = { type: st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : 'file', mode: (st.mode & 0o7777).toString(8), owner: `${st.uid}:${st.gid}` };
    if (st.isFile()) e.content = fs.readFileSync(path.join(root, r), 'utf8');
    if (st.isSymbolicLink()) e.content = fs.readlinkSync(path.join(root, r));
    out[r] = e;
    if (st.isDirectory()) Object.assign(out, tree(root, r));
  }
  return out;
}

interface Outcome {
  status: number | null;
  tree: Record<string, Entry>;
  detail: string;
}

async function runBoth(dir: string, metadata: unknown, args: string[]): Promise<{ hct: Outcome; ours: Outcome }> {
  const result: Partial<Record<'hct' | 'ours', Outcome>> = {};
  for (const side of ['hct', 'ours'] as const) {
    const base = path.join(dir, side);
    makeSandbox(base, metadata);
    const argv = side === 'hct' ? [HCT, ...args] : [process.execPath, BUNDLE, 'cfn-init', ...args];
    const r = await runSandboxed(base, argv);
    const logFile = path.join(base, 'var/log/cfn-init.log');
    const detail = `${side} exit ${r.status}\nstderr: ${r.stderr}\nlog:\n${fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '(none)'}`;
    result[side] = { status: r.status, tree: tree(path.join(base, 'root')), detail };
  }
  return result as { hct: Outcome; ours: Outcome };
}

describe('cfn-init differential: heat-cfntools vs ours (private mount and network namespaces)', function () {
  const why = unavailable();
  let dir: string;
  before(function () {
    if (why) this.skip();
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-diff-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function same(metadata: unknown, args: string[] = [], expectStatus = 0): Promise<Record<string, Entry>> {
    const { hct, ours } = await runBoth(dir, metadata, args);
    assert.equal(hct.status, expectStatus, hct.detail);
    assert.equal(ours.status, expectStatus, ours.detail);
    assert.deepEqual(ours.tree, hct.tree, `${hct.detail}\n${ours.detail}`);
    return ours.tree;
  }

  it('files (string content, modes, owners, nested directories) and commands (string and list, env, cwd, test, ignoreErrors, order)', async () => {
    const t = await same({
      [INIT]: {
        config: {
          files: {
            '/srv/a/b/plain.txt': { content: 'line1\nline2 ünïcödé ✓\n', mode: '000600', owner: 'nobody', group: 'nogroup' },
            '/srv/exec.sh': { content: '#!/bin/sh\necho hi\n', mode: '000755' },
            '/srv/nomode.txt': { content: 'no mode\n' },
            '/srv/rootowned.txt': { content: 'r\n', owner: 'root', group: 'root', mode: '000640' },
          },
          commands: {
            '10_first': { command: 'echo "first cwd=$(pwd) FOO=$FOO" >> /srv/cmds.log', cwd: '/srv/a', env: { FOO: 'bar' } },
            '15_test_false': { command: 'echo never >> /srv/cmds.log', test: 'test -e /srv/nothere' },
            '16_test_true': { command: 'echo test-true >> /srv/cmds.log', test: 'test -e /srv/nomode.txt' },
            '19_env_replaces': { command: 'echo "PATH=$PATH HOME=${HOME-unset} X=$X MARK=${CFNDIFF-unset}" >> /srv/cmds.log', env: { X: '1' } },
            '1_sorts_before_10': { command: ['/bin/sh', '-c', 'echo list-form "$0" >> /srv/cmds.log', '$HOME'] },
            '20_inherit': { command: 'echo "MARK=$CFNDIFF" >> /srv/cmds.log' },
            '21_list_env': { command: ['sh', '-c', 'echo "list X=$X HOME=${HOME-unset}" >> /srv/cmds.log'], env: { X: '2' } },
            '30_ignored': { command: 'echo ignored >> /srv/cmds.log; exit 3', ignoreErrors: 'true' },
            A_upper: { command: 'echo A >> /srv/cmds.log' },
            a_lower: { command: 'echo a >> /srv/cmds.log' },
          },
        },
      },
    });
    assert.deepEqual(t['cmds.log'].content!.trim().split('\n'), [
      'first cwd=/srv/a FOO=bar',
      'test-true',
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=unset X=1 MARK=unset',
      'list-form $HOME',
      'MARK=inherited',
      'list X=2 HOME=unset',
      'ignored',
      'A',
      'a',
    ]);
    assert.deepEqual(t['a/b/plain.txt'], { type: 'file', mode: '600', owner: '65534:65534', content: 'line1\nline2 ünïcödé ✓\n' });
  });

  it('configSets: the default set, and -c with two sets (trimmed) running a config twice', async () => {
    const meta = {
      [INIT]: {
        configSets: { default: ['c1', 'c2'], other: ['c2'] },
        c1: { commands: { x: { command: 'echo c1 >> /srv/cs.log' } } },
        c2: { commands: { x: { command: 'echo c2 >> /srv/cs.log' } }, files: { '/srv/c2.txt': { content: 'c2\n' } } },
      },
    };
    assert.equal((await same(meta))['cs.log'].content, 'c1\nc2\n');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir);
    assert.equal((await same(meta, ['-c', 'other, default']))['cs.log'].content, 'c2\nc1\nc2\n');
  });

  it('a failing command: both exit 1, what ran before stays, nothing after it runs', async () => {
    const t = await same(
      {
        [INIT]: {
          config: {
            files: { '/srv/written-first.txt': { content: 'files run before commands\n' } },
            commands: {
              '01_ok': { command: 'echo 01 >> /srv/fail.log' },
              '02_fail': { command: 'echo 02 >> /srv/fail.log; exit 5' },
              '03_never': { command: 'echo 03 >> /srv/fail.log' },
            },
          },
        },
      },
      [],
      1,
    );
    assert.equal(t['fail.log'].content, '01\n02\n');
    assert.ok(t['written-first.txt']);
  });
});
