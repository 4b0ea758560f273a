/**
 * The `sources` key: `{targetDir: archiveUrlOrLocalPath}`, extracted in
 * sorted order of the target directory (aws-cfn-bootstrap's order).
 *
 * Like aws-cfn-bootstrap: the format is recognised by content, not by
 * extension; URLs are downloaded with default authentication (blocks
 * matched by `buckets`/`uris`); GitHub archive URLs lose their single
 * top-level `<owner>-<repo>-<sha>/` directory; extraction overwrites and
 * never deletes. Unlike it: a target directory counts as changed only when
 * something in it was written (aws-cfn-bootstrap reports every source as
 * changed, so services listing it restart on every run), and hostile entries
 * fail the whole source before anything is written (archive.ts).
 */
import * as fs from 'node:fs';
import { CfnError, errorMessage } from '../../errors';
import { redactUrl } from '../../redact';
import { isRemote } from '../auth';
import { extractArchive } from '../archive';
import { limitName } from '../limits';
import { child, expectObject, expectString, isWindowsPath, tooLongForLinux, WINDOWS_UNSUPPORTED } from '../validation';
import type { Action, HandlerContext, InitHandler, ValidationContext } from './types';

export interface SourceSpec {
  /** Target directory, as written in the metadata (services name it the same way). */
  dir: string;
  /** URL or absolute local path of the archive. */
  source: string;
  keyPath: string;
}

export type SourcesSpec = SourceSpec[];

export class SourceError extends CfnError {}

/**
 * Archive URLs of GitHub whose content sits in one `<owner>-<repo>-<ref>/`
 * directory: aws-cfn-bootstrap's `github.com/.../(zipball|tarball)/...`, and
 * the `archive/` and codeload forms the web interface links to today.
 */
const GITHUB_ARCHIVE_RES = [
  /^https?:\/\/github\.com\/[^/]+\/[^/]+\/(zipball|tarball)(\/|$)/i,
  /^https?:\/\/github\.com\/[^/]+\/[^/]+\/archive\//i,
  /^https?:\/\/codeload\.github\.com\/[^/]+\/[^/]+\/(zip|tar\.gz|legacy\.zip|legacy\.tar\.gz)\//i,
  /^https?:\/\/api\.github\.com\/repos\/[^/]+\/[^/]+\/(zipball|tarball)(\/|$)/i,
];

export function isGitHubArchiveUrl(url: string): boolean {
  return GITHUB_ARCHIVE_RES.some((re) => re.test(url));
}

export const sourcesHandler: InitHandler<SourcesSpec> = {
  key: 'sources',

  validate(raw: unknown, keyPath: string, ctx: ValidationContext): SourcesSpec | undefined {
    const p = ctx.problems;
    const obj = expectObject(raw, keyPath, p);
    if (!obj) return undefined;
    const before = p.list.length;
    const specs: SourceSpec[] = [];
    for (const dir of Object.keys(obj).sort()) {
      const kp = child(keyPath, dir);
      if (isWindowsPath(dir)) p.add(kp, `a Windows path: ${WINDOWS_UNSUPPORTED}`);
      else if (!dir.startsWith('/')) p.add(kp, 'target directories must be absolute paths');
      else if (dir.includes('\0')) p.add(kp, 'not a directory name');
      else if (tooLongForLinux(dir)) p.add(kp, `cannot be created: ${tooLongForLinux(dir)}`);
      const source = expectString(obj[dir], kp, p);
      if (source === undefined) continue;
      if (source === '') p.add(kp, 'expected a URL or an absolute path of an archive, got ""');
      else if (isRemote(source)) {
        if (!/^https?:\/\/[^/]/i.test(source)) p.add(kp, `only http:// and https:// URLs can be downloaded, got ${JSON.stringify(redactUrl(source))}`);
      } else if (isWindowsPath(source)) {
        p.add(kp, `a Windows path: ${WINDOWS_UNSUPPORTED}`);
      } else if (!source.startsWith('/')) {
        p.add(kp, `a local archive must be an absolute path, got ${JSON.stringify(source)}`);
      }
      specs.push({ dir, source, keyPath: kp });
    }
    return p.list.length > before ? undefined : specs;
  },

  async plan(spec: SourcesSpec): Promise<Action[]> {
    return spec.map((s) => ({
      summary: `extract ${shown(s.source)} into ${s.dir}`,
      changes: [{ key: 'sources', name: s.dir }],
      apply: (ctx: HandlerContext) => applySource(s, ctx),
    }));
  },
};

const shown = (source: string) => (isRemote(source) ? redactUrl(source) : source);

async function applySource(s: SourceSpec, ctx: HandlerContext): Promise<{ changed: boolean }> {
  const where = child(ctx.keyPath, s.dir);
  const remote = isRemote(s.source);
  // A download goes to a private file first: an archive is read twice and never held in memory.
  const file = remote ? ctx.writer.scratchFile('download') : s.source;
  try {
    if (remote) await ctx.downloader.fetchToFile(s.source, file, { maxBytes: ctx.limits.archiveDownload, limitName: limitName('archiveDownload') });
    else if (!fs.statSync(file).isFile()) throw new SourceError(`${where}: ${s.source} is not a regular file`);
    const strip = remote && isGitHubArchiveUrl(s.source);
    const result = await extractArchive(file, s.dir, {
      writer: ctx.writer,
      limits: ctx.limits,
      stripTopDirectory: strip,
      // tar and Python's tarfile keep the archive's owners when run as root.
      preserveOwners: process.getuid?.() === 0,
      lookupUid: (name) => ctx.system.user(name)?.uid,
      lookupGid: (name) => ctx.system.group(name)?.gid,
    });
    ctx.logger.info(
      `extracted ${shown(s.source)} (${result.format}${strip ? ', top directory stripped' : ''}) into ${s.dir}: ` +
        `${result.entries} entries, ${result.written} written`,
    );
    return { changed: result.changed };
  } catch (err) {
    if (err instanceof SourceError) throw err;
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' && !remote ? 'no such file' : errorMessage(err);
    throw new SourceError(`${where}: ${shown(s.source)}: ${why}`, { cause: err });
  } finally {
    if (remote) fs.rmSync(file, { force: true });
  }
}
