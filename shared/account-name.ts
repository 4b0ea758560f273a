/**
 * What a user or group name that the tools look up (a runas, a file's owner,
 * a user's groups) may be. Names come from directories (files, LDAP, sssd),
 * so little is refused: only what no directory holds and what a program
 * handed the name would read as something else - a leading `-` is an
 * option to getent (`--service=files` made it list root first), `:` splits
 * passwd lines, a control character splits log lines.
 */

/** LOGIN_NAME_MAX on Linux, terminating NUL included. */
export const MAX_ACCOUNT_NAME_CHARS = 255;
/** The largest id: 2^32 - 1 is (uid_t)-1, which chown reads as "leave it as it is". */
export const MAX_ACCOUNT_ID = 2 ** 32 - 2;

export type AccountKind = 'user' | 'group';

/** Why `name` can never name a user or group, or undefined. */
export function accountNameProblem(kind: AccountKind, name: string): string | undefined {
  if (name === '') return `a ${kind} name cannot be empty`;
  if (name.includes('\0')) return `a ${kind} name cannot hold a NUL byte`;
  if (/^\d+$/.test(name)) return Number(name) <= MAX_ACCOUNT_ID ? undefined : `${kind} id ${name} is out of range (0 to ${MAX_ACCOUNT_ID})`;
  if (name.startsWith('-')) return `a ${kind} name cannot start with "-"`;
  if (/[:\x01-\x1f\x7f]/.test(name)) return `a ${kind} name cannot hold ":" or a control character`;
  if (name.length > MAX_ACCOUNT_NAME_CHARS) return `a ${kind} name has at most ${MAX_ACCOUNT_NAME_CHARS} characters, got ${name.length}`;
  return undefined;
}
