import { readFileSync } from 'node:fs';

/** Resident memory of a process in MiB (0 when it is gone). */
export function rssMb(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * The Rss and Pss lines of a /proc/<pid>/smaps_rollup, in kB; undefined when the text lacks
 * either (not a rollup, or a kernel without Pss). Pss (proportional set size) counts each shared
 * page divided among the processes that map it: summed over 24 processes running one node binary
 * it counts those pages once, where the Rss sum counts them 24 times.
 */
export function parseSmapsRollup(text: string): { rssKb: number; pssKb: number } | undefined {
  const rss = /^Rss:\s+(\d+) kB$/m.exec(text);
  const pss = /^Pss:\s+(\d+) kB$/m.exec(text);
  if (!rss || !pss) return undefined;
  return { rssKb: Number(rss[1]), pssKb: Number(pss[1]) };
}

export interface MemorySum {
  /** VmRSS summed over the processes, MiB: shared pages counted once per process mapping them. */
  readonly rssMb: number;
  /** Pss summed over the processes, MiB: shared pages counted once in all. */
  readonly pssMb: number;
  /** Live processes whose smaps_rollup could not be read: their RSS stands in for their PSS. */
  readonly pssFromRss: number;
}

/** One process's memory (reads `/proc/<pid>/…` through `read`, a seam for the specs). */
export function processMemory(pid: number | undefined, read: (path: string) => string = (p) => readFileSync(p, 'utf8')): MemorySum {
  if (pid === undefined) return { rssMb: 0, pssMb: 0, pssFromRss: 0 };
  let rollup: { rssKb: number; pssKb: number } | undefined;
  try {
    rollup = parseSmapsRollup(read(`/proc/${pid}/smaps_rollup`));
  } catch {
    rollup = undefined;
  }
  if (rollup) return { rssMb: rollup.rssKb / 1024, pssMb: rollup.pssKb / 1024, pssFromRss: 0 };
  let rssKb: number | undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(read(`/proc/${pid}/status`));
    rssKb = m ? Number(m[1]) : undefined;
  } catch {
    rssKb = undefined;
  }
  // Gone (or a kernel thread, with no VmRSS): nothing resident, nothing stood in.
  if (rssKb === undefined) return { rssMb: 0, pssMb: 0, pssFromRss: 0 };
  return { rssMb: rssKb / 1024, pssMb: rssKb / 1024, pssFromRss: 1 };
}

/** RSS and PSS summed over processes, with how many PSS figures are their RSS instead. */
export function memoryOf(pids: ReadonlyArray<number | undefined>, read?: (path: string) => string): MemorySum {
  let rss = 0;
  let pss = 0;
  let fromRss = 0;
  for (const pid of pids) {
    const m = processMemory(pid, read);
    rss += m.rssMb;
    pss += m.pssMb;
    fromRss += m.pssFromRss;
  }
  return { rssMb: rss, pssMb: pss, pssFromRss: fromRss };
}
