import * as assert from 'node:assert/strict';
import { assertDepth } from '../../shared/json-depth';

describe('assertDepth', () => {
  const deep = (levels: number): unknown => {
    let v: unknown = 1;
    for (let i = 0; i < levels; i++) v = { d: [v] };
    return v;
  };

  it('names the key path where the nesting passes the bound, and the source', () => {
    assert.throws(() => assertDepth({ a: deep(60) }, 100, 'src'), /src: nests deeper than 100 levels at a\.d\[0\]\.d\[0\]/);
    assert.doesNotThrow(() => assertDepth({ a: deep(40) }, 100, 'src'));
  });

  it("a key's control characters are shown escaped: the error stays one line", () => {
    assert.throws(
      () => assertDepth({ 'a\r\nERROR forged line': deep(60) }, 100, 'src'),
      (err: Error) => err.message.includes('at a\\u000d\\u000aERROR forged line.d[0]') && !/[\r\n]/.test(err.message),
    );
  });
});
