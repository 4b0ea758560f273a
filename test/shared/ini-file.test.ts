/** The INI reader: ConfigParser's syntax, values, booleans, and errors that name file, line, section and key. */
import * as assert from 'node:assert/strict';
import { ConfigError } from '../../shared/errors';
import { IniFile } from '../../shared/ini-file';

describe('IniFile', () => {
  const text = ['[main]', 'stack = arn:aws:cloudformation:x', 'Interval: 5 ', 'verbose = Yes', 'empty =', '', '[Boto]', 'is_secure = off', 'flag = maybe'].join('\n');
  const ini = new IniFile(text, '/etc/cfn/cfn-hup.conf');

  it('lists sections in file order and finds the first of several spellings', () => {
    assert.deepEqual(ini.sectionNames(), ['main', 'Boto']);
    assert.equal(ini.section('boto', 'Boto'), 'Boto');
    assert.equal(ini.section('absent'), undefined);
  });

  it('reads trimmed strings with = or :, keys in any case; an empty or absent value or section is undefined', () => {
    assert.equal(ini.string('main', 'interval'), '5');
    assert.equal(ini.string('main', 'INTERVAL'), '5');
    assert.equal(ini.string('main', 'stack'), 'arn:aws:cloudformation:x');
    assert.equal(ini.string('main', 'empty'), undefined);
    assert.equal(ini.string('main', 'absent'), undefined);
    assert.equal(ini.string(undefined, 'stack'), undefined);
    assert.equal(ini.string('absent', 'stack'), undefined);
  });

  it('reads booleans as ConfigParser does, in any case', () => {
    assert.equal(ini.boolean('main', 'verbose'), true);
    assert.equal(ini.boolean('Boto', 'is_secure'), false);
    assert.equal(ini.boolean('main', 'absent'), undefined);
  });

  it('a value that is not a boolean is a ConfigError naming the file, the line, the section and the key', () => {
    assert.throws(
      () => ini.boolean('Boto', 'flag'),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.message, '/etc/cfn/cfn-hup.conf: line 9: [Boto] flag: expected a boolean (1/0, true/false, yes/no, on/off), got "maybe"');
        return true;
      },
    );
  });

  it('keeps ; and # inside values (the ini package cut them off), and skips comment lines', () => {
    const f = new IniFile('# a comment\n[h]\n; another\naction = echo a; echo b # not a comment\n', 'f');
    assert.equal(f.value('h', 'action'), 'echo a; echo b # not a comment');
  });

  it('joins indented continuation lines with newlines, blank lines and comment lines inside a value as ConfigParser does', () => {
    const f = new IniFile('[h]\naction = one\n  two\n\n  # skipped\n  three\nnext = x\n', 'f');
    assert.equal(f.value('h', 'action'), 'one\ntwo\n\nthree');
    assert.equal(f.value('h', 'next'), 'x');
  });

  it('interpolates %(key)s from the section and DEFAULT, and %% is a %', () => {
    const f = new IniFile('[DEFAULT]\nbin = /opt/aws/bin\n[h]\nname = web\naction = %(bin)s/cfn-init -r %(name)s; date +%%s\n', 'f');
    assert.equal(f.value('h', 'action'), '/opt/aws/bin/cfn-init -r web; date +%s');
    assert.deepEqual(f.keys('h').sort(), ['action', 'bin', 'name']);
    assert.deepEqual(f.sectionNames(), ['h']);
  });

  it('keeps a % that starts no reference (ConfigParser refuses the file); a reference to a missing key is an error', () => {
    assert.equal(new IniFile('[h]\naction = date +%s\n', 'f').value('h', 'action'), 'date +%s');
    assert.throws(() => new IniFile('[h]\naction = %(nope)s\n', 'f').value('h', 'action'), /^ConfigError: f: line 2: \[h\] action: %\(nope\)s refers to a key that is not set/);
    assert.throws(() => new IniFile('[h]\na = %(b)s\nb = %(a)s\n', 'f').value('h', 'a'), /nest deeper than 10/);
  });

  it('refuses what ConfigParser refuses: a key before any section, a line without = or :, a repeated section or key', () => {
    assert.throws(() => new IniFile('stack = x\n', 'f'), /^ConfigError: f: line 1: "stack" comes before any \[section\] header/);
    assert.throws(() => new IniFile('[h]\njust words\n', 'f'), /^ConfigError: f: line 2: expected "key = value", got "just words"/);
    assert.throws(() => new IniFile('[h]\n[h]\n', 'f'), /line 2: section \[h\] appears twice/);
    assert.throws(() => new IniFile('[h]\na = 1\nA = 2\n', 'f'), /line 3: "a" is set twice in \[h\] \(first on line 2\)/);
  });

  it("oslo.config's repeated keys: the value is the last one, values every one in file order; a section's own, else DEFAULT's", () => {
    const f = new IniFile('[DEFAULT]\ncollectors = heat\ncollectors = local\n[local]\npath = /a\nPATH = /b\n[cfn]\nx = 1\n', 'f', { repeatedKeys: 'last' });
    assert.equal(f.value('DEFAULT', 'collectors'), 'local');
    assert.deepEqual(f.values('DEFAULT', 'collectors'), ['heat', 'local']);
    assert.deepEqual(f.values('local', 'path'), ['/a', '/b']);
    assert.deepEqual(f.values('cfn', 'x'), ['1']);
    assert.deepEqual(f.values('cfn', 'collectors'), ['heat', 'local']);
    assert.deepEqual(f.values('cfn', 'absent'), []);
  });

  it('reads keys a YAML ">" block put on the header line, when the caller names them; warns either way', () => {
    const folded = '[cfn-auto-reloader-hook] triggers=post.update path=Resources.LC.Metadata.AWS::CloudFormation::Init action=/opt/aws/bin/cfn-init -v   --stack s --resource LC runas=root ';
    const f = new IniFile(folded, 'hook.conf', { unfoldKeys: ['triggers', 'path', 'action', 'runas'] });
    assert.equal(f.value('cfn-auto-reloader-hook', 'triggers'), 'post.update');
    assert.equal(f.value('cfn-auto-reloader-hook', 'path'), 'Resources.LC.Metadata.AWS::CloudFormation::Init');
    assert.equal(f.value('cfn-auto-reloader-hook', 'action'), '/opt/aws/bin/cfn-init -v   --stack s --resource LC');
    assert.equal(f.value('cfn-auto-reloader-hook', 'runas'), 'root');
    assert.match(f.warnings.join('\n'), /hook\.conf: line 1: keys on the section header's line .* read as 4 separate lines/);
    const plain = new IniFile('[h] trailing words\n', 'g', { unfoldKeys: ['action'] });
    assert.deepEqual(plain.keys('h'), []);
    assert.match(plain.warnings.join('\n'), /g: line 1: text after the section header is ignored/);
  });
});
