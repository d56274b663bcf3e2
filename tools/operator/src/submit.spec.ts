import { status } from '@grpc/grpc-js';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, createLogger, INSECURE, startGrpcServer } from '@paxos/grpc-kit';
import { ProposeResponse, ProposerServiceService, VoteOutcome, VotePhase } from '@paxos/proto';
import { PROPOSAL_FILE_BYTES_MAX, readBoundedText } from './bounded-file';
import { wireJson } from './wire-json';
import { buildFromOptions, describeFailure, EXIT, formatChosen, runSubmit } from './submit';

describe('npm run submit: what a failure means to the sender', () => {
  it('calls only a decided "no" refused; an open outcome names the id to retry with', () => {
    expect(describeFailure(status.FAILED_PRECONDITION, 'claims[0] is false', 'id-1')).toEqual(['refused: FAILED_PRECONDITION: claims[0] is false', EXIT.refused]);
    // A proposer at the ballot ceiling refuses everything: not this proposal's fault, nor a retry's cure.
    expect(describeFailure(status.FAILED_PRECONDITION, 'this proposer (id 1) can choose nothing more in this network', 'id-1', { cannotChoose: 'ballot-ceiling' })).toEqual([
      'failed: FAILED_PRECONDITION: this proposer (id 1) can choose nothing more in this network',
      EXIT.other,
    ]);
    expect(describeFailure(status.ALREADY_EXISTS, 'id-1 was chosen in slot 4 with other bytes', 'id-1')).toEqual(['refused: ALREADY_EXISTS: id-1 was chosen in slot 4 with other bytes', EXIT.badInput]);
    // A host name that resolves to nothing: not sent, and the address is to blame (not "is it running?", not "may still be chosen").
    expect(describeFailure(status.UNAVAILABLE, 'Name resolution failed for target dns:no-such-host.invalid:7200', 'id-1')).toEqual([
      'not sent: UNAVAILABLE: no such host: the name in no-such-host.invalid:7200 resolves to no address (a typo in the address?); give --proposer (or PAXOS_PROPOSER) a host that resolves',
      EXIT.unavailable,
    ]);
    // The address came from the network dir's layout: that is where to correct it.
    expect(describeFailure(status.UNAVAILABLE, 'Name resolution failed for target dns:no-such-host.invalid:7200', 'id-1', { addressFrom: '/net/network.json' })[0]).toMatch(
      /^not sent: UNAVAILABLE: no such host: .*; the address comes from \/net\/network\.json: correct it there, or give --proposer a host that resolves$/,
    );
    const [late, lateCode] = describeFailure(status.DEADLINE_EXCEEDED, 'Deadline exceeded', 'id-2');
    expect(lateCode).toBe(EXIT.unavailable);
    expect(late).toBe('not known to be chosen: DEADLINE_EXCEEDED: Deadline exceeded; the proposal may still be chosen: retry with --client-request-id id-2: it is chosen at most once, and a retry answers with its slot');
    expect(describeFailure(status.RESOURCE_EXHAUSTED, '4096 commands are waiting', 'id-3')).toEqual([
      'not chosen: RESOURCE_EXHAUSTED: 4096 commands are waiting; retry with --client-request-id id-3: it is chosen at most once, and a retry answers with its slot',
      EXIT.unavailable,
    ]);
    // A request past the proposer's message bound is refused by grpc-js before any check: no retry cures it.
    expect(describeFailure(status.RESOURCE_EXHAUSTED, 'Received message larger than max (10000213 vs 4194304)', 'id-9')).toEqual([
      'refused: RESOURCE_EXHAUSTED: Received message larger than max (10000213 vs 4194304): the proposal is too large for the proposer to read; no retry changes that: make it smaller (a value may hold 1 MiB)',
      EXIT.badInput,
    ]);
    // A round that reached no quorum may still count: open. A call that never connected: not sent.
    expect(describeFailure(status.UNAVAILABLE, '11 of 23 acceptors answered, 12 needed', 'id-4')[0]).toMatch(/^not known to be chosen: UNAVAILABLE: 11 of 23 .*may still be chosen: retry with --client-request-id id-4/);
    // The proposer turned it away before sending it (too few links connected): not sent, as the proposer says.
    const unsent = '11 of 23 acceptors connected to this proposer, 12 needed: the value was not sent (links reconnect within seconds after a restart or pause); retry with the same client_request_id';
    expect(describeFailure(status.UNAVAILABLE, unsent, 'id-4', { notSent: 'links-not-connected' })).toEqual([`not sent: UNAVAILABLE: ${unsent}; retry with --client-request-id id-4: it is chosen at most once, and a retry answers with its slot`, EXIT.unavailable]);
    // grpc-js's connection text is said as its cause, with the address and what to check.
    expect(describeFailure(status.UNAVAILABLE, 'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:27100. Resolution note: ', 'id-5')[0]).toBe(
      'not sent: UNAVAILABLE: connection refused: nothing listens on 127.0.0.1:27100 (ECONNREFUSED); is the proposer running? npm run check shows which nodes are; retry with --client-request-id id-5: it is chosen at most once, and a retry answers with its slot',
    );
    // The proposer named by a network dir other than the default: the check it names looks there.
    expect(describeFailure(status.UNAVAILABLE, 'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:27100. Resolution note: ', 'id-5', { dir: '/tmp/net-b' })[0]).toMatch(
      /; is the proposer running\? npm run check -- --dir \/tmp\/net-b shows which nodes are; retry with/,
    );
    expect(describeFailure(status.DEADLINE_EXCEEDED, 'Deadline exceeded after 10.002s,name resolution: 0.001s,Waiting for LB pick', 'id-6')[0]).toMatch(/^not known to be chosen: DEADLINE_EXCEEDED: no answer within 10\.002 s \(the node paused or overloaded\?\); the proposal may still be chosen/);
    expect(describeFailure(status.INTERNAL, 'x', 'id')[1]).toBe(EXIT.other);
  });

  it('says this command was held, not the proposer, when its deadline passed long before it noticed (it was paused)', () => {
    // A 2 s deadline that grpc-js reports after 5 s: the command itself did not run meanwhile.
    const [held, code] = describeFailure(status.DEADLINE_EXCEEDED, 'Deadline exceeded after 5.028s,name resolution: 0.001s', 'id-7', { deadlineMs: 2000 });
    expect(held).toBe(
      'not known to be chosen: DEADLINE_EXCEEDED: the 2 s deadline passed while this command was held for 5.028 s (it was paused or starved of CPU; the proposer may have answered in time); the proposal may still be chosen: retry with --client-request-id id-7: it is chosen at most once, and a retry answers with its slot',
    );
    expect(code).toBe(EXIT.unavailable);
    // On time, the proposer is the one that did not answer.
    expect(describeFailure(status.DEADLINE_EXCEEDED, 'Deadline exceeded after 2.004s,name resolution: 0.001s', 'id-8', { deadlineMs: 2000 })[0]).toMatch(/no answer within 2\.004 s \(the node paused or overloaded\?\)/);
  });
});

