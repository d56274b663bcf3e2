import { status } from '@grpc/grpc-js';
import { createLogger, INSECURE, startGrpcServer } from '@paxos/grpc-kit';
import { type LogEntry, ReadLogResponse, ReadServiceService } from '@paxos/proto';
import { AGREEMENT_PAGE, compareLogs, formatAgreement } from './log-agreement';

const batch = (id: string): LogEntry['value'] => ({ kind: { $case: 'batch', value: { commands: [{ clientRequestId: id, verifiedBy: [], value: { contentType: 'text/plain', data: Buffer.from(id) } }] } } });

/**
 * An acceptor's ReadService holding `log` (slot -> value) from `first` up to `applied`, at most
 * `perAnswer` entries an answer (as an acceptor bounds its answers in bytes); it counts the calls.
 * Below `cutBelow` it answers OUT_OF_RANGE, as an acceptor whose retention dropped those slots;
 * a read that reaches `damagedAt` answers DATA_LOSS, as one with a damaged history record.
 */
async function logServer(log: (slot: bigint) => LogEntry['value'], first: bigint, applied: bigint, perAnswer = Infinity, cutBelow = 0n, damagedAt = -1n) {
  const calls: Array<{ fromSlot: bigint; maxEntries: number }> = [];
  const running = await startGrpcServer({
    host: '127.0.0.1',
    port: 0,
    maxReceiveBytes: 1 << 20,
    transport: INSECURE,
    logger: createLogger('log-agreement-spec'),
    services: [
      {
        name: 'paxos.v1.ReadService',
        definition: ReadServiceService,
        implementation: {
          readLog: (c: { request: { fromSlot: bigint; maxEntries: number } }, cb: (e: { code: number; details: string } | null, r?: ReadLogResponse) => void) => {
            calls.push(c.request);
            if (c.request.fromSlot < cutBelow) return cb({ code: status.OUT_OF_RANGE, details: `slot ${c.request.fromSlot} is below this acceptor's chosen history` });
            if (damagedAt >= c.request.fromSlot) return cb({ code: status.DATA_LOSS, details: `slot ${damagedAt}: a damaged record in history/00000001.seg` });
            const entries: LogEntry[] = [];
            for (let s = c.request.fromSlot; s < applied && entries.length < Math.min(c.request.maxEntries, perAnswer); s++) if (s >= first) entries.push({ slot: s, outcomes: [], value: log(s) });
            cb(null, ReadLogResponse.fromPartial({ entries, appliedSlot: applied }));
          },
        },
      },
    ],
  });
  return { address: `127.0.0.1:${running.port}`, calls, stop: () => running.shutdown(1000) };
}

