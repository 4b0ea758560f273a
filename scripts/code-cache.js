// Run by the Node binary the single executable is built on (scripts/package.js):
// compiles one tool's code as agents/sea.ts will, runs the tool once with the
// given arguments (its output thrown away), then writes V8's code cache,
// which then holds every function that run compiled, not only the top level.
// Usage: node code-cache.js TOOL.js OUT.cache [ARG...]
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const [file, out, ...args] = process.argv.slice(2);
const script = new vm.Script(fs.readFileSync(file, 'utf8'), { filename: path.basename(file) });
const mod = { exports: {} };
script.runInThisContext()(mod.exports, require, mod, process.execPath, path.dirname(process.execPath));
process.stdout.write = () => true;
mod.exports(args);
process.once('beforeExit', () => {
  fs.writeFileSync(out, script.createCachedData());
  process.exitCode = 0;
});
