import { ConfigError, parseAddressList, parseCommand } from './config';

const spec = {
  program: 'tool',
  summary: 'a tool',
  options: {
    acceptors: { type: 'string', env: 'TOOL_ACCEPTORS', description: 'addresses' },
    count: { type: 'integer', default: 3, min: 1, max: 10, description: 'how many' },
  },
} as const;

describe('parseCommand', () => {
  it('refuses a string flag given empty on the command line instead of reading it as absent', () => {
    // `--acceptors "$UNSET"` once meant the 23 default local acceptors, silently.
    expect(() => parseCommand(spec, ['--acceptors', ''], {})).toThrow(ConfigError);
    expect(() => parseCommand(spec, ['--acceptors='], {})).toThrow('--acceptors is empty; give a value or leave the flag out');
  });

  it('still treats an empty environment variable as unset, and takes a value given', () => {
    const parsed = parseCommand(spec, [], { TOOL_ACCEPTORS: '' });
    expect(parsed.help).toBe(false);
    if (!parsed.help) expect(parsed.options.acceptors).toBeUndefined();
    const given = parseCommand(spec, ['--acceptors', '127.0.0.1:1'], {});
    if (!given.help) expect(given.options.acceptors).toBe('127.0.0.1:1');
  });

  it('names the bounds of an integer flag', () => {
    expect(() => parseCommand(spec, ['--count=-1'], {})).toThrow('--count must be 1..10, got -1');
  });

  it('says a flag it cannot parse in one line', () => {
    // `--count -1`: Node's parser explains a value that starts with a dash over three lines.
    expect(() => parseCommand(spec, ['--count', '-1'], {})).toThrow(ConfigError);
    expect(() => parseCommand(spec, ['--count', '-1'], {})).toThrow(/^[^\n]*'--count=-XYZ'[^\n]*; see npm run tool -- --help$/);
  });

  it('refuses a flag given twice when the command asks (an operator tool), and takes the last otherwise (the apps)', () => {
    const strict = { ...spec, refuseRepeats: true, options: { ...spec.options, tag: { type: 'string', multiple: true, description: 'tags' } } } as const;
    expect(() => parseCommand(strict, ['--acceptors', 'a:1', '--count', '2', '--acceptors=b:2'], {})).toThrow('--acceptors is given more than once; give it once (see npm run tool -- --help)');
    // A flag meant to be repeated still is.
    const tags = parseCommand(strict, ['--tag', 'x', '--tag', 'y'], {});
    if (!tags.help) expect(tags.options.tag).toEqual(['x', 'y']);
    const last = parseCommand(spec, ['--count', '2', '--count', '4'], {});
    if (!last.help) expect(last.options.count).toBe(4);
  });
});

describe('parseAddressList', () => {
  it('refuses a port no socket can have, as a ConfigError naming it', () => {
    expect(parseAddressList('127.0.0.1:1, [::1]:65535', '--acceptors')).toEqual(['127.0.0.1:1', '[::1]:65535']);
    expect(() => parseAddressList('127.0.0.1:99999', '--address')).toThrow(new ConfigError('--address: "127.0.0.1:99999" names port 99999, not one of 1..65535'));
    expect(() => parseAddressList('a:1,[::1]:0', '--acceptors')).toThrow(new ConfigError('--acceptors: "[::1]:0" names port 0, not one of 1..65535'));
  });
});
