/**
 * The arm64 build (npm run package) on this x86_64 machine, under qemu-user:
 * every tool's --help beside the arm64 floor (a trivial executable built the
 * same way on the same arm64 Node binary). The executable takes no Node
 * option, so the start-up without code caches (measured once with a V8 flag
 * that made V8 refuse them, docs/PERFORMANCE.md) is not re-measured. Same harness as the x64 executable (sandbox-measure.ts):
 * CPU time (user + system, of qemu and every thread it runs) and peak RSS
 * (qemu's included). Emulated figures: they compare with each other, not with
 * x64 or real arm64 hardware. Also the sizes of the arm64 executable and packages.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TOOL_NAMES } from '../../shared/tool-names';
import { floorFor } from './floor';
import { cpuOf, measureInSandbox, rssMiBOf, sandboxUnavailable } from './sandbox-measure';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const OUT = path.join(ROOT, 'packaging', 'out');
const EXE = path.join(OUT, 'arm64', 'cfntools');
const FLOOR = path.join(OUT, 'bench', 'arm64', 'floor');

type Runner = (file: string, args: string[]) => [string, string[]];
// How this host runs an arm64 program: qemu-aarch64-static on the arm64 root's libraries (the build's own way).
const { runnerFor } = require(path.join(ROOT, 'scripts', 'arches.js')) as { runnerFor: (arch: string, scratch: string) => Runner };

export function arm64Unavailable(): string | undefined {
  if (!fs.existsSync(EXE)) return `${path.relative(ROOT, EXE)} is missing: run npm run package`;
  return sandboxUnavailable();
}


/** Out of the page cache, as on a booted guest (sandbox-measure.ts does this for the commands' first word only: qemu here). */
function dropFromPageCache(file: string): void {
  const r = spawnSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none']);
  if (r.status !== 0) throw new Error(`dd iflag=nocache ${file}: ${r.stderr}`);
}

const fmt = (ms: number) => `${ms.toFixed(0)} ms`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;

export function arm64Rows(runs: number): Array<[string, string]> {
  const why = arm64Unavailable();
  if (why) return [['arm64 executable under qemu', `skipped: ${why}`]];
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-bench-arm64-'));
  try {
    const run = runnerFor('arm64', scratch);
    const argv = (file: string, ...args: string[]) => {
      const [f, a] = run(file, args);
      return [f, ...a];
    };
    const cmds: Record<string, string[]> = { floor: argv(floorFor(EXE, FLOOR, ['--arch', 'arm64']), '--help') };
    for (const tool of TOOL_NAMES) {
      cmds[`cached ${tool}`] = argv(path.join(OUT, 'arm64', tool), '--help');
    }
    for (const f of [floorFor(EXE, FLOOR, ['--arch', 'arm64']), EXE]) dropFromPageCache(f);
    const res = measureInSandbox({ binds: [], port: 8000, cmds, runs });
    const f = cpuOf(res.floor);
    const rows: Array<[string, string]> = [['arm64 under qemu: floor --help', `CPU ${fmt(f)}, peak RSS ${rssMiBOf(res.floor).toFixed(1)} MiB (medians of ${runs})`]];
    for (const tool of TOOL_NAMES) {
      const c = cpuOf(res[`cached ${tool}`]);
      rows.push([`arm64 under qemu: ${tool} --help`, `CPU ${fmt(c)} (${ratio(c, f)} the floor); peak RSS ${rssMiBOf(res[`cached ${tool}`]).toFixed(1)} MiB`]);
    }
    const size = (file: string) => (fs.existsSync(file) ? `${(fs.statSync(file).size / 1e6).toFixed(1)} MB` : 'not built');
    const named = (suffix: string) => {
      const n = fs.readdirSync(OUT).find((x) => x.endsWith(suffix));
      return n ? `${n} ${size(path.join(OUT, n))}` : `${suffix} not built`;
    };
    rows.push(['arm64 executable and packages', `arm64/cfntools ${size(EXE)}; ${named('_arm64.deb')}; ${named('.aarch64.rpm')}; ${named('-linux-arm64.tar.gz')}`]);
    return rows;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

if (require.main === module) for (const [k, v] of arm64Rows(Number(process.env.CFNTOOLS_BENCH_ARM64_RUNS ?? 7))) console.log(`${k}  ${v}`);
