/**
 * cfn-hup's ensureRunning watch takes its service names from the fetched
 * metadata: a name an init system would read as an option or a path is not
 * watched, and nothing is run for it.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { HupConfig } from '../../agents/cfn-hup/config';
import type { PassDeps, PassResult } from '../../agents/cfn-hup/pass';
import { monitorServices } from '../../agents/cfn-hup/services';
import { MemoryLogger } from '../../shared/log';
import type { RunResult, System } from '../../shared/system';

describe('cfn-hup: ensureRunning services', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-hup-services-'));
    fs.mkdirSync(path.join(dir, 'systemd'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a service name with a leading "-" or a "/" is not watched: a warning, no command, no hook', async () => {
    const calls: string[][] = [];
    const system: System = {
      run: async (argv) => {
        calls.push(argv as string[]);
        return { status: 3, output: '', stdout: '', stderr: '' } satisfies RunResult;
      },
      which: (name) => (name === 'systemctl' ? '/bin/systemctl' : undefined),
      user: () => undefined,
      group: () => undefined,
    };
    const hooks: string[] = [];
    const logger = new MemoryLogger();
    const config = {
      main: { file: 'c', stack: 's', intervalMs: 60_000, verbose: false, umask: 0o022, hookTimeoutMs: 1000, hookRetries: 0 },
      hooks: [{ name: 'svc', file: 'h', triggers: ['service.restarted'], pathText: 'Resources.Web.Metadata', path: { resource: 'Web', kind: 'metadata', segments: [] }, action: 'true', timeoutMs: 1000 }],
      warnings: [],
    } as HupConfig;
    const services = { '--host=x': { ensureRunning: true }, '../../tmp/evil': { ensureRunning: 'true' } };
    const detail = { logicalResourceId: 'Web', resourceStatus: 'CREATE_COMPLETE', metadata: { 'AWS::CloudFormation::Init': { config: { services: { systemd: services, sysvinit: services } } } } };
    const pass = { details: new Map([['Web', detail]]), fetchFailures: 0, actionsRun: 0, actionsFailed: 0 } as PassResult;
    const deps = { logger, stopping: () => false, run: async (h: { name: string }) => (hooks.push(h.name), { status: 0, output: '', stdout: '', stderr: '' }) } as unknown as PassDeps;
    await monitorServices(config, pass, deps, system, { systemdRunDir: path.join(dir, 'systemd'), etcDir: path.join(dir, 'etc') });
    assert.deepEqual(calls, []);
    assert.deepEqual(hooks, []);
    assert.deepEqual(logger.lines.filter((l) => l.startsWith('WARNING')), [
      'WARNING Web: services.sysvinit: "--host=x" is not a service name; not watched',
      'WARNING Web: services.sysvinit: "../../tmp/evil" is not a service name; not watched',
      'WARNING Web: services.systemd: "--host=x" is not a service name; not watched',
      'WARNING Web: services.systemd: "../../tmp/evil" is not a service name; not watched',
    ]);
  });
});
