import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chooseTool, dropBuiltInNodeOptions } from '../../agents/dispatch';
import { DAEMON_NODE_FLAGS } from '../../shared/daemon-memory';
import { loadTool } from '../../agents/tools';
import { CFN_TOOL_NAMES, TOOL_NAMES } from '../../shared/tool-names';

const root = path.resolve(__dirname, '..', '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> };

describe('multi-call dispatch', () => {
  it('chooses by the name started under, whatever its directory', () => {
    assert.deepEqual(chooseTool(TOOL_NAMES, '/usr/bin/cfn-signal', ['-e', '0', 'URL']), { tool: 'cfn-signal', argv: ['-e', '0', 'URL'] });
    assert.deepEqual(chooseTool(TOOL_NAMES, './heat-agent', ['--one-time']), { tool: 'heat-agent', argv: ['--one-time'] });
  });

  it('otherwise by the first argument, which the tool does not see', () => {
    assert.deepEqual(chooseTool(TOOL_NAMES, '/usr/bin/cfntools', ['cfn-init', '--dry-run', '-']), { tool: 'cfn-init', argv: ['--dry-run', '-'] });
    // A link's name wins: `cfn-init cfn-signal` is cfn-init given a file named cfn-signal.
    assert.deepEqual(chooseTool(TOOL_NAMES, 'cfn-init', ['cfn-signal']), { tool: 'cfn-init', argv: ['cfn-signal'] });
  });

  it('answers --version itself and refuses anything else', () => {
    assert.deepEqual(chooseTool(TOOL_NAMES, 'cfntools', ['--version']), { version: true });
    assert.deepEqual(chooseTool(TOOL_NAMES, 'cfntools', []), { usage: true });
    assert.deepEqual(chooseTool(TOOL_NAMES, 'cfntools', ['cfn-nope']), { usage: true });
    assert.deepEqual(chooseTool(TOOL_NAMES, 'cfntools.cjs', ['--help']), { usage: true });
  });

  it('knows every tool package.json installs, each with its entry point and bin/ wrapper', () => {
    assert.deepEqual([...TOOL_NAMES].sort(), Object.keys(pkg.bin).sort());
    for (const tool of TOOL_NAMES) {
      assert.equal(typeof loadTool(tool), 'function', tool);
      assert.ok(fs.existsSync(path.join(root, pkg.bin[tool])), pkg.bin[tool]);
    }
    assert.equal(loadTool('cfntools'), undefined);
    assert.ok(!CFN_TOOL_NAMES.includes('heat-agent'), 'heat-agent is no cfn tool: /opt/aws/bin never had it');
  });

  it("the executable's leading --node-options: dropped when it names built-in flags only (earlier releases' units), refused otherwise, the tool's own argument anywhere else", () => {
    const units = `--node-options=${DAEMON_NODE_FLAGS.join(' ')}`;
    assert.deepEqual(dropBuiltInNodeOptions([units, '--foreground'], DAEMON_NODE_FLAGS), { args: ['--foreground'] });
    // What earlier releases' units pass, which named fewer flags.
    assert.deepEqual(dropBuiltInNodeOptions(['--node-options=--max-semi-space-size=1 --v8-pool-size=1', '--foreground'], DAEMON_NODE_FLAGS), { args: ['--foreground'] });
    assert.deepEqual(dropBuiltInNodeOptions([`--node-options=${DAEMON_NODE_FLAGS[1]}`, 'cfn-hup'], DAEMON_NODE_FLAGS), { args: ['cfn-hup'] });
    for (const leading of ['--node-options=--require=/tmp/x.js', `--node-options=${DAEMON_NODE_FLAGS[0]} --require=/tmp/x.js`, '--node-options=', '--node-options']) {
      const r = dropBuiltInNodeOptions([leading, '--version'], DAEMON_NODE_FLAGS);
      assert.ok('refused' in r, leading);
      assert.equal(r.refused, `cfntools: a leading --node-options may only name the built-in Node options (${DAEMON_NODE_FLAGS.join(' ')}); the executable takes no others`);
      assert.ok(!r.refused.includes('/tmp/x.js'), 'the value is not repeated');
    }
    const reason = ['-i', 'x', '-r', '--node-options=--require=/tmp/x.js', 'URL'];
    assert.deepEqual(dropBuiltInNodeOptions(reason, DAEMON_NODE_FLAGS), { args: reason });
    assert.deepEqual(dropBuiltInNodeOptions([], DAEMON_NODE_FLAGS), { args: [] });
  });
});
