/**
 * PutMetricData bodies checked against botocore's own CloudWatch model by
 * test/support/botocore_putmetricdata.py, with Debian's python3-botocore:
 * one process, one JSON batch on stdin.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { PYTHON } from './sigv-botocore';

/** The script lives in the source tree; this module runs from dist/test/support/. */
const SCRIPT = path.resolve(__dirname, '..', '..', '..', 'test', 'support', 'botocore_putmetricdata.py');

export interface BodyVerdict {
  ok: boolean;
  /** botocore's own messages (missing, type, length), then the script's (enums, unknown parameters, Action, Version). */
  errors: string[];
}

/** Why botocore's CloudWatch model cannot be used, or undefined when it can. */
export function botocoreAvailable(): string | undefined {
  const probe = "import botocore.session, botocore.validate; botocore.session.get_session().get_service_model('cloudwatch')";
  const r = spawnSync(PYTHON, ['-c', probe], { encoding: 'utf8' });
  if (r.error) return `${PYTHON} cannot run: ${r.error.message}`;
  if (r.status !== 0) return `${PYTHON} cannot load botocore's CloudWatch model (install python3-botocore): ${r.stderr.trim().split('\n').pop()}`;
  return undefined;
}

/** One verdict per raw `application/x-www-form-urlencoded` body, in order. */
export function validatePutMetricData(bodies: string[]): BodyVerdict[] {
  const r = spawnSync(PYTHON, [SCRIPT], { input: JSON.stringify(bodies), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
  if (r.error || r.status !== 0) throw new Error(`${PYTHON} ${SCRIPT} failed (status ${r.status}): ${r.error?.message ?? r.stderr}`);
  const out = JSON.parse(r.stdout) as BodyVerdict[];
  if (out.length !== bodies.length) throw new Error(`botocore answered ${out.length} of ${bodies.length} bodies`);
  return out;
}
