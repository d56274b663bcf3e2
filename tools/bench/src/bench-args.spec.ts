import { ConfigError, parseCommand } from '@paxos/grpc-kit';
import { benchCommand, parseConcurrencyLevels } from './bench-args';

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
});