describe('npm run check: do the acceptors hold the same chosen values?', () => {
  const same = (s: bigint) => batch(`c${s}`);

  it('compares the slots they share, a page at a time, and finds the first slot held with two values', async () => {
    const forked = (s: bigint) => (s >= 1500n ? batch(`forged${s}`) : same(s));
    const nodes = await Promise.all([logServer(same, 0n, 3000n), logServer(same, 0n, 3000n), logServer(forked, 0n, 2000n)]);
    try {
      const sources = nodes.map((n, i) => ({ name: `acceptor ${i}`, address: n.address, firstSlot: 0n }));
      const agreed = await compareLogs(sources.slice(0, 2), 0n, 3000n, 2000, INSECURE);
      expect(agreed).toMatchObject({ fromSlot: '0', toSlot: '3000', compared: ['acceptor 0', 'acceptor 1'], skipped: [] });
      expect(agreed.divergence).toBeUndefined();
      expect(nodes[0]?.calls.map((c) => [c.fromSlot, c.maxEntries])).toEqual([[0n, AGREEMENT_PAGE], [1024n, AGREEMENT_PAGE], [2048n, 3000 - 2048]]);
      expect(formatAgreement(agreed)).toEqual(['agreement: slots 0..2999 hold the same values on 2 acceptors']);

      const diverged = await compareLogs(sources, 0n, 3000n, 2000, INSECURE);
      expect(diverged.divergence).toMatchObject({ slot: '1500', values: [{ holders: ['acceptor 0', 'acceptor 1'] }, { holders: ['acceptor 2'] }] });
      const [line] = formatAgreement(diverged);
      expect(line).toMatch(/^agreement: DIVERGED at slot 1500: acceptor 0 and acceptor 1 hold [0-9a-f]{12}; acceptor 2 holds [0-9a-f]{12}\. Two values chosen for one slot/);
      expect(line).toContain('Keep every data dir as it is');
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
    }
  });

  it('names an acceptor whose history is damaged, with the rejoin that mends it', async () => {
    const nodes = await Promise.all([logServer(same, 0n, 100n), logServer(same, 0n, 100n), logServer(same, 0n, 100n, Infinity, 0n, 40n)]);
    try {
      const sources = nodes.map((n, i) => ({ name: `acceptor ${i}`, address: n.address, firstSlot: 0n, node: i }));
      const a = await compareLogs(sources, 0n, 100n, 2000, INSECURE);
      expect(a.compared).toEqual(['acceptor 0', 'acceptor 1']);
      expect(formatAgreement(a)).toEqual([
        'agreement: slots 0..99 hold the same values on 2 acceptors',
        expect.stringMatching(/^agreement: not compared: acceptor 2: DATA_LOSS: .*its chosen history is damaged .*npm run rejoin -- --node 2 \(README "A damaged acceptor"\)$/),
      ]);
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
    }
  });

  it('reads a node from where its history starts, names one it cannot read, and says when nothing was compared', async () => {
    const nodes = await Promise.all([logServer(same, 0n, 100n), logServer(same, 60n, 100n)]);
    try {
      const sources = [
        { name: 'acceptor 0', address: nodes[0]?.address ?? '', firstSlot: 0n },
        { name: 'acceptor 1', address: nodes[1]?.address ?? '', firstSlot: 60n },
        { name: 'acceptor 2', address: '127.0.0.1:1', firstSlot: 0n },
      ];
      const a = await compareLogs(sources, 36n, 100n, 2000, INSECURE);
      expect(nodes[1]?.calls).toEqual([{ fromSlot: 60n, maxEntries: 40 }]);
      expect(a).toMatchObject({ compared: ['acceptor 0', 'acceptor 1'], skipped: [expect.stringMatching(/^acceptor 2: /)] });
      // Acceptor 1 keeps slots from 60 on: 36..59 are held by one acceptor, not compared.
      expect(formatAgreement(a)).toEqual([
        'agreement: slots 60..99 hold the same values on 2 acceptors (slots 36..59 were not compared: fewer than two acceptors served them, their histories starting above them under retention)',
        expect.stringMatching(/^agreement: not compared: acceptor 2: /),
      ]);
      expect(formatAgreement(await compareLogs(sources.slice(0, 1), 0n, 100n, 2000, INSECURE))).toEqual(['agreement: fewer than two acceptors could be read for slots 0..99: nothing compared']);
      expect(formatAgreement(await compareLogs(sources, 0n, 0n, 2000, INSECURE))).toEqual(['agreement: no chosen slot to compare yet']);
      expect(formatAgreement({ fromSlot: '0', toSlot: '0', compared: [], skipped: [], oneAcceptor: true })).toEqual(['agreement: this network has one acceptor: there is no second log to compare its log with']);
      // Chosen, not yet applied (check without --settle-ms right after a submit): not "none chosen".
      expect(formatAgreement({ fromSlot: '0', toSlot: '0', compared: [], skipped: [], chosenNotApplied: '1' })).toEqual([
        'agreement: slots below 1 are chosen but no acceptor has applied them yet, nothing to compare (--settle-ms N waits for them)',
      ]);
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
    }
  }, 60_000);

  it('compares a node whose retention cut its history after its range was read on the slots it still holds', async () => {
    const forked = (s: bigint) => (s >= 2500n ? batch(`forged${s}`) : same(s));
    const nodes = await Promise.all([logServer(same, 0n, 3000n), logServer(same, 0n, 3000n, Infinity, 1500n), logServer(forked, 0n, 3000n, Infinity, 1500n)]);
    try {
      // Each said its history starts at slot 0; two of them dropped slots below 1500 since.
      const sources = nodes.map((n, i) => ({ name: `acceptor ${i}`, address: n.address, firstSlot: 0n }));
      const a = await compareLogs(sources.slice(0, 2), 0n, 3000n, 2000, INSECURE);
      // Acceptor 1's read of the page 1024..2047 found it cut (OUT_OF_RANGE): it is compared from the next page on, and the slots below are said not compared.
      expect(a).toMatchObject({ compared: ['acceptor 0', 'acceptor 1'], skipped: [], comparedFrom: '2048' });
      expect(formatAgreement(a)).toEqual(['agreement: slots 2048..2999 hold the same values on 2 acceptors (slots 0..2047 were not compared: fewer than two acceptors served them, their histories starting above them under retention)']);
      expect((await compareLogs(sources, 0n, 3000n, 2000, INSECURE)).divergence).toMatchObject({ slot: '2500', values: [{ holders: ['acceptor 0', 'acceptor 1'] }, { holders: ['acceptor 2'] }] });
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
    }
  }, 60_000);
});

describe('answers bounded in bytes, as an acceptor bounds them', () => {
  const big = (id: string): LogEntry['value'] => ({ kind: { $case: 'batch', value: { commands: [{ clientRequestId: id, verifiedBy: [], value: { contentType: 'text/plain', data: Buffer.alloc(1_500_000, id) } }] } } });

  it('reads on past an answer that ends before the page does, and takes answers above 4 MiB', async () => {
    const same = (s: bigint) => big(`c${s}`);
    const forked = (s: bigint) => (s >= 7n ? big(`forged${s}`) : same(s));
    // 3 values of 1.5 MB: an answer of 4.5 MB, above grpc-js's default 4 MiB.
    const nodes = await Promise.all([logServer(same, 0n, 12n, 3), logServer(forked, 0n, 12n, 3)]);
    try {
      const sources = nodes.map((n, i) => ({ name: `acceptor ${i}`, address: n.address, firstSlot: 0n }));
      const a = await compareLogs(sources, 0n, 12n, 10_000, INSECURE);
      expect(a.skipped).toEqual([]);
      expect(a.divergence).toMatchObject({ slot: '7' });
      expect((await compareLogs(sources, 0n, 7n, 10_000, INSECURE)).divergence).toBeUndefined();
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
    }
  }, 60_000);
});
