/**
 * Files that decide what a tool runs as root (cfn-hup's configuration and
 * hooks, heat-agent's os-collect-config.conf, Heat's cfn-init-data, the
 * hooks heat-agent executes, credentials): whoever can change one, or put
 * another in its place, runs commands as root. So the file (or directory)
 * must belong to root or to the user the tool runs as, be writable by
 * nobody else, and every directory above it must belong to root or that
 * user and be writable by nobody else unless it is sticky (as /tmp is:
 * others cannot then rename or remove what is not theirs). One rule for
 * every tool.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const octal = (mode: number) => `0${(mode & 0o7777).toString(8)}`;

/** The user the tool acts as: the effective uid, which is what opens the files. */
function me(): number {
  return process.geteuid?.() ?? 0;
}

/** What is wrong with the owner or write bits of `st` itself, in words after the file's name; undefined when nothing. */
function ownerProblem(st: fs.Stats): string | undefined {
  const uid = me();
  if (st.uid !== 0 && st.uid !== uid) return `belongs to uid ${st.uid}, not to root or to this user (uid ${uid})`;
  if (st.mode & 0o002) return `is writable by every user (mode ${octal(st.mode)})`;
  if (st.mode & 0o020) return `is writable by its group (mode ${octal(st.mode)})`;
  return undefined;
}

/** The directories above `p`, nearest first, up to the root. */
function ancestors(p: string): string[] {
  const out: string[] = [];
  for (let d = path.dirname(p); ; d = path.dirname(d)) {
    out.push(d);
    if (d === path.dirname(d)) return out;
  }
}

/** What lets another user replace what is in one of `dirs`; undefined when nothing does. */
function directoryProblem(dirs: readonly string[]): string | undefined {
  const uid = me();
  for (const dir of dirs) {
    const d = fs.statSync(dir);
    if (d.uid !== 0 && d.uid !== uid) return `is in ${dir}, which belongs to uid ${d.uid}: its owner can replace it`;
    if (d.mode & 0o022 && !(d.mode & 0o1000)) return `is in ${dir}, which others can write (mode ${octal(d.mode)}): they can replace it`;
  }
  return undefined;
}

/**
 * Why `file` (whose fstat or stat is `st`) cannot be trusted, in words
 * that follow its name (`is writable by every user (mode 0666)`);
 * undefined when it can. The directories checked are those above the path
 * as given and above the file it resolves to: a link's own directory
 * decides where it points.
 */
export function untrustedReason(file: string, st: fs.Stats): string | undefined {
  const own = ownerProblem(st);
  if (own) return own;
  const given = path.resolve(file);
  const real = fs.realpathSync.native(given);
  const dirs = new Set([...ancestors(given), ...ancestors(real)]);
  return directoryProblem([...dirs]);
}
