/**
 * A virtualenv from Debian's python3 (ensurepip's bundled pip, offline) and
 * pure-Python wheels written directly as zip files (no setuptools, no
 * index). The handler's environment puts the venv's bin first on PATH and
 * tells pip to use only the local wheel directory.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const WHEEL_PY = `
import base64, hashlib, sys, zipfile
name, ver, out = sys.argv[1:4]
dist = name.replace('-', '_')
info = f'{dist}-{ver}.dist-info'
files = {
    f'{dist}/__init__.py': f'VERSION = "{ver}"\\n',
    f'{info}/METADATA': f'Metadata-Version: 2.1\\nName: {name}\\nVersion: {ver}\\n',
    f'{info}/WHEEL': 'Wheel-Version: 1.0\\nGenerator: cfntools-tests\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n',
}
record = []
for p, c in files.items():
    digest = base64.urlsafe_b64encode(hashlib.sha256(c.encode()).digest()).rstrip(b'=').decode()
    record.append(f'{p},sha256={digest},{len(c.encode())}')
record.append(f'{info}/RECORD,,')
files[f'{info}/RECORD'] = '\\n'.join(record) + '\\n'
with zipfile.ZipFile(f'{out}/{dist}-{ver}-py3-none-any.whl', 'w') as z:
    for p, c in files.items():
        z.writestr(p, c)
`;

/** Debian's interpreter: its venv module and the PEP 668 marker are what the tests are about. */
export const SYSTEM_PYTHON = '/usr/bin/python3';

export function buildWheel(dir: string, name: string, version: string): void {
  fs.mkdirSync(dir, { recursive: true });
  execFileSync(SYSTEM_PYTHON, ['-c', WHEEL_PY, name, version, dir], { stdio: 'pipe' });
}

export interface Venv {
  bin: string;
  /** Handler environment: venv bin first on PATH, pip limited to `wheels`. */
  env: NodeJS.ProcessEnv;
  /** Installed version of a distribution in the venv, or undefined. */
  version(name: string): string | undefined;
}

/** pip reads these; clear any the caller's environment has so only the local wheels count. */
export function offlinePipEnv(base: NodeJS.ProcessEnv, wheels: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) if (!k.startsWith('PIP_') && k !== 'VIRTUAL_ENV' && k !== 'PYTHONPATH') env[k] = v;
  return { ...env, PIP_NO_INDEX: '1', PIP_FIND_LINKS: wheels, PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_CACHE_DIR: '1' };
}

export function makeVenv(dir: string, wheels: string, base: NodeJS.ProcessEnv = process.env): Venv {
  execFileSync(SYSTEM_PYTHON, ['-m', 'venv', dir], { stdio: 'pipe' });
  const bin = path.join(dir, 'bin');
  const env = { ...offlinePipEnv(base, wheels), PATH: `${bin}:/usr/bin:/bin` };
  return {
    bin,
    env,
    version(name) {
      const out = execFileSync(path.join(bin, 'pip'), ['list', '--format=json'], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      const hit = (JSON.parse(out) as { name: string; version: string }[]).find((d) => d.name.toLowerCase() === name.toLowerCase());
      return hit?.version;
    },
  };
}
