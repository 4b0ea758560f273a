// The benchmark's floor (scripts/package.js --floor): a tool that parses its
// arguments with Node's own parser and prints a line, built into a single
// executable exactly as cfntools is. What any tool on this runtime costs.
'use strict';
const { parseArgs } = require('node:util');
const { values } = parseArgs({ args: process.argv.slice(2), options: { help: { type: 'boolean' }, version: { type: 'boolean' } }, strict: false });
process.stdout.write(values.version ? 'floor 1\n' : 'usage: floor [--help] [--version]\n');
