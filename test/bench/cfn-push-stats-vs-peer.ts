/**
 * One cfn-push-stats run as cron starts it (`--mem-util --disk-space-util
 * --from-cron`, the random wait set to nothing) beside heat-cfntools'
 * `cfn-push-stats --disk-space-util` (a metric it still sends): CPU time
 * (user + system) and peak RSS of each process from wait4, interleaved runs,
 * both in one private network and mount namespace with the emulator on
 * 127.0.0.1:8003, where heat-cfntools posts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cpuOf, DEMO_KEY, sandboxUnavailable, measureInSandbox, rssMiBOf } from './sandbox-measure';

const BUNDLE = path.resolve(__dirname, '..', '..', 'cfntools.cjs');
const PEER = '/usr/bin/cfn-push-stats';

export function pushPeerUnavailable(): string | undefined {
  if (!fs.existsSync(PEER)) return `${PEER} (heat-cfntools) is not installed`;
  return sandboxUnavailable();
}

export function pushRows(runs: number): Array<[string, string]> {
  const why = pushPeerUnavailable();
  if (why) return [['cfn-push-stats beside heat-cfntools', `skipped: ${why}`]];
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-bench-push-'));
  try {
    for (const d of ['lib/heat-cfntools', 'log']) fs.mkdirSync(path.join(base, d), { recursive: true });
    fs.writeFileSync(path.join(base, 'lib/heat-cfntools/cfn-boto-cfg'), '[Boto]\nis_secure = 0\ncfn_region_endpoint = 127.0.0.1\ncloudwatch_region_name = heat\ncloudwatch_region_endpoint = 127.0.0.1\n');
    fs.writeFileSync(path.join(base, 'lib/heat-cfntools/nova_meta.json'), JSON.stringify({ uuid: '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0', meta: { 'metering.stack': 'f00d' } }));
    const creds = path.join(base, 'creds');
    fs.writeFileSync(creds, `AWSAccessKeyId=${DEMO_KEY.accessKey}\nAWSSecretKey=${DEMO_KEY.secretKey}\n`, { mode: 0o600 });
    const cmds = {
      ours: [process.execPath, BUNDLE, 'cfn-push-stats', '--credential-file', creds, '--url', 'http://127.0.0.1:8003/v1/', '--mem-util', '--disk-space-util', '--from-cron', '--log-file', '/var/log/cfn-push-stats.log'],
      peer: [PEER, '--credential-file', creds, '--disk-space-util'],
    };
    const res = measureInSandbox({ binds: [[path.join(base, 'log'), '/var/log'], [path.join(base, 'lib'), '/var/lib']], port: 8003, cmds, runs, env: { CFNTOOLS_PUSH_CRON_SPREAD_MS: '0' } });
    const cpu = (k: 'ours' | 'peer') => cpuOf(res[k]);
    const rss = (k: 'ours' | 'peer') => rssMiBOf(res[k]);
    return [
      ['cfn-push-stats, one cron run, CPU time', `ours ${cpu('ours').toFixed(0)} ms (--mem-util --disk-space-util --from-cron) / heat-cfntools ${cpu('peer').toFixed(0)} ms (--disk-space-util) = ${(cpu('ours') / cpu('peer')).toFixed(2)}x (median of ${runs})`],
      ['cfn-push-stats, one cron run, peak RSS', `ours ${rss('ours').toFixed(1)} MiB / heat-cfntools ${rss('peer').toFixed(1)} MiB = ${(rss('ours') / rss('peer')).toFixed(2)}x`],
    ];
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
}

if (require.main === module) for (const [k, v] of pushRows(Number(process.env.CFNTOOLS_BENCH_RUNS ?? 7))) console.log(`${k}  ${v}`);
