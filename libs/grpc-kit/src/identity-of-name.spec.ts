import { identityOfName } from './tls';

describe('identityOfName', () => {
  it('reads the names the network issues', () => {
    expect(identityOfName('proposer-1')).toEqual({ role: 'proposer', id: 1, name: 'proposer-1' });
    expect(identityOfName('acceptor-0')).toEqual({ role: 'acceptor', id: 0, name: 'acceptor-0' });
    expect(identityOfName('client-cli')).toEqual({ role: 'client', name: 'client-cli' });
  });

  it('takes an id in one spelling only: a leading zero is no second name of the same proposer', () => {
    for (const cn of ['proposer-01', 'proposer-001', 'acceptor-00', 'acceptor-03']) expect(identityOfName(cn)).toBeUndefined();
  });

  it('compares exactly: case, spaces, control characters, look-alikes and empty names state no identity', () => {
    for (const cn of ['', 'Proposer-1', ' proposer-1', 'proposer-1 ', 'proposer-1\n', 'proposer-1\0', 'proposer-1\0client-x', 'proposer-\uff11', '\u0440roposer-1', 'proposer-+1', 'proposer-1e0', 'client-', 'client-a b']) {
      expect(identityOfName(cn)).toBeUndefined();
    }
  });
});
