/**
 * Starting one tool: the part of the entry point that both the bundle
 * (agents/main.ts) and each tool's code in the single executable run.
 */
import * as fs from 'node:fs';
import { runCli, type ToolMain } from '../shared/cli';
import { restartWithoutNodeDebug } from './node-debug';

/**
 * libuv reads UV_THREADPOOL_SIZE once, when its thread pool starts. cfn-init
 * fsyncs the files of a batch all at once where it does not sync their whole
 * file system (shared/durable-write.ts, file-system-sync.ts: small batches,
 * overlayfs, older kernels): with libuv's default of 4 threads, 1,000 files
 * took three to four times as long to make durable as with 32. cfn-hup and
 * heat-agent, idle for minutes at a time, get one:
 * every thread that ever ran keeps a malloc arena of its own. The variable is
 * set only for that moment, so the commands the tools run do not inherit it;
 * a value the user set is kept.
 */
const THREAD_POOL_SIZE: Record<string, number> = { 'cfn-init': 32, 'cfn-hup': 1, 'heat-agent': 1 };

function sizeThreadPool(tool: string): void {
  const size = THREAD_POOL_SIZE[tool];
  if (size === undefined || process.env.UV_THREADPOOL_SIZE !== undefined) return;
  process.env.UV_THREADPOOL_SIZE = String(size);
  fs.access('/', () => undefined); // the first request starts the pool
  delete process.env.UV_THREADPOOL_SIZE;
}

export function start(tool: string, main: ToolMain, argv: string[]): void {
  if (!restartWithoutNodeDebug(tool)) return;
  sizeThreadPool(tool);
  void runCli(tool, main, argv);
}
