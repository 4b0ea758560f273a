/**
 * Every cfn-hup.conf and hooks file that the real-world Init documents
 * write (../shared/corpus/init-real-world, beside the checkout; never copied
 * into the repository) is read by cfn-hup without error, as a user who
 * deploys those templates would have it read.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig, locateConfig } from '../../agents/cfn-hup/config';

const CORPUS = path.resolve(__dirname, '..', '..', '..', '..', 'shared', 'corpus', 'init-real-world');
const HUP_FILE = /(?:^|[\\/])(cfn-hup\.conf|hooks\.conf)$|[\\/]hooks\.d[\\/]([^\\/]+)$/;

interface HupFile {
  /** Where the template writes it. */
  target: string;
  /** Where it goes in the test's configuration directory. */
  rel: string;
  content: string;
}

/** The files entries of every config, at any depth (configs, variants). */
function hupFiles(doc: unknown, out: HupFile[] = []): HupFile[] {
  if (Array.isArray(doc)) for (const v of doc) hupFiles(v, out);
  else if (doc !== null && typeof doc === 'object') {
    for (const [key, value] of Object.entries(doc)) {
      const m = HUP_FILE.exec(key);
      if (m && value !== null && typeof value === 'object' && 'content' in value) {
        const content = (value as { content: unknown }).content;
        assert.equal(typeof content, 'string', `${key}: content is a string in the rendered corpus`);
        out.push({ target: key, rel: m[1] ?? path.join('hooks.d', m[2]), content: content as string });
      } else hupFiles(value, out);
    }
  }
  return out;
}

const documents = () =>
  fs.existsSync(CORPUS)
    ? [...fs.readdirSync(CORPUS).filter((f) => /^\d{3}-.*\.json$/.test(f)), ...fs.readdirSync(path.join(CORPUS, 'variants')).filter((f) => f.endsWith('.json')).map((f) => path.join('variants', f))]
        .sort()
        .map((file) => ({ file, files: hupFiles(JSON.parse(fs.readFileSync(path.join(CORPUS, file), 'utf8'))) }))
        .filter((d) => d.files.length > 0)
    : [];

describe('cfn-hup on the real-world corpus (../shared/corpus)', () => {
  let dir: string;
  before(function () {
    if (!fs.existsSync(CORPUS)) {
      process.stdout.write(`      (skipped: ${CORPUS} is absent: the real-world corpus is not tried)\n`);
      this.skip();
    }
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-hup-corpus-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const docs = documents();
  if (docs.length) {
    it('finds the cfn-hup files of 53 documents, 105 files in all', () => {
      assert.equal(docs.length, 53);
      assert.equal(docs.reduce((n, d) => n + d.files.length, 0), 105);
    });
  }
  for (const { file, files } of docs) {
    it(`${file}: ${files.map((f) => f.target).join(', ')}`, () => {
      const etc = path.join(dir, 'etc');
      fs.mkdirSync(path.join(etc, 'hooks.d'), { recursive: true });
      for (const f of files) fs.writeFileSync(path.join(etc, f.rel), f.content, { mode: 0o644 });
      // A document that writes only one side gets a stand-in for the other.
      const hasMain = files.some((f) => f.rel === 'cfn-hup.conf');
      const hasHooks = files.some((f) => f.rel !== 'cfn-hup.conf');
      if (!hasMain) fs.writeFileSync(path.join(etc, 'cfn-hup.conf'), '[main]\nstack=stand-in\n', { mode: 0o644 });
      if (!hasHooks) fs.writeFileSync(path.join(etc, 'hooks.d', 'stand-in'), '[stand-in]\ntriggers=post.update\npath=Resources.X.Metadata\naction=true\n', { mode: 0o644 });
      const config = loadConfig(locateConfig(etc, { CFNTOOLS_CFN_DIR: etc }));
      if (hasMain) assert.notEqual(config.main.stack, 'stand-in');
      if (hasHooks) {
        assert.ok(config.hooks.length >= 1);
        for (const h of config.hooks) assert.match(h.pathText, /^Resources\.\w+/, h.name);
      }
      for (const w of config.warnings) assert.match(w, /keys on the section header's line/, `only the joined-lines files need a word: ${w}`);
    });
  }
});
