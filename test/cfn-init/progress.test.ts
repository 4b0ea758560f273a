import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ChangeSet } from '../../shared/init/handlers/types';
import { DurableWriter } from '../../shared/durable-write';
import { PROGRESS_FILE, ProgressStore, restoreChanges, serializeChanges, type Checkpoint } from '../../shared/init/progress';
import { canonicalHash } from '../../shared/metadata-hash';
import { DEFAULT_STATE_DIR, stateDir } from '../../shared/paths';
import { ConfigError } from '../../shared/errors';

function checkpoint(metadata: unknown): Checkpoint {
  const changes = new ChangeSet();
  changes.record({ key: 'files', name: '/etc/a' });
  changes.record({ key: 'packages', manager: 'apt', name: 'nginx' });
  return {
    format: 1,
    metadataHash: canonicalHash(metadata),
    metadata,
    configSets: ['default'],
    stack: 's',
    resource: 'r',
    source: 'test',
    position: { config: 0, configName: 'config', commandsDone: ['01'] },
    changes: serializeChanges(changes),
    stoppedAt: 'config.commands.01',
    savedAt: new Date().toISOString(),
  };
}

describe('cfn-init progress (resume state)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-progress-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('lives in /var/lib/cfntools/cfn-init unless CFNTOOLS_STATE_DIR moves it', () => {
    assert.equal(stateDir({}), '/var/lib/cfntools/cfn-init');
    assert.equal(stateDir({ CFNTOOLS_STATE_DIR: dir }), dir);
  });

  it('round-trips a checkpoint in a 0600 file in a 0700 directory (it holds the metadata); clear removes it', async () => {
    const store = new ProgressStore(path.join(dir, 'state'), new DurableWriter(path.join(dir, 'journal')));
    assert.equal(store.read(), undefined);
    const cp = checkpoint({ 'AWS::CloudFormation::Init': { config: {} }, secret: 'x' });
    await store.write(cp);
    assert.deepEqual(store.read(), cp);
    assert.equal(fs.statSync(store.file).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.join(dir, 'state')).mode & 0o777, 0o700);
    store.clear();
    assert.equal(store.read(), undefined);
  });

  it('a damaged file is a clear error naming it, never a resume at a wrong place', () => {
    const store = new ProgressStore(dir, new DurableWriter(path.join(dir, 'journal')));
    fs.writeFileSync(store.file, '{not json');
    assert.throws(() => store.read(), (e: unknown) => e instanceof ConfigError && e.message.includes(store.file) && /not valid JSON/.test(e.message));
    const cp = checkpoint({ a: 1 });
    fs.writeFileSync(store.file, JSON.stringify({ ...cp, metadata: { a: 2 } }));
    assert.throws(() => store.read(), /damaged: the metadata does not match its hash/);
    fs.writeFileSync(store.file, JSON.stringify({ ...cp, position: { config: -1 } }));
    assert.throws(() => store.read(), /damaged: bad position/);
    fs.writeFileSync(store.file, JSON.stringify({ ...cp, format: 2 }));
    assert.throws(() => store.read(), /unknown format 2/);
  });

  it('hashes metadata independently of key order, and changes round-trip', () => {
    assert.equal(canonicalHash({ a: 1, b: [1, { c: 2, d: 3 }] }), canonicalHash({ b: [1, { d: 3, c: 2 }], a: 1 }));
    assert.notEqual(canonicalHash({ a: 1 }), canonicalHash({ a: '1' }));
    const c = restoreChanges(checkpoint(null).changes);
    assert.deepEqual([...c.files], ['/etc/a']);
    assert.deepEqual([...(c.packages.get('apt') ?? [])], ['nginx']);
  });

  it('packaging/systemd/cfn-init-resume.service runs `cfn-init --resume` only when this progress file exists, and is a valid unit', () => {
    const unit = path.resolve(__dirname, '..', '..', '..', 'packaging', 'systemd', 'cfn-init-resume.service');
    const text = fs.readFileSync(unit, 'utf8');
    assert.match(text, new RegExp(`^ConditionPathExists=${path.join(DEFAULT_STATE_DIR, PROGRESS_FILE)}$`, 'm'));
    assert.match(text, /^Type=oneshot$/m);
    assert.match(text, /^ExecStart=\/usr\/bin\/cfn-init --resume$/m);
    const verify = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    if (verify.error) return; // systemd-analyze not installed: the text checks above still ran
    assert.equal(verify.status, 0, verify.stderr);
  });
});
