/**
 * Where a path leads, resolved the way the kernel resolves it: component by
 * component, each symlink replaced by its target before the next component
 * is looked at, `..` taken from the directory actually reached. A textual
 * normalisation (`path.resolve`, and Node's `fs.realpathSync`, which
 * normalises a link's target before following it) reads `pre/..` as the
 * current directory even when `pre` is a symlink to somewhere else, and
 * that difference is an escape. Resolution is confined to a root: leaving it
 * (too many `..`, an absolute link) ends the walk, and so does a chain of
 * more than MAX_LINK_HOPS links in one resolution (the kernel's ELOOP bound),
 * which also keeps a hostile web of links linear rather than exponential.
 *
 * What exists is asked of a View, so the same walk serves the disk, and the
 * disk as an archive will leave it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The kernel's MAXSYMLINKS. */
export const MAX_LINK_HOPS = 40;

export type Node = { kind: 'dir' | 'file' | 'missing' | 'other' } | { kind: 'symlink'; target: string };

/** What is at `parts` (path components below the root). */
export type View = (parts: readonly string[]) => Node;

export type Resolution = { inside: true; parts: string[]; node: Node } | { inside: false; why: string };

const components = (p: string) => p.split('/').filter((c) => c !== '' && c !== '.');

/**
 * Resolve `rel` (relative to the directory `from`, both below the root) as
 * the kernel would, following the final component too when `followLast`.
 * Missing components are taken as they are written (what would be created).
 */
export function resolveBeneath(from: readonly string[], rel: string, view: View, followLast = true): Resolution {
  if (rel.startsWith('/')) return { inside: false, why: 'it is an absolute path' };
  const stack = [...from];
  const queue = components(rel);
  let hops = 0;
  let node: Node = { kind: 'dir' };
  while (queue.length) {
    const c = queue.shift()!;
    if (c === '..') {
      if (!stack.length) return { inside: false, why: 'it climbs above the target directory' };
      stack.pop();
      node = { kind: 'dir' };
      continue;
    }
    const here = [...stack, c];
    node = view(here);
    if (node.kind === 'symlink' && (queue.length || followLast)) {
      if (++hops > MAX_LINK_HOPS) return { inside: false, why: `more than ${MAX_LINK_HOPS} symlinks in a row` };
      if (node.target.startsWith('/')) return { inside: false, why: `${here.join('/')} is a symlink to the absolute path ${node.target}` };
      queue.unshift(...components(node.target));
      continue;
    }
    stack.push(c);
    if (node.kind === 'missing') {
      // Nothing below a missing component exists yet: the rest is what would be made, read as written.
      for (const rest of queue) {
        if (rest !== '..') stack.push(rest);
        else if (!stack.pop()) return { inside: false, why: 'it climbs above the target directory' };
      }
      return { inside: true, parts: stack, node };
    }
  }
  return { inside: true, parts: stack, node };
}

/** The disk below `root`, by lstat. */
export function diskView(root: string): View {
  return (parts) => {
    const p = path.join(root, ...parts);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
      throw err;
    }
    if (st.isSymbolicLink()) return { kind: 'symlink', target: fs.readlinkSync(p) };
    if (st.isDirectory()) return { kind: 'dir' };
    if (st.isFile()) return { kind: 'file' };
    return { kind: 'other' };
  };
}
