/**
 * The shared Query API client against a real heat-api-cfn (OpenStack Heat
 * 19, Debian bookworm) on loopback: DescribeStackResource signed with SigV4
 * and SigV2, what Heat answers for a wrong secret and a missing resource,
 * and the rig's wait-condition signal helper.
 *
 * Run with `npm run test:heat` (test/heat/.mocharc.json); skipped, with the
 * reason, where the Debian packages cannot be installed.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { describeStackResource, CFN_API_VERSION } from '../../shared/cfn-api';
import { credentialProvider } from '../../shared/credentials/resolve';
import { resolveEndpoint } from '../../shared/endpoints';
import { ApiError } from '../../shared/errors';
import { HttpClient } from '../../shared/http';
import { MemoryLogger } from '../../shared/log';
import { QueryClient, type SignatureVersion } from '../../shared/query-api';
import { signalAndWait, signalHandle, templatePath, useScenarioStack, type ScenarioStack } from './rig';

interface Template {
  resources: Record<string, { metadata?: unknown }>;
}

const template = JSON.parse(fs.readFileSync(templatePath('scenario.json'), 'utf8')) as Template;

function client(s: ScenarioStack, opts: { signatureVersion: SignatureVersion; method: 'GET' | 'POST'; secretKey?: string; logger?: MemoryLogger }) {
  const http = new HttpClient({
    timeoutMs: 20_000,
    retry: { maxAttempts: 3, baseDelayMs: 200, maxDelayMs: 1000 },
    logger: opts.logger,
    // Loopback only: never through a proxy from the environment.
    transport: { env: {}, httpProxy: '', httpsProxy: '' },
  });
  const query = new QueryClient({
    endpoint: resolveEndpoint({ service: 'cloudformation', url: s.rig.cfnUrl, env: {} }),
    credentials: credentialProvider({ accessKey: s.accessKey, secretKey: opts.secretKey ?? s.secretKey, env: {} }),
    http,
    apiVersion: CFN_API_VERSION,
    signatureVersion: opts.signatureVersion,
    method: opts.method,
  });
  return { http, query };
}

describe('real Heat: heat-api-cfn through the shared Query API client', function () {
  const stack = useScenarioStack('cfnapi');

  const cases: Array<{ signatureVersion: SignatureVersion; method: 'GET' | 'POST' }> = [
    { signatureVersion: 4, method: 'GET' },
    { signatureVersion: 4, method: 'POST' },
    { signatureVersion: 2, method: 'GET' },
    { signatureVersion: 2, method: 'POST' },
  ];
  for (const c of cases) {
    it(`DescribeStackResource signed with SigV${c.signatureVersion} (${c.method}) returns the template's metadata`, async function () {
      const s = stack();
      const { http, query } = client(s, c);
      try {
        const detail = await describeStackResource(query, s.ref.name, 'config');
        assert.deepEqual(detail.metadata, template.resources.config.metadata);
        assert.equal(detail.logicalResourceId, 'config');
        assert.equal(detail.stackName, s.ref.name);
        assert.equal(detail.resourceType, 'AWS::CloudFormation::WaitConditionHandle');
        assert.equal(detail.resourceStatus, 'CREATE_COMPLETE');
        assert.ok(detail.stackId?.includes(s.ref.id), `StackId ${detail.stackId} names stack ${s.ref.id}`);
      } finally {
        http.close();
      }
    });
  }

  for (const signatureVersion of [4, 2] as const) {
    it(`a wrong secret (SigV${signatureVersion}) is a quick 403 AccessDenied ApiError, not retried`, async function () {
      const s = stack();
      const logger = new MemoryLogger();
      const { http, query } = client(s, { signatureVersion, method: 'GET', secretKey: `${s.secretKey}x`, logger });
      const t0 = performance.now();
      try {
        await assert.rejects(describeStackResource(query, s.ref.name, 'config'), (err: unknown) => {
          assert.ok(err instanceof ApiError, `expected an ApiError, got ${String(err)}`);
          // heat-api-cfn's ec2token filter: keystone refuses the signature
          // (401 to heat), heat answers the client 403 with an AWS XML
          // ErrorResponse, Code AccessDenied.
          assert.equal(err.status, 403);
          assert.equal(err.code, 'AccessDenied');
          assert.match(err.serverMessage, /not authorized/i);
          assert.ok(!err.message.includes(s.secretKey), 'the error does not show the secret');
          return true;
        });
      } finally {
        http.close();
      }
      const seconds = (performance.now() - t0) / 1000;
      assert.ok(seconds < 5, `took ${seconds.toFixed(1)} s`);
      const requests = logger.lines.filter((l) => / -> 403 /.test(l));
      assert.equal(requests.length, 1, `one request, no retry:\n${logger.lines.join('\n')}`);
      assert.ok(!logger.lines.some((l) => /retrying/.test(l)), logger.lines.join('\n'));
    });
  }

  it("a missing resource name: Heat's 200 + bare JSON string becomes ApiError HeatError", async function () {
    const s = stack();
    const logger = new MemoryLogger();
    const { http, query } = client(s, { signatureVersion: 4, method: 'GET', logger });
    try {
      await assert.rejects(describeStackResource(query, s.ref.name, 'no_such_resource'), (err: unknown) => {
        assert.ok(err instanceof ApiError, `expected an ApiError, got ${String(err)}`);
        assert.equal(err.status, 200);
        assert.equal(err.code, 'HeatError');
        assert.match(err.serverMessage, /no_such_resource/);
        assert.match(err.message, /HeatError/);
        return true;
      });
    } finally {
      http.close();
    }
    assert.ok(!logger.lines.some((l) => /retrying/.test(l)), logger.lines.join('\n'));
  });
});

describe('real Heat: the rig signals a wait condition handle', function () {
  const stack = useScenarioStack('signal');

  it('a PUT of SUCCESS (plain node http, no Content-Type) completes the stack', async function () {
    const s = stack();
    const before = await s.rig.heat.stack(s.ref);
    assert.equal(before.stack_status, 'CREATE_IN_PROGRESS');
    const { response, stack: after } = await signalAndWait(s, { Status: 'SUCCESS', Reason: 'rig check', UniqueId: 'rig-1', Data: 'hello from the rig' });
    assert.equal(response.status, 200);
    assert.equal(after.stack_status, 'CREATE_COMPLETE', after.stack_status_reason);
    const outputs = await s.rig.heat.outputs(s.ref);
    const data = typeof outputs.wait_data === 'string' ? JSON.parse(outputs.wait_data) : outputs.wait_data;
    assert.deepEqual(data, { 'rig-1': 'hello from the rig' });
  });

  it('a PUT to the handle URL with its signature altered is refused', async function () {
    const s = stack();
    const url = new URL(s.waitHandleUrl);
    url.searchParams.set('Signature', 'AAAA' + (url.searchParams.get('Signature') ?? '').slice(4));
    const res = await signalHandle(url.href, { Status: 'SUCCESS', Reason: 'forged', UniqueId: 'forged', Data: 'x' });
    assert.equal(res.status, 403, res.body);
  });
});
