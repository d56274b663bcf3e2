import { replayCommand } from '@paxos/consensus-core/testing';
import { parseSimulateArgs, summaryLine } from './simulate-args';
import { main } from './simulate';
import { benchAcceptorSteps } from './acceptor-steps';

describe('simulate command line', () => {
  it('defaults to seeds 1..100 on 23 acceptors', () => {
    const a = parseSimulateArgs([]);
    expect(a.kind === 'run' && [a.fromSeed, a.seeds, a.base.acceptors, a.base.unsafeQuorum]).toEqual([1, 100, 23, false]);
  });

  it('replays one seed with --seed alone', () => {
    const a = parseSimulateArgs(['--seed', '12345', '--acceptors', '5']);
    expect(a.kind === 'run' && [a.fromSeed, a.seeds, a.base.acceptors]).toEqual([12345, 1, 5]);
  });

  it('an unsafe --quorum runs with a warning instead of failing the assertion', () => {
    const a = parseSimulateArgs(['--seeds', '3', '--quorum', '6']);
    expect(a.kind).toBe('run');
    expect(a.kind === 'run' && a.base.unsafeQuorum).toBe(true);
    expect(a.kind === 'run' && a.warnings[0]).toMatch(/UNSAFE/);
  });

  it('--partial-slots reaches the proposers and the replay line', () => {
    const a = parseSimulateArgs(['--seed', '7', '--acceptors', '5', '--partial-slots', '8']);
    expect(a.kind === 'run' && a.base.partialSlotsMax).toBe(8);
    expect(a.kind === 'run' && replayCommand({ ...a.base, seed: 7 })).toBe('npm run simulate -- --seed 7 --acceptors 5 --partial-slots 8');
  });

  it('--accept-fanout reaches the proposers and the replay line, and must lie between quorum and n', () => {
    const a = parseSimulateArgs(['--seed', '7', '--acceptors', '5', '--accept-fanout', '3']);
    expect(a.kind === 'run' && a.base.acceptFanout).toBe(3);
    expect(a.kind === 'run' && replayCommand({ ...a.base, seed: 7 })).toBe('npm run simulate -- --seed 7 --acceptors 5 --accept-fanout 3');
    expect(parseSimulateArgs(['--acceptors', '5', '--accept-fanout', '2']).kind).toBe('error');
    expect(parseSimulateArgs(['--acceptors', '5', '--accept-fanout', '6']).kind).toBe('error');
  });

  it('refuses bad input with a message', () => {
    expect(parseSimulateArgs(['--seeds', 'x']).kind).toBe('error');
    expect(parseSimulateArgs(['--quorum', '30']).kind).toBe('error');
    expect(parseSimulateArgs(['--nope']).kind).toBe('error');
    expect(parseSimulateArgs(['--help']).kind).toBe('help');
  });

  it('names the allowed range for a number too large as well as too small', () => {
    expect(parseSimulateArgs(['--seeds', '99999999999999999999'])).toEqual({ kind: 'error', message: '--seeds must be an integer in 1..9007199254740991 (got 99999999999999999999)' });
    expect(parseSimulateArgs(['--seeds', '0'])).toEqual({ kind: 'error', message: '--seeds must be an integer in 1..9007199254740991 (got 0)' });
    expect(parseSimulateArgs(['--seed', '9007199254740991', '--seeds', '2'])).toEqual({
      kind: 'error',
      message: '--seed 9007199254740991 with --seeds 2 runs seeds past 9007199254740991: give at most --seeds 1',
    });
    expect(parseSimulateArgs(['--seed', '9007199254740991']).kind).toBe('run');
  });

  it('prints the summary line with one decimal', () => {
    expect(summaryLine(10, 0, 1.234)).toBe('seeds=10 violations=0 seconds=1.2');
  });

  it('exits 0 on a clean sweep and 1 when the unsafe quorum is caught', () => {
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(main(['--seeds', '2', '--acceptors', '5'])).toBe(0);
    expect(log.mock.calls.at(-1)?.[0]).toMatch(/^seeds=2 violations=0 seconds=\d+\.\d$/);
    expect(log.mock.calls[0]?.[0]).toBe('simulation: seeds 1..2');
    expect(main(['--seeds', '2', '--seed', '2', '--quorum', '6'])).toBe(1);
    expect(log.mock.calls.some((c) => /replay: npm run simulate -- --seed 2 --acceptors 23 --quorum 6/.test(String(c[0])))).toBe(true);
    log.mockRestore();
    warn.mockRestore();
  });

  it('the acceptor benchmark runs', () => {
    expect(benchAcceptorSteps(3000).steps).toBe(3000);
  });
});
