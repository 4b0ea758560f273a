/**
 * CloudWatch's unit names. PutMetricData takes only these (StandardUnit);
 * heat-cfntools sent lower-case sizes and `Counter`, which AWS refuses, so
 * both are read here and sent as AWS spells them.
 */
import { UsageError } from '../../shared/errors';

export const STANDARD_UNITS = [
  'Seconds', 'Microseconds', 'Milliseconds',
  'Bytes', 'Kilobytes', 'Megabytes', 'Gigabytes', 'Terabytes',
  'Bits', 'Kilobits', 'Megabits', 'Gigabits', 'Terabits',
  'Percent', 'Count',
  'Bytes/Second', 'Kilobytes/Second', 'Megabytes/Second', 'Gigabytes/Second', 'Terabytes/Second',
  'Bits/Second', 'Kilobits/Second', 'Megabits/Second', 'Gigabits/Second', 'Terabits/Second',
  'Count/Second', 'None',
] as const;

export type StandardUnit = (typeof STANDARD_UNITS)[number];

const BY_LOWER = new Map<string, StandardUnit>(STANDARD_UNITS.map((u) => [u.toLowerCase(), u]));
/** heat-cfntools' own names. */
BY_LOWER.set('counter', 'Count');

/** A unit as typed (any case; heat-cfntools' `Counter`), as CloudWatch spells it. */
export function parseUnit(raw: string, flag: string): StandardUnit {
  const unit = BY_LOWER.get(raw.trim().toLowerCase());
  if (!unit) throw new UsageError(`${flag}: unknown unit ${JSON.stringify(raw)}; expected one of ${STANDARD_UNITS.join(', ')}`);
  return unit;
}

export interface SizeUnit {
  unit: 'Bytes' | 'Kilobytes' | 'Megabytes' | 'Gigabytes';
  /** Bytes in one unit: 1024-based, as both peers divide. */
  bytes: number;
}

const SIZES: Record<string, SizeUnit> = {
  bytes: { unit: 'Bytes', bytes: 1 },
  kilobytes: { unit: 'Kilobytes', bytes: 1024 },
  megabytes: { unit: 'Megabytes', bytes: 1024 ** 2 },
  gigabytes: { unit: 'Gigabytes', bytes: 1024 ** 3 },
};

/** --memory-units, --disk-space-units: bytes, kilobytes, megabytes or gigabytes, any case. */
export function parseSizeUnit(raw: string, flag: string): SizeUnit {
  const size = SIZES[raw.trim().toLowerCase()];
  if (!size) throw new UsageError(`${flag}: expected bytes, kilobytes, megabytes or gigabytes, got ${JSON.stringify(raw)}`);
  return size;
}
