describe('64-bit fields', () => {
  const saved = process.env['BUF_BIGINT_DISABLE'];
  afterEach(() => {
    if (saved === undefined) delete process.env['BUF_BIGINT_DISABLE'];
    else process.env['BUF_BIGINT_DISABLE'] = saved;
  });

  it('decode as bigints here', () => {
    jest.isolateModules(() => {
      const { Ballot } = require('./index') as typeof import('./index');
      const ballot = Ballot.decode(Ballot.encode({ round: 10n, proposerId: 1 }).finish());
      expect(ballot.round).toBe(10n);
    });
  });

  it('the contract refuses to load where they would decode as text (BUF_BIGINT_DISABLE=1)', () => {
    process.env['BUF_BIGINT_DISABLE'] = '1';
    jest.isolateModules(() => {
      expect(() => require('./index')).toThrow(/decode as string, not bigint \(BUF_BIGINT_DISABLE=1 is set/);
    });
  });
});
