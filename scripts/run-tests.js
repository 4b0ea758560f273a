#!/usr/bin/env node
// Runs the test suites one after the other (the main suite, real Heat, then
// the packages: built first by scripts/package.js for x86_64 and arm64, then
// installed and run in the minimal Debian roots that scripts/install-test-deps.sh
// prepared, the arm64 one under qemu-user),
// shows mocha's own output, and ends with one line `N passed, N failed,
// N skipped` summed over all of them. Exit status is non-zero when any test
// failed or a suite could not run.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const mocha = path.join(root, 'node_modules', 'mocha', 'bin', 'mocha.js');
const suites = [
  { name: 'main', args: [] },
  { name: 'real Heat', args: ['--config', path.join(root, 'test', 'heat', '.mocharc.json')] },
  { name: 'packaging', prepare: [path.join(root, 'scripts', 'package.js')], args: ['--config', path.join(root, 'test', 'packaging', '.mocharc.json')] },
].filter((s) => !process.env.CFNTOOLS_SUITES || process.env.CFNTOOLS_SUITES.split(',').includes(s.name.split(' ').pop()));

function run(suite) {
  return new Promise((resolve) => {
    if (suite.prepare) {
      const prep = spawnSync(process.execPath, suite.prepare, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
      if (prep.status !== 0) {
        console.log(`suite "${suite.name}": ${suite.prepare.map((a) => path.relative(root, a)).join(' ')} exited ${prep.status}`);
        resolve({ passed: 0, failed: 0, skipped: 0, code: prep.status ?? 1 });
        return;
      }
    }
    const child = spawn(process.execPath, [mocha, ...suite.args], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      out += d;
    });
    child.on('close', (code) => {
      const count = (word) => Number((new RegExp(`^\\s*(\\d+) ${word}`, 'm').exec(out) || [0, 0])[1]);
      resolve({ passed: count('passing'), failed: count('failing'), skipped: count('pending'), code });
    });
  });
}

(async () => {
  const total = { passed: 0, failed: 0, skipped: 0 };
  let broken = false;
  for (const suite of suites) {
    const r = await run(suite);
    total.passed += r.passed;
    total.failed += r.failed;
    total.skipped += r.skipped;
    if (r.code !== 0 && r.failed === 0) {
      console.log(`suite "${suite.name}" exited ${r.code} without a failing test: counted as one failure`);
      total.failed += 1;
      broken = true;
    }
  }
  console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
  process.exitCode = total.failed > 0 || broken ? 1 : 0;
})();
