/**
 * Tiny gems built with `gem build`, indexed with `gem generate_index` into a
 * local file:// gem source. The handler's environment points gem at it
 * (GEMRC) and at a private GEM_HOME, so rubygems.org is never contacted and
 * the machine's gems are untouched.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface GemWorld {
  env: NodeJS.ProcessEnv;
  add(name: string, version: string): void;
  /** Installed versions of `name` in the private GEM_HOME. */
  installed(name: string): string[];
  uninstallAll(name: string): void;
}

export function makeGemWorld(dir: string, base: NodeJS.ProcessEnv = process.env): GemWorld {
  const repo = path.join(dir, 'repo');
  const home = path.join(dir, 'gemhome');
  fs.mkdirSync(path.join(repo, 'gems'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'home'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'gemrc'), `---\n:sources:\n- file://${repo}/\n:update_sources: false\n`);
  const env: NodeJS.ProcessEnv = { ...base, GEMRC: path.join(dir, 'gemrc'), GEM_HOME: home, GEM_PATH: home, HOME: path.join(dir, 'home') };
  const gem = (args: string[], cwd?: string): string => execFileSync('gem', args, { env, cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return {
    env,
    add(name, version) {
      const src = path.join(dir, 'src', `${name}-${version}`);
      fs.mkdirSync(path.join(src, 'lib'), { recursive: true });
      fs.writeFileSync(path.join(src, 'lib', `${name.replace(/-/g, '_')}.rb`), `module CfnTest; VERSION = '${version}'; end\n`);
      fs.writeFileSync(
        path.join(src, 'x.gemspec'),
        `Gem::Specification.new do |s|\n  s.name = '${name}'\n  s.version = '${version}'\n  s.summary = 'cfntools test gem'\n  s.authors = ['cfntools tests']\n  s.license = 'Apache-2.0'\n  s.files = ['lib/${name.replace(/-/g, '_')}.rb']\nend\n`,
      );
      gem(['build', 'x.gemspec', '-o', path.join(repo, 'gems', `${name}-${version}.gem`)], src);
      gem(['generate_index', '-d', repo]);
    },
    installed(name) {
      const out = gem(['list', '--local', `^${name}$`]);
      const m = /\(([^)]*)\)/.exec(out);
      return m ? m[1].split(',').map((v) => v.trim().replace(/^default: /, '')) : [];
    },
    uninstallAll(name) {
      if (this.installed(name).length) gem(['uninstall', '-a', '-x', name]);
    },
  };
}
