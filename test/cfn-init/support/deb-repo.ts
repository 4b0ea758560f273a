/**
 * A tiny Debian package and a local `file:` apt repository for it, with a
 * private APT_CONFIG: apt reads only this repository's lists and keeps its
 * state and cache in the test directory, so the machine's sources are never
 * read or updated and nothing leaves the machine. With `privateDpkg`, dpkg's
 * database (and so its locks) is the test's too: Dir::State::status for apt,
 * DPKG_ADMINDIR for dpkg, so a test may hold those locks without stopping
 * the machine's package manager.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export function buildDeb(dir: string, name: string, version: string): string {
  const root = path.join(dir, `build-${name}-${version}`);
  fs.mkdirSync(path.join(root, 'DEBIAN'), { recursive: true });
  fs.mkdirSync(path.join(root, 'usr', 'share', name), { recursive: true });
  fs.writeFileSync(
    path.join(root, 'DEBIAN', 'control'),
    `Package: ${name}\nVersion: ${version}\nArchitecture: all\nMaintainer: cfntools tests <tests@example.invalid>\nSection: misc\nPriority: optional\nDescription: cfntools test package\n`,
  );
  fs.writeFileSync(path.join(root, 'usr', 'share', name, 'version'), `${version}\n`);
  const out = path.join(dir, `${name}_${version}_all.deb`);
  execFileSync('dpkg-deb', ['--build', '--root-owner-group', root, out], { stdio: 'pipe' });
  fs.rmSync(root, { recursive: true, force: true });
  return out;
}

export interface AptRepo {
  /** Environment for the handler: the tool's own plus APT_CONFIG (and DPKG_ADMINDIR with a private database). */
  env: NodeJS.ProcessEnv;
  /** dpkg's database directory when it is private. */
  admindir?: string;
  /** Build a package into the repository and re-index it (lists stay stale until apt-get update). */
  add(name: string, version: string): void;
}

export function makeAptRepo(dir: string, baseEnv: NodeJS.ProcessEnv = process.env, opts: { privateDpkg?: boolean } = {}): AptRepo {
  const repo = path.join(dir, 'repo');
  const admindir = opts.privateDpkg ? path.join(dir, 'dpkg') : undefined;
  for (const d of [repo, 'lists/partial', 'cache/archives/partial', 'parts', 'state', ...(admindir ? ['dpkg/updates'] : [])].map((d) => path.resolve(dir, d))) fs.mkdirSync(d, { recursive: true });
  if (admindir) fs.writeFileSync(path.join(admindir, 'status'), '');
  fs.writeFileSync(path.join(dir, 'sources.list'), `deb [trusted=yes] file:${repo} ./\n`);
  fs.writeFileSync(
    path.join(dir, 'apt.conf'),
    [
      `Dir::Etc::sourcelist "${dir}/sources.list";`,
      `Dir::Etc::sourceparts "${dir}/parts";`,
      `Dir::State "${dir}/state";`,
      `Dir::State::lists "${dir}/lists";`,
      `Dir::Cache "${dir}/cache";`,
      ...(admindir ? [`Dir::State::status "${admindir}/status";`] : []),
      // The download sandbox user (_apt) cannot read a private 0700 directory.
      'APT::Sandbox::User "root";',
      '',
    ].join('\n'),
  );
  return {
    env: { ...baseEnv, APT_CONFIG: path.join(dir, 'apt.conf'), ...(admindir ? { DPKG_ADMINDIR: admindir } : {}) },
    admindir,
    add(name, version) {
      buildDeb(repo, name, version);
      const index = execFileSync('dpkg-scanpackages', ['--multiversion', '.', '/dev/null'], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
      fs.writeFileSync(path.join(repo, 'Packages'), index);
    },
  };
}

const admin = (admindir: string | undefined): string[] => (admindir ? [`--admindir=${admindir}`] : []);

/** `version` of an installed package (in the machine's database, or `admindir`), or undefined. */
export function dpkgVersion(name: string, admindir?: string): string | undefined {
  try {
    const out = execFileSync('dpkg-query', [...admin(admindir), '-W', '-f', '${Status}|${Version}', name], { stdio: ['ignore', 'pipe', 'ignore'], encoding: 'utf8' });
    const [status, version] = out.split('|');
    return status.endsWith(' installed') ? version : undefined;
  } catch {
    return undefined; // dpkg-query exits 1 for unknown packages
  }
}

export function purgeDeb(name: string, admindir?: string): void {
  execFileSync('dpkg', [...admin(admindir), '-P', name], { stdio: 'ignore' });
}
