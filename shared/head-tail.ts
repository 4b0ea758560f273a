/**
 * The start and the end of a stream of bytes that may be endless (a
 * command's output, a deployment's log): at most half the bound from the
 * start and half from the end are kept, in Buffers; what fell in between is
 * counted and said in its place. The text never holds a broken character
 * at a cut.
 */
import { StringDecoder } from 'node:string_decoder';

export class HeadTail {
  private readonly head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer[] = [];
  /** Index of the first chunk of `tail` still kept. */
  private first = 0;
  private tailBytes = 0;
  /** Bytes dropped whole from the tail so far. */
  private droppedBytes = 0;
  private readonly headMax: number;
  private readonly tailMax: number;

  constructor(readonly maxBytes: number) {
    this.headMax = Math.floor(maxBytes / 2);
    this.tailMax = maxBytes - this.headMax;
  }

  add(chunk: Buffer): void {
    if (this.headBytes < this.headMax) {
      const part = chunk.subarray(0, this.headMax - this.headBytes);
      // A copy: the stream's chunk may be larger than what is kept of it.
      this.head.push(Buffer.from(part));
      this.headBytes += part.length;
      chunk = chunk.subarray(part.length);
    }
    if (!chunk.length) return;
    this.tail.push(chunk);
    this.tailBytes += chunk.length;
    // Whole chunks no longer needed leave from the front: skipped by index, the array compacted once half of it is gone.
    while (this.first < this.tail.length - 1 && this.tailBytes - this.tail[this.first].length >= this.tailMax) {
      this.tailBytes -= this.tail[this.first].length;
      this.droppedBytes += this.tail[this.first].length;
      this.first++;
    }
    if (this.first > 1024 && this.first * 2 > this.tail.length) {
      this.tail = this.tail.slice(this.first);
      this.first = 0;
    }
  }

  /** Bytes not kept. */
  get dropped(): number {
    return this.droppedBytes + Math.max(0, this.tailBytes - this.tailMax);
  }

  /** The text kept, with `[N bytes of output dropped]` where the middle was. */
  text(): string {
    let tail = Buffer.concat(this.tail.slice(this.first));
    const dropped = this.dropped;
    if (!dropped) return Buffer.concat([...this.head, tail]).toString('utf8');
    tail = tail.subarray(tail.length - this.tailMax);
    const head = new StringDecoder('utf8').write(Buffer.concat(this.head));
    // Start the end at a character: skip UTF-8 continuation bytes.
    let start = 0;
    while (start < tail.length && start < 3 && (tail[start] & 0xc0) === 0x80) start++;
    return `${head}\n[${dropped + start} bytes of output dropped]\n${tail.subarray(start).toString('utf8')}`;
  }
}
