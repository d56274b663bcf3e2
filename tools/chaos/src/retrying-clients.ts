// Clients that behave as the users do: each proposal is retried with the same
// client_request_id after UNAVAILABLE, a deadline or a broken stream, through whichever proposer
// is up, until it is answered; now and then an answer is treated as lost and the id sent again.
import { Metadata, status } from '@grpc/grpc-js';
import { TestCluster } from '@paxos/test-cluster';
import { clientChannelOptions } from './client-channel';
import type { SeededRandom } from '@paxos/consensus-core';
import { type ProposeRequest, ProposerServiceClient, type ProposeStreamResponse } from '@paxos/proto';
import { deadlineAfter } from '@paxos/grpc-kit';

export type ClientApi = 'unary' | 'stream' | 'bulk';

/** What every client saw, shared. */
export interface ClientLedger {
  readonly sent: Set<string>;
  readonly acked: Map<string, bigint>;
  /** Two answers for one id that named different slots. */
  readonly conflicts: string[];
  /** Definite refusals (not retryable): none are expected in a chaos run. */
  readonly refused: string[];
  attempts: number;
  retries: number;
  /** The highest slot any client was answered with so far. */
  highestAcked?: bigint;
}

type Answer = { readonly slot: bigint } | { readonly code: number; readonly message: string };

const RETRYABLE = new Set<number>([status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.CANCELLED, status.RESOURCE_EXHAUSTED, status.INTERNAL, status.UNKNOWN]);
const CALL_DEADLINE_MS = 3000;
const RETRY_PAUSE_MS = 100;
const LOST_ANSWER_CHANCE = 0.03;

const proposalOf = (id: string): ProposeRequest => ({
  clientRequestId: id,
  value: { contentType: 'text/plain', data: Buffer.from(`chaos value of ${id}`.padEnd(100, '.')) },
  includeVotes: false,
});

function failure(e: unknown): Answer {
  const err = e as { code?: number; details?: string; message?: string };
  return { code: err.code ?? status.UNKNOWN, message: err.details ?? err.message ?? String(e) };
}

/** One call of the given API for these ids; an id without an answer gets DEADLINE_EXCEEDED. */
function send(client: ProposerServiceClient, api: ClientApi, ids: readonly string[]): Promise<Map<string, Answer>> {
  const answers = new Map<string, Answer>();
  const deadline = deadlineAfter(CALL_DEADLINE_MS);
  if (api === 'unary') {
    const id = ids[0] as string;
    return new Promise((resolve) =>
      client.propose(proposalOf(id), new Metadata(), { deadline }, (err, res) => {
        answers.set(id, err ? failure(err) : { slot: res.slot });
        resolve(answers);
      }),
    );
  }
  return new Promise((resolve) => {
    const call = api === 'stream' ? client.proposeStream(new Metadata(), { deadline }) : client.proposeBulk(new Metadata(), { deadline });
    const settle = (e?: unknown) => {
      for (const id of ids) if (!answers.has(id)) answers.set(id, e === undefined ? { code: status.DEADLINE_EXCEEDED, message: 'no answer' } : failure(e));
      resolve(answers);
    };
    const take = (a: ProposeStreamResponse) => {
      const r = a.result;
      answers.set(a.clientRequestId, r?.$case === 'chosen' ? { slot: r.value.slot } : { code: r?.value.code ?? status.UNKNOWN, message: r?.value.message ?? 'empty answer' });
      if (answers.size >= ids.length) {
        call.end();
        settle();
      }
    };
    call.on('data', (m: ProposeStreamResponse | { answers: ProposeStreamResponse[] }) => ('answers' in m ? m.answers.forEach(take) : take(m)));
    call.on('error', (e) => settle(e));
    call.on('end', () => settle());
    if (api === 'stream') for (const id of ids) (call as ReturnType<ProposerServiceClient['proposeStream']>).write({ proposal: proposalOf(id) });
    else (call as ReturnType<ProposerServiceClient['proposeBulk']>).write({ proposals: ids.map(proposalOf) });
  });
}

export interface RetryingClientOptions {
  readonly tag: string;
  readonly api: ClientApi;
  readonly proposers: readonly string[];
  readonly random: SeededRandom;
  readonly ledger: ClientLedger;
  /** Proposals per operation (bulk). */
  readonly batch: number;
}

/** Runs operations until `stop()` says so; the operation in hand is retried until answered or `giveUpAt`. */
export async function runClient(o: RetryingClientOptions, stop: () => boolean, giveUpAt: () => number): Promise<void> {
  const clients = o.proposers.map((a) => new ProposerServiceClient(a, TestCluster.credentialsFor(a), clientChannelOptions(a)));
  const { ledger } = o;
  try {
    for (let op = 0; !stop(); op++) {
      let pending = Array.from({ length: o.api === 'bulk' ? o.batch : 1 }, (_, i) => `${o.tag}-${op}-${i}`);
      for (const id of pending) ledger.sent.add(id);
      let lostOnce = new Set<string>();
      for (let attempt = 0; pending.length > 0 && performance.now() < giveUpAt(); attempt++) {
        if (attempt > 0) {
          ledger.retries += 1;
          await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
        }
        ledger.attempts += 1;
        const client = clients[(attempt + op) % clients.length] as ProposerServiceClient;
        const answers = await send(client, o.api, pending);
        const next: string[] = [];
        for (const id of pending) {
          const a = answers.get(id) as Answer;
          if ('slot' in a) {
            const before = ledger.acked.get(id);
            if (before !== undefined && before !== a.slot) ledger.conflicts.push(`${id}: answered slot ${before}, then slot ${a.slot}`);
            ledger.acked.set(id, a.slot);
            if (ledger.highestAcked === undefined || a.slot > ledger.highestAcked) ledger.highestAcked = a.slot;
            // Now and then the answer is "lost": the client sends the id once more.
            if (!lostOnce.has(id) && o.random.chance(LOST_ANSWER_CHANCE)) {
              lostOnce = new Set([...lostOnce, id]);
              next.push(id);
            }
          } else if (RETRYABLE.has(a.code)) next.push(id);
          else ledger.refused.push(`${id}: ${status[a.code]}: ${a.message}`);
        }
        pending = next;
      }
    }
  } finally {
    for (const c of clients) c.close();
  }
}
