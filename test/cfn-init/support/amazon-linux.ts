/**
 * A machine that looks like Amazon Linux to cfn-init, inside a private
 * mount and network namespace (only lo): a throw-away copy of /etc with the
 * `ec2-user` user and `wheel` group those images ship, a tmpfs over /run
 * holding systemd's runtime directory, and stand-ins first on PATH for the
 * Red Hat tools (yum, dnf, service, chkconfig, systemctl). The yum stand-in
 * creates the users that the real packages' install scripts create
 * (httpd: apache, mysql-server: mysql), so that a run can depend on them.
 * Nothing of the host changes: /etc and /var/log are the sandbox's.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BUNDLE, runProcess, toolEnv, type RunResult } from '../../support/cli';

/** Why the namespace cannot be made here, or undefined. */
export function namespaceUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (mount namespaces, a copy of /etc)';
  const probe = spawnSync('unshare', ['-m', '-n', 'true']);
  if (probe.status !== 0) return `unshare -m -n does not work here: ${probe.stderr}`;
  return undefined;
}

/** Packages whose install scripts create a system user (and its group) on Amazon Linux. */
const PACKAGE_USERS: Record<string, string> = { httpd: 'apache', 'mysql-server': 'mysql', nginx: 'nginx', jenkins: 'jenkins' };

export interface AmazonLinux {
  root: string;
  /** The sandbox's /etc (a copy): its passwd and group show what the run created. */
  etc: string;
  /** Lines the stand-ins logged (`yum -y install httpd`, `service httpd start`...). */
  calls(): string[];
  /** Run the bundle's cfn-init there, with state, cache and logs in the sandbox. */
  cfnInit(args: string[], extraEnv?: NodeJS.ProcessEnv): Promise<RunResult>;
  /** uid and gid of a name in the sandbox's /etc. */
  ids(user: string): { uid: number; gid: number } | undefined;
}

function standIns(bin: string, log: string, state: string): void {
  const record = `printf '%s\\n' "$(basename "$0") $*" >> '${log}'`;
  const users = Object.entries(PACKAGE_USERS)
    .map(([pkg, user]) => `    ${pkg}) getent passwd ${user} >/dev/null || useradd -r -M -s /sbin/nologin ${user} ;;`)
    .join('\n');
  const yum = `#!/bin/sh
${record}
case " $* " in
  *" install "*)
    for p in "$@"; do case "$p" in
${users}
    esac; done ;;
esac
exit 0
`;
  const service = `#!/bin/sh
${record}
case "$2" in
  start|restart) touch '${state}'/"$1" ;;
  stop) rm -f '${state}'/"$1" ;;
  status) [ -e '${state}'/"$1" ] && exit 0; exit 3 ;;
esac
exit 0
`;
  const systemctl = `#!/bin/sh
${record}
cmd="$1"; shift; [ "$1" = --quiet ] && shift
case "$cmd" in
  is-active) [ -e '${state}'/"$1".unit ] && { echo active; exit 0; }; echo inactive; exit 3 ;;
  is-enabled) echo disabled; exit 1 ;;
  start|restart) touch '${state}'/"$1".unit ;;
esac
exit 0
`;
  const chkconfig = `#!/bin/sh
${record}
[ $# -eq 1 ] && exit 1
exit 0
`;
  fs.mkdirSync(bin, { recursive: true });
  for (const [name, body] of Object.entries({ yum, dnf: yum, service, systemctl, chkconfig })) fs.writeFileSync(path.join(bin, name), body, { mode: 0o755 });
}

/** Mount the sandbox's etc over /etc and a tmpfs over /run, bring a private lo up, exec the rest. */
const enter = (privateNetwork: boolean) =>
  [
    'set -e',
    'mount --bind "$1/etc" /etc',
    // useradd updates lastlog and faillog.
    'mount --bind "$1/var-log" /var/log',
    'mount -t tmpfs -o mode=755 tmpfs /run',
    'mkdir -p /run/systemd/system /run/lock',
    ...(privateNetwork ? ['ip link set lo up'] : []),
    'shift',
    'exec "$@"',
  ].join('\n');

/**
 * `network: 'host'` keeps the host's network namespace, for a run that
 * talks to a server the test started on the host's loopback.
 */
export function amazonLinux(root: string, opts: { network?: 'private' | 'host' } = {}): AmazonLinux {
  const privateNetwork = opts.network !== 'host';
  const etc = path.join(root, 'etc');
  const bin = path.join(root, 'standins');
  const log = path.join(root, 'standins.log');
  const state = path.join(root, 'standins.state');
  fs.mkdirSync(state, { recursive: true });
  fs.mkdirSync(path.join(root, 'var-log'));
  spawnSync('cp', ['-a', '/etc', etc]);
  const passwd = fs.readFileSync(path.join(etc, 'passwd'), 'utf8');
  const group = fs.readFileSync(path.join(etc, 'group'), 'utf8');
  // Debian's gid 10 is uucp; Amazon Linux's is wheel. The name is what templates use.
  if (!/^ec2-user:/m.test(group)) fs.appendFileSync(path.join(etc, 'group'), 'ec2-user:x:1000:\n');
  if (!/^wheel:/m.test(group)) fs.appendFileSync(path.join(etc, 'group'), 'wheel:x:1010:ec2-user\n');
  if (!/^ec2-user:/m.test(passwd)) fs.appendFileSync(path.join(etc, 'passwd'), 'ec2-user:x:1000:1000:EC2 Default User:/home/ec2-user:/bin/bash\n');
  standIns(bin, log, state);
  return {
    root,
    etc,
    calls: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : []),
    ids(user) {
      const line = fs.readFileSync(path.join(etc, 'passwd'), 'utf8').split('\n').find((l) => l.startsWith(`${user}:`));
      return line ? { uid: Number(line.split(':')[2]), gid: Number(line.split(':')[3]) } : undefined;
    },
    cfnInit(args, extraEnv = {}) {
      const env = toolEnv({
        PATH: `${bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
        CFNTOOLS_STATE_DIR: path.join(root, 'state'),
        CFNTOOLS_CACHE_DIR: path.join(root, 'cache'),
        CFNTOOLS_HEAT_DIR: path.join(root, 'heat'),
        ...extraEnv,
      });
      const unshare = ['unshare', '-m', ...(privateNetwork ? ['-n'] : []), '--propagation', 'private'];
      return runProcess([...unshare, '/bin/sh', '-c', enter(privateNetwork), 'amazon-linux', root, process.execPath, BUNDLE, 'cfn-init', '--log-file', path.join(root, 'cfn-init.log'), ...args], { env, cwd: '/' });
    },
  };
}
