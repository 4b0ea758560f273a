import * as assert from 'node:assert/strict';
import { configPath, parseConfigSetsFlag, selectConfigs } from '../../shared/init/configsets';
import { Problems, type JsonObject } from '../../shared/init/validation';
import { UsageError } from '../../shared/errors';

interface Case {
  name: string;
  init: JsonObject;
  requested?: string[];
  /** Configs in run order as `name@via`, or the problems as `path: message-regex`. */
  runs?: string[];
  problems?: Array<[string, RegExp]>;
}

const c1 = { commands: {} };
const CASES: Case[] = [
  { name: 'no configSets: the implicit default runs `config`', init: { config: c1 }, runs: ['config@'] },
  { name: 'no configSets, -c default works too', init: { config: c1 }, requested: ['default'], runs: ['config@'] },
  {
    name: 'no configSets and no `config`: nothing would run, which is a mistake',
    init: { other: c1 },
    problems: [['config', /no configSets key and no config named "config".*defined: other/]],
  },
  {
    name: 'no configSets, -c other: no such set',
    init: { config: c1 },
    requested: ['other'],
    problems: [['--configsets', /no configSet named "other".*no configSets key/]],
  },
  { name: 'a string value is one config', init: { configSets: { default: 'a' }, a: c1 }, runs: ['a@configSets.default'] },
  {
    name: 'a list runs in order; nested lists are flattened',
    init: { configSets: { default: ['a', ['b', ['a']]] }, a: c1, b: c1 },
    runs: ['a@configSets.default[0]', 'b@configSets.default[1][0]', 'a@configSets.default[1][1][0]'],
  },
  {
    name: 'a reference expands to the referenced set, with the path through it',
    init: { configSets: { base: ['a'], default: [{ ConfigSet: 'base' }, 'b'] }, a: c1, b: c1 },
    runs: ['a@configSets.default[0] -> configSets.base[0]', 'b@configSets.default[1]'],
  },
  {
    name: 'nested references (a set referencing a set referencing a set)',
    init: { configSets: { one: 'a', two: [{ ConfigSet: 'one' }, 'b'], default: [{ ConfigSet: 'two' }, { ConfigSet: 'one' }] }, a: c1, b: c1 },
    runs: [
      'a@configSets.default[0] -> configSets.two[0] -> configSets.one',
      'b@configSets.default[0] -> configSets.two[1]',
      'a@configSets.default[1] -> configSets.one',
    ],
  },
  {
    name: 'several -c sets run in the order given; duplicates run again',
    init: { configSets: { default: ['a'], other: ['b', 'a'] }, a: c1, b: c1 },
    requested: ['other', 'default'],
    runs: ['b@configSets.other[0]', 'a@configSets.other[1]', 'a@configSets.default[0]'],
  },
  {
    name: 'with configSets there is no implicit default',
    init: { configSets: { main: ['config'] }, config: c1 },
    problems: [['configSets', /no configSet named "default" \(defined: main\); choose one with -c/]],
  },
  {
    name: 'an empty set is allowed and runs nothing',
    init: { configSets: { default: [] }, a: c1 },
    runs: [],
  },
  {
    name: 'a direct cycle names the culprits',
    init: { configSets: { default: [{ ConfigSet: 'default' }] }, a: c1 },
    problems: [['configSets.default[0].ConfigSet', /circular configSet reference: default -> default/]],
  },
  {
    name: 'a longer cycle is reported once, with the chain; sets depending on it are not run',
    init: { configSets: { default: [{ ConfigSet: 'x' }], x: ['a', { ConfigSet: 'y' }], y: [{ ConfigSet: 'x' }] }, a: c1 },
    problems: [['configSets.y[0].ConfigSet', /circular configSet reference: x -> y -> x/]],
  },
  {
    name: 'every set is checked, not only the selected one',
    init: { configSets: { default: ['a'], broken: ['nosuch', { ConfigSet: 'gone' }, 5] }, a: c1 },
    problems: [
      ['configSets.broken[0]', /no config named "nosuch" in AWS::CloudFormation::Init \(defined: a\)/],
      ['configSets.broken[2]', /expected a config name.*got number 5/],
      ['configSets.broken[1].ConfigSet', /configSet "gone" is referenced but not defined/],
    ],
  },
  {
    name: 'a malformed reference',
    init: { configSets: { default: [{ ConfigSet: 'x', extra: 1 }, { ConfigSet: 7 }, {}] }, x: c1 },
    problems: [
      ['configSets.default[0]', /exactly \{"ConfigSet": "<name>"\}, got keys "ConfigSet", "extra"/],
      ['configSets.default[1].ConfigSet', /expected a configSet name, got number 7/],
      ['configSets.default[2]', /got keys \(none\)/],
    ],
  },
  { name: 'configSets must be an object', init: { configSets: ['a'], a: c1 }, problems: [['configSets', /expected an object of configSets, got a list/]] },
  {
    name: 'an unknown requested set lists the defined ones',
    init: { configSets: { default: 'a', b: 'a' }, a: c1 },
    requested: ['default', 'nosuch'],
    problems: [['--configsets', /no configSet named "nosuch" \(defined: default, b\)/]],
  },
];

describe('cfn-init configSets', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const p = new Problems();
      const selected = selectConfigs(c.init, c.requested, p);
      if (c.problems) {
        assert.equal(p.list.length, c.problems.length, JSON.stringify(p.list, null, 1));
        for (const [i, [path, re]] of c.problems.entries()) {
          assert.equal(p.list[i].path, path, JSON.stringify(p.list[i]));
          assert.match(p.list[i].message, re);
        }
      } else {
        assert.deepEqual(p.list, []);
        assert.deepEqual(selected.map((s) => `${s.name}@${s.via}`), c.runs);
      }
    });
  }

  it('records which requested set each config runs for, and builds key paths from the via', () => {
    const p = new Problems();
    const s = selectConfigs({ configSets: { base: ['a'], app: [{ ConfigSet: 'base' }] }, a: c1 }, ['app'], p);
    assert.deepEqual(s, [{ configSet: 'app', name: 'a', via: 'configSets.app[0] -> configSets.base[0]' }]);
    assert.equal(configPath(s[0]), 'configSets.app[0] -> configSets.base[0] -> a');
    assert.equal(configPath({ name: 'config', via: '' }), 'config');
  });

  it('-c is split on commas and trimmed (heat-cfntools; aws-cfn-bootstrap does not trim); empty names are usage errors', () => {
    assert.equal(parseConfigSetsFlag(undefined), undefined);
    assert.deepEqual(parseConfigSetsFlag('other, default'), ['other', 'default']);
    assert.deepEqual(parseConfigSetsFlag(' a '), ['a']);
    assert.throws(() => parseConfigSetsFlag('a,,b'), UsageError);
    assert.throws(() => parseConfigSetsFlag(''), UsageError);
  });
});
