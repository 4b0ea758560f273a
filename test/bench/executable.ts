/**
 * The single executable (npm run package) side by side with (a) the floor,
 * a trivial executable built the same way on the same Node binary (what any
 * tool on this runtime costs to start), and (b) heat-cfntools' same
 * invocation: every tool's --help, and cfn-get-metadata fetching the demo
 * stack's metadata from the emulator. CPU time and peak RSS per process,
 * interleaved runs in private namespaces (sandbox-measure.ts). Also the
 * sizes of the executable and of the packages.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TOOL_NAMES } from '../../shared/tool-names';
import { floorFor } from './floor';
import { cpuOf, DEMO_KEY, sandboxUnavailable, inSandbox, measureInSandbox, rssMiBOf, type Sample } from './sandbox-measure';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const OUT = path.join(ROOT, 'packaging', 'out');
export const EXE = path.join(OUT, 'cfntools');
/** The x64 tarball of the same build: bin/ and lib/cfntools/ as installed. */
export const TARBALL = path.join(OUT, `cfntools-${(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version}-linux-x64.tar.gz`);
const FLOOR = path.join(OUT, 'bench', 'floor');
const BOTO_CFG = path.join(ROOT, 'test', 'fixtures', 'heat-wire', 'setup', 'var-lib-heat-cfntools-cfn-boto-cfg.as-heat19-writes-it');
/** The port heat-cfntools always uses for heat-api-cfn (the Heat URL it is given names no other). */
const PORT = 8000;

export function executableUnavailable(): string | undefined {
  if (!fs.existsSync(EXE)) return `${path.relative(ROOT, EXE)} is missing: run npm run package`;
  return sandboxUnavailable();
}


const peerOf = (tool: string): string | undefined => (fs.existsSync(`/usr/bin/${tool}`) ? `/usr/bin/${tool}` : undefined);

/** The same metadata from both tools, checked once before measuring. */
function sameMetadata(base: string, ours: string[], peer: string[]): void {
  const a = inSandbox(binds(base), PORT, '"$@"', ours);
  const b = inSandbox(binds(base), PORT, '"$@"', peer);
  const parsed = (out: string) => {
    try {
      return JSON.stringify(JSON.parse(out));
    } catch {
      return undefined;
    }
  };
  if (a.status !== 0 || b.status !== 0 || parsed(a.stdout) === undefined || parsed(a.stdout) !== parsed(b.stdout)) {
    throw new Error(`cfn-get-metadata: ours (exit ${a.status}) and heat-cfntools' (exit ${b.status}) differ:\n${a.stdout}${a.stderr}\n---\n${b.stdout}${b.stderr.slice(-2000)}`);
  }
}

function binds(base: string): Array<[string, string]> {
  return [[path.join(base, 'var-lib'), '/var/lib'], [path.join(base, 'var-log'), '/var/log']];
}

const fmt = (ms: number) => `${ms.toFixed(0)} ms`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;

export function executableRows(runs: number): Array<[string, string]> {
  const why = executableUnavailable();
  if (why) return [['single executable', `skipped: ${why}`]];
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-bench-exe-'));
  try {
    for (const d of ['var-lib/heat-cfntools', 'var-log']) fs.mkdirSync(path.join(base, d), { recursive: true });
    fs.copyFileSync(BOTO_CFG, path.join(base, 'var-lib/heat-cfntools/cfn-boto-cfg'));
    const key = ['--access-key', DEMO_KEY.accessKey, '--secret-key', DEMO_KEY.secretKey];
    const fetchOurs = [path.join(OUT, 'cfn-get-metadata'), '-s', 'teststack', '-r', 'WebServer', ...key, '-u', `http://127.0.0.1:${PORT}/v1/`];
    const fetchPeer = ['/usr/bin/cfn-get-metadata', '-s', 'teststack', '-r', 'WebServer', ...key];
    const cmds: Record<string, string[]> = { floor: [floorFor(EXE, FLOOR), '--help'] };
    for (const tool of TOOL_NAMES) {
      cmds[`ours ${tool}`] = [path.join(OUT, tool), '--help'];
      const peer = peerOf(tool);
      if (peer) cmds[`peer ${tool}`] = [peer, '--help'];
    }
    cmds['ours fetch'] = fetchOurs;
    const havePeerFetch = peerOf('cfn-get-metadata') !== undefined;
    if (havePeerFetch) {
      cmds['peer fetch'] = fetchPeer;
      sameMetadata(base, fetchOurs, fetchPeer);
    }
    const res = measureInSandbox({ binds: binds(base), port: PORT, cmds, runs });
    const f = cpuOf(res.floor);
    const row = (label: string, ours: Sample[], peer: Sample[] | undefined): [string, string] => {
      const o = cpuOf(ours);
      const vsPeer = peer ? `, heat-cfntools ${fmt(cpuOf(peer))} = ${ratio(o, cpuOf(peer))}` : '';
      const rss = `peak RSS ${rssMiBOf(ours).toFixed(1)} MiB${peer ? ` / ${rssMiBOf(peer).toFixed(1)} MiB` : ''}`;
      return [label, `CPU ${fmt(o)}: ${ratio(o, f)} the floor${vsPeer}; ${rss}`];
    };
    const rows: Array<[string, string]> = [['executable: floor (trivial SEA) --help', `CPU ${fmt(f)}, peak RSS ${rssMiBOf(res.floor).toFixed(1)} MiB (medians of ${runs})`]];
    for (const tool of TOOL_NAMES) rows.push(row(`executable: ${tool} --help`, res[`ours ${tool}`], res[`peer ${tool}`]));
    rows.push(row('executable: cfn-get-metadata from the emulator', res['ours fetch'], res['peer fetch']));
    const size = (file: string) => (fs.existsSync(file) ? `${(fs.statSync(file).size / 1e6).toFixed(1)} MB` : 'not built');
    const pkg = (suffix: string) => fs.readdirSync(OUT).find((n) => n.endsWith(suffix));
    const named = (suffix: string) => {
      const n = pkg(suffix);
      return n ? `${n} ${size(path.join(OUT, n))}` : `${suffix} not built`;
    };
    rows.push(['executable and packages', `cfntools ${size(EXE)}; ${named('.deb')}; ${named('.rpm')}; ${named('.tar.gz')}`]);
    return rows;
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
}

if (require.main === module) for (const [k, v] of executableRows(Number(process.env.CFNTOOLS_BENCH_RUNS ?? 15))) console.log(`${k}  ${v}`);
