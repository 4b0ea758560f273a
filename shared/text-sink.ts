/**
 * Text made of very many small pieces (a canonical or Python rendering of
 * a document with millions of items), handed on in chunks of about 64 Ki
 * characters: neither a string per item held at once, as `map().join()`
 * would, nor a rope of millions of concatenations. Where a bound is set,
 * building stops as soon as the text passes it.
 */

const CHUNK_CHARS = 64 * 1024;

/** Thrown by a TextSink once its text passes its bound. */
class TextTooLongError extends Error {}

export class TextSink {
  /** The pieces of the chunk being made: joined at once into one flat string, never a rope. */
  private pieces: string[] = [];
  private pendingChars = 0;
  /** Characters added so far. */
  length = 0;

  constructor(
    private readonly flush: (chunk: string) => void,
    private readonly maxChars = Infinity,
  ) {}

  add(piece: string): void {
    this.length += piece.length;
    if (this.length > this.maxChars) throw new TextTooLongError(`more than ${this.maxChars} characters`);
    this.pieces.push(piece);
    this.pendingChars += piece.length;
    if (this.pendingChars >= CHUNK_CHARS) this.end();
  }

  /** Hands on what is left. */
  end(): void {
    if (this.pieces.length) this.flush(this.pieces.join(''));
    this.pieces = [];
    this.pendingChars = 0;
  }
}

/** The whole text `write` produces; undefined once it passes `maxChars`. */
export function buildText(write: (out: TextSink) => void, maxChars = Infinity): string | undefined {
  const chunks: string[] = [];
  const out = new TextSink((c) => chunks.push(c), maxChars);
  try {
    write(out);
  } catch (err) {
    if (err instanceof TextTooLongError) return undefined;
    throw err;
  }
  out.end();
  return chunks.join('');
}
