/**
 * Tiny .rpm packages built with rpmbuild, and a private rpm database: the
 * handler's environment gets a HOME whose ~/.rpmmacros sets %_dbpath, so
 * rpm (and the dnf stand-in) never read or write the machine's database.
 * Package payloads live under the test directory.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface RpmWorld {
  /** Handler environment: HOME with the private %_dbpath. */
  env: NodeJS.ProcessEnv;
  /** Build `name-version-1.noarch.rpm` into `repo` (or `into`); returns its path. */
  build(name: string, version: string, into?: string): string;
  /** Where built packages go by default. */
  repo: string;
  /** `version-release` of every installed instance of `name` in the private database. */
  installed(name: string): string[];
  erase(name: string): void;
}

export function makeRpmWorld(dir: string, baseEnv: NodeJS.ProcessEnv = process.env): RpmWorld {
  const home = path.join(dir, 'home');
  const repo = path.join(dir, 'rpms');
  const db = path.join(dir, 'rpmdb');
  for (const d of [home, repo, db]) fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(home, '.rpmmacros'), `%_dbpath ${db}\n`);
  const env = { ...baseEnv, HOME: home };
  const rpm = (args: string[]): string => execFileSync('rpm', args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return {
    env,
    repo,
    build(name, version, into = repo) {
      const top = path.join(dir, 'rpmbuild');
      const payload = path.join(dir, 'payload', name);
      const spec = path.join(dir, `${name}-${version}.spec`);
      fs.writeFileSync(
        spec,
        [
          `Name: ${name}`,
          `Version: ${version}`,
          'Release: 1',
          'Summary: cfntools test package',
          'License: Apache-2.0',
          'BuildArch: noarch',
          'AutoReqProv: no',
          '%description',
          'cfntools test package',
          '%install',
          `mkdir -p %{buildroot}${payload}`,
          `echo ${version} > %{buildroot}${payload}/version`,
          '%files',
          `${payload}/version`,
          '',
        ].join('\n'),
      );
      execFileSync('rpmbuild', ['-bb', '--define', `_topdir ${top}`, '--define', `_rpmdir ${into}`, '--define', '_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm', spec], { env, stdio: 'pipe' });
      return path.join(into, `${name}-${version}-1.noarch.rpm`);
    },
    installed(name) {
      try {
        return rpm(['-q', '--queryformat', '%{VERSION}-%{RELEASE}\\n', name]).split('\n').filter(Boolean);
      } catch {
        return []; // rpm -q exits 1 for a package that is not installed
      }
    },
    erase(name) {
      for (let i = 0; i < 5 && this.installed(name).length; i++) rpm(['-e', '--allmatches', name]);
    },
  };
}

/**
 * A stand-in for yum/dnf (neither can run on Debian against a private
 * repository): it records its argv and does the work with the real rpm from
 * `repo`: `list available SPEC`, `install SPEC...`, `downgrade SPEC...`.
 */
export function writeYumStandIn(binDir: string, name: 'yum' | 'dnf', repo: string, logFile: string): string {
  fs.mkdirSync(binDir, { recursive: true });
  const file = path.join(binDir, name);
  fs.writeFileSync(
    file,
    `#!/bin/bash
printf '%s\\n' "$*" >> '${logFile}'
repo='${repo}'
# The newest package file matching SPEC (name, name-version or name-version-release).
find_pkg() {
  local spec="$1" best="" bestv="" f n v r
  for f in "$repo"/*.rpm; do
    [ -e "$f" ] || continue
    read -r n v r < <(rpm -qp --nosignature --queryformat '%{NAME} %{VERSION} %{RELEASE}' "$f" 2>/dev/null)
    if [ "$spec" = "$n" ] || [ "$spec" = "$n-$v" ] || [ "$spec" = "$n-$v-$r" ]; then
      if [ -z "$best" ] || [ "$(printf '%s\\n%s\\n' "$bestv" "$v" | sort -V | tail -1)" = "$v" ]; then best="$f"; bestv="$v"; fi
    fi
  done
  printf '%s' "$best"
}
args=()
for a in "$@"; do case "$a" in -y|--showduplicates|--setopt=*) ;; *) args+=("$a") ;; esac; done
case "\${args[0]}" in
  list)
    [ -n "$(find_pkg "\${args[2]}")" ] || { echo "Error: No matching Packages to list" >&2; exit 1; } ;;
  install|downgrade)
    files=()
    for spec in "\${args[@]:1}"; do
      f="$(find_pkg "$spec")"
      [ -n "$f" ] || { echo "No match for argument: $spec" >&2; exit 1; }
      files+=("$f")
    done
    [ "\${args[0]}" = downgrade ] && old=--oldpackage || old=
    rpm -U $old "\${files[@]}" ;;
  *) echo "stand-in: unsupported: $*" >&2; exit 2 ;;
esac
`,
    { mode: 0o755 },
  );
  return file;
}
