/**
 * One cfn-push-stats run as cron starts it (`--mem-util --disk-space-util
 * --from-cron`, the random wait set to nothing) beside heat-cfntools'
 * `cfn-push-stats --disk-space-util` (a metric it still sends): CPU time
 * (user + system) and peak RSS of each process from wait4, interleaved runs,
 * both in one private network and mount namespace with the emulator on
 * 127.0.0.1:8003, where heat-cfntools posts.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const BUNDLE = path.resolve(__dirname, '..', '..', 'cfntools.cjs');
const EMULATOR = path.resolve(__dirname, '..', 'emulator', 'main.js');
const DEMO_STACK = path.resolve(__dirname, '..', '..', '..', 'test', 'emulator', 'stacks', 'demo.yaml');
const PEER = '/usr/bin/cfn-push-stats';
const KEY = { accessKey: 'AKIDEXAMPLE0000000000000000000001', secretKey: 'SeCrEt/Key+With=Chars!' };

/** Runs each command `runs` times, interleaved; per run: CPU ms, peak RSS KiB, exit status. */
const MEASURE = `
import json, os, sys
cmds = json.loads(sys.argv[1]); runs = int(sys.argv[2]); out = {k: [] for k in cmds}
for _ in range(runs):
    for k, argv in cmds.items():
        pid = os.fork()
        if pid == 0:
            fd = os.open('/dev/null', os.O_WRONLY); os.dup2(fd, 1)
            os.execvp(argv[0], argv)
        _, status, ru = os.wait4(pid, 0)
        out[k].append([(ru.ru_utime + ru.ru_stime) * 1000, ru.ru_maxrss, os.waitstatus_to_exitcode(status)])
print(json.dumps(out))
`;

export function pushPeerUnavailable(): string | undefined {
  if (!fs.existsSync(PEER)) return `${PEER} (heat-cfntools) is not installed`;
  if (process.getuid?.() !== 0) return 'needs root (namespaces)';
  if (spawnSync('unshare', ['-m', '-n', 'true']).status !== 0) return 'unshare -m -n does not work here';
  return undefined;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export function pushRows(runs: number): Array<[string, string]> {
  const why = pushPeerUnavailable();
  if (why) return [['cfn-push-stats beside heat-cfntools', `skipped: ${why}`]];
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-bench-push-'));
  try {
    for (const d of ['lib/heat-cfntools', 'log']) fs.mkdirSync(path.join(base, d), { recursive: true });
    fs.writeFileSync(path.join(base, 'lib/heat-cfntools/cfn-boto-cfg'), '[Boto]\nis_secure = 0\ncfn_region_endpoint = 127.0.0.1\ncloudwatch_region_name = heat\ncloudwatch_region_endpoint = 127.0.0.1\n');
    fs.writeFileSync(path.join(base, 'lib/heat-cfntools/nova_meta.json'), JSON.stringify({ uuid: '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0', meta: { 'metering.stack': 'f00d' } }));
    const creds = path.join(base, 'creds');
    fs.writeFileSync(creds, `AWSAccessKeyId=${KEY.accessKey}\nAWSSecretKey=${KEY.secretKey}\n`, { mode: 0o600 });
    const cmds = {
      ours: [process.execPath, BUNDLE, 'cfn-push-stats', '--credential-file', creds, '--url', 'http://127.0.0.1:8003/v1/', '--mem-util', '--disk-space-util', '--from-cron', '--log-file', '/var/log/cfn-push-stats.log'],
      peer: [PEER, '--credential-file', creds, '--disk-space-util'],
    };
    const script = [
      'set -e',
      'ip link set lo up',
      'mount --bind "$1/log" /var/log',
      'mount --bind "$1/lib" /var/lib',
      `"${process.execPath}" "${EMULATOR}" --port 8003 --stack "${DEMO_STACK}" --quiet > "$1/emulator.out" 2>&1 &`,
      'e=$!',
      'i=0; until grep -q listening "$1/emulator.out" 2>/dev/null || [ $i -gt 100 ]; do sleep 0.05; i=$((i+1)); done',
      'python3 -c "$MEASURE" "$2" "$3"',
      'kill $e',
    ].join('\n');
    const r = spawnSync('unshare', ['-m', '-n', '--propagation', 'private', '/bin/sh', '-c', script, 'sandbox', base, JSON.stringify(cmds), String(runs)], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, MEASURE, CFNTOOLS_PUSH_CRON_SPREAD_MS: '0' },
    });
    if (r.status !== 0) throw new Error(`cfn-push-stats bench: ${r.stdout}${r.stderr}`);
    const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<'ours' | 'peer', Array<[number, number, number]>>;
    for (const [who, xs] of Object.entries(res)) {
      const bad = xs.find((x) => x[2] !== 0);
      if (bad) throw new Error(`cfn-push-stats bench: ${who} exited ${bad[2]}`);
    }
    const cpu = (k: 'ours' | 'peer') => median(res[k].map((x) => x[0]));
    const rss = (k: 'ours' | 'peer') => median(res[k].map((x) => x[1])) / 1024;
    return [
      ['cfn-push-stats, one cron run, CPU time', `ours ${cpu('ours').toFixed(0)} ms (--mem-util --disk-space-util --from-cron) / heat-cfntools ${cpu('peer').toFixed(0)} ms (--disk-space-util) = ${(cpu('ours') / cpu('peer')).toFixed(2)}x (median of ${runs})`],
      ['cfn-push-stats, one cron run, peak RSS', `ours ${rss('ours').toFixed(1)} MiB / heat-cfntools ${rss('peer').toFixed(1)} MiB = ${(rss('ours') / rss('peer')).toFixed(2)}x`],
    ];
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
}

if (require.main === module) for (const [k, v] of pushRows(Number(process.env.CFNTOOLS_BENCH_RUNS ?? 7))) console.log(`${k}  ${v}`);
