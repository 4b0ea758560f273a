/**
 * Our shared client against the emulator, whose signature check is written
 * independently of shared/sigv4.ts and shared/sigv2.ts (and checked against
 * botocore in its own tests): every signing mode we send must verify.
 */
import * as assert from 'node:assert/strict';
import { startEmulator, type Emulator } from '../emulator/server';
import { QueryClient } from '../../shared/query-api';
import { describeStackResource, signalResource } from '../../shared/cfn-api';
import { putMetricData } from '../../shared/cloudwatch-api';
import { HttpClient } from '../../shared/http';
import { resolveEndpoint } from '../../shared/endpoints';
import { ApiError } from '../../shared/errors';
import type { Credentials } from '../../shared/credentials/types';

const META = { 'AWS::CloudFormation::Init': { config: { files: { '/tmp/x': { content: 'é' } } } } };
const STACK_KEY = { accessKey: 'AKIDSTACKUSER000000000000000001', secretKey: 'stack/User+Secret=1' };
const TOKEN_KEY = { accessKey: 'ASIATEMP00000000000001', secretKey: 'temp-secret', sessionToken: 'FwoGZXIvYXdzE/token+value==' };
const PROJECT_KEY = { accessKey: 'AKIDPROJECT000000000000000001', secretKey: 'project secret with spaces' };

describe('shared client verified by the emulator', () => {
  let emu: Emulator;
  before(async () => {
    emu = await startEmulator({
      port: 0,
      stacks: [{
        name: 'teststack',
        resources: {
          WebServer: { type: 'AWS::EC2::Instance', metadata: META },
          Server2: { type: 'AWS::EC2::Instance', creationPolicy: { count: 1 } },
        },
        credentials: [STACK_KEY],
      }],
      credentials: [TOKEN_KEY, PROJECT_KEY],
    });
  });
  after(() => emu.stop());

  const client = (key: { accessKey: string; secretKey: string; sessionToken?: string }, sv: 2 | 4, method: 'GET' | 'POST', service: 'cloudformation' | 'monitoring' = 'cloudformation') => {
    const creds: Credentials = { accessKeyId: key.accessKey, secretAccessKey: key.secretKey, sessionToken: key.sessionToken, source: 'test' };
    return new QueryClient({
      endpoint: resolveEndpoint({ service, url: emu.apiUrl, region: 'RegionOne' }),
      credentials: { get: async () => creds },
      http: new HttpClient({ transport: { env: {} }, sleep: async () => {} }),
      apiVersion: service === 'cloudformation' ? '2010-05-15' : '2010-08-01',
      signatureVersion: sv,
      method,
    });
  };

  for (const sv of [4, 2] as const) {
    for (const method of ['GET', 'POST'] as const) {
      it(`DescribeStackResource, SigV${sv} ${method}, stack user key`, async () => {
        const d = await describeStackResource(client(STACK_KEY, sv, method), 'teststack', 'WebServer');
        assert.deepEqual(d.metadata, META);
        assert.equal(emu.requestLog.at(-1)?.verified, 'ok');
      });
      it(`SigV${sv} ${method} with a session token`, async () => {
        const d = await describeStackResource(client(TOKEN_KEY, sv, method), 'teststack', 'WebServer');
        assert.deepEqual(d.metadata, META);
      });
    }
  }

  it('SignalResource and PutMetricData (form POST) verify', async () => {
    await signalResource(client(PROJECT_KEY, 4, 'GET'), { stack: 'teststack', resource: 'Server2', uniqueId: 'i-1', status: 'SUCCESS' });
    assert.equal(emu.resource('teststack', 'Server2').signals.length, 1);
    await putMetricData(client(PROJECT_KEY, 4, 'POST', 'monitoring'), 'system/linux', [{ name: 'CPUUtilization', value: 12.5, unit: 'Percent' }]);
    assert.ok(emu.state().metrics.some((m) => JSON.stringify(m).includes('CPUUtilization')));
  });

  it('a wrong secret is refused with Heat\'s AccessDenied, after one request', async () => {
    const before = emu.requestLog.length;
    await assert.rejects(
      describeStackResource(client({ ...STACK_KEY, secretKey: 'wrong' }, 4, 'GET'), 'teststack', 'WebServer'),
      (e: unknown) => e instanceof ApiError && e.status === 403 && e.code === 'AccessDenied',
    );
    assert.equal(emu.requestLog.length - before, 1);
  });

  it('a skewed emulator clock (20 min ahead) is corrected from its Date header and the retry verifies', async () => {
    emu.setFaults({ skewSeconds: 1200 });
    try {
      const d = await describeStackResource(client(STACK_KEY, 4, 'GET'), 'teststack', 'WebServer');
      assert.deepEqual(d.metadata, META);
      const last2 = emu.requestLog.slice(-2).map((r) => r.status);
      assert.deepEqual(last2, [403, 200]);
    } finally {
      emu.setFaults({});
    }
  });
});
