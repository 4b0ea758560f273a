import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CredentialError } from '../../shared/errors';
import { MemoryLogger } from '../../shared/log';
import { redact } from '../../shared/redact';
import { checkCredentialFileMode, parseCredentialFile, readCredentialFile } from '../../shared/credentials/file';

// The keys of heat-wire/README.md section 2.
const AKID = 'AKIDEXAMPLE0000000000000000000001';
const SECRET = 'SeCrEt/Key+With=Chars!';

describe('credential file', () => {
  describe('parseCredentialFile', () => {
    it('reads heat-wire creds-crlf: spaces around =, CRLF line ends', () => {
      const c = parseCredentialFile(`AWSAccessKeyId = ${AKID}\r\nAWSSecretKey = ${SECRET}\r\n`, '/tmp/creds-crlf');
      assert.deepEqual(c, { accessKeyId: AKID, secretAccessKey: SECRET, source: 'file /tmp/creds-crlf' });
    });

    it('reads heat-wire creds-lastwins: comment, indented key, the last line wins', () => {
      const text = `# comment\n  AWSAccessKeyId=indented\nAWSSecretKey=${SECRET}\nAWSAccessKeyId=${AKID}\n`;
      const c = parseCredentialFile(text, 'lastwins');
      assert.equal(c.accessKeyId, AKID);
      assert.equal(c.secretAccessKey, SECRET);
    });

    it('accepts an indented key (aws-cfn-bootstrap strips lines; heat-cfntools skipped them)', () => {
      const c = parseCredentialFile(`  AWSAccessKeyId=${AKID}\n\tAWSSecretKey=${SECRET}`, 'f');
      assert.equal(c.accessKeyId, AKID);
      assert.equal(c.secretAccessKey, SECRET);
    });

    it('heat-wire creds-empty (no keys) is an error naming the file, not a trip to the metadata service', () => {
      assert.throws(
        () => parseCredentialFile('nothing here\n', '/tmp/cfn-example/creds-empty'),
        (err: unknown) =>
          err instanceof CredentialError &&
          err.message === 'credential file /tmp/cfn-example/creds-empty has no AWSAccessKeyId line and no AWSSecretKey line',
      );
      assert.throws(() => parseCredentialFile('', 'empty'), /credential file empty has no AWSAccessKeyId line/);
    });

    it('keeps =, +, / and ! inside values and strips surrounding whitespace', () => {
      const c = parseCredentialFile(`AWSAccessKeyId=${AKID}   \nAWSSecretKey=\t${SECRET} \t\r\n`, 'f');
      assert.equal(c.accessKeyId, AKID);
      assert.equal(c.secretAccessKey, SECRET);
    });

    it('reads AWSSessionToken', () => {
      const c = parseCredentialFile(`AWSAccessKeyId=ASIAX\nAWSSecretKey=${SECRET}\nAWSSessionToken=FwoG/ZXIvYXdz+token==\n`, 'f');
      assert.equal(c.sessionToken, 'FwoG/ZXIvYXdz+token==');
    });

    it('ignores other lines, a UTF-8 BOM, look-alike keys and old Mac line ends', () => {
      const text = `\uFEFFAWSAccessKeyId=${AKID}\r[default]\rAWSSecretKeyX=nope\raws_secret_access_key=nope\rAWSSecretKey=${SECRET}`;
      const c = parseCredentialFile(text, 'f');
      assert.equal(c.accessKeyId, AKID);
      assert.equal(c.secretAccessKey, SECRET);
    });

    it('half a key pair is an error naming the file', () => {
      assert.throws(() => parseCredentialFile(`AWSAccessKeyId=${AKID}\n`, '/etc/cfn/c'), /credential file \/etc\/cfn\/c has an AWSAccessKeyId line but no AWSSecretKey line/);
      assert.throws(() => parseCredentialFile(`AWSSecretKey=${SECRET}\n`, '/etc/cfn/c'), /credential file \/etc\/cfn\/c has an AWSSecretKey line but no AWSAccessKeyId line/);
      // the last line wins even when it is empty
      assert.throws(() => parseCredentialFile(`AWSAccessKeyId=${AKID}\nAWSSecretKey=${SECRET}\nAWSSecretKey=  \n`, 'f'), /has an AWSAccessKeyId line but no AWSSecretKey line/);
    });

    it('registers the secret and token for redaction', () => {
      const secret = 'unique-secret-' + Math.random().toString(36).slice(2);
      const token = 'unique-token-' + Math.random().toString(36).slice(2);
      parseCredentialFile(`AWSAccessKeyId=A\nAWSSecretKey=${secret}\nAWSSessionToken=${token}`, 'f');
      const log = new MemoryLogger();
      log.info(`${secret} ${token}`);
      assert.equal(log.lines[0], 'INFO <redacted> <redacted>');
    });
  });

  describe('permissions', () => {
    for (const mode of [0o620, 0o602, 0o666, 0o622, 0o660]) {
      it(`refuses mode 0${mode.toString(8)} with a chmod 600 hint`, () => {
        assert.throws(
          () => checkCredentialFileMode(0o100000 | mode, '/etc/cfn/cfn-credentials'),
          (err: unknown) =>
            err instanceof CredentialError &&
            err.message.startsWith(`credential file /etc/cfn/cfn-credentials is writable by `) &&
            err.message.includes(`(mode 0${mode.toString(8)})`) &&
            err.message.endsWith('run chmod 600 /etc/cfn/cfn-credentials'),
        );
      });
    }

    for (const mode of [0o604, 0o644, 0o444]) {
      it(`warns about mode 0${mode.toString(8)} (readable by others)`, () => {
        const log = new MemoryLogger();
        checkCredentialFileMode(mode, '/etc/cfn/cfn-credentials', log);
        assert.deepEqual(log.lines, [`WARNING credential file /etc/cfn/cfn-credentials is readable by others (mode 0${mode.toString(8)}): run chmod 600 /etc/cfn/cfn-credentials`]);
      });
    }

    for (const mode of [0o600, 0o640, 0o400, 0o440]) {
      it(`accepts mode 0${mode.toString(8)} silently`, () => {
        const log = new MemoryLogger();
        checkCredentialFileMode(mode, 'f', log);
        assert.deepEqual(log.lines, []);
      });
    }
  });

  describe('readCredentialFile', () => {
    let dir: string;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-creds-'));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    function write(name: string, text: string, mode: number): string {
      const file = path.join(dir, name);
      fs.writeFileSync(file, text);
      fs.chmodSync(file, mode); // not subject to the umask
      return file;
    }

    it('reads a 0600 file', () => {
      const file = write('creds', `AWSAccessKeyId=${AKID}\nAWSSecretKey=${SECRET}\n`, 0o600);
      const log = new MemoryLogger();
      assert.deepEqual(readCredentialFile(file, log), { accessKeyId: AKID, secretAccessKey: SECRET, source: `file ${file}` });
      assert.deepEqual(log.lines, []);
    });

    it('checks the real mode bits: refuses 0620, warns on 0644', () => {
      const bad = write('bad', `AWSAccessKeyId=${AKID}\nAWSSecretKey=${SECRET}\n`, 0o620);
      assert.throws(() => readCredentialFile(bad), new RegExp(`writable by group \\(mode 0620\\); refusing to use it: run chmod 600 ${bad}$`));
      const loose = write('loose', `AWSAccessKeyId=${AKID}\nAWSSecretKey=${SECRET}\n`, 0o644);
      const log = new MemoryLogger();
      assert.equal(readCredentialFile(loose, log).accessKeyId, AKID);
      assert.equal(log.lines.length, 1);
      assert.match(log.lines[0]!, /^WARNING .*readable by others \(mode 0644\)/);
    });

    it('a missing file is an error naming it, not a traceback', () => {
      assert.throws(
        () => readCredentialFile('/nonexistent'),
        (err: unknown) => err instanceof CredentialError && err.message === 'credential file /nonexistent does not exist',
      );
    });

    it('refuses a 0600 file that another user owns, directly or through a symlink', function () {
      if (process.getuid?.() !== 0) this.skip(); // chown to another user needs root
      const file = write('theirs', `AWSAccessKeyId=${AKID}\nAWSSecretKey=${SECRET}\n`, 0o600);
      fs.chownSync(file, 65534, 65534);
      assert.throws(() => readCredentialFile(file), new RegExp(`credential file ${file} belongs to uid 65534, not to root or to this user`));
      const link = path.join(dir, 'link');
      fs.symlinkSync(file, link);
      assert.throws(() => readCredentialFile(link), /belongs to uid 65534/);
    });

    it('refuses a file in a directory that others can write or that another user owns; a sticky one is fine', function () {
      const text = `AWSAccessKeyId=${AKID}\nAWSSecretKey=${SECRET}\n`;
      const open = path.join(dir, 'open');
      fs.mkdirSync(open);
      fs.chmodSync(open, 0o777);
      fs.writeFileSync(path.join(open, 'creds'), text, { mode: 0o600 });
      assert.throws(() => readCredentialFile(path.join(open, 'creds')), new RegExp(`is in ${open}, which others can write \\(mode 0777\\)`));
      fs.chmodSync(open, 0o1777);
      assert.equal(readCredentialFile(path.join(open, 'creds')).accessKeyId, AKID);
      if (process.getuid?.() !== 0) return;
      fs.chmodSync(open, 0o755);
      fs.chownSync(open, 65534, 65534);
      assert.throws(() => readCredentialFile(path.join(open, 'creds')), /which belongs to uid 65534: its owner can replace it/);
    });

    it('a FIFO is refused at once, not read until a writer comes', () => {
      const fifo = path.join(dir, 'fifo');
      execFileSync('mkfifo', [fifo]);
      assert.throws(() => readCredentialFile(fifo), new RegExp(`credential file ${fifo} is not a regular file`));
    });

    it('its messages survive the redactor whole (no key name stands before an =)', () => {
      const file = write('empty', '', 0o600);
      assert.throws(() => readCredentialFile(file), (err: unknown) => err instanceof Error && redact(err.message) === `credential file ${file} has no AWSAccessKeyId line and no AWSSecretKey line`);
      const half = write('half', `AWSAccessKeyId=${AKID}\n`, 0o600);
      assert.throws(() => readCredentialFile(half), (err: unknown) => err instanceof Error && redact(err.message) === err.message);
    });

    it('a directory is not a credential file', () => {
      assert.throws(() => readCredentialFile(dir), new RegExp(`credential file ${dir} is not a regular file`));
    });

    it('an unreadable file is an error naming it', function () {
      const file = write('secret', `AWSAccessKeyId=${AKID}\nAWSSecretKey=${SECRET}\n`, 0o000);
      if (process.getuid?.() !== 0) {
        assert.throws(() => readCredentialFile(file), new RegExp(`credential file ${file} is not readable \\(permission denied\\)`));
        return;
      }
      // root reads anything, so read it as nobody (uid 65534) in a child process
      fs.chmodSync(dir, 0o755);
      const mod = require.resolve('../../shared/credentials/file');
      const script = `try{require(${JSON.stringify(mod)}).readCredentialFile(${JSON.stringify(file)});console.log('read it')}catch(e){console.log(e.name+': '+e.message)}`;
      const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', uid: 65534, gid: 65534 });
      if (r.error || r.status !== 0 || /Cannot find module|EACCES.*cfntools|MODULE_NOT_FOUND/.test(r.stdout + r.stderr)) {
        this.skip(); // running as root, and no unprivileged user can run the compiled module here
      }
      assert.equal(r.stdout.trim(), `CredentialError: credential file ${file} is not readable (permission denied)`);
    });
  });
});
