#!/usr/bin/env node
// Bundles the entry points of one project (or all) with esbuild: `node tools/scripts/bundle.mjs acceptor`.
// Used by each app's Nx `build` target and by `npm run <tool>` (tools/scripts/run.mjs).
import { build } from 'esbuild';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { entries } from './entries.mjs';

export const workspaceRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** npm packages never inlined: their native addons are found next to their own files. */
export const NATIVE_PACKAGES = ['better-sqlite3'];
/**
 * npm packages not inlined because a node loads them only when asked, if ever (pretty logs at a
 * terminal, reflection, grpc-js's channelz and ORCA definitions): inlined, every start read and
 * scanned their 0.8 MB (the acceptor's CPU to ready: median 366 ms with them, 349 ms without).
 * A subpath (@bufbuild/protobuf/wire) is external with its package.
 */
export const ON_DEMAND_PACKAGES = ['pino-pretty', '@grpc/proto-loader', '@bufbuild/protobuf'];

export function bundlePath(project, name) {
  return join(workspaceRoot, 'dist', entries[project].root, `${name}.js`);
}

export async function bundle(project, only) {
  const spec = entries[project];
  if (!spec) throw new Error(`unknown project ${project}; known: ${Object.keys(entries).join(', ')}`);
  const names = only ? [only] : Object.keys(spec.files);
  const entryPoints = {};
  for (const name of names) {
    const src = join(workspaceRoot, spec.root, spec.files[name]);
    if (!existsSync(src)) throw new Error(`${project}: entry ${spec.files[name]} does not exist yet`);
    entryPoints[name] = src;
  }
  // Written beside and renamed into place: several `npm run` commands bundle the same entry at
  // once, and none may start a file another is still writing.
  const result = await build({
    absWorkingDir: workspaceRoot,
    entryPoints,
    outdir: join(workspaceRoot, 'dist', spec.root),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    ...(spec.inlinePackages ? { external: [...NATIVE_PACKAGES, ...ON_DEMAND_PACKAGES] } : { packages: 'external' }),
    tsconfig: join(workspaceRoot, 'tsconfig.base.json'),
    sourcemap: 'linked',
    logLevel: 'warning',
    write: false,
  });
  for (const file of result.outputFiles) {
    mkdirSync(dirname(file.path), { recursive: true });
    const tmp = `${file.path}.${process.pid}.tmp`;
    writeFileSync(tmp, file.contents);
    renameSync(tmp, file.path);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // A reader that closed the pipe (a launch or rejoin piped into head, whose output this shares)
  // does not end the bundling half way: launch would say "bundling the apps failed".
  process.stdout.on('error', () => undefined);
  const projects = process.argv.slice(2);
  for (const p of projects.length ? projects : Object.keys(entries)) {
    await bundle(p);
    console.log(`bundled ${p} -> dist/${entries[p].root}`);
  }
}
