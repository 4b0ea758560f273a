/** The handlers, in the order AWS runs the Init keys. */
import type { InitHandler } from './types';
import { packagesHandler } from './packages';
import { groupsHandler } from './groups';
import { usersHandler } from './users';
import { sourcesHandler } from './sources';
import { filesHandler } from './files';
import { commandsHandler } from './commands';
import { servicesHandler } from './services';

export const HANDLERS: ReadonlyArray<InitHandler<unknown>> = [
  packagesHandler,
  groupsHandler,
  usersHandler,
  sourcesHandler,
  filesHandler,
  commandsHandler,
  servicesHandler,
] as ReadonlyArray<InitHandler<unknown>>;
