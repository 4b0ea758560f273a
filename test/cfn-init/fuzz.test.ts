/**
 * Fuzzing cfn-init's input: generated mutations of a valid metadata
 * document (type swaps, missing and extra keys, huge and deep values, NUL
 * bytes, invalid UTF-8, cyclic configSets) through `--dry-run` and through
 * real runs into a temporary root, in this process (cfn-init's own main).
 * No run may end in anything but a typed error (CfnError): an uncaught
 * exception fails the test. A run refused before applying (a validation,
 * usage or configuration error) must leave the root exactly as it was.
 *
 * Seeded: CFNTOOLS_FUZZ_SEED replays a run, CFNTOOLS_FUZZ_CASES sets how
 * many mutations are tried (default 2000). A failure names its seed and case.
 */
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { main } from '../../agents/cfn-init';
import { CfnError, ConfigError, UsageError } from '../../shared/errors';
import { tempDir } from './support/handler-harness';

const INIT = 'AWS::CloudFormation::Init';
const SEED = Number(process.env.CFNTOOLS_FUZZ_SEED ?? 20261201);
const CASES = Number(process.env.CFNTOOLS_FUZZ_CASES ?? 2000);
/** Stands for two bytes that are not UTF-8, put in after serialising. */
const BAD_UTF8 = '\uE000';
/** Stands for a value nested this deep, put in after serialising (JSON.stringify itself would overflow). */
const DEEP = (levels: number) => `\uE001${levels}\uE001`;

/** mulberry32: small, fast, and the same sequence everywhere for a seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A valid document whose every effect lands under `root`: files, a symlink, a template, commands. */
function baseDocument(root: string): Record<string, unknown> {
  return {
    [INIT]: {
      configSets: { default: ['first', { ConfigSet: 'second' }], second: ['second'] },
      first: {
        files: {
          [`${root}/etc/app.conf`]: { content: 'key = value\n', mode: '000640', owner: 'root', group: 'root' },
          [`${root}/etc/app.json`]: { content: { name: 'app', ports: [80, 443], tls: true } },
          [`${root}/etc/app.link`]: { content: 'app.conf', mode: '120777' },
          [`${root}/etc/hello`]: { content: 'Hello {{name}}!', context: { name: 'fuzz' } },
        },
        commands: {
          '01_write': { command: `echo first >> ${root}/cmds.log`, cwd: root },
          '02_test': { command: ['sh', '-c', `echo second >> ${root}/cmds.log`], test: 'true', env: { A: '1' } },
        },
      },
      second: {
        files: { [`${root}/var/data.bin`]: { content: Buffer.from([0, 1, 2, 255]).toString('base64'), encoding: 'base64', mode: '000600' } },
        commands: { done: { command: `echo done >> ${root}/cmds.log`, ignoreErrors: 'true' } },
      },
    },
  };
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every container (object or list) of the document, with a way to reach each of its slots. */
function containers(v: Json, out: Array<Json[] | { [k: string]: Json }> = []): Array<Json[] | { [k: string]: Json }> {
  if (v !== null && typeof v === 'object') {
    out.push(v);
    for (const x of Array.isArray(v) ? v : Object.values(v)) containers(x, out);
  }
  return out;
}

/** Extra keys: odd names, never an Init key or an attribute that changes the machine beyond the root or waits. */
const ODD_KEYS = ['', 'x', '..', '../x', 'a\0b', 'configSets', 'ConfigSet', 'content', 'mode', 'owner', 'group', 'command', 'test', 'cwd', 'env', 'context', 'encoding', 'source', '\u00e9\u00df', 'k'.repeat(300), BAD_UTF8];

function randomValue(r: () => number, depth = 0): Json {
  const pick = Math.floor(r() * (depth > 2 ? 6 : 8));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2:
      return [0, -1, 1.5, 4294967296, 1e308, 0o644, 120777][Math.floor(r() * 7)];
    case 3:
      return ['', 'x', '000644', '120000', 'root', 'nobody', 'no-such-user-fuzz', 'true', 'forever', 'base64', 'a\0b', BAD_UTF8, '{{#x}}{{/x}}', '{{', 'relative/path', '~'][Math.floor(r() * 16)];
    case 4:
      return 'z'.repeat(Math.floor(r() * 3) === 0 ? 2_000_000 : 50);
    case 5:
      return [];
    case 6:
      return Array.from({ length: 1 + Math.floor(r() * 3) }, () => randomValue(r, depth + 1));
    default:
      return Object.fromEntries(Array.from({ length: 1 + Math.floor(r() * 3) }, () => [ODD_KEYS[Math.floor(r() * ODD_KEYS.length)], randomValue(r, depth + 1)]));
  }
}

