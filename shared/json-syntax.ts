/**
 * Where a text stops being JSON. JSON.parse's own message quotes the start
 * of the text, and a file in the wrong place may hold anything (a state
 * path once held `root:$6$...`): an error may say where the text went
 * wrong, never what it holds. Pure; walks the text once without recursion.
 */

/** Literals and numbers, matched where a value starts. */
const SCALAR = /true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPE = /["\\/bfnrt]|u[0-9a-fA-F]{4}/y;

type Expect = 'value' | 'first-value' | 'key' | 'first-key' | 'colon' | 'after';

/** The end of the string starting at `i` (a `"`), or minus one minus the offset of its first fault. */
function stringEnd(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === 0x22) return j + 1;
    if (c < 0x20) return -1 - j;
    if (c === 0x5c) {
      ESCAPE.lastIndex = j + 1;
      const m = ESCAPE.exec(text);
      if (!m) return -1 - (j + 1);
      j += m[0].length;
    }
  }
  return -1 - text.length;
}

/**
 * The offset (in UTF-16 units) of the first character that makes `text`
 * not a JSON document; the text's length when it ends too early; -1 when
 * it is JSON.
 */
export function syntaxErrorOffset(text: string): number {
  // What is open: true for an array, false for an object.
  const open: boolean[] = [];
  let expect: Expect = 'value';
  let i = 0;
  for (;;) {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
    if (i >= text.length) return expect === 'after' && !open.length ? -1 : text.length;
    const c = text[i];
    switch (expect) {
      case 'first-value':
      case 'value': {
        if (c === ']' && expect === 'first-value') {
          open.pop();
          i++;
          expect = 'after';
        } else if (c === '[' || c === '{') {
          open.push(c === '[');
          i++;
          expect = c === '[' ? 'first-value' : 'first-key';
        } else if (c === '"') {
          const end = stringEnd(text, i);
          if (end < 0) return -1 - end;
          i = end;
          expect = 'after';
        } else {
          SCALAR.lastIndex = i;
          const m = SCALAR.exec(text);
          if (!m) return i;
          i += m[0].length;
          expect = 'after';
        }
        break;
      }
      case 'first-key':
      case 'key': {
        if (c === '}' && expect === 'first-key') {
          open.pop();
          i++;
          expect = 'after';
          break;
        }
        if (c !== '"') return i;
        const end = stringEnd(text, i);
        if (end < 0) return -1 - end;
        i = end;
        expect = 'colon';
        break;
      }
      case 'colon':
        if (c !== ':') return i;
        i++;
        expect = 'value';
        break;
      case 'after': {
        if (!open.length) return i;
        const inArray = open[open.length - 1];
        if (c === ',') expect = inArray ? 'value' : 'key';
        else if (c === (inArray ? ']' : '}')) open.pop();
        else return i;
        i++;
        break;
      }
    }
  }
}
