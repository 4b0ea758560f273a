import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { builtInEndpointTable, loadEndpointTable, MAX_ENDPOINTS_FILE_BYTES } from '../../shared/endpoint-table';
import { ConfigError } from '../../shared/errors';
import { parseS3Url } from '../../shared/init/auth';

/** An override in aws-cfn-bootstrap's format: a VPC interface endpoint for S3, and the SQS list it also carries. */
const OVERRIDE = {
  Services: {
    AmazonS3: {
      Endpoints: [
        { Region: 'us-east-1', Hostname: 's3.amazonaws.com', Default: true },
        { Region: 'eu-west-1', Hostname: 'bucket.vpce-0a1b2c3d4e5f-12345678.s3.eu-west-1.vpce.amazonaws.com' },
        { Region: 'RegionOne', Hostname: 'Objects.Cloud.Example:8080' },
      ],
    },
    AmazonSQS: { Endpoints: [{ Region: 'us-east-1', Hostname: 'queue.amazonaws.com' }] },
  },
};

describe("endpoint table (aws-cfn-bootstrap's endpoints.json and its override)", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-endpoints-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const cfnEnv = () => ({ CFNTOOLS_CFN_DIR: dir });
  const writeOverride = (doc: unknown, name = 'endpoints-override.json') => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, typeof doc === 'string' ? doc : JSON.stringify(doc, null, 2));
    return file;
  };

  it("built in: aws-cfn-bootstrap's S3 hosts, used when the cfn directory has no override", () => {
    const table = loadEndpointTable(cfnEnv());
    assert.equal(table, builtInEndpointTable());
    assert.equal(table.source, 'built-in');
    assert.equal(table.s3.length, 10);
    assert.deepEqual(table.s3.find((h) => h.hostname === 's3-external-2.amazonaws.com'), { hostname: 's3-external-2.amazonaws.com', region: 'us-east-1' });
    assert.deepEqual(parseS3Url('https://s3-external-2.amazonaws.com/b/k', table.s3), { bucket: 'b', key: 'k', region: 'us-east-1', style: 'path' });
  });

  it('endpoints-override.json in the cfn directory wholly replaces it, and changes what is S3', () => {
    const file = writeOverride(OVERRIDE);
    const table = loadEndpointTable(cfnEnv());
    assert.equal(table.source, file);
    assert.deepEqual(table.s3.map((h) => h.hostname), ['s3.amazonaws.com', 'bucket.vpce-0a1b2c3d4e5f-12345678.s3.eu-west-1.vpce.amazonaws.com', 'objects.cloud.example:8080']);
    // A VPC endpoint and a private store are now S3, with the region the table gives...
    assert.deepEqual(parseS3Url('https://my-bucket.bucket.vpce-0a1b2c3d4e5f-12345678.s3.eu-west-1.vpce.amazonaws.com/a/b', table.s3), { bucket: 'my-bucket', key: 'a/b', region: 'eu-west-1', style: 'virtual' });
    assert.equal(parseS3Url('https://my-bucket.bucket.vpce-0a1b2c3d4e5f-12345678.s3.eu-west-1.vpce.amazonaws.com/a/b'), undefined, 'not S3 with the built-in table');
    assert.deepEqual(parseS3Url('http://objects.cloud.example:8080/b/k', table.s3), { bucket: 'b', key: 'k', region: 'RegionOne', style: 'path' });
    // ...a host only the built-in table listed is not...
    assert.equal(parseS3Url('https://s3-external-2.amazonaws.com/b/k', table.s3), undefined);
    // ...and S3's own host names in every partition still are.
    assert.equal(parseS3Url('https://b.s3.us-iso-east-1.c2s.ic.gov/k', table.s3)?.region, 'us-iso-east-1');
  });

  it('ENDPOINTS_OVERRIDE wins over the file in the cfn directory', () => {
    writeOverride({ Services: {} });
    const named = writeOverride({ Services: { AmazonS3: { Endpoints: [{ Region: 'r1', Hostname: 's3.local' }] } } }, 'named.json');
    const table = loadEndpointTable({ ...cfnEnv(), ENDPOINTS_OVERRIDE: named });
    assert.equal(table.source, named);
    assert.deepEqual(table.s3, [{ hostname: 's3.local', region: 'r1' }]);
  });

  it('an override without an AmazonS3 list recognises only S3\'s own host names', () => {
    writeOverride({ Services: { AmazonSQS: { Endpoints: [] } } });
    const table = loadEndpointTable(cfnEnv());
    assert.deepEqual(table.s3, []);
    assert.equal(parseS3Url('https://s3.amazonaws.com/b/k', table.s3)?.region, 'us-east-1');
  });

  describe('a bad override is a ConfigError naming the file and the key path', () => {
    const entry = (e: object) => ({ Services: { AmazonS3: { Endpoints: [{ Region: 'us-east-1', Hostname: 's3.amazonaws.com' }, e] } } });
    const cases: Array<[string, unknown, RegExp]> = [
      ['not JSON', '{"Services": ', /endpoints-override\.json: not valid JSON: it ends early \(at offset 13\)/],
      ['a list', [], /: expected an endpoint table \{"Services"/],
      ['an unknown top-level key', { Services: {}, Servics: {} }, /: Servics: unknown key; expected Services/],
      ['no Services', {}, /: Services: required/],
      ['Services not an object', { Services: [] }, /: Services: expected an object of services/],
      ['a service without a list', { Services: { AmazonS3: { Endpoints: {} } } }, /: Services\.AmazonS3\.Endpoints: expected a list/],
      ['an unknown service key', { Services: { AmazonS3: { Endpoint: [] } } }, /: Services\.AmazonS3\.Endpoint: unknown key; expected Endpoints/],
      ['an entry without Region', entry({ Hostname: 'x.example' }), /: Services\.AmazonS3\.Endpoints\[1\]\.Region: expected a region name like "us-east-1", got nothing/],
      ['a Hostname with a scheme', entry({ Region: 'r', Hostname: 'https://s3.example.com' }), /: Services\.AmazonS3\.Endpoints\[1\]\.Hostname: expected a host name .*got "https:\/\/s3\.example\.com"/],
      ['a Hostname with a path', entry({ Region: 'r', Hostname: 's3.example.com/bucket' }), /Endpoints\[1\]\.Hostname: expected a host name/],
      ['a non-boolean Default', entry({ Region: 'r', Hostname: 'h', Default: 'yes' }), /Endpoints\[1\]\.Default: expected true or false, got "yes"/],
      ['a misspelt key', entry({ Region: 'r', Hostnme: 'h' }), /Endpoints\[1\]\.Hostnme: unknown key; expected Region, Hostname, Default/],
      ['an entry that is not an object', { Services: { AmazonSQS: { Endpoints: ['queue.amazonaws.com'] } } }, /Services\.AmazonSQS\.Endpoints\[0\]: expected an object/],
    ];
    for (const [name, doc, re] of cases) {
      it(name, () => {
        const file = writeOverride(doc);
        assert.throws(() => loadEndpointTable(cfnEnv()), (err: unknown) => {
          assert.ok(err instanceof ConfigError, String(err));
          assert.equal(err.file, file);
          assert.ok(err.message.startsWith(`${file}: `), err.message);
          assert.match(err.message, re);
          return true;
        });
      });
    }

    it('a missing ENDPOINTS_OVERRIDE file, a directory, or a file too large to be a table', () => {
      const missing = path.join(dir, 'missing.json');
      assert.throws(() => loadEndpointTable({ ENDPOINTS_OVERRIDE: missing }), (err: unknown) => err instanceof ConfigError && err.file === missing && /given by ENDPOINTS_OVERRIDE \(ENOENT\)/.test(err.message));
      fs.mkdirSync(path.join(dir, 'endpoints-override.json'));
      assert.throws(() => loadEndpointTable(cfnEnv()), /endpoints-override\.json: the endpoints override file is a directory, not a regular file: refused/);
      const big = writeOverride(' '.repeat(MAX_ENDPOINTS_FILE_BYTES + 1), 'big.json');
      assert.throws(() => loadEndpointTable({ ENDPOINTS_OVERRIDE: big }), /big\.json: the endpoints override given by ENDPOINTS_OVERRIDE is 1048577 bytes; the most read is 1048576/);
    });
  });
});
