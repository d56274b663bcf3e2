import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asksForJson, failureJson, runCheck } from './check';

describe('npm run check --json when the check itself fails', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'paxos-check-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('answers one JSON document naming the error (no network in the dir)', async () => {
    const argv = ['--dir', dir, '--json'];
    const failure = await runCheck(argv, () => undefined).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(Error);
    expect(asksForJson(argv)).toBe(true);
    expect(JSON.parse(failureJson(failure))).toEqual({ error: expect.stringMatching(/^no network described in .*: start one with npm start \(the default dir\) or npm run launch -- --dir .*$/) });
  });

  it('reads --json from the flags only, not past --', () => {
    expect(asksForJson(['--dir', 'd'])).toBe(false);
    expect(asksForJson(['--', '--json'])).toBe(false);
    expect(asksForJson(['--bogus', '--json'])).toBe(true);
  });
});
