import { status } from '@grpc/grpc-js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@paxos/grpc-kit';
import { buildFromOptions, describeFailure, EXIT } from './submit';

describe('npm run submit: what a failure means to the sender', () => {
  it('calls only a decided "no" refused; an open outcome names the id to retry with', () => {
    expect(describeFailure(status.FAILED_PRECONDITION, 'claims[0] is false', 'id-1')).toEqual(['refused: FAILED_PRECONDITION: claims[0] is false', EXIT.refused]);
    expect(describeFailure(status.ALREADY_EXISTS, 'id-1 was chosen in slot 4 with other bytes', 'id-1')).toEqual(['refused: ALREADY_EXISTS: id-1 was chosen in slot 4 with other bytes', EXIT.badInput]);
    const [late, lateCode] = describeFailure(status.DEADLINE_EXCEEDED, 'Deadline exceeded', 'id-2');
    expect(lateCode).toBe(EXIT.unavailable);
    expect(late).toBe('not known to be chosen: DEADLINE_EXCEEDED: Deadline exceeded; the proposal may still be chosen: retry with --client-request-id id-2: it is chosen at most once, and a retry answers with its slot');
    expect(describeFailure(status.RESOURCE_EXHAUSTED, '4096 commands are waiting', 'id-3')).toEqual([
      'not chosen yet: RESOURCE_EXHAUSTED: 4096 commands are waiting; retry with --client-request-id id-3: it is chosen at most once, and a retry answers with its slot',
      EXIT.unavailable,
    ]);
    expect(describeFailure(status.INTERNAL, 'x', 'id')[1]).toBe(EXIT.other);
  });
});

describe('npm run submit --file: a file that is not a proposal is bad input (exit 2)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'paxos-submit-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const build = (file: string) => () => buildFromOptions('7', { file, entry: [], claim: [], proposerId: 0 });

  it('names a missing file, a directory, text that is not JSON and JSON that is not a proposal', () => {
    expect(build(join(dir, 'absent.json'))).toThrow(new ConfigError(`--file ${join(dir, 'absent.json')} cannot be read (no such file)`));
    expect(build(dir)).toThrow(new ConfigError(`--file ${dir} cannot be read (it is a directory)`));
    writeFileSync(join(dir, 'text.json'), 'proposal seven');
    expect(build(join(dir, 'text.json'))).toThrow(ConfigError);
    expect(build(join(dir, 'text.json'))).toThrow(/is not JSON/);
    writeFileSync(join(dir, 'list.json'), '[1, 2]');
    expect(build(join(dir, 'list.json'))).toThrow(/must hold one JSON object/);
    writeFileSync(join(dir, 'null.json'), 'null');
    expect(build(join(dir, 'null.json'))).toThrow(/must hold one JSON object/);
    writeFileSync(join(dir, 'wrong.json'), '{"proposal_number": 7, "leaderboard": "none"}');
    expect(build(join(dir, 'wrong.json'))).toThrow(ConfigError);
  });
});
