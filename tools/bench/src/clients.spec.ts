import { INSECURE } from '@paxos/grpc-kit';
import { freePorts } from '@paxos/test-cluster';
import { openClients, unaryPropose } from './clients';
import { warmUp } from './load';

describe('a target that is down', () => {
  it('ends the warm-up with an error naming it and its failure, not a run of zeros', async () => {
    const [port] = await freePorts(1);
    const address = `127.0.0.1:${port}`;
    const clients = openClients(address, INSECURE);
    try {
      const started = performance.now();
      await expect(warmUp(`the proposer at ${address}`, unaryPropose(clients, Buffer.from('x'), 2000, 'down'), 2, 300)).rejects.toThrow(
        new RegExp(`^the proposer at ${address} answered none of \\d+ calls in 300 ms of warm-up; the first failure: 14 UNAVAILABLE`),
      );
      // Refused at once: the warm-up does not wait for the calls' deadlines.
      expect(performance.now() - started).toBeLessThan(5000);
    } finally {
      for (const c of clients) c.close();
    }
  });

  it('a target that answers passes the warm-up', async () => {
    await expect(warmUp('a stand-in', () => Promise.resolve(), 1, 20)).resolves.toMatchObject({ errors: 0 });
  });
});
