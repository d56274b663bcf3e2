import { ConfigError } from '@paxos/grpc-kit';
import { parseLmfdbBenchArgs } from './lmfdb-compute-args';

describe('npm run bench:lmfdb: its flags', () => {
  it('answers --help instead of running the figures', () => {
    expect(parseLmfdbBenchArgs(['--help'])).toEqual({ help: true });
  });

  it('takes --rows=N as the README writes it, and --rows N', () => {
    expect(parseLmfdbBenchArgs([])).toEqual({ help: false, rows: 20_000 });
    expect(parseLmfdbBenchArgs(['--rows=500'])).toEqual({ help: false, rows: 500 });
    expect(parseLmfdbBenchArgs(['--rows', '500'])).toEqual({ help: false, rows: 500 });
  });

  it('refuses a flag it does not know or a rows count that is not a number, rather than run 20,000 rows silently', () => {
    expect(() => parseLmfdbBenchArgs(['--row=500'])).toThrow(ConfigError);
    expect(() => parseLmfdbBenchArgs(['--rows=many'])).toThrow(/--rows must be an integer/);
  });
});
