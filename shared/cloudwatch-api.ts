/** CloudWatch PutMetricData (AWS, and the removed heat-api-cloudwatch). */
import type { QueryClient } from './query-api';

export const CLOUDWATCH_API_VERSION = '2010-08-01';

export interface MetricDatum {
  name: string;
  value: number;
  unit?: string;
  timestamp?: Date;
  dimensions?: Array<{ name: string; value: string }>;
}

/** Flatten metrics into `MetricData.member.N.*` parameters (1-based, as the Query API numbers lists). */
export function metricParams(namespace: string, metrics: MetricDatum[]): Record<string, string> {
  const p: Record<string, string> = { Namespace: namespace };
  metrics.forEach((m, i) => {
    const pre = `MetricData.member.${i + 1}.`;
    p[`${pre}MetricName`] = m.name;
    p[`${pre}Value`] = String(m.value);
    if (m.unit) p[`${pre}Unit`] = m.unit;
    if (m.timestamp) p[`${pre}Timestamp`] = m.timestamp.toISOString();
    (m.dimensions ?? []).forEach((d, j) => {
      p[`${pre}Dimensions.member.${j + 1}.Name`] = d.name;
      p[`${pre}Dimensions.member.${j + 1}.Value`] = d.value;
    });
  });
  return p;
}

/**
 * Sends the metrics, `perRequest` to a request. Heat's old CloudWatch API
 * read only the first metric of a request, so callers talking to Heat pass 1.
 */
export async function putMetricData(client: QueryClient, namespace: string, metrics: MetricDatum[], perRequest = 20): Promise<number> {
  let requests = 0;
  for (let i = 0; i < metrics.length; i += perRequest) {
    await client.call('PutMetricData', metricParams(namespace, metrics.slice(i, i + perRequest)));
    requests++;
  }
  return requests;
}
