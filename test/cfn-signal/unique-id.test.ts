/**
 * The default UniqueId: nova's uuid, EC2's instance-id (IMDSv2), the uuid
 * heat-cfntools cached, the host name; quickly when the metadata service
 * does not answer. Every metadata service here is a loopback fake.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { closedPort, startFakeImds } from '../support/imds-server';
import { answerAccepted, sandbox, withServer, type Sandbox } from './support';

const NOVA_UUID = '5e1f6a70-1c2d-4e3f-8a9b-0c1d2e3f4a5b';

function sentId(body: Buffer): string {
  return (JSON.parse(body.toString()) as { UniqueId: string }).UniqueId;
}

describe('cfn-signal default UniqueId', function () {
  let box: Sandbox;
  beforeEach(() => {
    box = sandbox();
  });
  afterEach(() => box.remove());

  async function signalWith(env: NodeJS.ProcessEnv): Promise<{ id: string; seconds: number; log: string }> {
    return withServer(answerAccepted, async (server) => {
      const t0 = performance.now();
      const r = await box.run([`${server.url}/v1/waitcondition/x`], env);
      const seconds = (performance.now() - t0) / 1000;
      assert.equal(r.status, 0, r.stderr);
      assert.equal(server.requests.length, 1);
      return { id: sentId(server.requests[0]!.body), seconds, log: box.readLog() };
    });
  }

  it("OpenStack: nova's meta_data.json uuid (as heat-cfntools), IMDSv1 after nova refuses the token", async () => {
    const imds = await startFakeImds({ tokens: 'unsupported', paths: { '/openstack/latest/meta_data.json': { uuid: NOVA_UUID, name: 'vm' }, '/latest/meta-data/instance-id': 'i-0000000a' } });
    try {
      const { id, log } = await signalWith({ AWS_EC2_METADATA_DISABLED: '', AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url });
      assert.equal(id, NOVA_UUID, 'the nova uuid wins over the EC2-compatible instance-id');
      assert.match(log, new RegExp(`UniqueId ${NOVA_UUID} \\(from nova metadata \\(uuid\\)\\)`));
      assert.equal(imds.count('GET', '/latest/meta-data/instance-id'), 0);
    } finally {
      await imds.close();
    }
  });

  it("EC2: the instance-id, with an IMDSv2 token (HttpTokens=required)", async () => {
    const imds = await startFakeImds({ tokens: 'required' });
    try {
      const { id } = await signalWith({ AWS_EC2_METADATA_DISABLED: '', AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url });
      assert.equal(id, 'i-0123456789abcdef0');
      assert.ok(imds.count('PUT', '/latest/api/token') >= 1);
      assert.ok(imds.requests.filter((r) => r.method === 'GET').every((r) => typeof r.headers['x-aws-ec2-metadata-token'] === 'string'));
    } finally {
      await imds.close();
    }
  });

  it('no metadata service answering (connection refused): the host name, within seconds, said so in the log', async () => {
    const port = await closedPort();
    const { id, seconds, log } = await signalWith({ AWS_EC2_METADATA_DISABLED: '', AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://127.0.0.1:${port}` });
    assert.equal(id, os.hostname());
    assert.ok(seconds < 5, `took ${seconds.toFixed(1)} s`);
    assert.match(log, /WARNING .*could not get the instance id from the metadata service; using the host name/);
  });

  it('a metadata service that never answers costs at most a few seconds', async () => {
    const imds = await startFakeImds({ tokens: 'unsupported', hang: new Set(['/openstack/latest/meta_data.json']) });
    try {
      const { id, seconds } = await signalWith({ AWS_EC2_METADATA_DISABLED: '', AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url });
      assert.equal(id, os.hostname());
      assert.ok(seconds < 6, `took ${seconds.toFixed(1)} s`);
      assert.equal(imds.count('GET', '/openstack/latest/meta_data.json'), 2, 'two short attempts');
      assert.equal(imds.count('GET', '/latest/meta-data/instance-id'), 0, 'no second wait on another path');
    } finally {
      await imds.close();
    }
  });

  it("metadata service down: the uuid heat-cfntools cached in nova_meta.json, with a warning", async () => {
    fs.mkdirSync(path.join(box.dir, 'heat'));
    fs.writeFileSync(path.join(box.dir, 'heat', 'nova_meta.json'), JSON.stringify({ uuid: NOVA_UUID, meta: {} }));
    const { id, log } = await signalWith({});
    assert.equal(id, NOVA_UUID);
    assert.match(log, /WARNING .*using the instance uuid heat-cfntools cached in .*nova_meta\.json/);
  });

  it('a cached nova_meta.json that is an HTML error page is ignored', async () => {
    fs.mkdirSync(path.join(box.dir, 'heat'));
    fs.writeFileSync(path.join(box.dir, 'heat', 'nova_meta.json'), '<html><body>502 Bad Gateway</body></html>');
    const { id, log } = await signalWith({});
    assert.equal(id, os.hostname());
    assert.match(log, /nova_meta\.json is not valid JSON: syntax error at offset 0; ignored/);
  });

  it('the metadata service is not asked when -i is given', async () => {
    const imds = await startFakeImds({ paths: { '/openstack/latest/meta_data.json': { uuid: NOVA_UUID } } });
    try {
      await withServer(answerAccepted, async (server) => {
        const r = await box.run(['-i', 'given', `${server.url}/v1/waitcondition/x`], { AWS_EC2_METADATA_DISABLED: '', AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(sentId(server.requests[0]!.body), 'given');
      });
      assert.equal(imds.requests.length, 0);
    } finally {
      await imds.close();
    }
  });
});
