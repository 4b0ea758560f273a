import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { HaproxyError, haproxyReadings, MAX_STATS_ROWS, parseStats, readStats } from '../../agents/cfn-push-stats/haproxy';
import { botocoreAvailable, validatePutMetricData } from '../support/botocore-cloudwatch';
import { HaproxyRig, haproxyMissing } from '../support/haproxy';
import { skipUnless } from '../support/skip';
import { PushBox } from './support';

/** The columns of haproxy 2.x's `show stat` up to the ones read, and the heat-wire scenario's five rows. */
const HEADER = '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,';
function row(cells: Record<string, string>): string {
  return HEADER.slice(2).split(',').map((n) => cells[n] ?? '').join(',');
}
const SCENARIO = [
  HEADER,
  row({ pxname: 'http', svname: 'FRONTEND', status: 'OPEN', type: '0', req_tot: '120', hrsp_2xx: '100', hrsp_3xx: '5', hrsp_4xx: '10', hrsp_5xx: '5' }),
  row({ pxname: 'http', svname: 'web1', status: 'UP', type: '2', check_duration: '12' }),
  row({ pxname: 'http', svname: 'web2', status: 'DOWN', type: '2', check_duration: '250' }),
  row({ pxname: 'http', svname: 'web3', status: 'UP', type: '2' }),
  row({ pxname: 'http', svname: 'BACKEND', status: 'UP', type: '1', hrsp_2xx: '90', hrsp_3xx: '4', hrsp_4xx: '8', hrsp_5xx: '3' }),
  '',
].join('\n');

const asPairs = (f: ReturnType<typeof haproxyReadings>) => f.readings.map((r) => [r.name, r.value, r.unit]);

