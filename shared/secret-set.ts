/**
 * A set of literal strings found in a text in one pass, however many there
 * are and however long. Members live in a radix tree, so checking a
 * position costs the length of what matches there, not the number of
 * members (session tokens and keystone tokens share long prefixes, and a
 * daemon gathers many); a 64 Ki-entry filter on the first PREFIX characters
 * lets the scan skip almost every position with one character read. A
 * regular expression of alternatives does not scale: it is rebuilt on every
 * addition, its cost per position grows with the count, and past some tens
 * of thousands of characters V8 refuses to compile it at all.
 */

/** Every member is at least this long: the filter hashes this many characters. */
export const PREFIX = 4;

const FILTER_BITS = 16;
const FILTER_MASK = (1 << FILTER_BITS) - 1;
/** 31^(PREFIX-1): the weight of the character leaving the rolling window. */
const LEAVING_WEIGHT = 31 ** (PREFIX - 1);

/** The polynomial hash of the PREFIX characters at `at`. */
function windowHash(text: string, at: number): number {
  let h = 0;
  for (let k = 0; k < PREFIX; k++) h = (Math.imul(h, 31) + text.charCodeAt(at + k)) | 0;
  return h;
}

/** The hash of the window one character further on. */
function roll(h: number, leaving: number, entering: number): number {
  return (Math.imul(h - Math.imul(leaving, LEAVING_WEIGHT), 31) + entering) | 0;
}

interface Node {
  /** Edges by their label's first character code. */
  edges: Map<number, Edge>;
  /** A member ends here. */
  end: boolean;
}

interface Edge {
  label: string;
  to: Node;
}

const newNode = (end: boolean): Node => ({ edges: new Map(), end });

export class SecretSet {
  private readonly root = newNode(false);
  private readonly filter = new Uint8Array(1 << FILTER_BITS);
  private readonly members = new Set<string>();
  /** Characters held, for the caller's memory bound. */
  chars = 0;

  get size(): number {
    return this.members.size;
  }

  has(value: string): boolean {
    return this.members.has(value);
  }

  /** Add `value` (at least PREFIX characters); false when it was already there. */
  add(value: string): boolean {
    if (value.length < PREFIX) throw new RangeError(`a member must be at least ${PREFIX} characters long`);
    if (this.members.has(value)) return false;
    this.members.add(value);
    this.chars += value.length;
    this.filter[windowHash(value, 0) & FILTER_MASK] = 1;
    let node = this.root;
    let at = 0;
    for (;;) {
      if (at === value.length) {
        node.end = true;
        return true;
      }
      const edge = node.edges.get(value.charCodeAt(at));
      if (!edge) {
        node.edges.set(value.charCodeAt(at), { label: value.slice(at), to: newNode(true) });
        return true;
      }
      let common = 0;
      while (common < edge.label.length && at + common < value.length && edge.label.charCodeAt(common) === value.charCodeAt(at + common)) common++;
      if (common < edge.label.length) {
        // Split the edge where the new member leaves it.
        const middle = newNode(false);
        middle.edges.set(edge.label.charCodeAt(common), { label: edge.label.slice(common), to: edge.to });
        edge.label = edge.label.slice(0, common);
        edge.to = middle;
      }
      node = edge.to;
      at += common;
    }
  }

  /** Where the longest member starting at `at` ends, or -1. */
  private longestAt(text: string, at: number): number {
    let node = this.root;
    let pos = at;
    let found = -1;
    for (;;) {
      if (node.end) found = pos;
      if (pos >= text.length) return found;
      const edge = node.edges.get(text.charCodeAt(pos));
      if (!edge || !text.startsWith(edge.label, pos)) return found;
      pos += edge.label.length;
      node = edge.to;
    }
  }

  /**
   * `text` with every occurrence of every member replaced by `mask`.
   * Occurrences that overlap or touch are masked as one span, so no part of
   * any of them survives.
   */
  mask(text: string, mask: string): string {
    if (this.members.size === 0 || text.length < PREFIX) return text;
    let out = '';
    let emitted = 0;
    let spanStart = -1;
    let spanEnd = -1;
    const last = text.length - PREFIX;
    let h = windowHash(text, 0);
    for (let i = 0; i <= last; i++) {
      if (i > 0) h = roll(h, text.charCodeAt(i - 1), text.charCodeAt(i + PREFIX - 1));
      if (this.filter[h & FILTER_MASK] === 0) continue;
      const end = this.longestAt(text, i);
      if (end < 0) continue;
      if (i <= spanEnd) {
        spanEnd = Math.max(spanEnd, end);
        continue;
      }
      if (spanStart >= 0) {
        out += text.slice(emitted, spanStart) + mask;
        emitted = spanEnd;
      }
      spanStart = i;
      spanEnd = end;
    }
    if (spanStart < 0) return text;
    return out + text.slice(emitted, spanStart) + mask + text.slice(spanEnd);
  }
}