describe('npm run submit --file: a file that is not a proposal is bad input (exit 2)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'paxos-submit-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const build = (file: string) => () => buildFromOptions('7', { file, entry: [], claim: [] });

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

  it('refuses a device and a file past the bound before reading it, instead of running out of memory', () => {
    // Read whole, /dev/zero ended submit with std::bad_alloc (exit 134) and no message.
    expect(build('/dev/zero')).toThrow(new ConfigError('--file /dev/zero is not a file (a device or socket): give the path of a file'));
    const huge = join(dir, 'huge.json');
    writeFileSync(huge, '');
    truncateSync(huge, PROPOSAL_FILE_BYTES_MAX + 1); // sparse: no disk used
    expect(build(huge)).toThrow(new ConfigError(`--file ${huge} holds ${PROPOSAL_FILE_BYTES_MAX + 1} bytes, more than the ${PROPOSAL_FILE_BYTES_MAX} a proposal file may: is it the right file?`));
    writeFileSync(join(dir, 'small.json'), '{"a": 1}');
    expect(readBoundedText(join(dir, 'small.json'), 8, '--file')).toBe('{"a": 1}');
    expect(() => readBoundedText(join(dir, 'small.json'), 7, '--file')).toThrow(/holds 8 bytes, more than the 7/);
  });

  it('reads the file as UTF-8 and refuses other encodings instead of sending U+FFFD in their place', () => {
    const row = (framework: string) => `{"proposal_number": 7, "leaderboard": [{"framework": "${framework}", "score": "1", "price_per_point": "1", "bid": "1", "ask": "1"}]}`;
    const latin1 = join(dir, 'latin1.json');
    writeFileSync(latin1, Buffer.from(row('caf\xe9'), 'latin1'));
    expect(build(latin1)).toThrow(new ConfigError(`--file ${latin1} is not UTF-8 text (byte ${row('caf\xe9').indexOf('\xe9')} is not): save it as UTF-8`));
    const utf16 = join(dir, 'utf16.json');
    writeFileSync(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(row('x'), 'utf16le')]));
    expect(build(utf16)).toThrow(new ConfigError(`--file ${utf16} is UTF-16 text (it starts with a UTF-16 byte order mark): save it as UTF-8`));
    // A UTF-8 byte order mark is dropped; a real U+FFFD in the text is text.
    const bom = join(dir, 'bom.json');
    writeFileSync(bom, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(row('caf\u00e9 \ufffd'), 'utf8')]));
    expect(buildFromOptions('7', { file: bom, entry: [], claim: [] }).leaderboard[0]?.framework).toBe('caf\u00e9 \ufffd');
    const late = join(dir, 'late.json');
    writeFileSync(late, Buffer.concat([Buffer.from(row('\ufffd\ufffd'), 'utf8'), Buffer.from([0x20, 0xc3])]));
    expect(build(late)).toThrow(`byte ${Buffer.byteLength(row('\ufffd\ufffd')) + 1} is not`);
  });

  it('refuses a leaderboard_sha256 that is not text instead of sending the computed one', () => {
    const file = join(dir, 'hash-number.json');
    writeFileSync(file, '{"proposal_number": 7, "leaderboard": [], "leaderboard_sha256": 123}');
    expect(build(file)).toThrow(new ConfigError(`--file ${file}: leaderboard_sha256 must be a string of 64 hex digits, or left out to have it computed`));
  });

  it('says JSON nested too deep to read is that, not that it is not JSON', () => {
    const file = join(dir, 'deep.json');
    writeFileSync(file, `{"proposal_number": 7, "claims": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
    expect(build(file)).toThrow(new ConfigError(`--file ${file} nests lists or objects too deep to read (a proposal nests 3 deep): is it the right file?`));
  });

  it('refuses an integer too long to be any number of a proposal before reading it (reading one costs more than linear time)', () => {
    const file = join(dir, 'long-integer.json');
    writeFileSync(file, `{"proposal_number": 7, "claims": [{"source": 0, "label": "11.a2", "field": "jinv", "value": ${'9'.repeat(10_001)}}]}`);
    expect(build(file)).toThrow(new ConfigError(`--file ${file} holds an integer of 10001 digits, above the 10000 a number may have (a proposal's numbers have at most 32 characters): is it the right file?`));
    // A claim's value may be a long integer written as a number, up to the bound.
    const fits = join(dir, 'long-integer-fits.json');
    writeFileSync(fits, `{"proposal_number": 7, "claims": [{"source": 0, "label": "11.a2", "field": "jinv", "value": -${'9'.repeat(10_000)}}]}`);
    expect(buildFromOptions('7', { file: fits, entry: [], claim: [] }).claims[0]?.claimedValue).toBe(`-${'9'.repeat(10_000)}`);
  });

  it('refuses flags that contradict the file instead of letting one silently win', () => {
    const file = join(dir, 'seven.json');
    writeFileSync(file, JSON.stringify({ proposal_number: 7, proposer_id: 2, leaderboard: [{ framework: 'f', score: '1', price_per_point: '1', bid: '1', ask: '1' }], claims: [], leaderboard_sha256: 'ab'.repeat(32) }));
    expect(buildFromOptions('7', { file, entry: [], claim: [] })).toMatchObject({ proposalNumber: 7n, proposerId: 2, leaderboardSha256: 'ab'.repeat(32) });
    expect(() => buildFromOptions('8', { file, entry: [], claim: [] })).toThrow(/holds proposal_number 7, the command line says 8/);
    expect(() => buildFromOptions('7', { file, entry: [], claim: [], proposerId: 3 })).toThrow(/holds proposer_id 2, --proposer-id says 3/);
    expect(() => buildFromOptions('7', { file, entry: ['g,2,1,1,1'], claim: [] })).toThrow(/gives a leaderboard_sha256, which --entry\/--claim would change/);
  });
});