describe('cfn-push-stats --haproxy', () => {
  it("the heat-wire scenario: the figures heat-cfntools would send, in AWS's unit names", () => {
    assert.deepEqual(asPairs(haproxyReadings(parseStats(SCENARIO, 's'), false)), [
      ['RequestCount', 120, 'Count'],
      ['HTTPCode_ELB_4XX', 10, 'Count'],
      ['HTTPCode_ELB_5XX', 5, 'Count'],
      ['HTTPCode_Backend_2XX', 90, 'Count'],
      ['HTTPCode_Backend_3XX', 4, 'Count'],
      ['HTTPCode_Backend_4XX', 8, 'Count'],
      ['HTTPCode_Backend_5XX', 3, 'Count'],
      ['Latency', 0.25, 'Seconds'],
      ['HealthyHostCount', 2, 'Count'],
      ['UnHealthyHostCount', 1, 'Count'],
    ]);
    assert.deepEqual(asPairs(haproxyReadings(parseStats(SCENARIO, 's'), true)), [['Latency', 0.25, 'Seconds']]);
  });

  it('columns found by name wherever haproxy puts them; two frontends are summed', () => {
    const csv = ['# type,status,svname,pxname,req_tot', '0,OPEN,FRONTEND,a,7', '0,OPEN,FRONTEND,b,5', ''].join('\n');
    assert.equal(haproxyReadings(parseStats(csv, 's'), false).readings[0]!.value, 12);
    assert.throws(() => parseStats('Unknown command\n', '/run/x'), (e: unknown) => e instanceof HaproxyError && /\/run\/x: not a "show stat" answer/.test(e.message));
    assert.throws(() => parseStats('# pxname,svname\n', 's'), /header has no type column/);
  });

  it('no socket: an error naming it, and what to check', async () => {
    await assert.rejects(readStats('/nonexistent/haproxy.sock'), /haproxy stats socket \/nonexistent\/haproxy.sock: no such socket/);
  });

  it('a counter that is no 64-bit number (400 digits, a sign): that row is left out and named, the rest counted', () => {
    const csv = [
      HEADER,
      row({ pxname: 'good', svname: 'FRONTEND', type: '0', status: 'OPEN', req_tot: '7', hrsp_4xx: '1' }),
      row({ pxname: 'bad', svname: 'FRONTEND', type: '0', status: 'OPEN', req_tot: '9'.repeat(400) }),
      row({ pxname: 'neg', svname: 'BACKEND', type: '1', status: 'UP', hrsp_2xx: '-3', hrsp_5xx: '18446744073709551616' }),
      row({ pxname: 'good', svname: 'web1', type: '2', status: 'UP', check_duration: '18446744073709551615' }),
      '',
    ].join('\n');
    const f = haproxyReadings(parseStats(csv, 's'), false);
    assert.deepEqual(f.refused, ['bad/FRONTEND: req_tot "999999999999999999999999..." is not a counter', 'neg/BACKEND: hrsp_2xx "-3", hrsp_5xx "18446744073709551616" are not counters']);
    const got = Object.fromEntries(f.readings.map((r) => [r.name, r.value]));
    assert.equal(got.RequestCount, 7);
    assert.equal(got.HTTPCode_ELB_4XX, 1);
    assert.equal(got.HTTPCode_Backend_2XX, 0);
    assert.equal(got.Latency, 18446744073709551615 / 1000, 'the largest counter haproxy writes is read');
  });

  it(`more than ${MAX_STATS_ROWS} rows (1.2 million) is one clear error; ${MAX_STATS_ROWS} servers are summed`, () => {
    const many = (n: number) => `# pxname,svname,type,status,check_duration\n${'p,s,2,UP,5\n'.repeat(n)}`;
    assert.throws(() => parseStats(many(1_200_000), '/run/h'), (e: unknown) => e instanceof HaproxyError && e.message === `haproxy stats socket /run/h: "show stat" has 1200000 rows, more than the ${MAX_STATS_ROWS} read`);
    const f = haproxyReadings(parseStats(many(MAX_STATS_ROWS), 's'), false);
    assert.equal(f.readings.find((r) => r.name === 'HealthyHostCount')!.value, MAX_STATS_ROWS);
    assert.equal(f.readings.find((r) => r.name === 'Latency')!.value, 0.005);
  });

  /** A stats socket in a temp dir whose connections `serve` handles; `close` ends them all. */
  async function fakeSocket(serve: (conn: net.Socket) => void): Promise<{ socket: string; close(): Promise<void> }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-haproxy-fake-'));
    const socket = path.join(dir, 'stats');
    const conns = new Set<net.Socket>();
    // Half-open: it may go on writing after our end of `show stat`, as a slow haproxy would.
    const server = net.createServer({ allowHalfOpen: true }, (conn) => {
      conns.add(conn);
      conn.on('error', () => undefined);
      serve(conn);
    });
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    return {
      socket,
      async close() {
        for (const c of conns) c.destroy();
        await new Promise((resolve) => server.close(resolve));
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }

  it('an answer that drips a byte at a time is cut at the deadline, not kept alive by each byte', async () => {
    let sent = 0;
    const fake = await fakeSocket((conn) => {
      const t = setInterval(() => {
        sent++;
        conn.write('#');
      }, 20);
      conn.on('close', () => clearInterval(t));
    });
    try {
      await assert.rejects(readStats(fake.socket, 300), (e: unknown) => e instanceof HaproxyError && /no complete answer within 300 ms \(\d+ bytes arrived\)/.test(e.message));
      assert.ok(sent > 1, `the server was still dripping (${sent} bytes)`);
    } finally {
      await fake.close();
    }
  });

  it('the tool with a 400-digit counter in one row: warns naming the row, sends the rest, exit 0', async () => {
    const csv = [
      HEADER,
      row({ pxname: 'web', svname: 'FRONTEND', type: '0', status: 'OPEN', req_tot: '42' }),
      row({ pxname: 'huge', svname: 'FRONTEND', type: '0', status: 'OPEN', req_tot: '7'.repeat(400) }),
      '',
    ].join('\n');
    const fake = await fakeSocket((conn) => conn.end(csv));
    const box = await PushBox.create();
    try {
      const r = await box.run(['--haproxy', '--haproxy-socket', fake.socket, '--watch', 'CpuAlarm']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(box.log(), /WARNING .*haproxy stats socket \S+: row huge\/FRONTEND: req_tot "7{24}\.\.\." is not a counter; left out of the figures/);
      const got = Object.fromEntries(box.emulator.state().metrics.filter((m) => m.namespace === 'AWS/ELB').map((m) => [m.metricName, m.value]));
      assert.equal(got.RequestCount, 42);
    } finally {
      await box.close();
      await fake.close();
    }
  });

  describe('against a real haproxy on loopback', function () {
    this.timeout(60_000);
    let rig: HaproxyRig;
    let box: PushBox;
    before(async function () {
      skipUnless(this, 'haproxy', haproxyMissing());
      rig = await HaproxyRig.start();
      box = await PushBox.create();
    });
    after(async () => {
      await rig?.stop();
      await box?.close();
    });

    it('requests through the frontend show up as counts; the server on a closed port as unhealthy; one request to AWS/ELB', async () => {
      assert.deepEqual(await rig.get(['/ok', '/ok', '/ok', '/missing', '/boom']), [200, 200, 200, 404, 500]);
      const r = await box.run(['--haproxy', '--haproxy-socket', rig.socket, '--watch', 'CpuAlarm']);
      assert.equal(r.status, 0, r.stderr);
      const points = box.emulator.state().metrics.filter((m) => m.namespace === 'AWS/ELB');
      const got = Object.fromEntries(points.map((p) => [p.metricName, p.value]));
      assert.equal(got.RequestCount, 5);
      assert.equal(got.HTTPCode_ELB_4XX, 1);
      assert.equal(got.HTTPCode_ELB_5XX, 1);
      assert.equal(got.HTTPCode_Backend_2XX, 3);
      assert.equal(got.HTTPCode_Backend_4XX, 1);
      assert.equal(got.HTTPCode_Backend_5XX, 1);
      assert.equal(got.HealthyHostCount, 1);
      assert.equal(got.UnHealthyHostCount, 1);
      assert.ok(typeof got.Latency === 'number' && got.Latency >= 0 && got.Latency < 5, String(got.Latency));
      assert.equal(box.bodies().length, 1, 'all ten in one request');
      assert.ok(points.every((p) => p.unit === 'Count' || (p.metricName === 'Latency' && p.unit === 'Seconds')));
      if (!botocoreAvailable()) assert.deepEqual(validatePutMetricData(box.bodies()).map((v) => v.errors), [[]], "botocore's CloudWatch model accepts it");
    });
  });
});
