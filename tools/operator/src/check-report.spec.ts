import { configurationProblem, formatCheck, healthProblem, withCertificateHint } from './check-report';

const status = (nodeId: number, clusterSize: number, source: number) => ({
  nodeId,
  clusterSize,
  dataSource: { source, table: 't', loaded: true, rowCount: 1n, invalidCount: 0n, snapshotSha256: '', baseUrl: '', fetchedAt: '', error: '' },
});

describe('npm run check: an acceptor configured unlike the network is named', () => {
  it('finds a wrong id, network size or source, and says what to change', () => {
    expect(configurationProblem(13, 23, status(13, 23, 3))).toBeUndefined();
    expect(configurationProblem(13, 23, status(13, 13, 3))).toBe('was started for 13 acceptors, the network has 23 (restart it with --cluster-size 23)');
    expect(configurationProblem(13, 23, status(12, 23, 3))).toMatch(/^answers as acceptor 12, the layout has acceptor 13 here$/);
    expect(configurationProblem(13, 23, status(13, 23, 4))).toMatch(/holds LMFDB source 4, acceptor 13 holds source 3/);
  });

  it('prints one line per misconfigured acceptor after the table', () => {
    const lines = formatCheck({
      proposer: { address: 'a:9', answering: true },
      serving: true,
      nodes: [
        { node: 0, address: 'a:1', alive: true, committedIndex: '5' },
        { node: 1, address: 'a:2', alive: true, committedIndex: '5', misconfigured: 'was started for 5 acceptors, the network has 3 (restart it with --cluster-size 3)' },
      ],
      alive: 2,
      voting: 2,
      clusterSize: 3,
      quorumSize: 2,
      crashTolerance: 1,
      byzantineTolerance: 0,
      quorumAlive: true,
      committedIndex: '5',
      holdingLatest: 2,
      appliedLatest: 2,
    });
    expect(lines.at(-1)).toBe('configuration: acceptor 1 (a:2) was started for 5 acceptors, the network has 3 (restart it with --cluster-size 3)');
  });
});

