import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { FileLogger, formatLine } from '../../shared/log';
import { redact, registerSecret } from '../../shared/redact';

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

  it('falls back to stderr when the log file cannot be opened', () => {
    const mod = require.resolve('../../shared/log');
    const script = `const {FileLogger}=require(${JSON.stringify(mod)});const l=new FileLogger({file:'/nonexistent-dir/x.log',level:'INFO'});l.info('to stderr');`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0);
    assert.match(r.stderr, /cannot open log file \/nonexistent-dir\/x\.log/);
    assert.match(r.stderr, /INFO .* to stderr/);
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

  it('masks registered secrets wherever they appear, raw or URL-encoded', () => {
    registerSecret('SeCrEt/Key+With=Chars!');
    const out = redact('oops SeCrEt/Key+With=Chars! and SeCrEt%2FKey%2BWith%3DChars!');
    assert.ok(!out.includes('SeCrEt'), out);
  });
});

describe('redact', () => {
  it('is idempotent: redacting a redacted line changes nothing', () => {
    const once = redact('GET http://h/?Signature=abc&X-Amz-Security-Token=t Authorization: AWS4 x');
    assert.equal(redact(once), once);
    assert.ok(once.includes('Signature=<redacted>&'), once);
  });
});