describe('npm run submit: a proposal number a uint64 cannot hold', () => {
  it('is bad input (exit 2) naming the range, not an encoder error', () => {
    expect(() => buildFromOptions('18446744073709551616', { entry: [], claim: [] })).toThrow(ConfigError);
    expect(() => buildFromOptions('99999999999999999999999', { entry: [], claim: [] })).toThrow('must be an integer in 0..18446744073709551615');
    expect(buildFromOptions('18446744073709551615', { entry: [], claim: [] }).proposalNumber).toBe(18_446_744_073_709_551_615n);
  });
});

describe('npm run submit --proposer', () => {
  it('is bad input (exit 2) when it is not one host:port, before anything is sent', async () => {
    const out = () => undefined;
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await expect(runSubmit(['1', '--proposer', '127.0.0.1:99999'], out)).rejects.toThrow(new ConfigError('--proposer: "127.0.0.1:99999" names port 99999, not one of 1..65535'));
      await expect(runSubmit(['1', '--proposer', 'bad host:1'], out)).rejects.toThrow(new ConfigError('--proposer: "bad host:1" is not host:port'));
      await expect(runSubmit(['1', '--proposer', '127.0.0.1:1,127.0.0.1:2'], out)).rejects.toThrow(new ConfigError('--proposer names 2 addresses: give the one proposer to send to'));
    } finally {
      stderr.mockRestore();
    }
  });
});

