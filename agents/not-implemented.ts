import type { ToolMain } from '../shared/cli';

/** Placeholder for a tool whose issue is not done yet: says so, exits 2. */
export function notImplemented(tool: string): ToolMain {
  return async () => {
    process.stderr.write(`${tool}: not implemented yet in this cfntools build\n`);
    return 2;
  };
}
