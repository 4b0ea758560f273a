import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { writeFileAtomic, FileWriteError } from '../../shared/atomic-file';

describe('writeFileAtomic', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-atomic-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes content with the requested mode and leaves no temp file', () => {
    const f = path.join(dir, 'a.conf');
    writeFileAtomic(f, 'hello\n', { mode: 0o640 });
    assert.equal(fs.readFileSync(f, 'utf8'), 'hello\n');
    assert.equal(fs.statSync(f).mode & 0o7777, 0o640);
    assert.deepEqual(fs.readdirSync(dir), ['a.conf']);
  });

  it('keeps the old mode when replacing and no mode is given', () => {
    const f = path.join(dir, 'b');
    fs.writeFileSync(f, 'old');
    fs.chmodSync(f, 0o600);
    writeFileAtomic(f, 'new');
    assert.equal(fs.readFileSync(f, 'utf8'), 'new');
    assert.equal(fs.statSync(f).mode & 0o7777, 0o600);
  });

  it('replaces by rename: a reader holding the old file keeps the old content', () => {
    const f = path.join(dir, 'c');
    fs.writeFileSync(f, 'old');
    const inode = fs.statSync(f).ino;
    writeFileAtomic(f, 'new');
    assert.notEqual(fs.statSync(f).ino, inode);
  });

  it('applies owner before the rename', function () {
    if (process.getuid?.() !== 0) this.skip();
    const f = path.join(dir, 'd');
    writeFileAtomic(f, 'x', { uid: 65534, gid: 65534, mode: 0o2755 });
    const st = fs.statSync(f);
    assert.equal(st.uid, 65534);
    assert.equal(st.gid, 65534);
    assert.equal(st.mode & 0o7777, 0o2755);
  });

  it('fails with the file name when the directory is missing, leaving nothing behind', () => {
    const f = path.join(dir, 'missing', 'e');
    assert.throws(() => writeFileAtomic(f, 'x'), (err: unknown) => err instanceof FileWriteError && err.message.includes(f));
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  it('a process killed mid-way leaves the previous content intact', () => {
    // The child writes the file once, then is SIGKILLed during a second large write.
    const f = path.join(dir, 'f');
    fs.writeFileSync(f, 'stable');
    const mod = require.resolve('../../shared/atomic-file');
    const script = `const {writeFileAtomic}=require(${JSON.stringify(mod)});` +
      `const fs=require('fs');const orig=fs.fsyncSync;fs.fsyncSync=(fd)=>{process.kill(process.pid,'SIGKILL')};` +
      `writeFileAtomic(${JSON.stringify(f)}, Buffer.alloc(1<<20, 97));`;
    const r = spawnSync(process.execPath, ['-e', script]);
    assert.equal(r.signal, 'SIGKILL');
    assert.equal(fs.readFileSync(f, 'utf8'), 'stable');
  });
});
