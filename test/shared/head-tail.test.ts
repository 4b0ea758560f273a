/** A command's output kept as its start and its end (shared/head-tail.ts), and text built in chunks (shared/text-sink.ts). */
import * as assert from 'node:assert/strict';
import { HeadTail } from '../../shared/head-tail';
import { buildText } from '../../shared/text-sink';
import { pythonJsonDumps, pythonJsonDumpsWithin } from '../../shared/pyjson';

describe('HeadTail: the start and the end of an endless stream', () => {
  it('keeps what fits whole, in any chunking, characters split across chunks included', () => {
    const text = 'é€😀 plain\n'.repeat(10);
    const bytes = Buffer.from(text);
    const h = new HeadTail(1024);
    for (let i = 0; i < bytes.length; i += 3) h.add(bytes.subarray(i, i + 3));
    assert.equal(h.text(), text);
    assert.equal(h.dropped, 0);
  });

  it('past the bound: half from the start, half from the end, the middle counted in its place, no broken character', () => {
    const h = new HeadTail(100);
    const line = Buffer.from('€€€€€€€\n'); // 22 bytes: cuts fall inside characters
    for (let i = 0; i < 100_000; i++) h.add(line);
    const t = h.text();
    const m = /^([^[]*)\n\[(\d+) bytes of output dropped\]\n([^[]*)$/.exec(t);
    assert.ok(m, t);
    assert.ok(!t.includes('\ufffd'), t);
    const [head, dropped, tail] = [m[1], Number(m[2]), m[3]];
    assert.equal(Buffer.byteLength(head) + dropped + Buffer.byteLength(tail), line.length * 100_000);
    assert.ok(Buffer.byteLength(head) <= 50 && Buffer.byteLength(tail) <= 50);
    assert.ok('€€€€€€€\n'.repeat(3).endsWith(tail), tail);
  });

  it('one huge chunk is cut the same way', () => {
    const h = new HeadTail(10);
    h.add(Buffer.from('a'.repeat(1000) + 'END'));
    assert.equal(h.text(), `aaaaa\n[993 bytes of output dropped]\naaEND`);
  });
});

describe('text built in chunks', () => {
  it("Python's json.dumps of a wide list, whole; within a bound, nothing past it is built", () => {
    const wide = new Array(100_000).fill(1);
    assert.equal(pythonJsonDumps({ a: wide }), `{"a": [${wide.join(', ')}]}`);
    assert.equal(pythonJsonDumpsWithin({ a: wide }, 100), undefined);
    assert.equal(pythonJsonDumpsWithin({ a: [1, 2] }, 100), '{"a": [1, 2]}');
    let pieces = 0;
    assert.equal(
      buildText((out) => {
        for (;;) {
          pieces++;
          out.add('x'.repeat(10));
        }
      }, 95),
      undefined,
    );
    assert.equal(pieces, 10, 'stopped at the piece that passed the bound');
  });
});
