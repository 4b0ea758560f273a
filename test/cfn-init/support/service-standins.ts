/**
 * Services for the tests. sysvinit for real: an /etc/init.d script that
 * logs each action and keeps its "running" state in a file. systemd (not
 * PID 1 here) through a systemctl stand-in on PATH that records its argv
 * and keeps unit states in files.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface InitScript {
  name: string;
  /** Actions the script was called with, in order. */
  calls(): string[];
  running(): boolean;
  remove(): void;
}

/** Installs /etc/init.d/<name>; `failOn` makes that action exit 1. */
export function installInitScript(name: string, dir: string, failOn?: string): InitScript {
  const log = path.join(dir, `${name}.log`);
  const state = path.join(dir, `${name}.running`);
  const script = `/etc/init.d/${name}`;
  fs.writeFileSync(
    script,
    `#!/bin/sh
### BEGIN INIT INFO
# Provides:          ${name}
# Required-Start:    $remote_fs
# Required-Stop:     $remote_fs
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: cfntools test service
### END INIT INFO
echo "$1" >> '${log}'
[ "$1" = '${failOn ?? '-'}' ] && { echo "${name}: $1 failed on purpose" >&2; exit 1; }
case "$1" in
  start|restart) touch '${state}' ;;
  stop) rm -f '${state}' ;;
  status) [ -e '${state}' ] && exit 0; exit 3 ;;
  *) exit 2 ;;
esac
`,
    { mode: 0o755 },
  );
  return {
    name,
    calls: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : []),
    running: () => fs.existsSync(state),
    remove() {
      spawnSync('update-rc.d', ['-f', name, 'remove'], { stdio: 'ignore' });
      fs.rmSync(script, { force: true });
      for (const d of fs.readdirSync('/etc').filter((x) => /^rc.\.d$/.test(x))) {
        for (const l of fs.readdirSync(path.join('/etc', d))) if (l.slice(3) === name) fs.rmSync(path.join('/etc', d, l), { force: true });
      }
    },
  };
}

/** S links of `name` in the multi-user runlevels. */
export function sysvEnabled(name: string): boolean {
  return ['2', '3', '4', '5'].some((l) => fs.existsSync(`/etc/rc${l}.d`) && fs.readdirSync(`/etc/rc${l}.d`).some((x) => /^S\d\d/.test(x) && x.slice(3) === name));
}

export interface Systemctl {
  bin: string;
  /** argv lines, in order. */
  calls(): string[];
  clear(): void;
  set(unit: string, state: { active?: boolean; enabled?: 'enabled' | 'disabled' | 'static' }): void;
  active(unit: string): boolean;
  enabled(unit: string): string;
}

/** A systemctl stand-in in `dir/bin`; a unit named `*-broken` fails to start. */
export function writeSystemctl(dir: string): Systemctl {
  const bin = path.join(dir, 'bin');
  const st = path.join(dir, 'units');
  const log = path.join(dir, 'systemctl.log');
  fs.mkdirSync(bin, { recursive: true });
  fs.mkdirSync(st, { recursive: true });
  fs.writeFileSync(
    path.join(bin, 'systemctl'),
    `#!/bin/sh
printf '%s\\n' "$*" >> '${log}'
st='${st}'
cmd="$1"; shift
[ "$1" = --quiet ] && shift
u="$1"
case "$cmd" in
  daemon-reload) exit 0 ;;
  is-active) [ -e "$st/$u.active" ] && { echo active; exit 0; }; echo inactive; exit 3 ;;
  is-enabled) s=$(cat "$st/$u.enabled" 2>/dev/null || echo disabled); echo "$s"; [ "$s" = disabled ] && exit 1; exit 0 ;;
  enable) echo enabled > "$st/$u.enabled" ;;
  disable) echo disabled > "$st/$u.enabled" ;;
  start|restart) case "$u" in *-broken) echo "Job for $u.service failed." >&2; exit 1 ;; esac; touch "$st/$u.active" ;;
  stop) rm -f "$st/$u.active" ;;
  *) echo "stand-in: unsupported: $*" >&2; exit 2 ;;
esac
`,
    { mode: 0o755 },
  );
  return {
    bin,
    calls: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : []),
    clear: () => fs.rmSync(log, { force: true }),
    set(unit, s) {
      if (s.active !== undefined) {
        if (s.active) fs.writeFileSync(path.join(st, `${unit}.active`), '');
        else fs.rmSync(path.join(st, `${unit}.active`), { force: true });
      }
      if (s.enabled) fs.writeFileSync(path.join(st, `${unit}.enabled`), `${s.enabled}\n`);
    },
    active: (unit) => fs.existsSync(path.join(st, `${unit}.active`)),
    enabled: (unit) => (fs.existsSync(path.join(st, `${unit}.enabled`)) ? fs.readFileSync(path.join(st, `${unit}.enabled`), 'utf8').trim() : 'disabled'),
  };
}