/** The JSON text of a value nested `levels` deep. */
function deepText(levels: number): string {
  const half = Math.floor(levels / 2);
  return `${'{"d": ['.repeat(half)}1${']}'.repeat(half)}`;
}

/** Apply 1 to 3 random mutations to `doc` (in place); returns what was done, for the failure message. */
function mutate(doc: Json, r: () => number): string[] {
  const done: string[] = [];
  for (let n = 1 + Math.floor(r() * 3); n > 0; n--) {
    const all = containers(doc);
    const c = all[Math.floor(r() * all.length)];
    const keys = Array.isArray(c) ? c.map((_, i) => String(i)) : Object.keys(c);
    const key = keys.length ? keys[Math.floor(r() * keys.length)] : undefined;
    const set = (k: string, v: Json) => (Array.isArray(c) ? (c[Number(k)] = v) : (c[k] = v));
    const op = Math.floor(r() * 8);
    if (op === 0 && key !== undefined) {
      set(key, randomValue(r));
      done.push(`swap ${key}`);
    } else if (op === 1 && key !== undefined) {
      if (Array.isArray(c)) c.splice(Number(key), 1);
      else delete c[key];
      done.push(`delete ${key}`);
    } else if (op === 2) {
      const k = ODD_KEYS[Math.floor(r() * ODD_KEYS.length)];
      if (Array.isArray(c)) c.push(randomValue(r));
      else c[k] = randomValue(r);
      done.push(`add ${JSON.stringify(k)}`);
    } else if (op === 3 && key !== undefined) {
      set(key, DEEP(r() < 0.5 ? 120 : 6000));
      done.push(`deepen ${key}`);
    } else if (op === 4 && key !== undefined) {
      set(key, `${'nul\0'.repeat(3)}${BAD_UTF8}`);
      done.push(`nul+bad utf-8 at ${key}`);
    } else if (op === 5) {
      const init = (doc as Record<string, Record<string, Json>>)[INIT];
      if (init && typeof init === 'object' && init.configSets && typeof init.configSets === 'object' && !Array.isArray(init.configSets)) {
        const sets = init.configSets as Record<string, Json>;
        sets.default = [{ ConfigSet: 'loop' }];
        sets.loop = [{ ConfigSet: r() < 0.5 ? 'default' : 'loop' }, 'first'];
        done.push('cyclic configSets');
      }
    } else if (op === 6 && key !== undefined) {
      set(key, Array.from({ length: 5000 }, (_, i) => `item${i}`));
      done.push(`long list at ${key}`);
    } else if (op === 7 && key !== undefined && !Array.isArray(c)) {
      // A key renamed: what was valid under one name is now unknown, or misplaced.
      const v = c[key];
      delete c[key];
      c[ODD_KEYS[Math.floor(r() * ODD_KEYS.length)]] = v;
      done.push(`rename ${key}`);
    }
  }
  return done;
}

