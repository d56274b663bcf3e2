import { DEFAULT_CLUSTER_SIZE, Quorum, QuorumTracker, unsafeQuorumForTesting } from './quorum';

describe('quorum arithmetic (DESIGN section 3)', () => {
  it('the default quorum of 23 is 12', () => {
    const q = Quorum.majority(DEFAULT_CLUSTER_SIZE);
    expect(q.q).toBe(12);
    expect(new Quorum(23).q).toBe(12);
  });

  it('the default quorum is a strict majority of any size, even or odd: floor(n/2) + 1', () => {
    expect([1, 2, 3, 4, 5, 6, 22].map((n) => new Quorum(n).q)).toEqual([1, 2, 2, 3, 3, 4, 12]);
  });

  it('crash tolerance 11 and byzantine tolerance 0 for 12 of 23', () => {
    const q = new Quorum(23, 12);
    expect(q.crashTolerance).toBe(11);
    expect(q.byzantineTolerance).toBe(0);
  });

  it('byzantine tolerance 7 for 16 of 23', () => {
    const q = new Quorum(23, 16);
    expect(q.byzantineTolerance).toBe(7);
    expect(q.crashTolerance).toBe(7);
  });

  it('the quorum module refuses 2q <= n', () => {
    expect(() => new Quorum(23, 11)).toThrow(/2q > n/);
    expect(() => new Quorum(4, 2)).toThrow(/2q > n/);
    expect(() => new Quorum(23, 24)).toThrow(/q <= n/);
    expect(() => new Quorum(23, 0)).toThrow();
    expect(() => new Quorum(23, 12.5)).toThrow(/integer/);
  });

  it('only the named test-only path builds non-intersecting quorums', () => {
    const q = unsafeQuorumForTesting(23, 6);
    expect(q.q).toBe(6);
    expect(q.intersecting).toBe(false);
  });

  it('a tracker counts distinct nodes and fails as soon as a quorum is out of reach', () => {
    const t = new QuorumTracker(new Quorum(5));
    t.recordYes(1);
    t.recordYes(1);
    t.recordNo(2);
    t.recordNo(2);
    expect([t.yes, t.no, t.reached, t.impossible]).toEqual([1, 1, false, false]);
    t.recordNo(3);
    expect(t.impossible).toBe(false);
    t.recordNo(4);
    expect(t.impossible).toBe(true);
    t.recordYes(5);
    expect(t.reached).toBe(false);
    const u = new QuorumTracker(new Quorum(5));
    [0, 1, 2].forEach((id) => u.recordYes(id));
    expect(u.reached).toBe(true);
  });

  it('says which index a quorum of reports reaches', () => {
    const quorum = new Quorum(5);
    expect(quorum.reachedByQuorum([9n, 1n])).toBeUndefined();
    expect(quorum.reachedByQuorum([9n, 1n, 4n, 7n])).toBe(4n);
  });
});
