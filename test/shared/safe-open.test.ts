/**
 * The one way the tools open their files (shared/safe-open.ts), the trust
 * rule for files that decide what runs (shared/trusted-file.ts) and the
 * bounded JSON reader on top (shared/json-file.ts, json-syntax.ts): what
 * sits at a path (a FIFO, a link to /dev/zero, a directory, a planted
 * symbolic link, a huge or damaged file) is refused in one line naming the
 * path, never waited on, never read without end, never quoted.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError } from '../../shared/errors';
import { assertDepth } from '../../shared/json-depth';
import { parseJsonText, readJsonFile } from '../../shared/json-file';
import { syntaxErrorOffset } from '../../shared/json-syntax';
import { openAppend, readBounded, readHead, UnsafeFileError } from '../../shared/safe-open';
import { untrustedReason } from '../../shared/trusted-file';

const asRoot = process.getuid?.() === 0;

describe('safe-open: the files the tools read and write', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-safe-open-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const p = (name: string) => path.join(dir, name);
  const fifo = (name: string) => {
    execFileSync('mkfifo', [p(name)]);
    return p(name);
  };
  const refused = (re: RegExp) => (err: unknown) => err instanceof UnsafeFileError && re.test(err.message) && !err.message.includes('\n');

  it('reads a regular file whole; a missing one is undefined', () => {
    fs.writeFileSync(p('a'), 'hello');
    assert.equal(readBounded(p('a'), { what: 'the file', maxBytes: 5 })?.toString(), 'hello');
    assert.equal(readBounded(p('missing'), { what: 'the file', maxBytes: 5 }), undefined);
  });

  it('a FIFO is refused at once, for reading and for appending (with or without a reader)', () => {
    const f = fifo('f');
    assert.throws(() => readBounded(f, { what: 'the state file', maxBytes: 10 }), refused(new RegExp(`^${f}: the state file is a FIFO, not a regular file: refused$`)));
    assert.throws(() => openAppend(f, { what: 'the log file' }), refused(/the log file is a FIFO or socket, not a regular file: refused/));
    const reader = fs.openSync(f, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    try {
      assert.throws(() => openAppend(f, { what: 'the log file' }), refused(/the log file is a FIFO, not a regular file: refused/));
    } finally {
      fs.closeSync(reader);
    }
  });

  it('a link to /dev/zero is refused, not read until memory runs out; so is a directory', () => {
    fs.symlinkSync('/dev/zero', p('zero'));
    assert.throws(() => readBounded(p('zero'), { what: 'the CPU sample', maxBytes: 1 << 30 }), refused(/the CPU sample is a character device, not a regular file: refused/));
    assert.throws(() => readBounded(dir, { what: 'the file', maxBytes: 10 }), refused(/is a directory, not a regular file/));
  });

  it('noFollow: a symbolic link in place of a log or state file is refused and its target left alone', () => {
    fs.writeFileSync(p('target'), 'root:x:0:0\n');
    fs.symlinkSync(p('target'), p('log'));
    assert.throws(() => openAppend(p('log'), { what: 'the log file' }), refused(/the log file is a symbolic link: refused/));
    assert.equal(fs.readFileSync(p('target'), 'utf8'), 'root:x:0:0\n');
    assert.throws(() => readBounded(p('log'), { what: 'the state file', noFollow: true, maxBytes: 100 }), refused(/the state file is a symbolic link/));
    assert.equal(readBounded(p('log'), { what: 'a configuration file', maxBytes: 100 })?.toString(), 'root:x:0:0\n', 'followed where links are allowed');
    const fd = openAppend(p('new.log'), { what: 'the log file' }, 0o600);
    fs.closeSync(fd);
    assert.equal(fs.statSync(p('new.log')).mode & 0o777, 0o600);
  });

  it('the size bound is taken from fstat before reading; readHead reads the start and says the whole size', () => {
    fs.writeFileSync(p('big'), 'x'.repeat(1000));
    assert.throws(() => readBounded(p('big'), { what: 'the lock file', maxBytes: 64 }), (e: unknown) => e instanceof ConfigError && e.message === `${p('big')}: the lock file is 1000 bytes; the most read is 64`);
    const h = readHead(p('big'), { what: 'an output', maxBytes: 10 });
    assert.equal(h?.head.toString(), 'x'.repeat(10));
    assert.equal(h?.size, 1000);
  });

  describe('trusted files: root or this user, writable by nobody else, in directories nobody else can replace them in', () => {
    const reason = (file: string) => untrustedReason(file, fs.statSync(file));

    it('the file itself: group- or world-writable is refused', () => {
      fs.writeFileSync(p('conf'), '', { mode: 0o644 });
      assert.equal(reason(p('conf')), undefined);
      fs.chmodSync(p('conf'), 0o666);
      assert.equal(reason(p('conf')), 'is writable by every user (mode 0666)');
      fs.chmodSync(p('conf'), 0o664);
      assert.equal(reason(p('conf')), 'is writable by its group (mode 0664)');
      assert.throws(() => readBounded(p('conf'), { what: "os-collect-config's file", trusted: true, maxBytes: 10 }), refused(/os-collect-config's file is writable by its group \(mode 0664\): refused, as whoever can change it decides what runs here$/));
    });

    it('a directory above it that others can write is refused unless sticky, wherever the path leads', () => {
      fs.mkdirSync(p('open'));
      fs.chmodSync(p('open'), 0o777);
      fs.mkdirSync(p('open/sub'));
      fs.writeFileSync(p('open/sub/conf'), '', { mode: 0o600 });
      assert.equal(reason(p('open/sub/conf')), `is in ${p('open')}, which others can write (mode 0777): they can replace it`);
      fs.chmodSync(p('open'), 0o1777);
      assert.equal(reason(p('open/sub/conf')), undefined);
      // A link in a safe place to a file in an unsafe one, and the other way round.
      fs.chmodSync(p('open'), 0o777);
      fs.mkdirSync(p('safe'));
      fs.symlinkSync(p('open/sub/conf'), p('safe/conf'));
      assert.match(reason(p('safe/conf')) ?? '', /which others can write/);
      fs.writeFileSync(p('safe/real'), '', { mode: 0o600 });
      fs.symlinkSync(p('safe/real'), p('open/sub/link'));
      assert.match(reason(p('open/sub/link')) ?? '', /which others can write/);
    });

    it('owned by another user, or in a directory another user owns, is refused', function () {
      if (!asRoot) this.skip(); // chown needs root
      fs.writeFileSync(p('conf'), '', { mode: 0o600 });
      fs.chownSync(p('conf'), 65534, 65534);
      assert.equal(reason(p('conf')), 'belongs to uid 65534, not to root or to this user (uid 0)');
      fs.chownSync(p('conf'), 0, 0);
      fs.chownSync(dir, 65534, 65534);
      try {
        assert.equal(reason(p('conf')), `is in ${dir}, which belongs to uid 65534: its owner can replace it`);
      } finally {
        fs.chownSync(dir, 0, 0);
      }
    });
  });
});

describe('the bounded JSON reader', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-json-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a damaged file is said by offset, never quoted (it held a shadow line)', () => {
    const file = path.join(dir, 'state.json');
    fs.writeFileSync(file, 'root:$6$saltsalt$hashhashhash:19000:0:99999:7:::\n');
    assert.throws(
      () => readJsonFile(file, { what: 'the state file', noFollow: true, maxBytes: 1000 }),
      (e: unknown) => e instanceof ConfigError && e.message === `${file}: not valid JSON: syntax error at offset 0` && !/root|\$6\$/.test(e.message),
    );
    assert.throws(() => parseJsonText('{"password": "hunter2", "x": tru}', 'src'), (e: unknown) => e instanceof ConfigError && e.message === 'src: not valid JSON: syntax error at offset 29');
    assert.throws(() => parseJsonText('{"password": "hunter2"', 'src'), /^ConfigError: src: not valid JSON: it ends early \(at offset 22\)$/);
    assert.equal(readJsonFile(path.join(dir, 'missing'), { what: 'x', maxBytes: 10 }), undefined);
  });

  it('says a text is not JSON exactly when JSON.parse refuses it, at an offset within it (seeded random texts)', () => {
    const cases = ['', ' ', '{}', '[]', '[1,]', '{"a":1,}', '01', '-', '1e', '"\\x"', '"\\u12"', '"a\u0001"', '[1 2]', '{"a" 1}', '{1:2}', 'nul', 'truex', '[[[]]', '{"a":[{}]}', '"\ud800"', ' [ 1 , { "b" : null } ] '];
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const alphabet = ['{', '}', '[', ']', ',', ':', '"', '1', '0', '-', '.', 'e', 'true', 'null', ' ', '\\', 'a'];
    for (let i = 0; i < 3000; i++) cases.push(Array.from({ length: 1 + rand(12) }, () => alphabet[rand(alphabet.length)]).join(''));
    for (const text of cases) {
      let valid = true;
      try {
        JSON.parse(text);
      } catch {
        valid = false;
      }
      const at = syntaxErrorOffset(text);
      assert.equal(at === -1, valid, `${JSON.stringify(text)}: offset ${at}, JSON.parse ${valid ? 'accepts' : 'refuses'} it`);
      if (!valid) assert.ok(at >= 0 && at <= text.length, JSON.stringify(text));
    }
  });

  it('depth: a wide document costs no bookkeeping per item; a deep one is refused with its key path', () => {
    const wide = new Array(2_000_000).fill(0);
    const before = process.memoryUsage().heapUsed;
    assertDepth({ a: wide }, 100, 'wide');
    assert.ok(process.memoryUsage().heapUsed - before < 20 * 1024 * 1024, `${process.memoryUsage().heapUsed - before} bytes more on the heap`);
    const deep = JSON.parse('{"a":'.repeat(5) + '[[1]]' + '}'.repeat(5));
    assert.throws(() => assertDepth(deep, 6, 'src'), /^ConfigError: src: nests deeper than 6 levels at a\.a\.a\.a\.a\[0\]$/);
    assert.doesNotThrow(() => assertDepth(deep, 7, 'src'));
  });
});
