import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dataDirState } from './acceptor-data-dir';
import { notCountedBecause, PROPOSER_DEFAULT_WINDOW, proposerWindowFrom, runRejoin } from './rejoin';
import { Metadata, status } from '@grpc/grpc-js';
import { processState } from '@paxos/grpc-kit';
import { writeLayout } from './network-dir';
import { LAUNCH_MARKER_ENV, LAUNCH_NAME_ENV } from './processes';

/**
 * Resolves once /proc shows `pid` stopped. A SIGSTOP takes effect when the kernel next runs the
 * process: the 1 s of polls before were not always enough on a loaded machine, and the spec went
 * on to look at a process still running. The 20 s is a ceiling for a failure that says what it
 * waited for, not a duration the spec asserts.
 */
async function shownStopped(pid: number): Promise<void> {
  const until = performance.now() + 20_000;
  while (processState(pid) !== 'T') {
    if (performance.now() > until) throw new Error(`process ${pid} was not shown stopped in /proc/${pid}/stat 20 s after its SIGSTOP`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("rejoin's margin covers the window a proposer ran with", () => {
  const script = ['/usr/bin/node', '/repo/dist/apps/proposer/main.js', '--id', '1', '--port', '7200'];

  it('reads the window as the proposer config does: the last --window-slots, else PROPOSER_WINDOW, else the default', () => {
    expect(proposerWindowFrom(script, {})).toBe(PROPOSER_DEFAULT_WINDOW);
    expect(proposerWindowFrom(script, { PROPOSER_WINDOW: '' })).toBe(PROPOSER_DEFAULT_WINDOW);
    // launch passes the operator's environment on to the proposers: PROPOSER_WINDOW=128 npm run launch
    expect(proposerWindowFrom(script, { PROPOSER_WINDOW: '128' })).toBe(128);
    expect(proposerWindowFrom([...script, '--window-slots', '500'], { PROPOSER_WINDOW: '128' })).toBe(500);
    expect(proposerWindowFrom([...script, '--window-slots=7', '--window-slots', '9'], {})).toBe(9);
  });

  it('says it cannot tell rather than guess', () => {
    expect(proposerWindowFrom([...script, '--window-slots', 'x'], {})).toBeUndefined();
    expect(proposerWindowFrom(script, { PROPOSER_WINDOW: '1e3' })).toBeUndefined();
  });
});

describe("rejoin reads the lost acceptor's data dir", () => {
  it('calls a rejoined dir whose vote log was then lost again data to move aside, not a rejoin to restart (that start is refused)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rejoin-dir-'));
    try {
      expect(dataDirState(dir)).toBe('empty');
      // An acceptor killed while it started, before it wrote node.json, leaves its lock and temporary files: never a vote.
      for (const f of ['lock.sqlite', 'lock.sqlite-journal', 'node.json.tmp', '.write-probe-4242']) writeFileSync(join(dir, f), '');
      expect(dataDirState(dir)).toBe('empty');
      writeFileSync(join(dir, 'log-0000000000000001.wal'), '');
      expect(dataDirState(dir)).toBe('data');
      rmSync(join(dir, 'log-0000000000000001.wal'));
      writeFileSync(join(dir, 'node.json'), JSON.stringify({ nodeId: 2, formatVersion: 2, rejoin: { promised: '5.1', catchUpTo: '100' } }));
      expect(dataDirState(dir)).toBe('rejoined');
      writeFileSync(join(dir, 'log-lost.txt'), 'log-0000000000000003.wal was deleted while this acceptor was writing it\n');
      expect(dataDirState(dir)).toBe('data');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('rejoin on a stopped network', () => {
  it('is refused, naming the launch that starts the rest first: no floor can be read, and its restart would bring the stopped network back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rejoin-stopped-'));
    try {
      const acceptor = (id: number) => ({ name: `node_${id}`, role: 'acceptor' as const, id, address: `127.0.0.1:${27400 + id}` });
      writeLayout(dir, { createdAt: 'x', proposer: '127.0.0.1:27500', lmfdbCacheDir: '/nonexistent', tls: false, nodes: [acceptor(0), acceptor(1), acceptor(2), { name: 'proposer', role: 'proposer', id: 1, address: '127.0.0.1:27500' }] });
      await expect(runRejoin(['--node', '2', '--dir', dir], () => undefined)).rejects.toThrow(
        new RegExp(`the network in ${dir} is stopped: .*Start it first with npm run launch -- --dir ${dir} --nodes 3 --base-port 27400 .*\\(acceptor 2, which lost its data, stays down\\), then run rejoin again`),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('rejoin of an acceptor whose process still runs', () => {
  it('says how to end it when it is paused: a SIGTERM waits until the process is resumed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rejoin-paused-'));
    const node2 = spawn('sleep', ['60'], { env: { ...process.env, [LAUNCH_MARKER_ENV]: dir, [LAUNCH_NAME_ENV]: 'node_2' }, stdio: 'ignore' });
    try {
      await new Promise((r) => node2.once('spawn', r));
      const acceptor = (id: number) => ({ name: `node_${id}`, role: 'acceptor' as const, id, address: `127.0.0.1:${27400 + id}` });
      writeLayout(dir, { createdAt: 'x', proposer: '127.0.0.1:27500', lmfdbCacheDir: '/nonexistent', tls: false, nodes: [acceptor(0), acceptor(1), acceptor(2), { name: 'proposer', role: 'proposer', id: 1, address: '127.0.0.1:27500' }] });
      writeFileSync(join(dir, 'node_2.pid'), `${node2.pid}\n`);
      node2.kill('SIGSTOP');
      // The stop takes effect once the kernel runs the process again: on a busy machine, after rejoin looked.
      await shownStopped(node2.pid as number);
      // It said "stop it (kill <pid>)", which leaves a paused process where it is.
      await expect(runRejoin(['--node', '2', '--dir', dir], () => undefined)).rejects.toThrow(`acceptor 2 is running (pid ${node2.pid}): a running acceptor has its data. If its disk is gone, stop it (kill ${node2.pid}; kill -CONT ${node2.pid}: it is paused`);
    } finally {
      node2.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("why an acceptor's answer is not counted toward a rejoin's floor", () => {
  const deadline = Object.assign(new Error('4 DEADLINE_EXCEEDED: Deadline exceeded after 3.000s,name resolution: 0.001s,metadata filters: 0.000s'), {
    code: status.DEADLINE_EXCEEDED,
    details: 'Deadline exceeded after 3.000s,name resolution: 0.001s,metadata filters: 0.000s',
    metadata: new Metadata(),
  });

  it("is said without grpc-js's stages, and a paused one with the kill -CONT that resumes it", async () => {
    expect(notCountedBecause(deadline, undefined)).toBe('DEADLINE_EXCEEDED: no answer within 3.000 s (the node paused or overloaded?)');
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      const pid = child.pid as number;
      process.kill(pid, 'SIGSTOP');
      await shownStopped(pid);
      expect(notCountedBecause(deadline, pid)).toMatch(new RegExp(`; its process ${pid} is paused: resume it with kill -CONT ${pid}, then run rejoin again$`));
    } finally {
      child.kill('SIGKILL');
    }
  });
});
