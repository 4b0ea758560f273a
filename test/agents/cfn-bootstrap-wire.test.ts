/**
 * aws-cfn-bootstrap's recorded traffic (test/fixtures/cfn-bootstrap-wire)
 * replayed against our tools: the same command line, the metadata service
 * serving the recording's identity document and signature, a loopback
 * CloudFormation answering what the recording's answered. With no
 * credentials (CFN_V1) nothing in the request depends on time or keys, so
 * the CloudFormation request must be the recorded one byte for byte: method,
 * path and query, the Authorization header, Accept, no body. With keys the
 * signature depends on the time: the same parameters, signed for the same
 * scope. How many metadata-service requests precede it differs on purpose
 * (docs/COMPATIBILITY.md).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { IDENTITY_DOCUMENT_PATH, IDENTITY_SIGNATURE_PATH } from '../../shared/credentials/instance-identity';
import { readBootstrapScenarios, WIRE_IDENTITY, type BootstrapScenario } from '../support/cfn-bootstrap-wire';
import { runTool, toolEnv, type RunResult } from '../support/cli';
import { closedPort, roleDocument, startFakeImds, type FakeImds } from '../support/imds-server';
import { startServer, type RecordedRequest, type TestServer } from '../support/server';
import { header } from '../support/sigv-transcript';

const ROLE = 'cfn-wire-InstanceRole';
const RECORDED_OUT = '/tmp/cfn-wire/out';

class Replay {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-bootstrap-wire-'));
  readonly out = path.join(this.dir, 'out');
  server!: TestServer;

  constructor(readonly scenario: BootstrapScenario) {
    fs.mkdirSync(this.out);
  }

  /** A loopback CloudFormation that answers the n-th request with the recording's n-th answer (then the last again). */
  async start(): Promise<void> {
    const answers = this.scenario.cloudFormation.map((x) => x.answer);
    let n = 0;
    this.server = await startServer((_req, res) => {
      const a = answers[Math.min(n++, answers.length - 1)]!;
      res.writeHead(a.status, { 'Content-Type': a.headers['content-type'] ?? 'application/json' });
      res.end(a.body.split(RECORDED_OUT).join(this.out));
    });
  }

  /** The recorded command line, pointed at the loopback CloudFormation and this replay's directories. */
  args(): string[] {
    const s = this.scenario;
    const argv = [...s.argv];
    const url = argv.indexOf('--url');
    if (url >= 0) argv.splice(url, 2);
    if (s.tool === 'cfn-hup') {
      const etc = path.join(this.dir, 'hup');
      fs.mkdirSync(path.join(etc, 'hooks.d'), { recursive: true });
      fs.writeFileSync(path.join(etc, 'cfn-hup.conf'), `[main]\nstack=wire-test\nregion=us-east-1\ninterval=5\nurl=${this.server.url}\n`);
      fs.writeFileSync(
        path.join(etc, 'hooks.d', 'cfn-auto-reloader.conf'),
        '[cfn-auto-reloader-hook]\ntriggers=post.update\npath=Resources.WebServer.Metadata.AWS::CloudFormation::Init\n' +
          `action=echo reloader fired >> ${this.out}/hup-actions.log\nrunas=root\n\n` +
          '[app-added]\ntriggers=post.add\npath=Resources.WebServer.Metadata.app\n' +
          `action=echo "app-added fired: CFN_NEW_METADATA=$CFN_NEW_METADATA" >> ${this.out}/hup-actions.log\n`,
      );
      argv[argv.indexOf('-c') + 1] = etc;
      return ['--log-file', path.join(this.dir, 'tool.log'), ...argv];
    }
    return ['--log-file', path.join(this.dir, 'tool.log'), ...argv, '--url', this.server.url];
  }

  run(imdsUrl: string): Promise<RunResult> {
    const env = toolEnv({
      AWS_EC2_METADATA_DISABLED: '',
      AWS_EC2_METADATA_SERVICE_ENDPOINT: imdsUrl,
      CFNTOOLS_HEAT_DIR: path.join(this.dir, 'heat'),
      CFNTOOLS_CACHE_DIR: path.join(this.dir, 'cache'),
      CFNTOOLS_STATE_DIR: path.join(this.dir, 'state'),
      CFNTOOLS_HUP_STATE_DIR: path.join(this.dir, 'hup-state'),
      CFNTOOLS_CFN_DIR: path.join(this.dir, 'etc-cfn'),
    });
    return runTool(this.scenario.tool, this.args(), { env });
  }

  async close(): Promise<void> {
    await this.server?.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The session token of the recording's role, as its SigV4 requests carry it. */
function roleToken(): string {
  const [s] = readBootstrapScenarios('cfn-init-role.txt');
  return header(s!.cloudFormation[0]!.request, 'X-Amz-Security-Token')!;
}

function label(s: BootstrapScenario): string {
  return `${s.file.replace(/\.txt$/, '')}: ${s.tool} ${s.argv.join(' ')}${s.condition ? ` (${s.condition})` : ''}`;
}

/** Query parameters in wire order, decoded as a form (`+` is a space). */
function params(target: string): Array<[string, string]> {
  return [...new URLSearchParams(target.slice(target.indexOf('?') + 1))];
}

function assertSameCfnV1Requests(s: BootstrapScenario, got: RecordedRequest[], r: RunResult): void {
  assert.equal(got.length, s.cloudFormation.length, `CloudFormation requests\n${r.stderr}`);
  for (const [i, { request: want }] of s.cloudFormation.entries()) {
    const g = got[i]!;
    assert.equal(g.method, want.method);
    assert.equal(g.url, want.target, 'path and query byte for byte');
    const auth = header(want, 'Authorization')!;
    assert.match(auth, /^CFN_V1 /);
    assert.equal(g.headers.authorization, auth, 'the CFN_V1 header byte for byte');
    assert.equal(g.headers.accept, header(want, 'Accept'));
    for (const h of ['x-amz-date', 'x-amz-security-token', 'content-type', 'content-length']) assert.equal(g.headers[h], undefined, h);
    assert.equal(g.body.length, 0);
  }
}

describe('aws-cfn-bootstrap transcripts replayed (cfn-bootstrap-wire)', function () {
  this.timeout(60_000);
  let imds: FakeImds;
  before(async () => {
    imds = await startFakeImds({
      paths: {
        '/latest/meta-data/instance-id': WIRE_IDENTITY.instanceId,
        [IDENTITY_DOCUMENT_PATH]: WIRE_IDENTITY.document,
        [IDENTITY_SIGNATURE_PATH]: WIRE_IDENTITY.signature,
      },
      // The recording's role keys, so the scope and token can be compared.
      roles: { [ROLE]: { ...roleDocument(new Date(Date.now() + 6 * 3600_000)), AccessKeyId: 'ASIAEXAMPLEROLEKEY01', Token: roleToken() } },
    });
  });
  after(() => imds.close());
  beforeEach(() => {
    imds.config.tokens = 'optional';
    imds.config.putStatus = 405;
  });

  const replay = async (s: BootstrapScenario, check: (r: RunResult, got: RecordedRequest[], box: Replay) => void, imdsUrl?: string) => {
    const box = new Replay(s);
    try {
      await box.start();
      const r = await box.run(imdsUrl ?? imds.url);
      check(r, box.server.requests, box);
    } finally {
      await box.close();
    }
  };

  describe('no credentials: CFN_V1', () => {
    const files = ['cfn-init-nocreds-cfnv1.txt', 'cfn-get-metadata-nocreds-cfnv1.txt', 'cfn-signal-resource-nocreds-cfnv1.txt', 'url-override.txt', 'cfn-init-configset-two-configs.txt'];
    const scenarios = files.flatMap(readBootstrapScenarios).filter((s) => !s.argv.includes('--access-key'));

    it('finds the recorded CFN_V1 scenarios', () => {
      assert.equal(scenarios.length, 8, scenarios.map(label).join('\n'));
      assert.ok(scenarios.every((s) => s.cloudFormation.length === 1));
    });

    for (const s of scenarios) {
      it(`the same request, byte for byte: ${label(s)}`, () =>
        replay(s, (r, got, box) => {
          assert.equal(r.status, s.exitCode, r.stderr);
          assertSameCfnV1Requests(s, got, r);
          if (s.tool === 'cfn-get-metadata') assert.deepEqual(JSON.parse(r.stdout.split(box.out).join(RECORDED_OUT)), JSON.parse(s.stdout));
          if (s.tool === 'cfn-init' && s.file === 'cfn-init-nocreds-cfnv1.txt') {
            assert.equal(fs.readFileSync(path.join(box.out, 'hello.txt'), 'utf8'), 'hello from cfn-init\n');
          }
          for (const text of [r.stderr, r.stdout, fs.existsSync(path.join(box.dir, 'tool.log')) ? fs.readFileSync(path.join(box.dir, 'tool.log'), 'utf8') : '']) {
            assert.ok(!text.includes(WIRE_IDENTITY.signature.slice(0, 40)), 'the identity signature stays out of output and logs');
          }
        }));
    }

    it('IMDSv1 fallback: the token request refused, the same header (imds-v1-fallback)', async () => {
      const [s] = readBootstrapScenarios('imds-v1-fallback.txt');
      imds.config.tokens = 'unsupported';
      imds.config.putStatus = 404;
      await replay(s!, (r, got) => {
        assert.equal(r.status, 0, r.stderr);
        assertSameCfnV1Requests(s!, got, r);
      });
    });

    it('a token request never answered (imds-token-put-hangs): CFB gives up after 11 minutes; we fall back to IMDSv1 within seconds, the same header', async () => {
      const [s] = readBootstrapScenarios('imds-token-put-hangs.txt');
      assert.equal(s!.exitCode, 1);
      assert.equal(s!.cloudFormation.length, 0);
      imds.config.hang.add('PUT /latest/api/token');
      try {
        const [recorded] = readBootstrapScenarios('cfn-get-metadata-nocreds-cfnv1.txt');
        await replay({ ...recorded!, argv: s!.argv }, (r, got) => {
          assert.equal(r.status, 0, r.stderr);
          assertSameCfnV1Requests(recorded!, got, r);
        });
        assert.ok(imds.requests.some((q) => q.method === 'GET' && q.headers['x-aws-ec2-metadata-token'] === undefined), 'IMDSv1 GETs');
      } finally {
        imds.config.hang.delete('PUT /latest/api/token');
      }
    });

    it('cfn-hup: one check per pass, the same request; an in-progress resource is skipped, a complete one fires post.add', async () => {
      const [inProgress, complete] = readBootstrapScenarios('cfn-hup-nocreds-cfnv1.txt');
      await replay(inProgress!, (r, got, box) => {
        assert.equal(r.status, 0, r.stderr);
        assertSameCfnV1Requests(inProgress!, got, r);
        assert.ok(!fs.existsSync(path.join(box.out, 'hup-actions.log')));
      });
      await replay(complete!, (r, got, box) => {
        assert.equal(r.status, 0, r.stderr);
        assertSameCfnV1Requests(complete!, got, r);
        assert.equal(fs.readFileSync(path.join(box.out, 'hup-actions.log'), 'utf8'), 'app-added fired: CFN_NEW_METADATA={"name": "wire", "port": "8080"}\n');
      });
    });

    it('errors (cfn-errors-nocreds): a 500 is retried with the same header; a Sender error is final, exit 1 with its code', async () => {
      const [retried, denied, invalid] = readBootstrapScenarios('cfn-errors-nocreds.txt');
      await replay(retried!, (r, got) => {
        assert.equal(r.status, 0, r.stderr);
        assertSameCfnV1Requests(retried!, got, r);
      });
      for (const s of [denied!, invalid!]) {
        await replay(s, (r, got) => {
          assert.equal(s.exitCode, 1);
          assert.equal(r.status, 1, r.stderr);
          assertSameCfnV1Requests(s, got, r);
          const code = s.cloudFormation[0]!.answer.body.match(/"Code":"(\w+)"/)![1]!;
          assert.match(r.stderr, new RegExp(code));
          assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        });
      }
    });

    it('no metadata service (imds-unreachable): one line saying what was tried, exit 1, nothing sent', async () => {
      const [s] = readBootstrapScenarios('imds-unreachable.txt');
      assert.equal(s!.tool, 'cfn-get-metadata');
      assert.equal(s!.exitCode, 1);
      await replay(
        s!,
        (r, got) => {
          assert.equal(r.status, 1, r.stderr);
          assert.equal(got.length, 0);
          assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
          assert.match(r.stderr, /no credentials found; tried: .*instance identity document \(the metadata service at http:\/\/127\.0\.0\.1:\d+ is unreachable/);
        },
        `http://127.0.0.1:${await closedPort()}`,
      );
    });
  });

  describe('keys and role: SigV4, the same parameters and scope', () => {
    const scenarios = [
      ...readBootstrapScenarios('cfn-init-keys.txt'),
      ...readBootstrapScenarios('cfn-init-role.txt'),
      ...readBootstrapScenarios('cfn-get-metadata-keys.txt'),
      ...readBootstrapScenarios('cfn-get-metadata-role.txt'),
      ...readBootstrapScenarios('cfn-sigv4-encoding.txt'),
      ...readBootstrapScenarios('url-override.txt').filter((s) => s.argv.includes('--access-key')),
    ];
    it('finds them', () => assert.equal(scenarios.length, 7, scenarios.map(label).join('\n')));
    for (const s of scenarios) {
      it(label(s), () =>
        replay(s, (r, got) => {
          assert.equal(r.status, s.exitCode, r.stderr);
          assert.equal(got.length, 1);
          const want = s.cloudFormation[0]!.request;
          const sorted = (x: Array<[string, string]>) => [...x].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
          assert.deepEqual(sorted(params(got[0]!.url)), sorted(params(want.target)));
          const scope = (a: string) => / Credential=(\w+)\/\d{8}\/([^/]+\/[^/]+\/aws4_request)/.exec(a)?.slice(1);
          assert.deepEqual(scope(got[0]!.headers.authorization ?? ''), scope(header(want, 'Authorization')!));
          assert.equal(got[0]!.headers['x-amz-security-token'], header(want, 'X-Amz-Security-Token'));
        }));
    }
  });
});
