#!/usr/bin/env node
// `npm run package`: the single executable packaging/out/cfntools (a Node.js
// Single Executable Application on the Node binary pinned in
// packaging/toolchain), a symlink beside it for every tool, then the
// tarball, .deb and .rpm (scripts/build-packages.js); the same for arm64 in
// packaging/out/arm64/ (scripts/arches.js: built here under qemu-user).
//   --arch x64|arm64|all  what to build (default all; x64 alone needs no qemu)
//   --executable-only     stop after the executable and its links
//   --floor OUT           build only a trivial executable the same way (the
//                         benchmark's floor: what any tool on this runtime
//                         costs), for one --arch (default x64)
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { root, version, bundleOptions } = require('./bundle-options');
const { RUNPATH } = require('./bundled-libs');
// Built by `npm run build`, which `npm run package` runs first.
const { DAEMON_NODE_FLAGS } = require(path.join(root, 'dist', 'shared', 'daemon-memory.js'));
const { ARCHES, ARCH_NAMES, commandMissing, runnerFor } = require('./arches');

const TOOLCHAIN = path.join(root, 'packaging', 'toolchain');
const OUT = path.join(root, 'packaging', 'out');
const BUILD = path.join(OUT, 'build');
// postject's name for the place in node's binary that marks a blob as present.
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const TOOLS = Object.keys(require(path.join(root, 'package.json')).bin);

