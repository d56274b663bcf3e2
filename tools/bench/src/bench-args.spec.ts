import { ConfigError, parseCommand } from '@paxos/grpc-kit';
import { benchCommand, benchMode, parseConcurrencyLevels } from './bench-args';

const parse = (...argv: string[]) => parseCommand(benchCommand, argv, {});

describe('bench command line', () => {
  it('takes the concurrency levels in order', () => {
    expect(parseConcurrencyLevels('1,16,64,256')).toEqual([1, 16, 64, 256]);
    expect(parseConcurrencyLevels(' 8 , 2 ')).toEqual([8, 2]);
  });

  it.each([['0'], ['-1'], ['1,,2'], [''], ['1.5'], ['1e2'], ['0x10'], ['10001'], ['a']])('refuses --concurrency "%s" with a message naming the flag', (text) => {
    expect(() => parseConcurrencyLevels(text)).toThrow(ConfigError);
    expect(() => parseConcurrencyLevels(text)).toThrow(/--concurrency must list whole numbers of clients, 1\.\.10000/);
  });

  it('refuses a level given twice (its runs would be pooled into one median)', () => {
    expect(() => parseConcurrencyLevels('1,256,1')).toThrow(/--concurrency lists 1 twice/);
  });

  it.each([
    [['--duration', '0'], /--duration must be 1\.\.86400, got 0/],
    [['--duration', '-1'], /--duration/],
    [['--repeats', '0'], /--repeats must be 1\.\.20, got 0/],
    [['--bulk-size', '0'], /--bulk-size must be 1\.\.1024/],
    [['--streams-per-channel', '0'], /--streams-per-channel must be 1\.\.256/],
    [['--history-slots', '0'], /--history-slots must be/],
    [['--catch-up-slots', '0'], /--catch-up-slots must be/],
    [['--acceptors', '0'], /--acceptors must be 1\.\.100/],
    [['--no-such-flag'], /no-such-flag/],
  ])('refuses %j', (argv, message) => {
    expect(() => parse(...argv)).toThrow(ConfigError);
    expect(() => parse(...argv)).toThrow(message);
  });

  const modeOf = (...argv: string[]) => {
    const p = parse(...argv);
    if (p.help) throw new Error('help');
    return benchMode(p.options, p.given);
  };

  it.each([
    [[], 'load'],
    [['--dir', '/tmp/x', '--concurrency', '256', '--stream', '--bulk'], 'load'],
    [['--stream-only', '--bulk'], 'load'],
    [['--acceptor', '--value-bytes', '100'], 'acceptor'],
    [['--compare-etcd', '--concurrency', '1,256', '--duration', '6', '--repeats', '2', '--acceptors', '5'], 'compare-etcd'],
    [['--agreed-state', '--history-slots', '10000', '--catch-up-slots', '500'], 'agreed-state'],
    [['--echo-server', '--port', '0'], 'echo-server'],
    [['--fsync-echo-server', '--dir', '/tmp/x', '--port', '0'], 'fsync-echo-server'],
  ])('%j is the %s run', (argv, mode) => {
    expect(modeOf(...argv)).toBe(mode);
  });

  it.each([
    [['--acceptor', '--compare-etcd'], /--acceptor and --compare-etcd are different runs: give one of them/],
    [['--compare-etcd', '--agreed-state'], /--compare-etcd and --agreed-state are different runs/],
    [['--agreed-state', '--acceptor'], /--acceptor and --agreed-state are different runs/],
    [['--echo-server', '--compare-etcd'], /--compare-etcd and --echo-server are different runs/],
    // A flag the chosen run would have ignored without a word.
    [['--compare-etcd', '--dir', '/tmp/x'], /--dir is read only by the load runs, not by --compare-etcd: leave it out/],
    [['--compare-etcd', '--bulk-only'], /--bulk-only is read only by the load runs, not by --compare-etcd/],
    [['--agreed-state', '--concurrency', '1'], /--concurrency is read only by the load runs and --compare-etcd, not by --agreed-state/],
    [['--acceptor', '--duration', '5'], /--duration is read only by the load runs and --compare-etcd, not by --acceptor/],
    [['--repeats', '3'], /--repeats is read only by --compare-etcd, not by the load runs/],
    [['--history-slots', '10'], /--history-slots is read only by --agreed-state, not by the load runs/],
    [['--port', '4000'], /--port is read only by the internal --echo-server and --fsync-echo-server, not by the load runs/],
    [['--agreed-state', '--value-bytes', '100', '--insecure'], /--insecure is read only by the load runs, not by --agreed-state/],
    [['--dir', '/tmp/x', '--insecure'], /--insecure sets how the network the bench starts talks; with --dir the bench talks as the launched network does/],
    [['--bulk-only', '--stream'], /--bulk-only measures ProposeBulk alone and --stream asks for ProposeStream too/],
    [['--bulk-only', '--stream-only'], /--bulk-only measures ProposeBulk alone and --stream-only/],
  ])('refuses %j instead of settling it by whichever flag is read first', (argv, message) => {
    expect(() => modeOf(...argv)).toThrow(ConfigError);
    expect(() => modeOf(...argv)).toThrow(message);
  });
});
