import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { diskView, MAX_LINK_HOPS, resolveBeneath, type Node, type View } from '../../shared/init/beneath';

/** A tree from `path → node`; anything not listed is missing. */
const virtual = (nodes: Record<string, Node>): View => (parts) => nodes[parts.join('/')] ?? { kind: 'missing' };
const link = (target: string): Node => ({ kind: 'symlink', target });
const dir: Node = { kind: 'dir' };

describe('resolving paths as the kernel does', () => {
  it('follows a link before the .. that comes after it (pre/.. is not .)', () => {
    const view = virtual({ pre: link('../outside') });
    const r = resolveBeneath([], 'pre/..', view);
    assert.equal(r.inside, false);
    assert.match(!r.inside ? r.why : '', /climbs above/);
  });

  it('resolves links inside the root, relative to where each link is', () => {
    const view = virtual({ a: dir, 'a/b': dir, 'a/up': link('..'), cur: link('a/b'), 'a/b/x': { kind: 'file' } });
    assert.deepEqual(resolveBeneath([], 'cur/x', view), { inside: true, parts: ['a', 'b', 'x'], node: { kind: 'file' } });
    assert.deepEqual(resolveBeneath(['a'], 'up/a/b', view), { inside: true, parts: ['a', 'b'], node: dir });
    assert.equal(resolveBeneath([], 'a/up/..', view).inside, false);
  });

  it('refuses absolute links and absolute paths; takes missing components as written', () => {
    assert.match(JSON.stringify(resolveBeneath([], 'etc', virtual({ etc: link('/etc') }))), /absolute path \/etc/);
    assert.equal(resolveBeneath([], '/x', virtual({})).inside, false);
    assert.deepEqual(resolveBeneath([], 'new/dir/f', virtual({})), { inside: true, parts: ['new', 'dir', 'f'], node: { kind: 'missing' } });
    assert.equal(resolveBeneath([], 'new/../..', virtual({})).inside, false);
  });

  it('stops after MAX_LINK_HOPS links, so loops and webs end quickly', () => {
    assert.match(JSON.stringify(resolveBeneath([], 'a', virtual({ a: link('b'), b: link('a') }))), new RegExp(`more than ${MAX_LINK_HOPS} symlinks`));
    const nodes: Record<string, Node> = { real: dir };
    for (let i = 0; i < 30; i++) nodes[`l${i}`] = link(`${i === 29 ? 'real' : `l${i + 1}`}/../${i === 29 ? 'real' : `l${i + 1}`}`);
    assert.equal(resolveBeneath([], 'l0', virtual(nodes)).inside, false);
  });

  it('does not follow the last component when asked not to', () => {
    const view = virtual({ l: link('/etc') });
    assert.deepEqual(resolveBeneath([], 'l', view, false), { inside: true, parts: ['l'], node: link('/etc') });
  });

  it('reads the disk with lstat', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-beneath-'));
    try {
      fs.mkdirSync(path.join(root, 'd'));
      fs.symlinkSync('d', path.join(root, 'l'));
      fs.writeFileSync(path.join(root, 'd', 'f'), '');
      const view = diskView(root);
      assert.deepEqual(view(['l']), link('d'));
      assert.deepEqual(resolveBeneath([], 'l/f', view), { inside: true, parts: ['d', 'f'], node: { kind: 'file' } });
      assert.deepEqual(view(['d', 'f', 'below']), { kind: 'missing' });
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
