/**
 * How a tool starts another tool of this same build: the single executable
 * by the tool's name, or node with the bundle. heat-agent runs cfn-init for
 * a deployment of group cfn-init this way.
 */

function isSingleExecutable(): boolean {
  try {
    return (require('node:sea') as { isSea(): boolean }).isSea();
  } catch {
    return false; // a Node without node:sea runs no single executable
  }
}

export function selfCommand(tool: string): string[] {
  return isSingleExecutable() ? [process.execPath, tool] : [process.execPath, __filename, tool];
}
