/**
 * AWS partitions: which DNS domain a region's endpoints live under. The one
 * table the CloudFormation and CloudWatch endpoints and the S3 host names
 * are built from and recognised by.
 */

export interface Partition {
  id: string;
  /** Regions of this partition start with it; the aws partition takes every region no other claims. */
  regionPrefix?: string;
  /** Endpoints are `<service>.<region>.<dnsSuffix>`. */
  dnsSuffix: string;
  /** The region a host of this partition that names none signs for (the global S3 endpoint). */
  globalRegion: string;
}

/** aws first: it owns amazonaws.com, which GovCloud shares, so a region-less host there means aws. */
export const PARTITIONS: readonly Partition[] = [
  { id: 'aws', dnsSuffix: 'amazonaws.com', globalRegion: 'us-east-1' },
  { id: 'aws-cn', regionPrefix: 'cn-', dnsSuffix: 'amazonaws.com.cn', globalRegion: 'cn-northwest-1' },
  { id: 'aws-us-gov', regionPrefix: 'us-gov-', dnsSuffix: 'amazonaws.com', globalRegion: 'us-gov-west-1' },
  { id: 'aws-iso', regionPrefix: 'us-iso-', dnsSuffix: 'c2s.ic.gov', globalRegion: 'us-iso-east-1' },
  { id: 'aws-iso-b', regionPrefix: 'us-isob-', dnsSuffix: 'sc2s.sgov.gov', globalRegion: 'us-isob-east-1' },
  { id: 'aws-iso-e', regionPrefix: 'eu-isoe-', dnsSuffix: 'cloud.adc-e.uk', globalRegion: 'eu-isoe-west-1' },
  { id: 'aws-iso-f', regionPrefix: 'us-isof-', dnsSuffix: 'csp.hci.ic.gov', globalRegion: 'us-isof-south-1' },
  { id: 'aws-eusc', regionPrefix: 'eusc-', dnsSuffix: 'amazonaws.eu', globalRegion: 'eusc-de-east-1' },
];

const AWS = PARTITIONS[0];

/** The partition of `region`; a region no other partition claims is aws's, as AWS's SDKs decide for regions newer than their tables. */
export function partitionOf(region: string): Partition {
  const r = region.toLowerCase();
  return PARTITIONS.find((p) => p.regionPrefix !== undefined && r.startsWith(p.regionPrefix)) ?? AWS;
}

/**
 * Split a host name at a partition's DNS suffix: `s3.us-iso-east-1.c2s.ic.gov`
 * → label `s3.us-iso-east-1`, aws-iso. Undefined for a host outside AWS.
 */
export function splitAwsHost(host: string): { label: string; partition: Partition } | undefined {
  const h = host.toLowerCase();
  for (const partition of PARTITIONS) {
    if (h.endsWith(`.${partition.dnsSuffix}`)) return { label: h.slice(0, -partition.dnsSuffix.length - 1), partition };
  }
  return undefined;
}

/** True when `region`'s endpoints live under `partition`'s domain (a GovCloud region under amazonaws.com, not a China one). */
export function regionInDomain(region: string, partition: Partition): boolean {
  return partitionOf(region).dnsSuffix === partition.dnsSuffix;
}
