/**
 * Real archives for the sources/archive tests: well-formed ones made with the
 * `tar` and `zip` commands from a directory tree, hostile ones (which those
 * commands refuse to make) with Python's tarfile/zipfile.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Path → content; `{ link }` makes a symlink, `{ dir: true }` an empty directory; `mode` is applied after. */
export type TreeSpec = Record<string, string | { content?: string; link?: string; dir?: true; mode?: number }>;

export function makeTree(root: string, spec: TreeSpec): void {
  for (const [rel, v] of Object.entries(spec)) {
    const abs = path.join(root, rel);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    const e = typeof v === 'string' ? { content: v } : v;
    if (e.link !== undefined) fs.symlinkSync(e.link, abs);
    else if (e.dir) fs.mkdirSync(abs, { recursive: true });
    else fs.writeFileSync(abs, e.content ?? '');
    if (e.mode !== undefined && e.link === undefined) fs.chmodSync(abs, e.mode);
  }
}

export type TarCompression = '' | 'z' | 'j' | 'J';

/** `tar -c[z|j|J]f` of `dir`'s content (`.`, or the names given), into `out`; returns the bytes. */
export function tarOf(dir: string, out: string, compression: TarCompression = '', names: string[] = ['.'], extra: string[] = []): Buffer {
  execFileSync('tar', [`-c${compression}f`, out, ...extra, '-C', dir, ...names]);
  return fs.readFileSync(out);
}

/** `zip -r -y` (symlinks stored as links) of `dir`'s content into `out`; returns the bytes. */
export function zipOf(dir: string, out: string): Buffer {
  execFileSync('zip', ['-q', '-r', '-y', out, '.'], { cwd: dir });
  return fs.readFileSync(out);
}

export interface RawEntry {
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'fifo' | 'chr';
  data?: string;
  link?: string;
  mode?: number;
}

const PY = String.raw`
import io, json, sys, tarfile, zipfile
spec = json.load(sys.stdin)
if spec['kind'] == 'tar':
    with tarfile.open(spec['out'], 'w:' + spec['comp'], format=tarfile.PAX_FORMAT, pax_headers=spec.get('pax') or {}) as t:
        for e in spec['entries']:
            ti = tarfile.TarInfo(e['name'])
            ti.mtime = 1700000000
            ti.mode = e.get('mode', 0o644)
            ty = e['type']
            data = None
            if ty == 'file':
                data = e.get('data', '').encode()
                ti.size = len(data)
            elif ty == 'dir':
                ti.type = tarfile.DIRTYPE
                ti.mode = e.get('mode', 0o755)
            elif ty == 'symlink':
                ti.type = tarfile.SYMTYPE
                ti.linkname = e['link']
            elif ty == 'hardlink':
                ti.type = tarfile.LNKTYPE
                ti.linkname = e['link']
            elif ty == 'fifo':
                ti.type = tarfile.FIFOTYPE
            elif ty == 'chr':
                ti.type = tarfile.CHRTYPE
                ti.devmajor, ti.devminor = 1, 3
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
else:
    with zipfile.ZipFile(spec['out'], 'w') as z:
        for e in spec['entries']:
            zi = zipfile.ZipInfo(e['name'], date_time=(2024, 1, 2, 3, 4, 6))
            zi.create_system = spec.get('system', 3)
            ty = e['type']
            if ty == 'symlink':
                zi.external_attr = (0o120777 << 16)
                z.writestr(zi, e['link'])
            elif ty == 'dir':
                zi.external_attr = ((0o040000 | e.get('mode', 0o755)) << 16) | 0x10
                z.writestr(zi, '')
            elif spec.get('system', 3) == 3:
                zi.external_attr = (0o100000 | e.get('mode', 0o644)) << 16
                z.writestr(zi, e.get('data', ''))
            else:
                z.writestr(zi, e.get('data', ''))
`;

/** A tar (optionally gz/bz2/xz) with exactly these entries, written by /usr/bin/python3's tarfile. */
export function pyTar(out: string, entries: RawEntry[], comp: '' | 'gz' | 'bz2' | 'xz' = '', pax?: Record<string, string>): Buffer {
  execFileSync('/usr/bin/python3', ['-c', PY], { input: JSON.stringify({ kind: 'tar', out, comp, entries, pax }) });
  return fs.readFileSync(out);
}

/** A zip with exactly these entries; `system` 0 makes it look made on Windows (no Unix modes). */
export function pyZip(out: string, entries: RawEntry[], system = 3): Buffer {
  execFileSync('/usr/bin/python3', ['-c', PY], { input: JSON.stringify({ kind: 'zip', out, entries, system }) });
  return fs.readFileSync(out);
}

/** Every path under `root`, relative, sorted (directories with a trailing `/`). */
export function listTree(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, prefix: string) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const abs = path.join(dir, name);
      const st = fs.lstatSync(abs);
      if (st.isDirectory()) {
        out.push(`${prefix}${name}/`);
        walk(abs, `${prefix}${name}/`);
      } else out.push(`${prefix}${name}`);
    }
  };
  walk(root, '');
  return out;
}
