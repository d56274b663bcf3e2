import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheFilePath, loadSource, serializeCacheFile } from './cache';
import { buildSnapshotCacheFiles, findSnapshotDir } from './snapshot';

const SNAPSHOT = join(__dirname, '../../../data/lmfdb-snapshot');

describe('the shipped snapshot', () => {
  it('source_N.json are exactly what the builder makes of records/ (LMFDB_WRITE_SNAPSHOT=1 rewrites them)', async () => {
    const files = await buildSnapshotCacheFiles(SNAPSHOT);
    expect(files.map((f) => f.count)).toEqual([80, 7, 6, 5, 3, 2, 6, 3, 1, 13]);
    for (const f of files) {
      const text = serializeCacheFile(f);
      if (process.env['LMFDB_WRITE_SNAPSHOT'] === '1') await writeFile(cacheFilePath(SNAPSHOT, f.source), text);
      expect(await readFile(cacheFilePath(SNAPSHOT, f.source), 'utf8')).toBe(text);
    }
  });

  it('loads with every record valid, indexed by label', async () => {
    for (let n = 0; n < 10; n++) {
      const c = await loadSource(SNAPSHOT, n);
      expect([n, c.invalidCount, c.records.filter((r) => !r.check.valid).map((r) => r.check.reasons)]).toEqual([n, 0, []]);
    }
    const mf = await loadSource(SNAPSHOT, 1);
    expect(mf.table).toBe('mf_newspaces');
    expect(mf.get('116.1')?.table).toBe('mf_gamma1');
    expect(mf.get('117.4.a.b')?.table).toBe('mf_newforms');
    expect(findSnapshotDir(__dirname, {})).toBe(SNAPSHOT);
  });
});
