import { memoryOf, parseSmapsRollup, processMemory } from './rss';

/** /proc/<pid>/smaps_rollup of a node process (Linux 6.x), as the kernel writes it. */
const ROLLUP = `55d0c0a00000-7ffd2a1f3000 ---p 00000000 00:00 0                          [rollup]
Rss:               61440 kB
Pss:               30720 kB
Pss_Dirty:         20480 kB
Pss_Anon:          20480 kB
Pss_File:          10240 kB
Pss_Shmem:             0 kB
Shared_Clean:      40960 kB
Shared_Dirty:          0 kB
Private_Clean:       512 kB
Private_Dirty:     19968 kB
Referenced:        61440 kB
Anonymous:         20480 kB
KSM:                   0 kB
LazyFree:              0 kB
AnonHugePages:         0 kB
ShmemPmdMapped:        0 kB
FilePmdMapped:         0 kB
Shared_Hugetlb:        0 kB
Private_Hugetlb:       0 kB
Swap:                  0 kB
SwapPss:            1024 kB
Locked:                0 kB
`;

const STATUS = 'Name:\tnode\nState:\tS (sleeping)\nVmPeak:\t 1200000 kB\nVmRSS:\t   51200 kB\nRssAnon:\t   20480 kB\nThreads:\t11\n';

/** A /proc where each pid has the files given, and reading any other is ENOENT. */
const fakeProc = (files: Record<string, string>) => (path: string) => {
  const text = files[path];
  if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
  return text;
};

describe('memory at rest: RSS and PSS', () => {
  it('reads Rss and Pss from smaps_rollup, not Pss_Anon, Pss_File or SwapPss', () => {
    expect(parseSmapsRollup(ROLLUP)).toEqual({ rssKb: 61440, pssKb: 30720 });
  });

  it('a text without the Rss or Pss line is not a rollup', () => {
    expect(parseSmapsRollup('')).toBeUndefined();
    expect(parseSmapsRollup(STATUS)).toBeUndefined();
    expect(parseSmapsRollup(ROLLUP.replace(/^Pss:.*\n/m, ''))).toBeUndefined();
    expect(parseSmapsRollup(ROLLUP.replace(/^Rss:.*\n/m, ''))).toBeUndefined();
  });

  it('sums RSS and PSS over the processes; one whose rollup is unreadable stands in with its RSS, and is counted', () => {
    const read = fakeProc({
      '/proc/10/smaps_rollup': ROLLUP,
      '/proc/10/status': STATUS,
      '/proc/11/smaps_rollup': ROLLUP,
      '/proc/11/status': STATUS,
      // Another user's process: status is readable, smaps_rollup is not.
      '/proc/12/status': STATUS,
    });
    expect(processMemory(10, read)).toEqual({ rssMb: 60, pssMb: 30, pssFromRss: 0 });
    expect(processMemory(12, read)).toEqual({ rssMb: 50, pssMb: 50, pssFromRss: 1 });
    // 13 is gone, and undefined never started: nothing resident, nothing stood in.
    expect(memoryOf([10, 11, 12, 13, undefined], read)).toEqual({ rssMb: 170, pssMb: 110, pssFromRss: 1 });
  });

  if (process.platform === 'linux') {
    it('this process: its PSS is at most its RSS', () => {
      const m = memoryOf([process.pid]);
      expect(m.rssMb).toBeGreaterThan(0);
      expect(m.pssMb).toBeGreaterThan(0);
      expect(m.pssMb).toBeLessThanOrEqual(m.rssMb);
    });
  }
});
