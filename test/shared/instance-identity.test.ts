/**
 * CFN_V1: the header from the recording's identity document and signature
 * (byte for byte), the checks on what the metadata service serves, and
 * where the instance identity sits in CloudFormation's credential order.
 */
import * as assert from 'node:assert/strict';
import { createVerify } from 'node:crypto';
import { cfnV1Authorization, cfnV1Signer, IDENTITY_DOCUMENT_PATH, IDENTITY_SIGNATURE_PATH, parseInstanceIdentity } from '../../shared/credentials/instance-identity';
import { NoCredentialsError, resolveSigningIdentity, signingIdentityProvider, type CredentialOptions } from '../../shared/credentials/resolve';
import { CredentialError } from '../../shared/errors';
import { MemoryLogger } from '../../shared/log';
import { readBootstrapScenarios, WIRE_IDENTITY } from '../support/cfn-bootstrap-wire';
import { closedPort, roleDocument, ROLE_PATH, startFakeImds, type FakeImds } from '../support/imds-server';
import { header } from '../support/sigv-transcript';

const IDENTITY_PATHS = { [IDENTITY_DOCUMENT_PATH]: WIRE_IDENTITY.document, [IDENTITY_SIGNATURE_PATH]: WIRE_IDENTITY.signature };

describe('CFN_V1 instance identity', () => {
  describe('the header', () => {
    it('is the recorded one, byte for byte, and its signature verifies over the document', () => {
      const [s] = readBootstrapScenarios('cfn-init-nocreds-cfnv1.txt');
      const recorded = header(s!.cloudFormation[0]!.request, 'Authorization')!;
      const id = parseInstanceIdentity(WIRE_IDENTITY.document, WIRE_IDENTITY.signature);
      assert.equal(cfnV1Authorization(id), recorded);
      assert.equal(id.instanceId, WIRE_IDENTITY.instanceId);
      const [doc, sig] = recorded.slice('CFN_V1 '.length).split(':');
      assert.ok(createVerify('sha256').update(Buffer.from(doc!, 'base64')).verify(WIRE_IDENTITY.certificate, Buffer.from(sig!, 'base64')));
    });

    it('keeps the document as served (newlines, indentation) but for trailing whitespace; the signature on one line', () => {
      const id = parseInstanceIdentity(`${WIRE_IDENTITY.document}\n\n  `, `${WIRE_IDENTITY.signature}\n`);
      assert.equal(id.document, WIRE_IDENTITY.document);
      assert.equal(id.signature, WIRE_IDENTITY.signature.replace(/\n/g, ''));
      assert.match(id.signature, /^[A-Za-z0-9+/=]{172}$/);
    });

    it('the signer sets only Authorization, dropping another scheme\'s date and token', async () => {
      const id = parseInstanceIdentity(WIRE_IDENTITY.document, WIRE_IDENTITY.signature);
      const req = { method: 'GET', url: 'http://127.0.0.1/?Action=X', headers: { Accept: 'application/json', 'X-Amz-Date': 'x', 'x-amz-security-token': 't', authorization: 'AWS4-HMAC-SHA256 old' } };
      const signed = await cfnV1Signer(id)(req, new Date());
      assert.deepEqual(signed.headers, { Accept: 'application/json', Authorization: cfnV1Authorization(id) });
      assert.equal(signed.url, req.url);
    });
  });

  describe('what the metadata service serves is checked', () => {
    const cases: Array<[string, string, string, RegExp]> = [
      ['a document that is not JSON', 'not json', WIRE_IDENTITY.signature, /identity document from the metadata service is not valid JSON: syntax error at offset 0/],
      ['a document that is a list', '[1]', WIRE_IDENTITY.signature, /is not a JSON object/],
      ['a document without instanceId', '{"region": "us-east-1"}', WIRE_IDENTITY.signature, /has no instanceId/],
      ['a huge document', JSON.stringify({ instanceId: 'i-1', pad: 'x'.repeat(5000) }), WIRE_IDENTITY.signature, /is 50\d\d bytes; expected at most 4096/],
      ['a signature smuggling a header', WIRE_IDENTITY.document, 'abc\r\nX-Evil: 1', /signature .* is not one base64 value/],
      ['a signature with spaces', WIRE_IDENTITY.document, 'abc def', /not one base64 value/],
      ['an empty signature', WIRE_IDENTITY.document, '\n', /not one base64 value/],
      ['a huge signature', WIRE_IDENTITY.document, 'A'.repeat(2000), /at most 1024 characters/],
    ];
    for (const [name, doc, sig, re] of cases) {
      it(name, () => assert.throws(() => parseInstanceIdentity(doc, sig), (err: unknown) => err instanceof CredentialError && re.test(err.message)));
    }
  });

  describe('CloudFormation\'s credential order', () => {
    let fake: FakeImds;
    beforeEach(async () => {
      fake = await startFakeImds({ paths: { ...IDENTITY_PATHS }, roles: { attached: roleDocument(new Date(Date.now() + 3600_000)) } });
    });
    afterEach(() => fake.close());
    const opts = (extra: CredentialOptions = {}, env: NodeJS.ProcessEnv = {}): CredentialOptions => ({ env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: fake.url, ...env }, ...extra });

    it('with nothing named: the instance identity, even with a role attached (which is never asked for)', async () => {
      const id = await resolveSigningIdentity(opts());
      assert.equal(id.kind, 'instance-identity');
      assert.equal(fake.count('GET', ROLE_PATH), 0);
      assert.equal(fake.count('GET', IDENTITY_DOCUMENT_PATH), 1);
      assert.equal(fake.count('GET', IDENTITY_SIGNATURE_PATH), 1);
    });

    it('anything named wins without a metadata request: keys, a credential file, the environment', async () => {
      for (const [o, env] of [[{ accessKey: 'AKID', secretKey: 's' }, {}], [{}, { AWS_ACCESS_KEY_ID: 'AKIDENV', AWS_SECRET_ACCESS_KEY: 's' }]] as const) {
        const id = await resolveSigningIdentity(opts(o, env));
        assert.equal(id.kind, 'keys');
      }
      assert.equal(fake.requests.length, 0);
    });

    it('a named role wins over the instance identity', async () => {
      const id = await resolveSigningIdentity(opts({ role: 'attached' }));
      assert.ok(id.kind === 'keys' && id.credentials.source === 'role attached');
      assert.equal(fake.count('GET', IDENTITY_DOCUMENT_PATH), 0);
    });

    it('no identity document (OpenStack): the attached role', async () => {
      fake.config.paths = {};
      const id = await resolveSigningIdentity(opts());
      assert.ok(id.kind === 'keys' && id.credentials.source === 'role attached');
    });

    it('a malformed identity document: a warning, then the attached role', async () => {
      fake.config.paths = { [IDENTITY_DOCUMENT_PATH]: 'garbage', [IDENTITY_SIGNATURE_PATH]: 'AAAA' };
      const logger = new MemoryLogger();
      const id = await resolveSigningIdentity(opts({ logger }));
      assert.ok(id.kind === 'keys' && id.credentials.source === 'role attached');
      assert.ok(logger.lines.some((l) => /^WARNING .*not valid JSON.*not signing with the instance identity/.test(l)), logger.lines.join('\n'));
    });

    it('neither identity nor role: NoCredentialsError saying what was tried', async () => {
      fake.config.paths = {};
      fake.config.roles = {};
      await assert.rejects(resolveSigningIdentity(opts()), (err: unknown) => {
        assert.ok(err instanceof NoCredentialsError);
        assert.match(err.message, /tried: .*AWS_SECRET_ACCESS_KEY \(not set\); instance identity document \(the metadata service at .* has no \/latest\/dynamic\/instance-identity\/document \(HTTP 404\)\); instance role \(no instance role is attached/);
        return true;
      });
    });

    it('no metadata service: one NoCredentialsError, the role not asked again', async () => {
      const port = await closedPort();
      await assert.rejects(resolveSigningIdentity({ env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://127.0.0.1:${port}` } }), (err: unknown) => {
        assert.ok(err instanceof NoCredentialsError);
        assert.match(err.message, /instance identity document \(the metadata service at http:\/\/127\.0\.0\.1:\d+ is unreachable: .*\); instance role \(same metadata service\)$/);
        return true;
      });
      await assert.rejects(resolveSigningIdentity({ env: { AWS_EC2_METADATA_DISABLED: 'true' } }), /instance identity document \(the instance metadata service is disabled/);
    });

    it('the provider fetches the identity once for every request of a run', async () => {
      const p = signingIdentityProvider(opts());
      const all = await Promise.all([p.get(), p.get(), p.get()]);
      await p.get();
      assert.ok(all.every((x) => x.kind === 'instance-identity'));
      assert.equal(fake.count('GET', IDENTITY_DOCUMENT_PATH), 1);
    });
  });
});
