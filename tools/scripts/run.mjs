#!/usr/bin/env node
// The root npm scripts: `npm run <command> -- [args]`. Bundles the command's entry point (about a
// second, no network) and runs it with the arguments after `--`, passing on signals and the exit code.
// `npm test` runs every project's tests through Nx and closes with one line "N passed, N failed".
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { bundle, bundlePath, workspaceRoot } from './bundle.mjs';
import { commands } from './entries.mjs';

const [command, ...args] = process.argv.slice(2);

function runTests(extra) {
  const results = join(workspaceRoot, 'dist/test-results');
  rmSync(results, { recursive: true, force: true });
  mkdirSync(results, { recursive: true });
  const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' };
  const target = extra.length ? extra : ['run-many', '-t', 'test'];
  const nx = spawnSync(join(workspaceRoot, 'node_modules/.bin/nx'), [...target, '--output-style=static', '--parallel=1'], {
    cwd: workspaceRoot,
    stdio: 'inherit',
    env,
  });
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const f of readdirSync(results).filter((f) => f.endsWith('.json'))) {
    const r = JSON.parse(readFileSync(join(results, f), 'utf8'));
    passed += r.passed;
    failed += r.failed;
    skipped += r.skipped;
  }
  // A project whose run crashed before reporting still fails the whole command.
  if (nx.status !== 0 && failed === 0) failed = 1;
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exit(nx.status === 0 && failed === 0 ? 0 : 1);
}

if (command === 'test') {
  runTests(args);
} else if (commands[command]) {
  const [project, name] = commands[command];
  await bundle(project, name);
  const file = bundlePath(project, name);
  const child = spawn(process.execPath, ['--enable-source-maps', file, ...args], { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  // A child ended by a signal exits as a shell says it: 128 + the signal's number (SIGKILL, the
  // OOM killer's, is 137, not SIGTERM's 143).
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + (constants.signals[signal] ?? 15) : 1)));
} else {
  console.error(`usage: node tools/scripts/run.mjs <${['test', ...Object.keys(commands)].join('|')}> [args]`);
  process.exit(2);
}
