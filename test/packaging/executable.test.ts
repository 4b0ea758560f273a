/**
 * The executable itself, as built: each tool's code cache is taken (a
 * rejected one would compile every start), also after the leading
 * --node-options of earlier releases' units; no Node option reaches it
 * (NODE_OPTIONS, --node-options anywhere), nor does NODE_DEBUG; it finds
 * libatomic in lib/cfntools beside its bin/ (RUNPATH); it dispatches on its
 * first argument; and a cfn-hup started plainly detaches into the
 * executable again.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DAEMON_NODE_FLAGS } from '../../shared/daemon-memory';
import { answerAccepted, atOrigin, withServer, WIRE_SIGNATURE, WIRE_URL } from '../cfn-signal/support';
import { runProcess } from '../support/cli';
import { skipUnless } from '../support/skip';
import {
  EXE, LIBATOMIC, HOST_LIBATOMIC, LIB_DIR, OUT, RUNPATH, TOOLS, VERSION,
  artifactMissing, commandMissing, isolatedEnv, removeTemp, run, runOk, tempDir,
} from './artifacts';

/** What earlier releases' units pass first. */
const EARLIER_UNITS_OPTIONS = '--node-options=--max-semi-space-size=1 --v8-pool-size=1';

describe('packaging: the executable', function () {
  let dir: string | undefined;
  before(function () {
    skipUnless(this, 'the executable', artifactMissing(EXE));
  });
  afterEach(() => {
    removeTemp(dir);
    dir = undefined;
  });

  const debugEnv = () => ({ PATH: process.env.PATH, LANG: 'C.UTF-8', AWS_EC2_METADATA_DISABLED: 'true', CFNTOOLS_DEBUG: '1' });

  for (const flags of [[], [EARLIER_UNITS_OPTIONS]]) {
    it(`every tool starts from its code cache${flags.length ? ", also after earlier releases' leading --node-options" : ''} (--help, --version)`, () => {
      for (const tool of TOOLS) {
        for (const arg of ['--help', '--version']) {
          const r = run(path.join(OUT, tool), [...flags, arg], { env: debugEnv() });
          assert.equal(r.status, 0, `${tool} ${arg}: ${r.stderr}`);
          assert.doesNotMatch(r.stderr, /rejected/, `${tool} ${arg}`);
        }
      }
    });
  }

  it('--node-options is no Node option anywhere: after the first argument it is the tool\'s (an unknown option), first it is refused unless it names only the built-in flags', () => {
    dir = tempDir('node-options');
    const marker = path.join(dir, 'loaded');
    const preload = path.join(dir, 'preload.js');
    fs.writeFileSync(preload, `require('fs').writeFileSync(${JSON.stringify(marker)}, 'loaded')\n`);
    const anywhere = run(path.join(OUT, 'cfn-signal'), ['-i', 'x', `--node-options=--require=${preload}`, 'http://127.0.0.1:9/'], { env: debugEnv() });
    assert.equal(anywhere.status, 2, anywhere.stderr);
    assert.match(anywhere.stderr, /^cfn-signal: Unknown arguments?: node-options/);
    const leading = run(path.join(OUT, 'cfn-init'), [`--node-options=${DAEMON_NODE_FLAGS[0]} --require=${preload}`, '--version'], { env: debugEnv() });
    assert.equal(leading.status, 2);
    assert.equal(leading.stderr, `cfntools: a leading --node-options may only name the built-in Node options (${DAEMON_NODE_FLAGS.join(' ')}); the executable takes no others\n`);
    assert.equal(leading.stdout, '');
    assert.ok(!fs.existsSync(marker), 'the preload ran');
  });

  it('ignores NODE_DEBUG: a signal is sent by the tool started again without it, and no signature reaches stderr', async () => {
    await withServer(answerAccepted, async (server) => {
      const env = { ...debugEnv(), CFNTOOLS_DEBUG: undefined, NODE_DEBUG: 'http,net,https,tls' };
      const r = await runProcess([path.join(OUT, 'cfn-signal'), '--log-file', '-', '-e', '0', '-i', 'x', atOrigin(WIRE_URL, server.url)], { env });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(server.requests.length, 1);
      assert.ok(!r.stderr.includes(WIRE_SIGNATURE), r.stderr);
      assert.match(r.stderr, /^cfn-signal: ignoring NODE_DEBUG: Node's debug output shows signed URLs and tokens\n/);
      assert.doesNotMatch(r.stderr, /^(HTTP|NET|TLS) \d+:/m);
    });
  });

  it('ignores NODE_OPTIONS (a --require of a file that does not exist would stop node)', () => {
    const env = { ...debugEnv(), NODE_OPTIONS: '--require /nonexistent/preload.js' };
    const r = run(path.join(OUT, 'cfn-init'), ['--version'], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `cfn-init (cfntools) ${VERSION}\n`);
  });

  it(`its RUNPATH is ${RUNPATH} and nothing else (readelf -d); in packaging/out, with no ../${LIB_DIR}, libatomic is the build machine's`, function () {
    skipUnless(this, 'reading the dynamic section', commandMissing('readelf', 'binutils') ?? commandMissing('ldd', 'libc-bin'));
    const dynamic = runOk('readelf', ['-d', EXE]);
    assert.deepEqual([...dynamic.matchAll(/\((RUNPATH|RPATH)\)\s+Library \w+: \[(.*)\]/g)].map((m) => `${m[1]} ${m[2]}`), [`RUNPATH ${RUNPATH}`]);
    // The pinned node the build runs links libatomic too: a build machine has it.
    assert.ok(!fs.existsSync(path.join(OUT, '..', LIB_DIR)));
    assert.match(runOk('ldd', [EXE]), /^\s*libatomic\.so\.1 => \/\S+\/libatomic\.so\.1 \(/m);
  });

  it(`laid out as the packages lay it out, it loads ${LIBATOMIC} from ../${LIB_DIR}, also started through a link in another directory (LD_DEBUG=libs)`, () => {
    dir = tempDir('runpath');
    fs.mkdirSync(path.join(dir, 'bin'));
    fs.mkdirSync(path.join(dir, LIB_DIR), { recursive: true });
    fs.mkdirSync(path.join(dir, 'elsewhere'));
    fs.copyFileSync(EXE, path.join(dir, 'bin', 'cfntools'));
    fs.chmodSync(path.join(dir, 'bin', 'cfntools'), 0o755);
    fs.copyFileSync(HOST_LIBATOMIC, path.join(dir, LIB_DIR, 'libatomic.so.1'));
    fs.symlinkSync(path.join(dir, 'bin', 'cfntools'), path.join(dir, 'elsewhere', 'cfn-signal'));
    for (const [start, said] of [[path.join(dir, 'bin', 'cfntools'), `cfntools ${VERSION}`], [path.join(dir, 'elsewhere', 'cfn-signal'), `cfn-signal (cfntools) ${VERSION}`]]) {
      const r = run(start, ['--version'], { env: { PATH: process.env.PATH, LANG: 'C.UTF-8', LD_DEBUG: 'libs' } });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), said);
      // ld.so names it by the RUNPATH as expanded, $ORIGIN being the resolved bin/.
      assert.ok(r.stderr.includes(`calling init: ${dir}/bin/../${LIB_DIR}/libatomic.so.1\n`), `${start}: libatomic from elsewhere:\n${r.stderr}`);
    }
  });

  it('dispatches on its first argument, names itself, and refuses an unknown tool with exit 2', () => {
    assert.equal(run(EXE, ['cfn-signal', '--version']).stdout, `cfn-signal (cfntools) ${VERSION}\n`);
    assert.equal(run(EXE, ['--version']).stdout, `cfntools ${VERSION}\n`);
    const r = run(EXE, ['cfn-nope']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^usage: cfntools <cfn-init\|.*heat-agent> \[options\]\n$/);
  });

  it('cfn-create-aws-symlinks links from the executable\'s own directory by default, however it was started', () => {
    dir = tempDir('aws-links');
    const target = path.join(dir, 'opt-aws-bin');
    // Through PATH, with a cwd elsewhere: the name as typed says nothing of where the links are.
    const r = run('cfn-create-aws-symlinks', ['-t', target], { cwd: dir, env: { ...isolatedEnv(dir), PATH: `${OUT}:${process.env.PATH}` } });
    assert.equal(r.status, 0, r.stderr);
    const real = path.dirname(fs.realpathSync(EXE));
    for (const tool of TOOLS.filter((t) => t !== 'heat-agent')) assert.equal(fs.readlinkSync(path.join(target, tool)), path.join(real, tool), tool);
    assert.ok(!fs.existsSync(path.join(target, 'heat-agent')), 'heat-agent is no /opt/aws/bin tool');
  });

  it('cfn-hup started plainly detaches: the daemon is the executable again (its daemon flags built in)', async function () {
    dir = tempDir('detach');
    const conf = path.join(dir, 'etc-cfn');
    fs.mkdirSync(path.join(conf, 'hooks.d'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'creds'), 'AWSAccessKeyId=AKIDTEST\nAWSSecretKey=x\n', { mode: 0o600 });
    // Port 9 on loopback: nothing answers, and the first check is minutes away anyway.
    fs.writeFileSync(path.join(conf, 'cfn-hup.conf'), `[main]\nstack=s\nurl=http://127.0.0.1:9/v1/\ncredential-file=${dir}/creds\n`);
    fs.writeFileSync(path.join(conf, 'hooks.d', 'h.conf'), '[h]\ntriggers=post.update\npath=Resources.R.Metadata\naction=true\n');
    const pidFile = path.join(dir, 'cfn-hup.pid');
    const r = run('setsid', [path.join(OUT, 'cfn-hup'), '-c', conf, '--pid-file', pidFile, '--log-file', path.join(dir, 'cfn-hup.log')], { env: isolatedEnv(dir) });
    assert.equal(r.status, 0, r.stderr);
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      assert.deepEqual(argv.slice(0, 2), [fs.realpathSync(EXE), 'cfn-hup']);
      assert.ok(argv.includes(conf), argv.join(' '));
    } finally {
      process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 100 && fs.existsSync(`/proc/${pid}/cmdline`) && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'); i++) await new Promise((res) => setTimeout(res, 100));
    }
    assert.match(fs.readFileSync(path.join(dir, 'cfn-hup.log'), 'utf8'), /cfn-hup stopped/);
  });
});
