/**
 * Static files under /files/<name>, for cfn-init `sources` and `files`
 * tests: from stack-file `inline` texts or directories, optionally behind
 * basic auth (AWS::CloudFormation::Authentication). Unknown names answer like
 * the heat-wire recording endpoint: 404 text/plain `not found`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { percentDecode, PLAIN_TYPE, type Reply } from './heat-format';
import type { FilesSpec } from './stackfile';

const TYPES: Array<[RegExp, string]> = [
  [/\.(tar\.gz|tgz|gz)$/i, 'application/gzip'],
  [/\.(tar\.bz2|tbz2?|bz2)$/i, 'application/x-bzip2'],
  [/\.(tar\.xz|txz|xz)$/i, 'application/x-xz'],
  [/\.tar$/i, 'application/x-tar'],
  [/\.zip$/i, 'application/zip'],
  [/\.json$/i, 'application/json'],
  [/\.(txt|conf|cfg|ini|sh|py|rb|yaml|yml)$/i, 'text/plain; charset=utf-8'],
  [/\.html?$/i, 'text/html; charset=utf-8'],
];

function contentType(name: string): string {
  return TYPES.find(([re]) => re.test(name))?.[1] ?? 'application/octet-stream';
}

const notFound = (): Reply => ({ status: 404, headers: { 'Content-Type': PLAIN_TYPE }, body: 'not found' });

/** The file's bytes, or undefined; a name never escapes its directory. */
function lookup(specs: FilesSpec[], name: string): Buffer | undefined {
  for (const s of specs) {
    if (s.inline && Object.hasOwn(s.inline, name)) return Buffer.from(s.inline[name], 'utf8');
  }
  for (const s of specs) {
    if (!s.dir) continue;
    const full = path.resolve(s.dir, name);
    if (!full.startsWith(s.dir + path.sep)) continue;
    if (fs.existsSync(full) && fs.statSync(full).isFile()) return fs.readFileSync(full);
  }
  return undefined;
}

export function serveFile(specs: FilesSpec[], rawPath: string, authorization: string | undefined): Reply {
  const name = percentDecode(rawPath.slice('/files/'.length)).toString('utf8');
  if (!name || name.includes('\0')) return notFound();
  const auth = specs.find((s) => s.auth && Object.hasOwn(s.auth, name))?.auth?.[name];
  if (auth) {
    const expected = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    if (authorization !== expected) {
      return { status: 401, headers: { 'Content-Type': PLAIN_TYPE, 'WWW-Authenticate': 'Basic realm="cfntools-emulator"' }, body: 'unauthorized' };
    }
  }
  const data = lookup(specs, name);
  if (!data) return notFound();
  return { status: 200, headers: { 'Content-Type': contentType(name) }, body: data };
}
