import { copyFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findSnapshotDir } from '@paxos/lmfdb-client';
import { sourcesToFill } from './launch-network';

describe('launch fills the LMFDB cache sources that are missing or damaged', () => {
  let dir: string;
  const snapshot = findSnapshotDir() as string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lmfdb-cache-'));
    for (let n = 0; n < 10; n++) copyFileSync(join(snapshot, `source_${n}.json`), join(dir, `source_${n}.json`));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('leaves a whole cache alone', async () => {
    expect([...(await sourcesToFill(dir)).keys()]).toEqual([]);
  });

  it('names a missing source', async () => {
    unlinkSync(join(dir, 'source_4.json'));
    expect([...(await sourcesToFill(dir)).entries()]).toEqual([[4, 'missing']]);
  });

  it('names a source whose file is cut short or whose rows were changed: the nodes would not load it', async () => {
    truncateSync(join(dir, 'source_3.json'), 300);
    const path = join(dir, 'source_7.json');
    writeFileSync(path, readFileSync(path, 'utf8').replace(/"label": ?"/, '"label": "x'));
    const fill = await sourcesToFill(dir);
    expect([...fill.keys()]).toEqual([3, 7]);
    expect(fill.get(3)).toMatch(/source_3\.json: not JSON/);
    expect(fill.get(7)).toMatch(/source_7\.json: sha256 is/);
  });

  it('names a file that holds another source', async () => {
    copyFileSync(join(dir, 'source_1.json'), join(dir, 'source_2.json'));
    expect(await sourcesToFill(dir)).toEqual(new Map([[2, expect.stringMatching(/holds source 1/)]]));
  });
});
