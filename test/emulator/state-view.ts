/**
 * What the emulator shows of itself: the request log, and the state that
 * /_emulator/state returns and the status page renders (software
 * deployments included).
 */
import type { DeploymentSignal } from './deployments';
import type { Ec2View } from './ec2-mode';
import type { FaultConfig } from './faults';
import type { MetricPolicy } from './metric-policy';
import type { Datapoint, SignalRecord } from './model';
import type { SigKind } from './sigverify';
import type { DeployAction, SignalTransport } from './stackfile-software';

export interface RequestLogEntry {
  id: number;
  /** Emulator clock. */
  time: string;
  method: string;
  /** Path and query, signature and token values redacted. */
  path: string;
  action?: string;
  /** EC2 mode: `imds` for a request to the instance metadata service; absent for the emulator's own port. */
  service?: 'imds';
  /**
   * How the request was authenticated: a signature kind, an instance
   * identity (`cfn-v1`, EC2 mode), a Swift temp URL, a keystone token
   * (heat-api), a password (keystone), an IMDSv2 token (`imds-token`);
   * `none` for the rest (files, page, IMDSv1).
   */
  signature: SigKind | 'cfn-v1' | 'temp-url' | 'token' | 'password' | 'imds-token' | 'none';
  /** `ok`, or the refusal and its real reason (`AccessDenied: request expired...`). */
  verified?: string;
  accessKey?: string;
  /** A CFN_V1 request whose identity verified: the instance it names. */
  instanceId?: string;
  status: number | 'reset';
  fault?: string;
  ms: number;
  /**
   * PutMetricData with a body: the form body as received (the first 2 MiB,
   * signature and token values redacted), so that tests can re-decode what
   * was sent. The oldest bodies are dropped once the log holds 64 MiB of them.
   */
  body?: string;
  /** The body's size in bytes as received. */
  bodyBytes?: number;
}

export interface HandleUrls {
  accessKey: string;
  /** Heat's pre-signed SigV2 URL (what cfn-signal gets). */
  sigv2: string;
  /** AWS-style query-presigned SigV4 URL for the same PUT. */
  sigv4: string;
  generatedAt: string;
}

export interface ResourceView {
  name: string;
  type: string;
  status: string;
  statusReason: string;
  physicalId: string;
  description: string;
  lastUpdated: string;
  metadata: unknown;
  signals: SignalRecord[];
  waitCondition?: { handle?: string; count: number; timeoutSeconds?: number; received: number; data: Record<string, unknown>; dataAttribute: string };
  handle?: HandleUrls;
}

/** Heat's software deployment as its API shows it (`openstack software deployment show`). */
export interface SoftwareDeploymentView {
  id: string;
  server_id: string;
  config_id: string;
  input_values: Record<string, unknown>;
  /** The outputs signalled, deploy_stdout, deploy_stderr and deploy_status_code among them; null before a signal. */
  output_values: Record<string, unknown> | null;
  action: DeployAction;
  /** IN_PROGRESS until signalled, then COMPLETE or FAILED. */
  status: string;
  status_reason: string;
  creation_time: string;
  updated_time?: string;
}

export interface DeploymentView {
  stack: string;
  name: string;
  server: string;
  /** The SoftwareConfig resource it deploys. */
  config?: string;
  signalTransport: SignalTransport;
  actions: DeployAction[];
  /** The resource: CREATE_IN_PROGRESS until signalled, then CREATE_COMPLETE or CREATE_FAILED (UPDATE_*, DELETE_* likewise). */
  status: string;
  statusReason: string;
  /** Heat's deployment; null before an action it takes part in ran, and once deleted. */
  softwareDeployment: SoftwareDeploymentView | null;
  /** Its item in the server's metadata `deployments`, as served; null when it has none. */
  metadata: Record<string, unknown> | null;
  /** A stack update waiting for the running action's signal (Heat runs it after): an update or a delete. */
  queued: 'update' | 'delete' | null;
  /** Signals that reached it (dropped ones included). */
  signalCount: number;
  signals: DeploymentSignal[];
  /** Deleted: gone from the stack and the server's metadata. */
  deleted: boolean;
}

export interface EmulatorState {
  url: string;
  now: string;
  clockSkewSeconds: number;
  faults: FaultConfig;
  stacks: Array<{ name: string; id: string; tenant: string; arn: string; resources: ResourceView[]; deployments: DeploymentView[] }>;
  credentials: Array<{ accessKey: string; scope: string; sessionToken: boolean }>;
  metrics: Datapoint[];
  metricPolicy: MetricPolicy;
  /** PutMetricData requests refused over the rate, per access key. */
  metricThrottled: Record<string, number>;
  requests: RequestLogEntry[];
  /** EC2 mode only. */
  ec2?: Ec2View;
}
