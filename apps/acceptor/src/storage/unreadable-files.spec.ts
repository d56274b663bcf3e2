// A file of the data dir that cannot be opened or read (chmod 000, another owner, a disk that
// answers EIO) or a directory of it that cannot be listed: the start is refused with a typed
// error that names the file and says what to do (mend it and start again on this dir), never a
// bare system error, and never advice to start elsewhere. node:fs is wrapped (the storage's own
// import of it) so that the denial does not depend on the user the tests run as: root reads a
// file of mode 000.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AcceptorStorage } from './acceptor-storage';
import { HISTORY_DIR } from './chosen-history';
import { LOCK_FILE } from './data-dir-lock';
import { DataDirError, StorageCorruptionError } from './errors';
import { ballot, chosenRecords, snapshotOf, tempDir } from './storage-test-helpers';

/** The path (a file, or a dir and everything in it) whose opens and reads fail, and how. */
let denied: { path: string; code: 'EACCES' | 'EIO' } | undefined;

function check(file: unknown, syscall: string): void {
  if (denied === undefined) return;
  const p = String(file);
  if (p !== denied.path && !p.startsWith(`${denied.path}${path.sep}`)) return;
  const message = denied.code === 'EACCES' ? 'permission denied' : 'i/o error';
  throw Object.assign(new Error(`${denied.code}: ${message}, ${syscall} '${p}'`), { code: denied.code, errno: denied.code === 'EACCES' ? -13 : -5, syscall, path: p });
}

jest.mock('node:fs', () => {
  const actual = jest.requireActual<typeof import('node:fs')>('node:fs');
  const wrap =
    <A extends unknown[], R>(syscall: string, f: (file: unknown, ...rest: A) => R) =>
    (file: unknown, ...rest: A): R => {
      check(file, syscall);
      return f(file, ...rest);
    };
  const wrapAsync =
    <A extends unknown[], R>(syscall: string, f: (file: unknown, ...rest: A) => Promise<R>) =>
    async (file: unknown, ...rest: A): Promise<R> => {
      check(file, syscall);
      return f(file, ...rest);
    };
  const p = actual.promises;
  return {
    ...actual,
    openSync: wrap('open', actual.openSync as (file: unknown, ...rest: unknown[]) => number),
    readFileSync: wrap('open', actual.readFileSync as (file: unknown, ...rest: unknown[]) => Buffer),
    readdirSync: wrap('scandir', actual.readdirSync as (file: unknown, ...rest: unknown[]) => string[]),
    promises: {
      ...p,
      open: wrapAsync('open', p.open as (file: unknown, ...rest: unknown[]) => Promise<fs.promises.FileHandle>),
      readFile: wrapAsync('open', p.readFile as (file: unknown, ...rest: unknown[]) => Promise<Buffer>),
      readdir: wrapAsync('scandir', p.readdir as (file: unknown, ...rest: unknown[]) => Promise<string[]>),
    },
  };
});

const NODE_ID = 4;
const open = (dataDir: string) => AcceptorStorage.open({ dataDir, nodeId: NODE_ID, fsync: false, historySegmentBytes: 2000 });

/** Every file and directory under `dir` (the dir itself left out). */
function entries(dir: string): string[] {
  const out: string[] = [];
  for (const name of fs.readdirSync(dir)) {
    const p = path.join(dir, name);
    out.push(p);
    if (fs.statSync(p).isDirectory()) out.push(...entries(p));
  }
  return out.sort();
}

describe('a data dir file that cannot be read', () => {
  let dir: string;
  let cleanup: () => void;
  beforeAll(async () => {
    ({ dir, cleanup } = tempDir('unreadable-files-'));
    // Promises and a vote in the log, a snapshot, and sealed history segments with indexes.
    const { storage } = await open(dir);
    storage.history.append(chosenRecords(0, 60, 120));
    storage.history.flush();
    await storage.append({ promised: ballot(3) });
    await storage.checkpoint(snapshotOf(5));
    await storage.append({ promised: ballot(7), accepted: { slot: 70n, ballot: ballot(7), value: { kind: 'noop' } } });
    await storage.close();
  });
  afterAll(() => cleanup());
  afterEach(() => {
    denied = undefined;
  });

  it('is refused naming the file and what to do, or opened with every promise', async () => {
    const names = entries(dir).map((p) => path.relative(dir, p));
    expect(names).toEqual(expect.arrayContaining(['node.json', 'snapshot.bin', HISTORY_DIR]));
    expect(names.filter((n) => n.endsWith('.wal')).length).toBe(1);
    expect(names.filter((n) => n.endsWith('.idx')).length).toBeGreaterThan(0);
    const segments = names.filter((n) => n.endsWith('.seg'));
    const mustRead = ['node.json', 'snapshot.bin', HISTORY_DIR, segments[segments.length - 1] as string, ...names.filter((n) => n.endsWith('.wal'))];
    const wrong: string[] = [];
    let refused = 0;
    for (const name of names) {
      if (name === LOCK_FILE) continue; // opened by SQLite, not node:fs: below
      for (const code of ['EACCES', 'EIO'] as const) {
        denied = { path: path.join(dir, name), code };
        try {
          const { storage, recovered } = await open(dir);
          denied = undefined;
          const promised = recovered.changes.reduce((b, c) => ('promised' in c && c.promised !== undefined ? c.promised : b), recovered.snapshot?.promised ?? ballot(0));
          await storage.close();
          if (promised.round !== 7n) wrong.push(`${name} ${code}: opened with the promise ${promised.round}, not 7`);
          // Only what an open does not read may be passed over (a sealed history segment is read when asked for, its index scanned again when missing).
          if (mustRead.includes(name)) wrong.push(`${name} ${code}: opened without it`);
        } catch (err) {
          refused++;
          const e = err as Error;
          if (!(err instanceof DataDirError || err instanceof StorageCorruptionError)) wrong.push(`${name} ${code}: untyped ${e.name}: ${e.message}`);
          else if (!e.message.includes(path.join(dir, name))) wrong.push(`${name} ${code}: the message names no file: ${e.message}`);
          else if (!(code === 'EACCES' ? /fix its permissions/i : /check the device/i).test(e.message)) wrong.push(`${name} ${code}: the message says nothing to do: ${e.message}`);
          else if (/(?<!do not )(start|point) (it|the node) (on|at) (another|a new|an empty) data dir/i.test(e.message)) wrong.push(`${name} ${code}: the message sends the operator elsewhere: ${e.message}`);
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(refused).toBeGreaterThan(0);
  });

  it('a lock file that cannot be opened is refused saying it holds no state and what to do', async () => {
    const lock = path.join(dir, LOCK_FILE);
    const saved = fs.readFileSync(lock);
    fs.rmSync(lock);
    fs.mkdirSync(lock); // SQLite cannot open a directory, whoever runs it
    try {
      const err = await open(dir).then(
        async ({ storage }) => {
          await storage.close();
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DataDirError);
      expect((err as Error).message).toContain(lock);
      expect((err as Error).message).toMatch(/holds no state: fix its permissions, or remove it while no process uses/);
    } finally {
      fs.rmdirSync(lock);
      fs.writeFileSync(lock, saved);
    }
  });
});