function sh(file, args, opts = {}) {
  return execFileSync(file, args, { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', ...opts });
}

/**
 * The pinned node of every architecture and postject, installed from
 * packaging/toolchain's lock file when missing or stale. Every architecture
 * runs the same Node version: one release, whatever the machine.
 */
function installToolchain() {
  const deps = require(path.join(TOOLCHAIN, 'package.json')).dependencies;
  const wanted = deps[ARCHES.x64.nodePackage];
  for (const a of ARCH_NAMES) {
    if (deps[ARCHES[a].nodePackage] !== wanted) throw new Error(`packaging/toolchain/package.json pins ${ARCHES[a].nodePackage} ${deps[ARCHES[a].nodePackage]}, not ${wanted} as ${ARCHES.x64.nodePackage}: every architecture must run the same Node`);
  }
  const stale = ARCH_NAMES.some((a) => {
    const installed = path.join(TOOLCHAIN, 'node_modules', ARCHES[a].nodePackage, 'package.json');
    return !fs.existsSync(installed) || JSON.parse(fs.readFileSync(installed, 'utf8')).version !== wanted;
  });
  if (stale) {
    console.log(`package: installing the toolchain (node ${wanted} for ${ARCH_NAMES.join(' and ')}, postject) into packaging/toolchain`);
    sh('npm', ['ci', '--no-audit', '--no-fund', '--prefix', TOOLCHAIN], { stdio: 'inherit' });
  }
}

/**
 * What one architecture is built with: its node from the toolchain, run the
 * way this host can (`run(file, args)` gives what to spawn), its strip, its
 * output directory and a build directory of its own (the code caches differ).
 * Throws, before anything is built or fetched, when this host cannot build it.
 */
function targetFor(arch) {
  const build = arch === 'x64' ? BUILD : path.join(BUILD, arch);
  fs.mkdirSync(build, { recursive: true });
  const strip = ARCHES[arch].strip;
  if (commandMissing(strip.tool)) throw new Error(`${strip.tool} is not installed (Debian package ${strip.debianPackage})${arch === 'x64' ? '' : '; or build only x64 with --arch x64'}`);
  if (commandMissing('patchelf')) throw new Error('patchelf is not installed (Debian package patchelf): it sets the executable\'s RUNPATH');
  return {
    arch,
    node: path.join(TOOLCHAIN, 'node_modules', ARCHES[arch].nodePackage, 'bin', 'node'),
    postject: path.join(TOOLCHAIN, 'node_modules', 'postject', 'dist', 'cli.js'),
    run: runnerFor(arch, build),
    strip: strip.tool,
    out: ARCHES[arch].dir,
    build,
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
function buildSea(t, main, assets, output) {
  const name = path.basename(output);
  const blob = path.join(t.build, `${name}.blob`);
  const config = path.join(t.build, `${name}.sea.json`);
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
  // The main script's code cache (useCodeCache) is made here: under the flags the executable runs with, or V8 rejects it.
  sh(...t.run(t.node, [...DAEMON_NODE_FLAGS, '--experimental-sea-config', config]));
  const tmp = `${output}.tmp`;
  fs.copyFileSync(t.node, tmp);
  sh(t.strip, [tmp]);
  // postject edits any ELF: this host's node runs it, whatever the target.
  sh(process.execPath, [t.postject, tmp, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', FUSE], { stdio: ['ignore', 'ignore', 'inherit'] });
  sh('patchelf', ['--set-rpath', RUNPATH, tmp]);
  fs.chmodSync(tmp, 0o755);
  fs.renameSync(tmp, output);
}

/** Each tool's code, wrapped as a CommonJS module for agents/sea.ts, and its code cache after one `--help`. */
function toolAssets(t) {
  const esbuild = require('esbuild');
  const assets = {};
  for (const tool of TOOLS) {
    const js = path.join(t.build, `${tool}.js`);
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
    const cache = path.join(t.build, `${tool}.cache`);
    sh(...t.run(t.node, [...DAEMON_NODE_FLAGS, path.join(__dirname, 'code-cache.js'), js, cache, '--help']), { env: { PATH: process.env.PATH, AWS_EC2_METADATA_DISABLED: 'true' } });
    assets[`${tool}.js`] = js;
    assets[`${tool}.cache`] = cache;
  }
  return assets;
}

function executable(t) {
  const esbuild = require('esbuild');
  const started = Date.now();
  const main = path.join(t.build, 'main.cjs');
  esbuild.buildSync(bundleOptions({ entryPoints: [path.join(root, 'agents', 'sea.ts')], outfile: main }));
  fs.mkdirSync(t.out, { recursive: true });
  const exe = path.join(t.out, 'cfntools');
  buildSea(t, main, toolAssets(t), exe);
  for (const tool of TOOLS) {
    const link = path.join(t.out, tool);
    fs.rmSync(link, { force: true });
    fs.symlinkSync('cfntools', link);
  }
  const said = sh(...t.run(exe, ['--version'])).trim();
  if (said !== `cfntools ${version}`) throw new Error(`package: the executable says "${said}", expected "cfntools ${version}"`);
  console.log(`package: ${path.relative(root, exe)} (${t.arch}, ${(fs.statSync(exe).size / 1e6).toFixed(1)} MB, ${((Date.now() - started) / 1000).toFixed(0)} s), links: ${TOOLS.join(' ')}`);
}

/**
 * The command line: an optional leading --arch x64|arm64|all, then nothing,
 * --executable-only, or --floor OUT (one architecture); anything else is refused.
 */
function parseCommandLine(argv) {
  let args = argv;
  let arch;
  if (args[0] === '--arch') {
    if (![...ARCH_NAMES, 'all'].includes(args[1])) return undefined;
    arch = args[1];
    args = args.slice(2);
  }
  const arches = !arch || arch === 'all' ? ARCH_NAMES : [arch];
  if (args.length === 0) return { arches, packages: true };
  if (args.length === 1 && args[0] === '--executable-only') return { arches, packages: false };
  if (args.length === 2 && args[0] === '--floor' && args[1] && !args[1].startsWith('-') && arch !== 'all') return { arches: [arch ?? 'x64'], floor: path.resolve(args[1]) };
  return undefined;
}

function main() {
  const cmd = parseCommandLine(process.argv.slice(2));
  if (!cmd) {
    console.error(`package: expected [--arch x64|arm64|all] then no argument, --executable-only, or --floor OUT (one arch); got: ${process.argv.slice(2).join(' ')}`);
    process.exitCode = 2;
    return;
  }
  fs.mkdirSync(OUT, { recursive: true });
  // Every target checked before anything is fetched or built: a missing qemu stops the build at once.
  const targets = cmd.arches.map(targetFor);
  installToolchain();
  if (cmd.floor) {
    buildSea(targets[0], path.join(root, 'test', 'bench', 'floor-main.cjs'), {}, cmd.floor);
    return;
  }
  for (const t of targets) executable(t);
  if (cmd.packages) sh(process.execPath, [path.join(__dirname, 'build-packages.js'), '--arch', cmd.arches.join(',')], { stdio: 'inherit' });
}

try {
  main();
} catch (err) {
  // A failed step has printed its own output above; this names the step.
  console.error(`package: ${String(err.message).split('\n')[0]}`);
  process.exitCode = 1;
}
