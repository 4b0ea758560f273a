/**
 * Entry of the single executable (scripts/package.js). Each tool's code is
 * an asset of its own, `<tool>.js`, beside V8's code cache for it,
 * `<tool>.cache`, which the build made after running the tool once: a start
 * compiles next to nothing and loads no other tool's code. The code is
 * wrapped as a CommonJS module would be; the require it gets is the
 * executable's, which loads Node's built-in modules, all a bundle needs.
 */
import * as path from 'node:path';
import { getAsset, getRawAsset } from 'node:sea';
import * as vm from 'node:vm';
import { VERSION } from '../shared/version';
import { TOOL_NAMES } from '../shared/tool-names';
import { DAEMON_NODE_FLAGS } from '../shared/daemon-memory';
import { answerWithoutTool, chooseTool, dropBuiltInNodeOptions } from './dispatch';

type ToolModule = (exports: object, req: NodeJS.Require, module: { exports: unknown }, filename: string, dirname: string) => void;

function runTool(tool: string, argv: string[]): void {
  const script = new vm.Script(getAsset(`${tool}.js`, 'utf8'), {
    filename: `${tool}.js`,
    cachedData: Buffer.from(getRawAsset(`${tool}.cache`) as ArrayBuffer),
  });
  // V8 refuses a cache made by another build or with other code-generation flags, and compiles
  // instead: still correct, only slower, which CFNTOOLS_DEBUG makes visible.
  if (script.cachedDataRejected && process.env.CFNTOOLS_DEBUG) process.stderr.write(`cfntools: the code cache of ${tool} was rejected; compiled instead\n`);
  const mod = { exports: {} as unknown };
  (script.runInThisContext() as ToolModule)(mod.exports as object, require, mod, process.execPath, path.dirname(process.execPath));
  (mod.exports as (argv: string[]) => void)(argv);
}

const given = dropBuiltInNodeOptions(process.argv.slice(2), DAEMON_NODE_FLAGS);
if ('refused' in given) {
  process.stderr.write(`${given.refused}\n`);
  process.exitCode = 2;
} else {
  // argv[1] is the name as typed: a symlink's name when started through one.
  const choice = chooseTool(TOOL_NAMES, process.argv[1] ?? process.argv0, given.args);
  if ('tool' in choice) runTool(choice.tool, choice.argv);
  else answerWithoutTool(choice, TOOL_NAMES, VERSION);
}
