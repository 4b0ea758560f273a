/**
 * Peers that look for 169.254.169.254 by themselves, or post to fixed
 * ports, run in a private network namespace with only `lo` (`unshare -n`)
 * and mounts of their own, together with the server they talk to: no
 * packet can leave. The differential tests share this.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

/** Why `peer` cannot be run in `unshare <flags>`, or undefined when it can. */
export function namespaceMissing(peer: string, flags: string[]): string | undefined {
  if (process.platform !== 'linux') return `needs Linux namespaces; this is ${process.platform}`;
  if (!fs.existsSync(peer)) return `${peer} is not installed (Debian package heat-cfntools; scripts/install-test-deps.sh)`;
  if (process.getuid?.() !== 0) return `needs root for unshare ${flags.join(' ')}`;
  const probe = spawnSync('unshare', [...flags, '--', 'ip', 'link', 'set', 'lo', 'up'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return `unshare ${flags.join(' ')} with ip does not work here: ${probe.error?.message ?? probe.stderr.trim()}`;
  return undefined;
}

/** `sh -c script sh ...args` in `unshare <flags>`; its stdout (a driver's JSON), or an error with its stderr. */
export function runInNamespace(flags: string[], script: string, args: string[], timeoutMs = 110_000): string {
  const r = spawnSync('unshare', [...flags, '--', 'sh', '-c', script, 'sh', ...args], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
  if (r.error || r.status !== 0) throw new Error(`driver failed (status ${r.status}): ${r.error?.message ?? ''}\n${r.stderr}`);
  return r.stdout;
}

/** The runs of one flag set, `ours <name>` and `hct <name>`, both asserted to have exited 0. */
export function pairOf<R extends { status: number | null; stderr: string }>(results: Map<string, R>, name: string): { ours: R; hct: R } {
  const ours = results.get(`ours ${name}`)!;
  const hct = results.get(`hct ${name}`)!;
  assert.equal(hct.status, 0, `heat-cfntools: ${hct.stderr}`);
  assert.equal(ours.status, 0, `ours: ${ours.stderr}`);
  return { ours, hct };
}
