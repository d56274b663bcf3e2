import { HealthRegistry, ServingStatus } from '@paxos/grpc-kit';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { markCannotChoose, markLearned, markLearning } from './proposer-health';

describe('the proposer\'s health at the ballot ceiling', () => {
  it('is NOT_SERVING for the server and ProposerService, and SERVING for ReadService, whose stale reads still answer', () => {
    const health = new HealthRegistry(['paxos.v1.ProposerService', 'paxos.v1.ReadService']);
    markCannotChoose(health);
    expect(health.status('')).toBe(ServingStatus.NOT_SERVING);
    expect(health.status('paxos.v1.ProposerService')).toBe(ServingStatus.NOT_SERVING);
    expect(health.status('paxos.v1.ReadService')).toBe(ServingStatus.SERVING);
  });

  it('is what the README says of the health services', () => {
    const readme = readFileSync(join(__dirname, '../../../README.md'), 'utf8').replace(/\s+/g, ' ');
    // The sentence, up to its end (a period before a space; names such as paxos.v1.ReadService hold dots too).
    const said = /A proposer at the ballot ceiling is .*?\.(?= )/.exec(readme)?.[0];
    expect(said).toBeDefined();
    expect(said).not.toMatch(/every service/);
    expect(said).toMatch(/`paxos\.v1\.ReadService` stays `SERVING`/);
  });
});

describe('the proposer\'s health while it learns the chosen log at its start', () => {
  it('is NOT_SERVING for ProposerService only, and SERVING again once learned unless it cannot choose', () => {
    const health = new HealthRegistry(['paxos.v1.ProposerService', 'paxos.v1.ReadService']);
    markLearning(health);
    expect(health.status('')).toBe(ServingStatus.SERVING);
    expect(health.status('paxos.v1.ProposerService')).toBe(ServingStatus.NOT_SERVING);
    expect(health.status('paxos.v1.ReadService')).toBe(ServingStatus.SERVING);
    markLearned(health, false);
    expect(health.status('paxos.v1.ProposerService')).toBe(ServingStatus.SERVING);

    const blocked = new HealthRegistry(['paxos.v1.ProposerService', 'paxos.v1.ReadService']);
    markLearning(blocked);
    markCannotChoose(blocked);
    markLearned(blocked, true);
    expect(blocked.status('paxos.v1.ProposerService')).toBe(ServingStatus.NOT_SERVING);
    expect(blocked.status('')).toBe(ServingStatus.NOT_SERVING);
  });
});
