/**
 * One cfn-hup check: the peak RSS of `cfn-hup --no-daemon` beside
 * heat-cfntools' `cfn-hup -f` (it has no daemon), both in the same private
 * namespaces with the emulator there. The daemon's memory over 1,000 checks
 * is daemon-memory.ts's.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sandboxUnavailable } from './sandbox-measure';

const BUNDLE = path.resolve(__dirname, '..', '..', 'cfntools.cjs');
const EMULATOR = path.resolve(__dirname, '..', 'emulator', 'main.js');
const DEMO_STACK = path.resolve(__dirname, '..', '..', '..', 'test', 'emulator', 'stacks', 'demo.yaml');
const PEER = '/usr/bin/cfn-hup';
/** Where heat-cfntools finds the endpoint's host (boto reads it), as Heat writes the file. */
const BOTO_CFG = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'heat-wire', 'setup', 'var-lib-heat-cfntools-cfn-boto-cfg.as-heat19-writes-it');
const KEY = { accessKey: 'AKIDEXAMPLE0000000000000000000001', secretKey: 'SeCrEt/Key+With=Chars!' };

const MEASURE = `
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, ru = os.wait4(pid, 0)
print(ru.ru_maxrss, os.waitstatus_to_exitcode(status))
`;

/**
 * One check by each tool, in namespaces of their own: heat-cfntools reads
 * /etc/cfn and /var/lib/heat-cfntools itself, and nothing may leave loopback.
 */
function oneCheck(argv: string[], base: string): { rssMiB: number; status: number } {
  const script = [
    'mount --bind "$1/etc-cfn" /etc/cfn',
    'mount --bind "$1/var" /var',
    'ip link set lo up',
    `"${process.execPath}" "${EMULATOR}" --port 8000 --stack "${DEMO_STACK}" --quiet > "$1/emulator.out" 2>&1 &`,
    'e=$!',
    'i=0; until grep -q listening "$1/emulator.out" 2>/dev/null || [ $i -gt 100 ]; do sleep 0.05; i=$((i+1)); done',
    'shift',
    'python3 -c "$MEASURE" "$@"',
    'kill $e',
  ].join('\n');
  const r = spawnSync('unshare', ['-m', '-n', '--propagation', 'private', '/bin/sh', '-c', script, 'sandbox', base, ...argv], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, MEASURE, AWS_EC2_METADATA_DISABLED: 'true', CFNTOOLS_HUP_STATE_DIR: '/var/lib/cfn-hup/data', CFNTOOLS_CACHE_DIR: '/var/cache/cfntools' },
  });
  const [kib, status] = r.stdout.trim().split(/\s+/).map(Number);
  if (!kib) throw new Error(`${argv.join(' ')}: ${r.stdout}${r.stderr}`);
  return { rssMiB: kib / 1024, status };
}

function peerBase(): string {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-bench-hup-peer-'));
  for (const d of ['etc-cfn/hooks.d', 'var/lib/heat-cfntools', 'var/cache', 'var/log', 'var/tmp', 'var/lib/cfn-hup/data']) fs.mkdirSync(path.join(base, d), { recursive: true });
  fs.chmodSync(path.join(base, 'var/tmp'), 0o1777);
  fs.symlinkSync('/run', path.join(base, 'var/run'));
  fs.writeFileSync(path.join(base, 'var/lib/heat-cfntools/cfn-metadata-server'), 'http://127.0.0.1:8000/v1/\n');
  fs.copyFileSync(BOTO_CFG, path.join(base, 'var/lib/heat-cfntools/cfn-boto-cfg'));
  fs.writeFileSync(path.join(base, 'etc-cfn/cfn-credentials'), `AWSAccessKeyId=${KEY.accessKey}\nAWSSecretKey=${KEY.secretKey}\n`, { mode: 0o600 });
  fs.writeFileSync(path.join(base, 'etc-cfn/cfn-hup.conf'), '[main]\nstack=teststack\ncredential-file=/etc/cfn/cfn-credentials\nurl=http://127.0.0.1:8000/v1/\nsplay=0\n', { mode: 0o644 });
  fs.writeFileSync(path.join(base, 'etc-cfn/hooks.d/web.conf'), '[web]\ntriggers=post.update\npath=Resources.WebServer.Metadata\naction=true\nrunas=root\n', { mode: 0o644 });
  return base;
}

export function peerUnavailable(): string | undefined {
  if (!fs.existsSync(PEER)) return `${PEER} (heat-cfntools) is not installed`;
  const why = sandboxUnavailable();
  if (why) return why;
  if (!fs.existsSync('/etc/cfn')) fs.mkdirSync('/etc/cfn', { recursive: true });
  return undefined;
}

export function hupRows(): Array<[string, string]> {
  const why = peerUnavailable();
  if (why) return [['one check beside heat-cfntools', `skipped: ${why}`]];
  const runs = 5;
  const sample = (argv: string[]) => {
    const xs = Array.from({ length: runs }, () => {
      const base = peerBase();
      try {
        return oneCheck(argv, base);
      } finally {
        fs.rmSync(base, { recursive: true, force: true });
      }
    });
    const bad = xs.find((x) => x.status !== 0);
    if (bad) throw new Error(`${argv.join(' ')} exited ${bad.status}`);
    return xs.map((x) => x.rssMiB).sort((a, b) => a - b)[Math.floor(runs / 2)];
  };
  const ours = sample([process.execPath, BUNDLE, 'cfn-hup', '--no-daemon', '--log-file', '/var/log/cfn-hup.log']);
  const peer = sample([PEER, '-f']);
  return [['one check (--no-daemon / -f), peak RSS', `${ours.toFixed(1)} MiB vs heat-cfntools ${peer.toFixed(1)} MiB (${(ours / peer).toFixed(2)}x), median of ${runs}`]];
}
