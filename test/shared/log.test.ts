import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { FileLogger, formatJournal, formatLine, MemoryLogger, reopenLogs } from '../../shared/log';
import { redact, redactUrl, registerSecret } from '../../shared/redact';

describe('logging', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-log-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes the peers\' line format to a file created 0600, honouring the level', () => {
    const file = path.join(dir, 'cfn-test.log');
    const log = new FileLogger({ file, level: 'INFO' });
    log.debug('hidden');
    log.info('shown');
    log.close();
    const text = fs.readFileSync(file, 'utf8');
    assert.match(text, /^INFO \[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\] shown\n$/);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  });

  it('infoLines: the lines of a batch in the same format as info() gives them, redacted, honouring the level', () => {
    const file = path.join(dir, 'cfn-test.log');
    const log = new FileLogger({ file, level: 'INFO' });
    log.infoLines(['first: written', 'token X-Amz-Signature=abcdef0123456789 written', 'last']);
    log.infoLines([]);
    log.close();
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    assert.equal(lines.length, 4);
    assert.match(lines[0], /^INFO \[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\] first: written$/);
    assert.equal(lines[1].slice(lines[1].indexOf('] ') + 2), redact('token X-Amz-Signature=abcdef0123456789 written'));
    assert.doesNotMatch(lines[1], /abcdef0123456789/);
    assert.match(lines[2], /\] last$/);
    assert.equal(lines[3], '');

    const quiet = path.join(dir, 'quiet.log');
    const warnOnly = new FileLogger({ file: quiet, level: 'WARNING' });
    warnOnly.infoLines(['not shown']);
    warnOnly.close();
    assert.equal(fs.readFileSync(quiet, 'utf8'), '');

    const memory = new MemoryLogger();
    memory.infoLines(['a', 'b']);
    assert.deepEqual(memory.lines, ['INFO a', 'INFO b']);
  });

  it('falls back to stderr when the log file cannot be opened', () => {
    const mod = require.resolve('../../shared/log');
    const script = `const {FileLogger}=require(${JSON.stringify(mod)});const l=new FileLogger({file:'/nonexistent-dir/x.log',level:'INFO'});l.info('to stderr');`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0);
    assert.match(r.stderr, /cannot open log file \/nonexistent-dir\/x\.log/);
    assert.match(r.stderr, /INFO .* to stderr/);
  });

  it('under systemd (stderr is the stream JOURNAL_STREAM names) copies warnings, errors and notices to stderr with their priority, each line, redacted; otherwise not', () => {
    const mod = require.resolve('../../shared/log');
    const file = path.join(dir, 'tool.log');
    const script = `const {FileLogger}=require(${JSON.stringify(mod)});const l=new FileLogger({file:${JSON.stringify(file)},level:'DEBUG'});` +
      `l.debug('d');l.info('i');l.notice('hook x: running');l.warn('w');l.error('two\\nlines Signature=abc123');l.close();`;
    const run = (streamOf: (st: fs.BigIntStats) => string) => {
      const err = path.join(dir, `stderr-${Math.random()}`);
      const fd = fs.openSync(err, 'w');
      const st = fs.fstatSync(fd, { bigint: true });
      const r = spawnSync(process.execPath, ['-e', script], { env: { PATH: process.env.PATH, JOURNAL_STREAM: streamOf(st) }, stdio: ['ignore', 'ignore', fd] });
      fs.closeSync(fd);
      assert.equal(r.status, 0);
      return fs.readFileSync(err, 'utf8');
    };
    assert.equal(run((st) => `${st.dev}:${st.ino}`), '<5>INFO hook x: running\n<4>WARNING w\n<3>ERROR two\n<3>ERROR lines Signature=<redacted>\n');
    assert.equal(run((st) => `${st.dev}:${st.ino + 1n}`), '', 'a stream other than stderr');
    assert.equal(run(() => ''), '');
    const logged = fs.readFileSync(file, 'utf8');
    assert.equal(logged.match(/^INFO .* hook x: running$/gm)?.length, 3, 'a notice is INFO in the file');
    assert.ok(!logged.includes('abc123'));
    assert.equal(formatJournal(6, 'INFO', 'a\nb'), '<6>INFO a\n<6>INFO b\n');
  });

  it('redacts signatures, tokens, Authorization headers and credential-file lines', () => {
    const line = formatLine(
      'DEBUG',
      'PUT http://h/v1/waitcondition/arn?AWSAccessKeyId=AK&Signature=sB9zS39%3D&Timestamp=t ' +
        'GET https://s3/x?X-Amz-Signature=abcdef&X-Amz-Security-Token=tok123 ' +
        'headers {"Authorization":"AWS4-HMAC-SHA256 Credential=AK/2026, Signature=ffff"} ' +
        'x-amz-security-token: tok456\nAWSSecretKey=shh\n',
    );
    for (const secret of ['sB9zS39', 'abcdef', 'tok123', 'ffff', 'tok456', 'shh']) assert.ok(!line.includes(secret), `${secret} leaked: ${line}`);
    assert.ok(line.includes('AWSAccessKeyId=AK'), 'non-secret parameters stay readable');
  });

  it('reopens its file on reopenLogs() (SIGHUP) and by itself when a rotation moved it away', async () => {
    const file = path.join(dir, 'tool.log');
    const log = new FileLogger({ file, level: 'INFO' });
    log.info('one');
    fs.renameSync(file, `${file}.1`);
    reopenLogs();
    log.info('two');
    assert.match(fs.readFileSync(`${file}.1`, 'utf8'), /one/);
    assert.match(fs.readFileSync(file, 'utf8'), /two/);
    // logrotate without a signal: the path names a new file within a second.
    fs.renameSync(file, `${file}.2`);
    await new Promise((r) => setTimeout(r, 1100));
    log.info('three');
    log.close();
    assert.match(fs.readFileSync(file, 'utf8'), /three/);
    assert.doesNotMatch(fs.readFileSync(`${file}.2`, 'utf8'), /three/);
  });

  it('forgets no registered secret: 5,000 of them are all masked, the first as well as the last, in one pass', () => {
    const secrets = Array.from({ length: 5000 }, (_, i) => `deploy-password-${i}-${'x'.repeat(8)}`);
    for (const s of secrets) registerSecret(s);
    const line = redact(secrets.join(' '));
    for (const s of secrets) assert.ok(!line.includes(s), `${s} leaked`);
    assert.equal(line, secrets.map(() => '<redacted>').join(' '));
  });

  it('masks a 40,000-character secret whole, in its raw and URL-encoded forms', () => {
    const secret = `long/${'k'.repeat(40_000)}+end`;
    registerSecret(secret);
    assert.equal(redact(`a ${secret} b ${encodeURIComponent(secret)} c`), 'a <redacted> b <redacted> c');
  });

  it('masks overlapping secrets as one span: no part of either survives', () => {
    registerSecret('overlap-AAAA-BBBB');
    registerSecret('BBBB-CCCC-overlap');
    assert.equal(redact('x overlap-AAAA-BBBB-CCCC-overlap y'), 'x <redacted> y');
  });

  it('masks a secret written JSON-escaped', () => {
    registerSecret('pass"with\\quote');
    assert.equal(redact(JSON.stringify({ password: 'pass"with\\quote' })), '{"password":"<redacted>"}');
  });

  it('refuses a secret past MAX_SECRETS with a LimitError rather than forget one', () => {
    const mod = require.resolve('../../shared/redact');
    const script =
      `const r=require(${JSON.stringify(mod)});for(let i=0;i<r.MAX_SECRETS;i++)r.registerSecret('s-'+i+'-pad');` +
      `let e;try{r.registerSecret('one-too-many')}catch(x){e=x}` +
      `console.log(JSON.stringify({name:e&&e.name,limit:e&&e.limit,message:e&&e.message,first:r.redact('s-0-pad')}));`;
    const out = JSON.parse(spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' }).stdout) as Record<string, string>;
    assert.equal(out.name, 'LimitError');
    assert.equal(out.limit, 'secrets');
    assert.match(out.message!, /cannot keep one more secret to mask in logs \(100000 held/);
    assert.ok(!out.message!.includes('one-too-many'), out.message);
    assert.equal(out.first, '<redacted>', 'the first is still masked');
  });

  it('masks registered secrets wherever they appear, raw or URL-encoded', () => {
    registerSecret('SeCrEt/Key+With=Chars!');
    const out = redact('oops SeCrEt/Key+With=Chars! and SeCrEt%2FKey%2BWith%3DChars!');
    assert.ok(!out.includes('SeCrEt'), out);
  });
});

