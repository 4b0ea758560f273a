/**
 * What the emulator shows of itself: the request log, and the state that
 * /_emulator/state returns and the status page renders.
 */
import type { FaultConfig } from './faults';
import type { MetricPolicy } from './metric-policy';
import type { Datapoint, SignalRecord } from './model';
import type { SigKind } from './sigverify';

export interface RequestLogEntry {
  id: number;
  /** Emulator clock. */
  time: string;
  method: string;
  /** Path and query, signature and token values redacted. */
  path: string;
  action?: string;
  /** How the request was signed; `none` for unsigned (files, page). */
  signature: SigKind | 'none';
  /** `ok`, or Heat's error code and the real reason (`AccessDenied: request expired...`). */
  verified?: string;
  accessKey?: string;
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

export interface EmulatorState {
  url: string;
  now: string;
  clockSkewSeconds: number;
  faults: FaultConfig;
  stacks: Array<{ name: string; id: string; tenant: string; arn: string; resources: ResourceView[] }>;
  credentials: Array<{ accessKey: string; scope: string; sessionToken: boolean }>;
  metrics: Datapoint[];
  metricPolicy: MetricPolicy;
  /** PutMetricData requests refused over the rate, per access key. */
  metricThrottled: Record<string, number>;
  requests: RequestLogEntry[];
}
