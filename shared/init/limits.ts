/**
 * The bounds cfn-init puts on what metadata, archives and servers can make
 * it consume, and on how long it waits for another package manager. The
 * defaults are generous for real software (a kernel source tree, a Java web
 * archive, a slow mirror, a first boot's upgrades) and far below what
 * exhausts a small instance; `--limit NAME=VALUE` (repeatable) moves one. The metadata
 * cannot: a hostile document must not be able to lift its own bounds.
 */
import { UsageError } from '../errors';
import { DEFAULT_MAX_DEPTH } from '../json-depth';

export interface Limits {
  /** Nesting depth of the metadata document. */
  metadataDepth: number;
  /** Bytes of one downloaded `files` source. */
  fileSize: number;
  /** Bytes of a Mustache template's output, and of a downloaded template. */
  templateSize: number;
  /** Bytes of a downloaded archive, as downloaded (compressed). */
  archiveDownload: number;
  /** Bytes an archive inflates to. */
  archiveSize: number;
  archiveEntries: number;
  /** Path components of an archive member. */
  archiveDepth: number;
  /** Inflated / compressed bytes, once an archive has inflated past 64 MiB. */
  archiveRatio: number;
  /** A download with no byte arriving for this long fails its attempt (ms). */
  downloadIdle: number;
  /** Every attempt of one download, backoff included (ms). */
  downloadDeadline: number;
  /** How long one package-manager command waits for another process's lock on the package database (ms). */
  packageLockWait: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

export const DEFAULT_LIMITS: Readonly<Limits> = {
  metadataDepth: DEFAULT_MAX_DEPTH,
  fileSize: 1 * GiB,
  templateSize: 16 * MiB,
  archiveDownload: 4 * GiB,
  archiveSize: 8 * GiB,
  archiveEntries: 500_000,
  archiveDepth: 128,
  archiveRatio: 200,
  downloadIdle: 30_000,
  downloadDeadline: 15 * 60_000,
  // A booting image's cloud-init and unattended-upgrades hold dpkg's lock for minutes.
  packageLockWait: 10 * 60_000,
};

type Kind = 'size' | 'count' | 'duration';

/** The flag's names, as users type them, and what each holds. */
export const LIMIT_NAMES: Record<string, { key: keyof Limits; kind: Kind }> = {
  'metadata-depth': { key: 'metadataDepth', kind: 'count' },
  'file-size': { key: 'fileSize', kind: 'size' },
  'template-size': { key: 'templateSize', kind: 'size' },
  'archive-download': { key: 'archiveDownload', kind: 'size' },
  'archive-size': { key: 'archiveSize', kind: 'size' },
  'archive-entries': { key: 'archiveEntries', kind: 'count' },
  'archive-depth': { key: 'archiveDepth', kind: 'count' },
  'archive-ratio': { key: 'archiveRatio', kind: 'count' },
  'download-idle': { key: 'downloadIdle', kind: 'duration' },
  'download-deadline': { key: 'downloadDeadline', kind: 'duration' },
  'package-lock-wait': { key: 'packageLockWait', kind: 'duration' },
};

/** The flag name of a limit, for messages: `archiveSize` → `archive-size`. */
export function limitName(key: keyof Limits): string {
  return Object.entries(LIMIT_NAMES).find(([, v]) => v.key === key)![0];
}

/** A duration limit as `--limit` takes it: `10m`, `90s`, `1500ms`. */
export function formatDuration(ms: number): string {
  if (ms > 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms > 0 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: KiB, m: MiB, g: GiB, t: 1024 * GiB };
const TIME_UNITS: Record<string, number> = { ms: 1, s: 1000, '': 1000, m: 60_000, h: 3_600_000 };

function parseValue(kind: Kind, raw: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(raw.trim());
  if (!m) return undefined;
  const unit = m[2].toLowerCase().replace(/i?b$/, '');
  const factor = kind === 'size' ? SIZE_UNITS[unit] : kind === 'duration' ? TIME_UNITS[m[2].toLowerCase()] : unit === '' ? 1 : undefined;
  if (factor === undefined) return undefined;
  const n = Number(m[1]) * factor;
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : undefined;
}

/** `--limit archive-size=20G --limit download-idle=2m` over the defaults. */
export function parseLimits(flags: readonly string[] | undefined): Limits {
  const limits: Limits = { ...DEFAULT_LIMITS };
  for (const flag of flags ?? []) {
    const eq = flag.indexOf('=');
    const name = eq < 0 ? flag : flag.slice(0, eq);
    const spec = LIMIT_NAMES[name];
    if (!spec) throw new UsageError(`--limit ${JSON.stringify(name)}: unknown limit; one of ${Object.keys(LIMIT_NAMES).join(', ')}`);
    const value = eq < 0 ? undefined : parseValue(spec.kind, flag.slice(eq + 1));
    const example = spec.kind === 'size' ? '512M, 20G' : spec.kind === 'duration' ? '90s, 2m' : '1000';
    if (value === undefined) throw new UsageError(`--limit ${name}: expected a positive ${spec.kind} like ${example}, got ${JSON.stringify(flag.slice(eq + 1))}`);
    limits[spec.key] = value;
  }
  return limits;
}
