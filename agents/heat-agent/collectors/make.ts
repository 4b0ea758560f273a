/** The collector of each setting, in order. */
import { CfnCollector } from './cfn';
import { HeatCollector } from './heat';
import { LocalCollector } from './local';
import { RequestCollector } from './request';
import type { CollectorSettings } from './settings';
import type { Collector, CollectorDeps } from './types';
import { ZaqarCollector } from './zaqar';

export function makeCollector(s: CollectorSettings, deps: CollectorDeps): Collector {
  switch (s.name) {
    case 'cfn':
      return new CfnCollector(s, deps);
    case 'heat':
      return new HeatCollector(s, deps);
    case 'request':
      return new RequestCollector(s, deps);
    case 'zaqar':
      return new ZaqarCollector(s, deps);
    case 'local':
      return new LocalCollector(s, deps);
  }
}
