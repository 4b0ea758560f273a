/** The INI reader: sections, values, and errors that name file, section and key. */
import * as assert from 'node:assert/strict';
import { ConfigError } from '../../shared/errors';
import { IniFile } from '../../shared/ini-file';

describe('IniFile', () => {
  const text = ['[main]', 'stack = arn:aws:cloudformation:x', 'interval = 5 ', 'verbose = Yes', 'empty =', '', '[Boto]', 'is_secure = off', 'flag = maybe'].join('\n');
  const ini = new IniFile(text, '/etc/cfn/cfn-hup.conf');

  it('lists sections in file order and finds the first of several spellings', () => {
    assert.deepEqual(ini.sectionNames(), ['main', 'Boto']);
    assert.equal(ini.section('boto', 'Boto'), 'Boto');
    assert.equal(ini.section('absent'), undefined);
  });

  it('reads trimmed strings; an empty or absent value or section is undefined', () => {
    assert.equal(ini.string('main', 'interval'), '5');
    assert.equal(ini.string('main', 'stack'), 'arn:aws:cloudformation:x');
    assert.equal(ini.string('main', 'empty'), undefined);
    assert.equal(ini.string('main', 'absent'), undefined);
    assert.equal(ini.string(undefined, 'stack'), undefined);
  });

  it('reads booleans as ConfigParser does, in any case', () => {
    assert.equal(ini.boolean('main', 'verbose'), true);
    assert.equal(ini.boolean('Boto', 'is_secure'), false);
    assert.equal(ini.boolean('main', 'absent'), undefined);
  });

  it('a value that is not a boolean is a ConfigError naming the file, the section and the key', () => {
    assert.throws(
      () => ini.boolean('Boto', 'flag'),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.message, '/etc/cfn/cfn-hup.conf: Boto.flag: expected a boolean (1/0, true/false), got "maybe"');
        return true;
      },
    );
  });
});
