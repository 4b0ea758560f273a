import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ArchiveError, detectFormat, extractArchive, normalizeName, planEntries, UnsafeArchiveError, walkArchive, type ArchiveEntry, type ExtractOptions } from '../../shared/init/archive';
import { DEFAULT_LIMITS } from '../../shared/init/limits';
import { DurableWriter } from '../../shared/durable-write';
import { listTree, makeTree, pyTar, pyZip, tarOf, zipOf, type TarCompression } from './support/archives';
import { tempDir } from './support/handler-harness';

describe('cfn-init archive extraction', () => {
  let tmp: string;
  let src: string;
  let target: string;
  beforeEach(() => {
    tmp = tempDir('cfntools-archive');
    src = path.join(tmp, 'src');
    target = path.join(tmp, 'target');
    fs.mkdirSync(src);
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));
  /** The archive `data`, from a file as sources extract it. */
  const extract = (data: Buffer, dest: string, opts: Omit<ExtractOptions, 'writer'> = {}) => {
    const file = path.join(tmp, `archive-${Math.random().toString(36).slice(2)}`);
    fs.writeFileSync(file, data);
    return extractArchive(file, dest, { writer: new DurableWriter(path.join(tmp, 'journal')), ...opts }).finally(() => fs.rmSync(file, { force: true }));
  };

  const SAMPLE = {
    'top.txt': 'top\n',
    'bin/run.sh': { content: '#!/bin/sh\necho hi\n', mode: 0o755 },
    'sub/deeper/f.txt': 'deep\n',
    'sub/link': { link: 'deeper/f.txt' },
    'empty/': { dir: true as const },
  };

  function assertSampleExtracted(dir: string): void {
    assert.equal(fs.readFileSync(path.join(dir, 'top.txt'), 'utf8'), 'top\n');
    assert.equal(fs.readFileSync(path.join(dir, 'sub/deeper/f.txt'), 'utf8'), 'deep\n');
    assert.equal(fs.statSync(path.join(dir, 'bin/run.sh')).mode & 0o7777, 0o755);
    assert.equal(fs.readlinkSync(path.join(dir, 'sub/link')), 'deeper/f.txt');
    assert.ok(fs.statSync(path.join(dir, 'empty')).isDirectory());
  }

  describe('formats, recognised by content', () => {
    const tars: [TarCompression, string][] = [['', 'tar'], ['z', 'tar.gz'], ['j', 'tar.bz2'], ['J', 'tar.xz']];
    for (const [flag, format] of tars) {
      it(`extracts a ${format} made by tar, whatever its file name`, async () => {
        makeTree(src, SAMPLE);
        // A misleading name: the format must come from the bytes.
        const data = tarOf(src, path.join(tmp, 'archive.zip'), flag);
        const r = await extract(data, target);
        assert.equal(r.format, format);
        assert.equal(r.changed, true);
        assertSampleExtracted(target);
      });
    }

    it('extracts a zip made by zip -y, with modes and stored symlinks', async () => {
      makeTree(src, SAMPLE);
      const r = await extract(zipOf(src, path.join(tmp, 'a.tar.gz')), target);
      assert.equal(r.format, 'zip');
      assertSampleExtracted(target);
    });

    it('gives files of a zip made on Windows (no Unix modes) 0644, not 0000 as aws-cfn-bootstrap does', async () => {
      const data = pyZip(path.join(tmp, 'w.zip'), [{ name: 'doc.txt', type: 'file', data: 'x' }], 0);
      await extract(data, target);
      assert.equal(fs.statSync(path.join(target, 'doc.txt')).mode & 0o7777, 0o644);
    });

    it('refuses content that is no archive, and a compressed file that is not a tar', async () => {
      await assert.rejects(extract(Buffer.from('<html>not found</html>'), target), (e: unknown) => e instanceof ArchiveError && /not a tar or zip archive/.test(e.message));
      fs.writeFileSync(path.join(tmp, 'single.txt'), 'just text\n');
      execFileSync('gzip', ['-k', path.join(tmp, 'single.txt')]);
      await assert.rejects(extract(fs.readFileSync(path.join(tmp, 'single.txt.gz')), target), /gzip data that is not a tar archive/);
      assert.equal(fs.existsSync(target), false);
    });

    it('refuses a truncated archive before writing anything', async () => {
      makeTree(src, { 'a.txt': 'a'.repeat(5000), 'b.txt': 'b'.repeat(5000) });
      const data = tarOf(src, path.join(tmp, 'a.tar'));
      await assert.rejects(extract(data.subarray(0, 3000), target), ArchiveError);
      const gz = tarOf(src, path.join(tmp, 'a.tgz'), 'z');
      await assert.rejects(extract(gz.subarray(0, gz.length - 20), target), /corrupt gzip data/);
      assert.equal(fs.existsSync(target), false);
    });

    it('reports damaged and truncated gzip/bzip2/xz data as corrupt, in plain words', async () => {
      makeTree(src, { 'a.txt': 'a'.repeat(20000) });
      for (const [flag, name] of [['z', 'gzip'], ['j', 'bzip2'], ['J', 'xz']] as const) {
        const good = tarOf(src, path.join(tmp, `a.${flag}`), flag);
        const damaged = Buffer.from(good);
        for (let i = 40; i < 60; i++) damaged[Math.floor(good.length / 2) + i - 50] ^= 0xa5;
        for (const bad of [damaged, good.subarray(0, good.length - 12)]) {
          await assert.rejects(extract(bad, target), (e: unknown) => {
            assert.ok(e instanceof ArchiveError, String(e));
            assert.match(e.message, new RegExp(`^corrupt ${name} data: `));
            assert.doesNotMatch(e.message, /kitty|monkey|error code/);
            return true;
          });
        }
      }
      assert.equal(fs.existsSync(target), false);
    });

    it('reads a bzip2 file of several concatenated streams (pbzip2, lbzip2)', async () => {
      makeTree(src, { 'a.txt': 'first', 'b.txt': 'second' });
      const tar = tarOf(src, path.join(tmp, 'a.tar'));
      const half = 1024;
      const parts = [tar.subarray(0, half), tar.subarray(half)].map((p) => execFileSync('bzip2', ['-c'], { input: p }));
      await extract(Buffer.concat(parts), target);
      assert.equal(fs.readFileSync(path.join(target, 'b.txt'), 'utf8'), 'second');
    });

    it('reads a pax archive with a global header (as GitHub tarballs have) without extracting the header', async () => {
      pyTar(path.join(tmp, 'g.tar.gz'), [{ name: 'o-r-abc/README', type: 'file', data: 'r' }], 'gz', { comment: 'abc1234' });
      const names: string[] = [];
      await walkArchive(path.join(tmp, 'g.tar.gz'), detectFormat(path.join(tmp, 'g.tar.gz')), DEFAULT_LIMITS, (e) => void names.push(e.name));
      assert.deepEqual(names, ['o-r-abc/README']);
    });

    it('refuses entries it cannot extract (FIFO, device) instead of skipping them', async () => {
      for (const type of ['fifo', 'chr'] as const) {
        const data = pyTar(path.join(tmp, `${type}.tar`), [{ name: 'ok.txt', type: 'file', data: 'x' }, { name: 'node', type }]);
        await assert.rejects(extract(data, target), (e: unknown) => e instanceof UnsafeArchiveError && e.entry === 'node' && /only files, directories and links/.test(e.message));
        assert.equal(fs.existsSync(target), false);
      }
    });
  });

  describe('re-extraction', () => {
    it('writes nothing and reports no change when the target already matches', async () => {
      makeTree(src, SAMPLE);
      const data = tarOf(src, path.join(tmp, 'a.tgz'), 'z');
      await extract(data, target);
      const inode = fs.statSync(path.join(target, 'top.txt')).ino;
      const again = await extract(data, target);
      assert.equal(again.changed, false);
      assert.equal(again.written, 0);
      assert.equal(fs.statSync(path.join(target, 'top.txt')).ino, inode);
    });

    it('replaces a modified file by rename, restores its mode, and never deletes other files', async () => {
      makeTree(src, SAMPLE);
      const data = tarOf(src, path.join(tmp, 'a.tar'));
      await extract(data, target);
      fs.writeFileSync(path.join(target, 'top.txt'), 'local edit\n');
      fs.chmodSync(path.join(target, 'bin/run.sh'), 0o600);
      fs.writeFileSync(path.join(target, 'mine.txt'), 'keep me');
      const before = fs.statSync(path.join(target, 'top.txt')).ino;
      const r = await extract(data, target);
      assert.equal(r.changed, true);
      assert.equal(r.written, 2);
      assert.equal(fs.readFileSync(path.join(target, 'top.txt'), 'utf8'), 'top\n');
      assert.notEqual(fs.statSync(path.join(target, 'top.txt')).ino, before);
      assert.equal(fs.statSync(path.join(target, 'bin/run.sh')).mode & 0o7777, 0o755);
      assert.equal(fs.readFileSync(path.join(target, 'mine.txt'), 'utf8'), 'keep me');
      assert.ok(!listTree(target).some((f) => f.includes('.tmp')), 'no temp files left');
    });

    it('does not delete a directory that an archive file would replace', async () => {
      makeTree(target, { 'conf/keep.txt': 'x' });
      const data = pyTar(path.join(tmp, 'a.tar'), [{ name: 'conf', type: 'file', data: 'flat' }]);
      await assert.rejects(extract(data, target), /is a directory; it is not deleted/);
      assert.equal(fs.readFileSync(path.join(target, 'conf/keep.txt'), 'utf8'), 'x');
    });

    it('replaces an existing symlink at a file path with the file, leaving the link target alone', async () => {
      const outside = path.join(tmp, 'outside.txt');
      fs.writeFileSync(outside, 'precious');
      makeTree(target, { 'f.txt': { link: outside } });
      await extract(pyTar(path.join(tmp, 'a.tar'), [{ name: 'f.txt', type: 'file', data: 'new' }]), target);
      assert.equal(fs.lstatSync(path.join(target, 'f.txt')).isFile(), true);
      assert.equal(fs.readFileSync(path.join(target, 'f.txt'), 'utf8'), 'new');
      assert.equal(fs.readFileSync(outside, 'utf8'), 'precious');
    });
  });

  describe('modes, owners and links', () => {
    it('drops setuid and setgid bits (keeps the sticky bit) and, with preserveOwners, keeps the owners by name', async () => {
      makeTree(src, { 'suid': { content: 'x', mode: 0o6755 }, 'd/f': 'y', 'tmp/': { dir: true, mode: 0o1777 } });
      const data = tarOf(src, path.join(tmp, 'a.tar'), '', ['.'], ['--owner=nobody', '--group=nogroup']);
      await extract(data, target, {
        preserveOwners: true,
        lookupUid: (n) => (n === 'nobody' ? 65534 : undefined),
        lookupGid: (n) => (n === 'nogroup' ? 65534 : undefined),
      });
      const st = fs.statSync(path.join(target, 'suid'));
      assert.equal(st.mode & 0o7777, 0o755);
      assert.equal(fs.statSync(path.join(target, 'tmp')).mode & 0o7777, 0o1777);
      assert.equal(st.uid, 65534);
      assert.equal(st.gid, 65534);
      assert.equal(fs.statSync(path.join(target, 'd')).uid, 65534);
    });

    it('without preserveOwners, files belong to the extracting user', async () => {
      makeTree(src, { f: 'x' });
      await extract(tarOf(src, path.join(tmp, 'a.tar'), '', ['.'], ['--owner=nobody', '--group=nogroup']), target);
      assert.equal(fs.statSync(path.join(target, 'f')).uid, process.getuid!());
    });

    it('extracts hard links of the archive as hard links', async () => {
      makeTree(src, { 'a.txt': 'same' });
      fs.linkSync(path.join(src, 'a.txt'), path.join(src, 'b.txt'));
      const data = tarOf(src, path.join(tmp, 'a.tar'), '', ['a.txt', 'b.txt']);
      const r = await extract(data, target);
      assert.equal(fs.statSync(path.join(target, 'a.txt')).ino, fs.statSync(path.join(target, 'b.txt')).ino);
      assert.equal((await extract(data, target)).changed, false);
      assert.equal(r.entries, 2);
    });

    it('gives directories their archive mode', async () => {
      const data = pyTar(path.join(tmp, 'a.tar'), [{ name: 'ro', type: 'dir', mode: 0o555 }, { name: 'ro/f', type: 'file', data: 'x' }]);
      await extract(data, target);
      assert.equal(fs.statSync(path.join(target, 'ro')).mode & 0o7777, 0o555);
      assert.equal(fs.readFileSync(path.join(target, 'ro/f'), 'utf8'), 'x');
    });
  });

  describe('hostile archives: refused whole, nothing written anywhere', () => {
    let victim: string;
    beforeEach(() => {
      victim = path.join(tmp, 'victim');
    });

    async function refused(data: Buffer, pattern: RegExp, entry?: string): Promise<void> {
      await assert.rejects(extract(data, target), (e: unknown) => {
        assert.ok(e instanceof UnsafeArchiveError, `expected UnsafeArchiveError, got ${String(e)}`);
        assert.match(e.message, pattern);
        if (entry !== undefined) assert.equal(e.entry, entry);
        return true;
      });
      assert.equal(fs.existsSync(target), false, 'the target directory was not even created');
      assert.equal(fs.existsSync(victim), false, 'nothing was written outside');
      assert.deepEqual(fs.readdirSync(tmp).filter((n) => !n.endsWith('.tar') && !n.endsWith('.zip') && !n.endsWith('.tgz')), ['src']);
    }

    it('an entry with ..', async () => {
      await refused(pyTar(path.join(tmp, 'a.tar'), [{ name: 'ok.txt', type: 'file', data: 'ok' }, { name: '../victim', type: 'file', data: 'pwned' }]), /has "\.\." in its path/, '../victim');
    });

    it('an entry with .. in the middle', async () => {
      await refused(pyTar(path.join(tmp, 'a.tar'), [{ name: 'a/../../victim', type: 'file', data: 'pwned' }]), /"\.\."/);
    });

    it('an absolute entry', async () => {
      await refused(pyTar(path.join(tmp, 'a.tar'), [{ name: victim, type: 'file', data: 'pwned' }]), /absolute path/, victim);
    });

    it('a symlink to an absolute directory (like /etc), then a file written through it', async () => {
      // A stand-in for /etc: if the protection broke, this test must not write into the real one.
      const etc = path.join(tmp, 'src', 'etc');
      fs.mkdirSync(etc);
      await refused(
        pyTar(path.join(tmp, 'a.tgz'), [{ name: 'etc', type: 'symlink', link: etc }, { name: 'etc/pwned', type: 'file', data: 'x' }], 'gz'),
        /symlink "etc" -> ".*" points outside/,
      );
      assert.deepEqual(fs.readdirSync(etc), []);
    });

    it('a symlink inside the target, then a file written through it', async () => {
      await refused(
        pyTar(path.join(tmp, 'a.tar'), [{ name: 'real', type: 'dir' }, { name: 'lnk', type: 'symlink', link: 'real' }, { name: 'lnk/f', type: 'file', data: 'x' }]),
        /would be written through the symlink "lnk"/,
        'lnk/f',
      );
    });

    it('a relative symlink that climbs out', async () => {
      await refused(pyTar(path.join(tmp, 'a.tar'), [{ name: 'a/b', type: 'symlink', link: '../../victim' }]), /points outside/);
    });

    it('a symlink that climbs out through another symlink of the archive', async () => {
      await refused(
        pyTar(path.join(tmp, 'a.tar'), [
          { name: 'x', type: 'dir' },
          { name: 'x/up', type: 'symlink', link: '..' },
          { name: 'esc', type: 'symlink', link: 'x/up/..' },
        ]),
        /symlink "esc"/,
      );
    });

    it('a hard link to a file outside', async () => {
      await refused(pyTar(path.join(tmp, 'a.tar'), [{ name: 'passwd', type: 'hardlink', link: '/etc/passwd' }]), /absolute path/);
      await refused(pyTar(path.join(tmp, 'b.tar'), [{ name: 'x', type: 'hardlink', link: '../victim' }]), /"\.\."/);
    });

    it('a hard link to something that is not an earlier file of the archive', async () => {
      await refused(pyTar(path.join(tmp, 'a.tar'), [{ name: 'x', type: 'hardlink', link: 'later' }, { name: 'later', type: 'file', data: 'y' }]), /does not refer to a file earlier/);
    });

    it('a zip entry with .. and a zip symlink out', async () => {
      await refused(pyZip(path.join(tmp, 'a.zip'), [{ name: '../victim', type: 'file', data: 'x' }]), /"\.\."/);
      await refused(pyZip(path.join(tmp, 'b.zip'), [{ name: 'l', type: 'symlink', link: '/etc' }, { name: 'l/x', type: 'file', data: 'x' }]), /points outside/);
    });

    it('an existing symlink in the target that leads outside', async () => {
      fs.mkdirSync(victim);
      makeTree(target, { out: { link: victim } });
      await assert.rejects(
        extract(pyTar(path.join(tmp, 'a.tar'), [{ name: 'ok', type: 'file', data: 'x' }, { name: 'out/f', type: 'file', data: 'x' }]), target),
        (e: unknown) => e instanceof UnsafeArchiveError && /existing symlink .* leads outside/.test(e.message),
      );
      assert.deepEqual(fs.readdirSync(victim), []);
      assert.deepEqual(fs.readdirSync(target), ['out'], 'the harmless entry before it was not written either');
    });

    it('allows an existing symlink that stays inside the target', async () => {
      makeTree(target, { 'releases/1/': { dir: true }, current: { link: 'releases/1' } });
      await extract(pyTar(path.join(tmp, 'a.tar'), [{ name: 'current/app.txt', type: 'file', data: 'v1' }]), target);
      assert.equal(fs.readFileSync(path.join(target, 'releases/1/app.txt'), 'utf8'), 'v1');
    });
  });

  describe('planning', () => {
    const entry = (name: string, type: ArchiveEntry['type'] = 'file', extra: Partial<ArchiveEntry> = {}): ArchiveEntry => ({
      name,
      type,
      typeName: type,
      mode: 0o644,
      size: 0,
      ...extra,
    });

    it('normalises names: ./, doubled and trailing slashes', () => {
      assert.equal(normalizeName('./a//b/'), 'a/b');
      assert.equal(normalizeName('./'), '');
      assert.throws(() => normalizeName('a/\0b'), UnsafeArchiveError);
    });

    it('strips a single top-level directory only when asked and only when there is exactly one', () => {
      const gh = [entry('o-r-1a2b/', 'directory'), entry('o-r-1a2b/README'), entry('o-r-1a2b/src/', 'directory'), entry('o-r-1a2b/src/x.c')];
      assert.deepEqual(planEntries(gh, { stripTopDirectory: true }).map((p) => p.rel), ['README', 'src', 'src/x.c']);
      assert.deepEqual(planEntries(gh).map((p) => p.rel), ['o-r-1a2b', 'o-r-1a2b/README', 'o-r-1a2b/src', 'o-r-1a2b/src/x.c']);
      // Without an explicit directory entry (zip files often have none).
      assert.deepEqual(planEntries([entry('top/a'), entry('top/b')], { stripTopDirectory: true }).map((p) => p.rel), ['a', 'b']);
      // Two tops, or a lone file: kept as is.
      assert.deepEqual(planEntries([entry('a/x'), entry('b/y')], { stripTopDirectory: true }).map((p) => p.rel), ['a/x', 'b/y']);
      assert.deepEqual(planEntries([entry('only.txt')], { stripTopDirectory: true }).map((p) => p.rel), ['only.txt']);
    });

    it('refuses a file of the archive used as a directory, and a directory replaced by a file', () => {
      assert.throws(() => planEntries([entry('a'), entry('a/b')]), /which the archive makes a file/);
      assert.throws(() => planEntries([entry('d/x'), entry('d')]), /would replace a directory/);
    });

    it('follows hard links through the stripped directory', () => {
      const plan = planEntries([entry('t/a'), entry('t/b', 'hardlink', { linkpath: 't/a' })], { stripTopDirectory: true });
      assert.equal(plan[1].linkRel, 'a');
    });
  });
});