describe('npm run submit: the chosen line', () => {
  it("names its digest as the proposal's bytes (check's value digest is the slot's whole value)", () => {
    const digest = 'ab'.repeat(32);
    const r = ProposeResponse.fromPartial({ clientRequestId: 'r1', slot: 6n, ballot: { round: 5n, proposerId: 1 }, valueDigest: digest });
    expect(formatChosen(r, 23).at(-1)).toBe(`consensus: chosen in slot 6 under ballot 5.1 (value digest ${'ab'.repeat(8)}: sha256 of the proposal's bytes)`);
    const old = ProposeResponse.fromPartial({ clientRequestId: 'r1', slot: 2n, duplicate: true });
    expect(formatChosen(old, 23).at(-1)).toBe("consensus: already chosen in slot 2 under ballot - (value digest not known: sha256 of the proposal's bytes)");
  });
});

describe('npm run submit --json', () => {
  jest.setTimeout(30_000);

  it("writes the proposer's answer as read --json writes its answers: protobuf's JSON mapping, enums by name", async () => {
    const answer = ProposeResponse.fromPartial({
      clientRequestId: 'r-json',
      slot: 2n ** 63n,
      ballot: { round: 7n, proposerId: 1 },
      valueDigest: 'ab',
      votes: [
        { nodeId: 0, address: '127.0.0.1:1', phase: VotePhase.VOTE_PHASE_PREPARE, outcome: VoteOutcome.VOTE_OUTCOME_PROMISED, ballot: { round: 7n, proposerId: 1 } },
        { nodeId: 0, address: '127.0.0.1:1', phase: VotePhase.VOTE_PHASE_ACCEPT, outcome: VoteOutcome.VOTE_OUTCOME_ACCEPTED, detail: 'ok' },
      ],
    });
    const running = await startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      maxReceiveBytes: 1 << 20,
      transport: INSECURE,
      logger: createLogger('submit-json-spec'),
      services: [{ name: 'paxos.v1.ProposerService', definition: ProposerServiceService, implementation: { propose: (_c: unknown, cb: (e: null, r: ProposeResponse) => void) => cb(null, answer) } }],
    });
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    // The client certificate comes from the network dir: the default one (~/.openclaw/consensus)
    // may hold a launched TLS network, whose certificate this plaintext server would not take.
    const networkDir = process.env['PAXOS_NETWORK_DIR'];
    const emptyDir = mkdtempSync(join(tmpdir(), 'paxos-submit-json-'));
    process.env['PAXOS_NETWORK_DIR'] = emptyDir;
    try {
      const lines: string[] = [];
      expect(await runSubmit(['1', '--proposer', `127.0.0.1:${running.port}`, '--json'], (l) => lines.push(l))).toBe(EXIT.chosen);
      const doc = JSON.parse(lines.join('\n')) as { slot: string; votes: Array<{ phase: unknown; outcome: unknown }> };
      expect(doc.slot).toBe('9223372036854775808');
      expect(doc.votes.map((v) => [v.phase, v.outcome])).toEqual([
        ['VOTE_PHASE_PREPARE', 'VOTE_OUTCOME_PROMISED'],
        ['VOTE_PHASE_ACCEPT', 'VOTE_OUTCOME_ACCEPTED'],
      ]);
      // The very function read --json writes with.
      expect(lines.join('\n')).toBe(wireJson(answer, 'paxos.v1.ProposeResponse'));
    } finally {
      if (networkDir === undefined) delete process.env['PAXOS_NETWORK_DIR'];
      else process.env['PAXOS_NETWORK_DIR'] = networkDir;
      rmSync(emptyDir, { recursive: true, force: true });
      stderr.mockRestore();
      await running.shutdown(1000);
    }
  });
});
