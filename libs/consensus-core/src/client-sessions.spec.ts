import { ClientSessions } from './client-sessions';
import type { ChosenEntry } from './proposer/proposer-types';
import type { Command } from './value';

const ballot = { round: 2n, proposerId: 1 };
const command = (id: string): Command => ({ clientRequestId: id, contentType: 'text/plain', data: Buffer.from(id) });
const entry = (slot: bigint, ids: readonly string[]): ChosenEntry => ({ slot, ballot, value: { kind: 'batch', commands: ids.map(command) } });
const digest = (d: Uint8Array) => `digest:${Buffer.from(d).toString('hex')}`;

describe('client sessions', () => {
  it('remember the last idsMax ids in log order, and keep a ballot, digest and content type for those ids only', () => {
    // A reference from the rule: the ids that took effect, in log order; an id is remembered while it
    // is among the newest idsMax of them, and a copy of an id not remembered takes effect again.
    const idsMax = 7;
    const sessions = new ClientSessions(digest, idsMax);
    const took: Array<{ id: string; slot: bigint; index: number }> = [];
    let x = 11;
    const rnd = (n: number) => {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      return x % n;
    };
    for (let s = 0n; s < 60n; s++) {
      const ids = Array.from({ length: rnd(5) }, () => `c${rnd(15)}`);
      const effects = sessions.apply(entry(s, ids));
      ids.forEach((id, index) => {
        const remembered = took.slice(-idsMax).find((t) => t.id === id);
        expect({ id, slot: s, index, dupOf: effects[index]?.duplicateOf && [effects[index]?.duplicateOf?.slot, effects[index]?.duplicateOf?.index] }).toEqual({
          id,
          slot: s,
          index,
          dupOf: remembered && [remembered.slot, remembered.index],
        });
        if (remembered === undefined) took.push({ id, slot: s, index });
      });
      const newest = took.slice(-idsMax);
      const snap = sessions.snapshot();
      expect(snap.ids).toEqual(newest.map((t) => t.id));
      // The proposer's ballot and digest per id go with the id: none is held for an id no longer remembered.
      expect(snap.details.map(([id]) => id).sort()).toEqual(newest.map((t) => t.id).sort());
      for (const t of newest) expect(sessions.get(t.id)).toEqual({ slot: t.slot, index: t.index, detail: { ballot, digest: digest(Buffer.from(t.id)), contentType: 'text/plain' } });
    }
  });

  it('remember where an id took effect at any position in a slot and at any slot', () => {
    // Past 65,536 commands in a slot, and past slot 2^36, (slot, index) no longer packs into one number.
    const ids = Array.from({ length: 65_538 }, (_, i) => `id-${i}`);
    for (const slot of [5n, 2n ** 36n - 1n, 2n ** 36n, 2n ** 60n]) {
      const sessions = new ClientSessions(undefined, 100_000, slot);
      sessions.apply(entry(slot, ids));
      for (const index of [0, 65_535, 65_536, 65_537]) expect(sessions.get(`id-${index}`)).toEqual({ slot, index });
      const again = ClientSessions.fromSnapshot(sessions.snapshot(), undefined);
      expect(again.get('id-65536')).toEqual({ slot, index: 65_536 });
    }
  });
});
