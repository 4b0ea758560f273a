/**
 * What a program the tools start inherits of their environment. The tools'
 * own credentials never pass down, to root's children or anyone's: a
 * command, a hook or a package script that needs keys is given its own
 * (a command's `env`, a deployment's inputs, an instance role), and one
 * running as another user could otherwise read them from /proc.
 */

/**
 * Variables the tools or their peers' clients take credentials from: AWS
 * keys and session tokens (both names botocore reads), the old AWS tools'
 * credential file, cfn-signal's keystone token, and the OpenStack clients'
 * password and tokens. A key id goes with its secret: a child left with
 * one half fails ("partial credentials") instead of using its own.
 */
export const CREDENTIAL_VARIABLES: readonly string[] = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_SECURITY_TOKEN',
  'AWS_CREDENTIAL_FILE',
  'CFN_SIGNAL_AUTH_TOKEN',
  'OS_PASSWORD',
  'OS_TOKEN',
  'OS_AUTH_TOKEN',
  'OS_APPLICATION_CREDENTIAL_SECRET',
];

/**
 * `env`, meant for a child, without the credential variables it inherited
 * from the tool (the value of `toolEnv` or of the process's own
 * environment). A value the caller set on purpose (a command's own `env`
 * giving other keys) is kept.
 */
export function withoutToolCredentials(env: NodeJS.ProcessEnv, toolEnv: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  let out: NodeJS.ProcessEnv | undefined;
  for (const name of CREDENTIAL_VARIABLES) {
    const value = env[name];
    if (value === undefined || (value !== toolEnv[name] && value !== process.env[name])) continue;
    out ??= { ...env };
    delete out[name];
  }
  return out ?? env;
}
