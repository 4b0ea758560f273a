/**
 * Which Status a signal carries, from -e/--exit-code, the deprecated --exit
 * and -s/--success. Pure, so every rule is tested without a network.
 *
 * The peers disagree (docs/COMPATIBILITY.md):
 * - heat-cfntools: a non-empty -e wins and only the exact string `0` is
 *   SUCCESS; otherwise only the exact string `true` for -s is SUCCESS, so
 *   `-s True` sends FAILURE.
 * - aws-cfn-bootstrap: -e is an int and only a non-zero one is FAILURE
 *   (`-e 0 -s false` sends FAILURE); -s must be `true` or `false`, anything
 *   else is a usage error and nothing is sent.
 *
 * We follow heat-cfntools' precedence (also what aws-cfn-bootstrap's docs
 * say: -s is ignored when -e is given), read -e as a number and -s without
 * regard to case. A value we cannot read sends FAILURE with a warning rather
 * than nothing: a wait condition left without a signal only fails at its
 * Timeout, possibly hours later, and a false SUCCESS is worse than both.
 */
import type { SignalStatus } from '../../shared/cfn-api';

export type { SignalStatus };

export interface StatusFlags {
  /** -s/--success as typed; undefined when not given (default true). */
  success?: string;
  /** -e/--exit-code as typed. */
  exitCode?: string;
  /** --exit as typed (deprecated alias of -e). */
  exit?: string;
}

export interface StatusDecision {
  status: SignalStatus;
  /** Which flag decided, for the log: `-e 0`, `-s false`, `default`. */
  decidedBy: string;
  /** Things the user should fix; the caller logs them and prints them on stderr. */
  warnings: string[];
}

const INTEGER = /^[+-]?\d+$/;

export function decideStatus(flags: StatusFlags): StatusDecision {
  const warnings: string[] = [];
  const exitCode = flags.exitCode?.trim() ?? '';
  const exitAlias = flags.exit?.trim() ?? '';
  if (flags.exit !== undefined) warnings.push('--exit is deprecated; use -e or --exit-code instead');

  // An empty -e (`-e "$RC"` with RC unset) counts as not given, as in heat-cfntools.
  const [code, flag] = exitCode !== '' ? [exitCode, '-e'] : [exitAlias, '--exit'];
  if (code !== '') {
    if (!INTEGER.test(code)) {
      warnings.push(`${flag} ${JSON.stringify(code)} is not an integer exit code; sending FAILURE`);
      return { status: 'FAILURE', decidedBy: `${flag} ${code}`, warnings };
    }
    return { status: Number(code) === 0 ? 'SUCCESS' : 'FAILURE', decidedBy: `${flag} ${code}`, warnings };
  }

  if (flags.success === undefined) return { status: 'SUCCESS', decidedBy: 'default', warnings };
  const success = flags.success.trim().toLowerCase();
  if (success === 'true') return { status: 'SUCCESS', decidedBy: `-s ${flags.success}`, warnings };
  if (success !== 'false') warnings.push(`-s ${JSON.stringify(flags.success)} is neither true nor false; sending FAILURE`);
  return { status: 'FAILURE', decidedBy: `-s ${flags.success}`, warnings };
}
