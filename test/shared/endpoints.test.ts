import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveEndpoint, awsEndpoint } from '../../shared/endpoints';
import { readHeatFiles, parseBotoConfig } from '../../shared/heat-files';
import { ConfigError } from '../../shared/errors';

/** cfn-boto-cfg exactly as Heat 19 writes it (no trailing newline). */
const HEAT19_BOTO = '[Boto]\ndebug = 0\nis_secure = 0\nhttps_validate_certificates = 1\ncfn_region_name = heat\ncfn_region_endpoint = 127.0.0.1';

describe('endpoint discovery', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-heat-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, text: string) => fs.writeFileSync(path.join(dir, name), text);

  it('--url wins over Heat files and region, and gets a trailing slash', () => {
    write('cfn-metadata-server', 'http://10.0.0.1:8000/v1/');
    const e = resolveEndpoint({ service: 'cloudformation', url: 'http://127.0.0.1:9999/v1', region: 'r1', heat: readHeatFiles(dir) });
    assert.equal(e.url, 'http://127.0.0.1:9999/v1/');
    assert.equal(e.region, 'r1');
    assert.equal(e.source, '--url');
  });

  it('--url on an AWS host takes the region from the host name', () => {
    const e = resolveEndpoint({ service: 'cloudformation', url: 'https://cloudformation.eu-west-3.amazonaws.com', env: {} });
    assert.equal(e.region, 'eu-west-3');
  });

  it('uses cfn-metadata-server whole, port and path included (heat-cfntools ignores the port)', () => {
    write('cfn-metadata-server', 'http://127.0.0.1:8123/heat-cfn/v1/\n');
    write('cfn-boto-cfg', HEAT19_BOTO);
    const e = resolveEndpoint({ service: 'cloudformation', region: 'RegionOne', heat: readHeatFiles(dir), env: {} });
    assert.equal(e.url, 'http://127.0.0.1:8123/heat-cfn/v1/');
    assert.equal(e.region, 'heat', 'scope region from cfn_region_name');
    assert.equal(e.source, path.join(dir, 'cfn-metadata-server'));
    assert.equal(e.insecure, undefined);
  });

  it('falls back to cfn-boto-cfg host with Heat port 8000 and /v1/, https when is_secure', () => {
    write('cfn-boto-cfg', '[Boto]\nis_secure = 1\nhttps_validate_certificates = 0\ncfn_region_endpoint = heat.example\nca_certificates_file = /etc/ssl/heat.pem\n');
    const e = resolveEndpoint({ service: 'cloudformation', heat: readHeatFiles(dir), env: {} });
    assert.equal(e.url, 'https://heat.example:8000/v1/');
    assert.equal(e.insecure, true);
    assert.equal(e.caBundle, '/etc/ssl/heat.pem');
  });

  it('monitoring: cfn-watch-server, else cloudwatch_region_endpoint on port 8003, else AWS', () => {
    write('cfn-boto-cfg', '[Boto]\ncloudwatch_region_endpoint = 127.0.0.2\n');
    assert.equal(resolveEndpoint({ service: 'monitoring', heat: readHeatFiles(dir), env: {} }).url, 'http://127.0.0.2:8003/v1/');
    write('cfn-watch-server', 'http://127.0.0.3:8003/v1');
    assert.equal(resolveEndpoint({ service: 'monitoring', heat: readHeatFiles(dir), env: {} }).url, 'http://127.0.0.3:8003/v1/');
    write('cfn-boto-cfg', HEAT19_BOTO);
    fs.rmSync(path.join(dir, 'cfn-watch-server'));
    const e = resolveEndpoint({ service: 'monitoring', region: 'us-west-2', heat: readHeatFiles(dir), env: {} });
    assert.equal(e.url, 'https://monitoring.us-west-2.amazonaws.com/');
  });

  it('derives AWS endpoints from --region, env, or the default us-east-1; .com.cn for China', () => {
    assert.equal(resolveEndpoint({ service: 'cloudformation', region: 'ap-south-1', env: {} }).url, 'https://cloudformation.ap-south-1.amazonaws.com/');
    assert.equal(resolveEndpoint({ service: 'cloudformation', env: { AWS_REGION: 'eu-north-1' } }).region, 'eu-north-1');
    assert.equal(resolveEndpoint({ service: 'cloudformation', env: {} }).url, 'https://cloudformation.us-east-1.amazonaws.com/');
    assert.equal(awsEndpoint('monitoring', 'cn-north-1'), 'https://monitoring.cn-north-1.amazonaws.com.cn/');
  });

  it('rejects a non-http URL with the flag or file named', () => {
    assert.throws(() => resolveEndpoint({ service: 'cloudformation', url: 'ftp://x/' }), (e: unknown) => e instanceof ConfigError && /--url/.test(e.message));
    write('cfn-metadata-server', 'not a url');
    assert.throws(
      () => resolveEndpoint({ service: 'cloudformation', heat: readHeatFiles(dir), env: {} }),
      (e: unknown) => e instanceof ConfigError && e.message.includes('cfn-metadata-server'),
    );
  });

  it('a bad boolean in cfn-boto-cfg names the file and key', () => {
    assert.throws(
      () => parseBotoConfig('[Boto]\nis_secure = maybe\n', '/x/cfn-boto-cfg'),
      (e: unknown) => e instanceof ConfigError && e.message.includes('/x/cfn-boto-cfg') && e.message.includes('line 2: [Boto] is_secure'),
    );
  });
});
