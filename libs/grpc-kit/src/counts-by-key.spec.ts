import { CountsByKey } from './counts-by-key';

describe('CountsByKey', () => {
  it('refuses a place past the per-key bound and takes none then', () => {
    const counts = new CountsByKey(2);
    expect(counts.take('a')).toBe(true);
    expect(counts.take('a')).toBe(true);
    expect(counts.take('a')).toBe(false);
    expect(counts.of('a')).toBe(2);
    expect(counts.take('b')).toBe(true);
    expect(counts.keys).toBe(2);
  });

  it('forgets a key that gives its last place back, so churn leaves nothing behind', () => {
    const counts = new CountsByKey();
    for (let i = 0; i < 10_000; i++) {
      counts.take(`client-${i}`);
      counts.give(`client-${i}`);
    }
    expect(counts.keys).toBe(0);
    counts.give('never-took');
    expect(counts.of('never-took')).toBe(0);
    expect(counts.keys).toBe(0);
  });

  it('clear gives every place back', () => {
    const counts = new CountsByKey(1);
    counts.take('a');
    counts.clear();
    expect(counts.take('a')).toBe(true);
  });
});
