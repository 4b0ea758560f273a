/**
 * NODE_DEBUG makes Node's http, https, net and tls modules print each
 * request's options on stderr: a pre-signed URL with its Signature=, the
 * Authorization and X-Auth-Token headers. Node reads it before any of our
 * code runs, so unsetting it then changes nothing. A tool started with it
 * (or with NODE_DEBUG_NATIVE, its counterpart for Node's C++ parts) replaces
 * itself with the same command without them: same pid, arguments and stdio
 * (process.execve, Node.js 22.15 and later; the single executable's Node has
 * it). A Node.js without process.execve cannot, and the tool refuses to run.
 */
import { isSea } from 'node:sea';

const DEBUG_VARIABLES = ['NODE_DEBUG', 'NODE_DEBUG_NATIVE'] as const;

type Execve = (file: string, args: string[], env: NodeJS.ProcessEnv) => never;

function debugVariablesSet(env: NodeJS.ProcessEnv): string[] {
  return DEBUG_VARIABLES.filter((v) => env[v] !== undefined);
}

/** The file and argv (its argv[0] included) this process was started with. */
function ownCommandLine(): { file: string; args: string[] } {
  // A single executable's argv[1] is its argv[0] as typed (a tool's link name); it takes no Node options.
  if (isSea()) return { file: process.execPath, args: process.argv.slice(1) };
  return { file: process.execPath, args: [process.argv0, ...process.execArgv, ...process.argv.slice(1)] };
}

/**
 * Returns when no debug variable is set; otherwise starts the process again
 * without them and does not return, or says why it cannot on stderr, sets
 * exit code 2 and returns false.
 */
export function restartWithoutNodeDebug(tool: string): boolean {
  const set = debugVariablesSet(process.env);
  if (set.length === 0) return true;
  const names = set.join(' and ');
  const execve = (process as { execve?: Execve }).execve;
  if (!execve) {
    process.stderr.write(`${tool}: ${names} would print signed URLs and tokens, and Node.js ${process.version} cannot start the tool again without it; unset it\n`);
    process.exitCode = 2;
    return false;
  }
  process.stderr.write(`${tool}: ignoring ${names}: Node's debug output shows signed URLs and tokens\n`);
  const env = { ...process.env };
  for (const v of set) delete env[v];
  const { file, args } = ownCommandLine();
  try {
    execve.call(process, file, args, env);
  } catch (err) {
    process.stderr.write(`${tool}: cannot start again without ${names}: ${(err as Error).message}\n`);
  }
  process.exitCode = 2;
  return false;
}
