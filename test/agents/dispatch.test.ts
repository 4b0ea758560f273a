import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chooseTool } from '../../agents/dispatch';
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
});