describe('redact', () => {
  it('masks the password of a URL\'s userinfo wherever a URL is written, and keeps the user name', () => {
    assert.equal(
      redact('GET http://alice:s3cr%40t@127.0.0.1:8000/v1/x -> 403; proxy https://bob:pw:with:colons@proxy:3128 used'),
      'GET http://alice:<redacted>@127.0.0.1:8000/v1/x -> 403; proxy https://bob:<redacted>@proxy:3128 used',
    );
    assert.equal(redact('http://127.0.0.1:8000/path?a=b@c'), 'http://127.0.0.1:8000/path?a=b@c', 'a port is not a password');
  });

  it('redactUrl registers the URL\'s password and signatures: their decoded forms are masked in any later text', () => {
    assert.equal(redactUrl('https://carol:p%40ss%2Fw0rd-QQ@h/x?X-Amz-Signature=sig%2Bnature-77'), 'https://carol:<redacted>@h/x?X-Amz-Signature=<redacted>');
    assert.equal(redact('server said: bad password p@ss/w0rd-QQ for sig+nature-77'), 'server said: bad password <redacted> for <redacted>');
  });


  it('is idempotent: redacting a redacted line changes nothing', () => {
    const once = redact('GET http://h/?Signature=abc&X-Amz-Security-Token=t Authorization: AWS4 x');
    assert.equal(redact(once), once);
    assert.ok(once.includes('Signature=<redacted>&'), once);
  });
});
