import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveEndpoint, awsEndpoint, regionFromAwsHost } from '../../shared/endpoints';
import { partitionOf, PARTITIONS } from '../../shared/partitions';
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

  describe('partitions', () => {
    // region, partition, the CloudFormation host: AWS's published DNS suffixes.
    const cases: Array<[string, string, string]> = [
      ['us-east-1', 'aws', 'cloudformation.us-east-1.amazonaws.com'],
      ['eu-west-3', 'aws', 'cloudformation.eu-west-3.amazonaws.com'],
      ['cn-north-1', 'aws-cn', 'cloudformation.cn-north-1.amazonaws.com.cn'],
      ['cn-northwest-1', 'aws-cn', 'cloudformation.cn-northwest-1.amazonaws.com.cn'],
      ['us-gov-west-1', 'aws-us-gov', 'cloudformation.us-gov-west-1.amazonaws.com'],
      ['us-iso-east-1', 'aws-iso', 'cloudformation.us-iso-east-1.c2s.ic.gov'],
      ['us-isob-east-1', 'aws-iso-b', 'cloudformation.us-isob-east-1.sc2s.sgov.gov'],
      ['eu-isoe-west-1', 'aws-iso-e', 'cloudformation.eu-isoe-west-1.cloud.adc-e.uk'],
      ['us-isof-south-1', 'aws-iso-f', 'cloudformation.us-isof-south-1.csp.hci.ic.gov'],
      ['eusc-de-east-1', 'aws-eusc', 'cloudformation.eusc-de-east-1.amazonaws.eu'],
    ];
    for (const [region, partition, host] of cases) {
      it(`${region}: ${partition}, CloudFormation and CloudWatch under its domain, and back`, () => {
        assert.equal(partitionOf(region).id, partition);
        assert.equal(awsEndpoint('cloudformation', region), `https://${host}/`);
        const monitoring = host.replace(/^cloudformation/, 'monitoring');
        assert.equal(awsEndpoint('monitoring', region), `https://${monitoring}/`);
        assert.equal(resolveEndpoint({ service: 'monitoring', region, env: {} }).url, `https://${monitoring}/`);
        assert.equal(regionFromAwsHost(host), region);
        assert.equal(regionFromAwsHost(monitoring.toUpperCase()), region);
        assert.equal(regionFromAwsHost(host.replace(/^cloudformation/, 'cloudformation-fips')), region);
        const e = resolveEndpoint({ service: 'cloudformation', url: `https://${host}`, env: {} });
        assert.equal(e.region, region, '--url on the host signs for its region');
      });
    }

    it('every partition has a test above', () => {
      assert.deepEqual(new Set(cases.map((c) => c[1])), new Set(PARTITIONS.map((p) => p.id)));
    });

    it('a region no partition claims is aws\'s (a region newer than the table)', () => {
      assert.equal(awsEndpoint('cloudformation', 'xx-newplace-9'), 'https://cloudformation.xx-newplace-9.amazonaws.com/');
    });

    it('a host whose region belongs to another domain, or another service, or no AWS domain, names no region', () => {
      for (const host of [
        'cloudformation.cn-north-1.amazonaws.com',
        'cloudformation.us-east-1.amazonaws.com.cn',
        'cloudformation.us-iso-east-1.amazonaws.com',
        'cloudformation.eu-west-1.c2s.ic.gov',
        'ec2.us-east-1.amazonaws.com',
        'cloudformation.us-east-1.amazonaws.com.evil.example',
        'cloudformation.us-east-1.example.com',
      ]) {
        assert.equal(regionFromAwsHost(host), undefined, host);
      }
      const e = resolveEndpoint({ service: 'cloudformation', url: 'https://cloudformation.us-iso-east-1.amazonaws.com', env: {} });
      assert.equal(e.region, 'us-east-1', 'falls back to the default region, not a region the host cannot serve');
    });
  });
});
