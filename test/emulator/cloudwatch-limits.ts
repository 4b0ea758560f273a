/**
 * PutMetricData's limits as CloudWatch enforces them (the emulator's
 * `validation: 'aws'`), with CloudWatch's codes and message wording. Heat
 * checked none of this; heat-cfntools' `megabytes` and `Counter` units,
 * which Heat stored, are refused here, as AWS refuses them.
 */
import { CloudWatchError, CloudWatchErrors } from './cloudwatch-format';
import { extractParamMembers } from './query-params';

export const MAX_REQUEST_BYTES = 1_048_576;
export const MAX_METRIC_DATA = 1000;
export const MAX_DIMENSIONS = 30;
const MIN_MAGNITUDE = 2 ** -360;
const MAX_MAGNITUDE = 2 ** 360;

/** CloudWatch's StandardUnit, in the order its messages list them. */
export const STANDARD_UNITS: readonly string[] = [
  'Seconds', 'Microseconds', 'Milliseconds', 'Bytes', 'Kilobytes', 'Megabytes', 'Gigabytes', 'Terabytes',
  'Bits', 'Kilobits', 'Megabits', 'Gigabits', 'Terabits', 'Percent', 'Count',
  'Bytes/Second', 'Kilobytes/Second', 'Megabytes/Second', 'Gigabytes/Second', 'Terabytes/Second',
  'Bits/Second', 'Kilobits/Second', 'Megabits/Second', 'Gigabits/Second', 'Terabits/Second', 'Count/Second', 'None',
];

const STATISTICS = ['SampleCount', 'Sum', 'Minimum', 'Maximum'];

/** Decimal notation only: NaN and Infinity are not numbers to CloudWatch. */
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

function validNumber(text: string): boolean {
  if (!DECIMAL.test(text)) return false;
  const n = Math.abs(Number(text));
  return n === 0 || (n >= MIN_MAGNITUDE && n <= MAX_MAGNITUDE);
}

/** Refused before anything else is read, as CloudWatch's front end does. */
export function requestTooLarge(bodyBytes: number): CloudWatchError | undefined {
  return bodyBytes > MAX_REQUEST_BYTES ? CloudWatchErrors.requestEntityTooLarge(bodyBytes, MAX_REQUEST_BYTES) : undefined;
}

type Kind = 'missingParameter' | 'invalidParameterValue' | 'invalidParameterCombination';

/**
 * The first kind of failure wins (missing, then invalid values, then
 * combinations); every failure of that kind goes into the one message, a
 * line each, as CloudWatch lists them.
 */
export function checkPutMetricData(params: Record<string, string>): CloudWatchError | undefined {
  const found: Record<Kind, string[]> = { missingParameter: [], invalidParameterValue: [], invalidParameterCombination: [] };
  const missing = (name: string) => found.missingParameter.push(`The parameter ${name} is required.`);
  const invalidNumber = (name: string, text: string) => found.invalidParameterValue.push(`The value ${text} for parameter ${name} is invalid.`);

  if (!params.Namespace) missing('Namespace');
  const members = extractParamMembers(params, 'MetricData');
  if (members.length > MAX_METRIC_DATA) return CloudWatchErrors.invalidParameterValue(`The collection MetricData must not have a size greater than ${MAX_METRIC_DATA}.`);
  if (!members.length) missing('MetricData');
  for (const { index, fields } of members) {
    const at = `MetricData.member.${index}`;
    if (!fields.MetricName) missing(`${at}.MetricName`);
    const dimensions = extractParamMembers(fields, 'Dimensions');
    if (dimensions.length > MAX_DIMENSIONS) found.invalidParameterValue.push(`The collection ${at}.Dimensions must not have a size greater than ${MAX_DIMENSIONS}.`);
    for (const d of dimensions) {
      for (const part of ['Name', 'Value']) if (!d.fields[part]) missing(`${at}.Dimensions.member.${d.index}.${part}`);
    }
    if (fields.Unit !== undefined && !STANDARD_UNITS.includes(fields.Unit)) {
      found.invalidParameterValue.push(`The parameter ${at}.Unit must be a value in the set [ ${STANDARD_UNITS.join(', ')} ].`);
    }
    const hasStatistics = STATISTICS.some((s) => fields[`StatisticValues.${s}`] !== undefined);
    const values = Object.keys(fields).filter((k) => /^(Values|Counts)\.member\.\d+$/.test(k));
    if (hasStatistics) {
      for (const s of STATISTICS) if (fields[`StatisticValues.${s}`] === undefined) missing(`${at}.StatisticValues.${s}`);
    }
    for (const k of ['Value', ...STATISTICS.map((s) => `StatisticValues.${s}`), ...values]) {
      if (fields[k] !== undefined && !validNumber(fields[k])) invalidNumber(`${at}.${k}`, fields[k]);
    }
    if (fields.Value !== undefined && hasStatistics) {
      found.invalidParameterCombination.push(`The parameters ${at}.Value and ${at}.StatisticValues are mutually exclusive and you have specified both.`);
    } else if (fields.Value === undefined && !hasStatistics && !values.some((k) => k.startsWith('Values.'))) {
      found.invalidParameterCombination.push(`At least one of the parameters ${at}.Value and ${at}.StatisticValues must be specified.`);
    }
  }
  for (const kind of ['missingParameter', 'invalidParameterValue', 'invalidParameterCombination'] as const) {
    if (found[kind].length) return CloudWatchErrors[kind](found[kind].join('\n'));
  }
  return undefined;
}