/** Every entry under `root`: type, mode, owner and a hash of the content. */
function snapshot(root: string): string[] {
  const out: string[] = [];
  if (!fs.existsSync(root)) return out;
  for (const name of (fs.readdirSync(root, { recursive: true }) as string[]).sort()) {
    const p = path.join(root, name);
    const st = fs.lstatSync(p);
    const content = st.isFile() ? createHash('sha1').update(fs.readFileSync(p)).digest('hex') : st.isSymbolicLink() ? fs.readlinkSync(p) : '';
    out.push(`${name} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${content}`);
  }
  return out;
}

/** cfn-init's main in this process, its output kept from the test report; the error it throws, if any. */
async function runMain(argv: string[]): Promise<unknown> {
  const out = process.stdout.write;
  const err = process.stderr.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    await main(argv);
    return undefined;
  } catch (e) {
    return e;
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

describe(`cfn-init fuzzed metadata (seed ${SEED}, ${CASES} cases)`, function () {
  this.timeout(600_000);
  let dir: string;
  const saved: Record<string, string | undefined> = {};
  before(() => {
    dir = tempDir('cfntools-fuzz');
    for (const [k, v] of Object.entries({ CFNTOOLS_STATE_DIR: path.join(dir, 'state'), CFNTOOLS_CACHE_DIR: path.join(dir, 'cache'), CFNTOOLS_HEAT_DIR: path.join(dir, 'heat'), AWS_EC2_METADATA_DISABLED: 'true' })) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
  });
  after(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the unmutated document applies (the fuzz starts from something valid)', async () => {
    const root = path.join(dir, 'valid');
    fs.mkdirSync(root);
    const file = path.join(dir, 'valid.json');
    fs.writeFileSync(file, JSON.stringify(baseDocument(root)));
    assert.equal(await runMain(['--log-file', path.join(dir, 'log'), file]), undefined);
    assert.equal(fs.readFileSync(path.join(root, 'cmds.log'), 'utf8'), 'first\nsecond\ndone\n');
  });

  it('every mutation: no uncaught exception, dry run or real; a refusal leaves the root untouched', async () => {
    const r = prng(SEED);
    const outcomes = { ok: 0, refused: 0, failed: 0 };
    for (let i = 0; i < CASES; i++) {
      const root = path.join(dir, `r${i}`);
      fs.mkdirSync(root);
      const doc = baseDocument(root) as Json;
      const what = mutate(doc, r);
      const text = JSON.stringify(doc).replace(/"\uE001(\d+)\uE001"/g, (_m, n: string) => deepText(Number(n)));
      const file = path.join(dir, 'case.json');
      // The stand-in becomes two bytes that are not UTF-8.
      fs.writeFileSync(file, Buffer.concat(text.split(BAD_UTF8).flatMap((part, k) => (k ? [Buffer.from([0xff, 0xfe]), Buffer.from(part)] : [Buffer.from(part)]))));
      const where = `case ${i} (CFNTOOLS_FUZZ_SEED=${SEED}): ${what.join(', ')}`;
      for (const dryRun of [true, false]) {
        const before = snapshot(root);
        const err = await runMain(['--log-file', path.join(dir, 'log'), ...(dryRun ? ['--dry-run'] : []), file]);
        if (err !== undefined && !(err instanceof CfnError)) assert.fail(`${where}${dryRun ? ' --dry-run' : ''}: uncaught ${(err as Error)?.stack ?? String(err)}`);
        const refused = err instanceof ConfigError || err instanceof UsageError;
        if (dryRun || refused) assert.deepEqual(snapshot(root), before, `${where}${dryRun ? ' --dry-run' : ''}: ${refused ? `refused (${(err as Error).message.slice(0, 200)}) but` : 'a dry run'} changed the root`);
        if (!dryRun) outcomes[err === undefined ? 'ok' : refused ? 'refused' : 'failed']++;
      }
      fs.rmSync(root, { recursive: true, force: true });
    }
    // A fuzz that only ever hits one branch tests little.
    assert.ok(outcomes.refused > CASES / 10 && outcomes.ok > CASES / 100, JSON.stringify(outcomes));
  });
});
