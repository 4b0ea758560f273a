/**
 * A throw-away cfn-push-stats installation: the emulator with a stack whose
 * user key may feed its alarm, a second stack, a credential file, and the
 * tool's directories, all under one temporary directory.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startEmulator, type Emulator } from '../emulator/server';
import { runTool, toolEnv, type RunResult } from '../support/cli';

export const STACK = 'pushstack';
export const ACCESS_KEY = 'AKIDPUSHTEST00000000000000000001';
export const SECRET_KEY = 'push-secret/key+value';
export const OTHER_STACK = 'otherstack';
export const PROJECT_KEY = 'AKIDPUSHPROJECT00000000000000001';
export const PROJECT_SECRET = 'project-secret';
/** Known /proc files (the tool reads /proc under CFNTOOLS_SYSTEM_ROOT). */
export const PROC_ROOT = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'proc-root');

export class PushBox {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfntools-push-'));
  readonly creds = path.join(this.dir, 'creds');
  readonly logFile = path.join(this.dir, 'cfn-push-stats.log');
  readonly heat = path.join(this.dir, 'heat');
  readonly etc = path.join(this.dir, 'etc');

  private constructor(readonly emulator: Emulator) {
    fs.mkdirSync(this.heat);
    fs.mkdirSync(this.etc);
    fs.writeFileSync(this.creds, `AWSAccessKeyId=${ACCESS_KEY}\nAWSSecretKey=${SECRET_KEY}\n`, { mode: 0o600 });
  }

  static async create(): Promise<PushBox> {
    const emulator = await startEmulator({
      stacks: [
        {
          name: STACK,
          resources: {
            Web: { type: 'AWS::EC2::Instance', physicalId: 'web-1' },
            CpuAlarm: { type: 'AWS::CloudWatch::Alarm', physicalId: `${STACK}-CpuAlarm-x1` },
          },
          credentials: [{ accessKey: ACCESS_KEY, secretKey: SECRET_KEY }],
        },
        { name: OTHER_STACK, resources: { TheirAlarm: { type: 'AWS::CloudWatch::Alarm', physicalId: 'their-alarm' } } },
      ],
      credentials: [{ accessKey: PROJECT_KEY, secretKey: PROJECT_SECRET }],
    });
    return new PushBox(emulator);
  }

  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return toolEnv({
      CFNTOOLS_PUSH_STATS_DIR: path.join(this.dir, 'state'),
      CFNTOOLS_HEAT_DIR: this.heat,
      CFNTOOLS_CFN_DIR: this.etc,
      ...extra,
    });
  }

  /** The tool against the emulator with the stack key file, logging to this box. */
  run(args: string[], extra: NodeJS.ProcessEnv = {}, opts: { url?: boolean } = {}): Promise<RunResult> {
    const base = ['--credential-file', this.creds, '--log-file', this.logFile, ...(opts.url === false ? [] : ['--url', this.emulator.apiUrl])];
    return runTool('cfn-push-stats', [...base, ...args], { env: this.env(extra) });
  }

  log(): string {
    return fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, 'utf8') : '';
  }

  /** The form bodies of the PutMetricData requests received, oldest first. */
  bodies(): string[] {
    return this.emulator.requestLog.filter((e) => e.action === 'PutMetricData' && e.body !== undefined).map((e) => e.body!);
  }

  async close(): Promise<void> {
    await this.emulator.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
