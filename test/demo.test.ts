import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

describe('demo (README main command)', () => {
  it('runs the tools against the emulator, completes the wait condition and leaves nothing behind', function () {
    this.timeout(60000);
    const before = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('cfntools-demo-'));
    const r = spawnSync(process.execPath, [path.join(__dirname, 'demo', 'run.js')], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /-> "hello from cfntools"/);
    assert.match(r.stdout, /commands: 10_greet, 20_list, 30_skipped \(skipped: its test failed\)/);
    assert.match(r.stdout, /0640 {2}root\/etc\/demo\/app\.conf: "greeting=hello from cfntools\\nport=8080"/);
    assert.match(r.stdout, /WaitCondition CREATE_COMPLETE \(1\/1 signals\)/);
    assert.match(r.stdout, /post\.update fired, its cfn-init rewrote app\.conf: "greeting=hello again, after a stack update"/);
    assert.match(r.stdout, /-> sent 4 metric\(s\) in 1 request\(s\) to http:\/\/127\.0\.0\.1:\d+\/v1\//);
    assert.match(r.stdout, /status page http:\/\/127\.0\.0\.1:\d+\/ shows: (?=.*MemoryUtilization [\d.]+ Percent)(?=.*DiskSpaceUtilization [\d.]+ Percent)(?=.*CPUUtilization [\d.]+ Percent)(?=.*Heartbeat 1\.0 Count)/);
    assert.match(r.stdout, /root\/srv\/deployed\.txt: "deployed with hello from heat-agent\\n"/);
    assert.match(r.stdout, /stack: Deploy CREATE_COMPLETE, output result "hello from heat-agent" \(1 signal\)/);
    assert.match(r.stdout, /root\/var\/www\/html\/index\.html: "<h1>aws-demo<\/h1>\\n"; DescribeStackResource \(cfn-v1, i-[0-9a-f]{17}\), SignalResource \(cfn-v1, i-[0-9a-f]{17}\); WebServerInstance CREATE_COMPLETE/);
    const after = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('cfntools-demo-'));
    assert.deepEqual(after, before, 'sandbox removed');
  });
});
