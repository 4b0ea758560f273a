/**
 * The floor a bench compares an executable with: a trivial executable built
 * the same way on the same Node binary (scripts/package.js --floor), rebuilt
 * whenever the executable is newer.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/** `floor`, built beside `exe` with package.js's `packageArgs` (an --arch). */
export function floorFor(exe: string, floor: string, packageArgs: string[] = []): string {
  const stale = !fs.existsSync(floor) || fs.statSync(floor).mtimeMs < fs.statSync(exe).mtimeMs;
  if (stale) {
    fs.mkdirSync(path.dirname(floor), { recursive: true });
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'package.js'), ...packageArgs, '--floor', floor], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`building the floor executable ${path.relative(ROOT, floor)}: ${r.stderr}`);
  }
  return floor;
}
