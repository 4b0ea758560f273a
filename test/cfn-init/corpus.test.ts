/**
 * cfn-init on 86 real Init documents from public template repositories
 * (../shared/corpus/init-real-world, beside the checkout; never copied into
 * the repository: the files belong to other projects), as a new user would
 * try them: `--dry-run` for each configSet on a machine that looks like
 * Amazon Linux (support/amazon-linux.ts). Every run passes except the ones
 * listed below, each with its reason, and those must fail for that reason.
 * No run may print a stack trace or an "unexpected error". None of them
 * carries a mistake that cfn-init tolerates (what aws-cfn-bootstrap runs
 * anyway), so `--strict` must answer each exactly as a plain run does. A
 * few documents are then applied for real, with their paths moved under a
 * temporary root.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { amazonLinux, namespaceUnavailable, type AmazonLinux } from './support/amazon-linux';
import { CORPUS, rebased } from './support/corpus';
import { tempDir } from './support/handler-harness';

const INIT = 'AWS::CloudFormation::Init';

interface Exception {
  why: string;
  /** What the run must say. */
  error: RegExp;
  /** Only where this holds (a machine fact); the document must pass elsewhere. */
  applies?: () => boolean;
}

const WINDOWS: Exception = { why: 'a Windows template (C:\\ paths, Windows services)', error: /Windows is not supported on Linux/ };
const RPM_URL: Exception = { why: 'rpm packages given as URLs: reading one needs the network', error: /packages\.rpm\.[\w-]+: cannot download https:\/\// };

/** By the document's number: the runs that truly cannot pass on Linux, offline or on Debian. */
const EXCEPTIONS: Record<string, Exception> = {
  '011': WINDOWS,
  '013': WINDOWS,
  '022': WINDOWS,
  '025': WINDOWS,
  '065': WINDOWS,
  '054': { why: 'msi packages (Windows)', error: /config\.packages\.msi: msi packages: Windows is not supported on Linux/ },
  '056': { why: 'Windows services', error: /config\.services\.windows: Windows services: Windows is not supported on Linux/ },
  '053': { why: 'zypper packages (SUSE), which cfntools does not support', error: /config\.packages\.zypper: unknown package manager \(zypper is not supported/ },
  '052': { why: 'gid 45 is taken on Debian (sasl)', error: /config\.groups\.groupTwo\.gid: gid 45 already belongs to group/, applies: () => spawnSync('getent', ['group', '45']).status === 0 },
  '059': { why: 'a documentation fragment: the groups it names are declared in another snippet', error: /config\.users\.myUser\.groups: group "groupOne" does not exist/ },
  '032': RPM_URL,
  '034': RPM_URL,
  '036': RPM_URL,
};

const corpusFiles = () => fs.readdirSync(CORPUS).filter((f) => /^\d{3}-.*\.json$/.test(f)).sort();

/** The sets a user would run: each configSet, or the default run when there is none. */
function configSets(init: unknown): Array<string | undefined> {
  const sets = (init as { configSets?: unknown } | undefined)?.configSets;
  return sets && typeof sets === 'object' && !Array.isArray(sets) ? Object.keys(sets) : [undefined];
}

const STACK_TRACE = /^\s+at .+[(:]\d+:\d+\)?$/m;

describe('cfn-init on the real-world corpus (../shared/corpus)', function () {
  this.timeout(60_000);
  const why = !fs.existsSync(CORPUS) ? `${CORPUS} is absent: the real-world corpus is not tried` : namespaceUnavailable();
  let dir: string;
  let machine: AmazonLinux;
  before(function () {
    if (why) {
      process.stdout.write(`      (skipped: ${why})\n`);
      this.skip();
    }
    dir = tempDir('cfntools-corpus');
    machine = amazonLinux(path.join(dir, 'machine'));
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  describe('--dry-run of every configSet, on a machine that looks like Amazon Linux', () => {
    // Listed at load time: the corpus may be absent, then the before hook skips with the reason.
    const files = fs.existsSync(CORPUS) ? corpusFiles() : [];
    if (files.length) it('holds the 86 documents', () => assert.equal(files.length, 86));
    for (const file of files) {
      const exception = EXCEPTIONS[file.slice(0, 3)];
      it(`${file}${exception ? ` (fails: ${exception.why})` : ''}; the same under --strict`, async () => {
        const doc = JSON.parse(fs.readFileSync(path.join(CORPUS, file), 'utf8'));
        const expectFailure = exception && (exception.applies?.() ?? true);
        for (const set of configSets(doc[INIT])) {
          const args = ['--dry-run', ...(set === undefined ? [] : ['-c', set]), path.join(CORPUS, file)];
          const r = await machine.cfnInit(args);
          const shown = `${file} [${set ?? 'default'}] exit ${r.status}\n${r.stderr}`;
          assert.doesNotMatch(r.stderr + r.stdout, /unexpected error/i, shown);
          assert.doesNotMatch(r.stderr + r.stdout, STACK_TRACE, shown);
          assert.doesNotMatch(r.stdout, /^tolerated: /, `${shown}\n${r.stdout}`);
          const strict = await machine.cfnInit(['--strict', ...args]);
          assert.deepEqual({ status: strict.status, stdout: strict.stdout, stderr: strict.stderr }, { status: r.status, stdout: r.stdout, stderr: r.stderr }, `${shown}: --strict differs`);
          if (expectFailure) {
            assert.equal(r.status, 1, shown);
            assert.match(r.stderr, exception.error, shown);
          } else if (Object.keys(doc[INIT]).length === 0) {
            assert.equal(r.status, 0, shown);
            assert.match(r.stderr, /^cfn-init: warning: nothing was configured/m, shown);
          } else {
            assert.equal(r.status, 0, shown);
            assert.match(r.stdout, /^configSet /m, `${shown}\nthe plan:\n${r.stdout}`);
          }
        }
      });
    }
  });

  describe('applied for real, paths moved under a temporary root', () => {
    let root: string;
    let app: AmazonLinux;
    beforeEach(() => {
      root = fs.mkdtempSync(path.join(dir, 'root-'));
      app = amazonLinux(path.join(root, 'machine'));
    });
    const write = (doc: unknown) => {
      const f = path.join(root, 'metadata.json');
      fs.writeFileSync(f, JSON.stringify(doc));
      return f;
    };

    it("AWS's LAMP walkthrough (062): apache, made by the httpd package in the same config, owns index.php", async () => {
      const { doc, at } = rebased('062-awsdocs-deploying-applications-block8-WebServerInstance.json', path.join(root, 'fs'));
      const meta = write(doc);
      const plan = await app.cfnInit(['--dry-run', '-c', 'InstallAndRun', meta]);
      assert.equal(plan.status, 0, plan.stderr);
      assert.match(plan.stdout, /owner apache: looked up when the file is written, after packages; group apache: looked up when the file is written, after packages/);
      assert.equal(app.ids('apache'), undefined, 'a dry run installs nothing');

      const r = await app.cfnInit(['-c', 'InstallAndRun', meta]);
      assert.equal(r.status, 0, `${r.stderr}\n${fs.readFileSync(path.join(app.root, 'cfn-init.log'), 'utf8')}`);
      const apache = app.ids('apache');
      assert.ok(apache, 'the yum stand-in created apache, as httpd does');
      const index = fs.statSync(at('/var/www/html/index.php'));
      assert.deepEqual([index.uid, index.gid, index.mode & 0o7777], [apache.uid, apache.gid, 0o600]);
      assert.match(fs.readFileSync(at('/var/www/html/index.php'), 'utf8'), /AWS CloudFormation PHP Sample/);
      const conf = fs.statSync(at('/etc/cfn/cfn-hup.conf'));
      assert.deepEqual([conf.uid, conf.mode & 0o7777], [0, 0o400]);
      const calls = app.calls();
      assert.ok(calls.some((c) => /^yum --setopt=exit_on_lock=True -y install (\S+ )*httpd( |$)/.test(c)), calls.join('\n'));
      for (const svc of ['mysqld', 'httpd', 'cfn-hup']) {
        assert.ok(calls.includes(`chkconfig ${svc} on`), `${svc} enabled:\n${calls.join('\n')}`);
        assert.ok(calls.includes(`service ${svc} start`) || calls.includes(`service ${svc} restart`), `${svc} started:\n${calls.join('\n')}`);
      }
    });

    it('configSets that reference each other (047): both commands run in order, with their own environments, in ~', async () => {
      const home = path.join(root, 'home');
      fs.mkdirSync(home);
      const r = await app.cfnInit([write(JSON.parse(fs.readFileSync(path.join(CORPUS, '047-awsdocs-aws-resource-init-block6-Snippet.json'), 'utf8')))], { HOME: home });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(fs.readFileSync(path.join(home, 'test.txt'), 'utf8'), 'I come from the environment!\nI am test 2!\n');
    });

    it('the files snippets of the Init reference (049, 050, 051): owner and mode, a symlink, a Mustache context', async () => {
      for (const file of ['049-awsdocs-aws-resource-init-block13-Snippet.json', '050-awsdocs-aws-resource-init-block15-Snippet.json', '051-awsdocs-aws-resource-init-block17-Snippet.json']) {
        const r = await app.cfnInit([write(rebased(file, path.join(root, 'fs')).doc)]);
        assert.equal(r.status, 0, `${file}: ${r.stderr}`);
      }
      const at = (p: string) => path.join(root, 'fs', p);
      assert.match(fs.readFileSync(at('/tmp/setup.mysql'), 'utf8'), /^CREATE DATABASE example-name;/);
      assert.equal(fs.statSync(at('/tmp/setup.mysql')).mode & 0o7777, 0o644);
      assert.equal(fs.readlinkSync(at('/tmp/myfile2.txt')), '/tmp/myfile1.txt');
      assert.equal(fs.readFileSync(at('/tmp/test9.txt'), 'utf8'), 'Content for test9');
    });

    it('the cfn-hup set-up of the RHEL 9 template (014): its files, then systemctl enable and start', async () => {
      const { doc, at } = rebased('014-awscfn-RHEL9-cfn-hup-EC2Instance.json', path.join(root, 'fs'));
      const r = await app.cfnInit(['-c', 'full_install', write(doc)]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(fs.readFileSync(at('/lib/systemd/system/cfn-hup.service'), 'utf8'), /^ExecStart=\/usr\/local\/bin\/cfn-hup$/m);
      assert.equal(fs.statSync(at('/etc/cfn/cfn-hup.conf')).mode & 0o7777, 0o400);
      assert.deepEqual(app.calls(), ['systemctl enable cfn-hup.service', 'systemctl start cfn-hup.service']);
    });
  });
});