describe('npm run check: a node of another network', () => {
  it('is named as such when its certificate does not chain to this network\'s CA', () => {
    expect(withCertificateHint('UNAVAILABLE: No connection established. Last error: self-signed certificate in certificate chain')).toMatch(/\(a node made with another network's CA answers on this port/);
    expect(withCertificateHint('UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED')).toBe('UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED');
  });
});

describe('npm run check: an alive acceptor that cannot do its work', () => {
  it('is named with why: storage failed (it does not vote), or no agreed state (it serves no reads)', () => {
    const storage = (healthy: boolean, error = '') => ({ healthy, error, dataDir: '', logBytes: 0n, snapshotSlot: 0n, fsyncs: 0n, historyFirstSlot: 0n, historyBytes: 0n });
    expect(healthProblem({ storage: storage(true), stateError: '' })).toBeUndefined();
    expect(healthProblem({ storage: storage(false, 'fdatasync of /d/log-1.wal failed: ENOSPC'), stateError: '' })).toBe('does not vote: its storage failed (fdatasync of /d/log-1.wal failed: ENOSPC)');
    expect(healthProblem({ storage: storage(true), stateError: 'the chosen history starts at slot 83 and no state snapshot covers the slots below it' })).toBe(
      'serves no reads: the chosen history starts at slot 83 and no state snapshot covers the slots below it',
    );
    const lines = formatCheck({
      proposer: { address: 'a:9', answering: true },
      serving: true,
      nodes: [{ node: 4, address: 'a:5', alive: true, committedIndex: '5', unhealthy: 'serves no reads: x' }],
      alive: 1,
      voting: 1,
      clusterSize: 1,
      quorumSize: 1,
      crashTolerance: 0,
      byzantineTolerance: 0,
      quorumAlive: true,
      committedIndex: '5',
      holdingLatest: 1,
      appliedLatest: 1,
    });
    expect(lines.at(-1)).toBe('health: acceptor 4 (a:5) serves no reads: x; see its log');
  });
});

describe('npm run check: a network whose processes are all stopped', () => {
  it('says no acceptor answered and how to bring them back, not that nothing was chosen', () => {
    const lines = formatCheck(
      {
        proposer: { address: 'a:9', answering: false, error: 'UNAVAILABLE: connection refused: nothing listens on a:9 (ECONNREFUSED)' },
        serving: false,
        nodes: [0, 1, 2].map((node) => ({ node, address: `a:${node + 1}`, alive: false, error: 'UNAVAILABLE: connection refused' })),
        alive: 0,
        voting: 0,
        clusterSize: 3,
        quorumSize: 2,
        crashTolerance: 1,
        byzantineTolerance: 0,
        quorumAlive: false,
        committedIndex: '0',
        holdingLatest: 0,
        appliedLatest: 0,
        agreement: { fromSlot: '0', toSlot: '0', compared: [], skipped: [] },
      },
      '/tmp/net',
    );
    expect(lines).toContain('consensus: no acceptor answered: is the network running? npm run launch -- --restart-missing --dir /tmp/net brings back the nodes whose process is gone');
    expect(lines).toContain('agreement: could not be compared: no acceptor answered');
    expect(lines.join('\n')).not.toMatch(/0 of 0 alive|no chosen slot to compare yet/);
  });

  it('with every acceptor paused, says to resume them, not to start stopped nodes again', () => {
    const report = (paused: boolean[]) =>
      formatCheck(
        {
          proposer: { address: 'a:9', answering: false, error: 'DEADLINE_EXCEEDED' },
          serving: false,
          nodes: paused.map((p, node) => ({ node, address: `a:${node + 1}`, alive: false, error: 'DEADLINE_EXCEEDED', process: p ? { running: true as const, pid: 40 + node, paused: true } : { running: false as const } })),
          alive: 0,
          voting: 0,
          clusterSize: paused.length,
          quorumSize: 2,
          crashTolerance: 1,
          byzantineTolerance: 0,
          quorumAlive: false,
          committedIndex: '0',
          holdingLatest: 0,
          appliedLatest: 0,
        },
        '/tmp/net',
      );
    expect(report([true, true, true])).toContain("consensus: no acceptor answered: every acceptor's process is paused: resume them (kill -CONT, each named below)");
    expect(report([true, false, true])).toContain(
      'consensus: no acceptor answered: 2 of them are paused (resume them with kill -CONT, each named below); npm run launch -- --restart-missing --dir /tmp/net brings back the nodes whose process is gone',
    );
  });
});

describe('npm run check: a proposer or status page that does not answer', () => {
  const report = (proposer: object, statusPage: object) =>
    formatCheck(
      {
        proposer: { address: 'a:9', answering: false, ...proposer },
        statusPage: { address: 'a:10', answering: false, ...statusPage },
        serving: false,
        nodes: [{ node: 0, address: 'a:1', alive: true, committedIndex: '0' }],
        alive: 1,
        voting: 1,
        clusterSize: 1,
        quorumSize: 1,
        crashTolerance: 0,
        byzantineTolerance: 0,
        quorumAlive: true,
        committedIndex: '0',
        holdingLatest: 1,
        appliedLatest: 1,
      },
      '/tmp/net',
    );

  it('says how to start again the one whose process is gone (killed), as it does for the acceptors', () => {
    const lines = report({ error: 'UNAVAILABLE: connection refused', process: { running: false } }, { error: 'http://a:10/: ECONNREFUSED', process: { running: false } });
    expect(lines).toContain('proposer a:9: NOT serving (UNAVAILABLE: connection refused): clients cannot propose; its process is not running: npm run launch -- --restart-missing --dir /tmp/net starts it again');
    expect(lines).toContain('status page: NOT answering (http://a:10/: ECONNREFUSED): its process is not running: npm run launch -- --restart-missing --dir /tmp/net starts it again');
  });

  it('names the paused process and how to resume it', () => {
    const lines = report({ error: 'DEADLINE_EXCEEDED', process: { running: true, pid: 41, paused: true } }, { error: 'no answer in time (paused?)', process: { running: true, pid: 42, paused: true } });
    expect(lines).toContain('proposer a:9: NOT serving (DEADLINE_EXCEEDED): clients cannot propose; its process 41 is paused (stopped by a signal): resume it with kill -CONT 41');
    expect(lines).toContain('status page: NOT answering (no answer in time (paused?)): its process 42 is paused (stopped by a signal): resume it with kill -CONT 42');
  });

  it('points at the log when its process runs', () => {
    const lines = report({ error: 'x', process: { running: true, pid: 41, paused: false } }, { error: 'y' });
    expect(lines).toContain('proposer a:9: NOT serving (x): clients cannot propose; see proposer.log');
    expect(lines).toContain('status page: NOT answering (y): see status-page.log');
  });
});

describe('npm run check: an acceptor that does not answer', () => {
  it('names its paused process and how to resume it, or how to start it again when it is gone', () => {
    const lines = formatCheck(
      {
        proposer: { address: 'a:9', answering: true },
        serving: true,
        nodes: [
          { node: 0, address: 'a:1', alive: true, committedIndex: '0' },
          { node: 1, address: 'a:2', alive: false, error: 'DEADLINE_EXCEEDED', process: { running: true, pid: 41, paused: true } },
          { node: 2, address: 'a:3', alive: false, error: 'UNAVAILABLE: connection refused', process: { running: false } },
          { node: 3, address: 'a:4', alive: false, error: 'not checked' },
          { node: 4, address: 'a:5', alive: false, error: 'UNAVAILABLE: connection refused', process: { running: false, lastWords: 'storage corruption: history/00000042.seg: CRC mismatch at byte 4096' } },
        ],
        alive: 1,
        voting: 1,
        clusterSize: 5,
        quorumSize: 3,
        crashTolerance: 1,
        byzantineTolerance: 0,
        quorumAlive: false,
        committedIndex: '0',
        holdingLatest: 1,
        appliedLatest: 1,
      },
      '/tmp/net',
    );
    expect(lines).toContain('down: acceptor 1 (a:2) its process 41 is paused (stopped by a signal): resume it with kill -CONT 41');
    expect(lines).toContain('down: acceptor 2 (a:3) its process is not running: npm run launch -- --restart-missing --dir /tmp/net starts it again');
    // A node that ended saying why (it refused to start): its log's last words, before the restart that will not help until they are mended.
    expect(lines).toContain(
      'down: acceptor 4 (a:5) its process is not running (its log ends: storage corruption: history/00000042.seg: CRC mismatch at byte 4096): npm run launch -- --restart-missing --dir /tmp/net starts it again once that is mended',
    );
    expect(lines.filter((l) => l.startsWith('down:'))).toHaveLength(3);
  });

  it('quotes a dir a shell would split, in every command it names', () => {
    // "--dir /tmp/my net" pasted back gave stop and launch a stray argument "net", refused.
    const lines = formatCheck(
      {
        proposer: { address: 'a:9', answering: false, error: 'UNAVAILABLE', process: { running: false } },
        serving: false,
        nodes: [
          { node: 0, address: 'a:1', alive: false, error: 'UNAVAILABLE', process: { running: false } },
          { node: 1, address: 'a:2', alive: false, error: 'UNAVAILABLE', process: { running: false, lostData: { id: 1, dataDir: '/tmp/my net/node_1.data' } } },
        ],
        alive: 0,
        voting: 0,
        clusterSize: 2,
        quorumSize: 2,
        crashTolerance: 0,
        byzantineTolerance: 0,
        quorumAlive: false,
        committedIndex: '0',
        holdingLatest: 0,
        appliedLatest: 0,
      },
      '/tmp/my net',
    );
    const commands = lines.flatMap((l) => [...l.matchAll(/npm run [a-z]+ -- [^:;]*?(?= starts| brings|$)/g)].map((m) => m[0]));
    expect(commands).toEqual([
      "npm run launch -- --restart-missing --dir '/tmp/my net'",
      "npm run launch -- --restart-missing --dir '/tmp/my net'",
      "npm run launch -- --restart-missing --dir '/tmp/my net'",
      "npm run rejoin -- --node 1 --dir '/tmp/my net'",
    ]);
  });
});
