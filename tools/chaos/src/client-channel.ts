// How the chaos tool's clients open their channels: as a service-to-service client should. grpc-js
// waits between reconnects after a connection drops, from 1 s doubling to 120 s by default; a
// proposer killed every few seconds is back in 1-2 s, but a client on the defaults stayed in its
// back-off long after (85 % of the linearizable reads of a 60 s run on 23 acceptors failed with
// "No connection established" while the proposer answered others).
import type { ChannelOptions } from '@grpc/grpc-js';
import { TestCluster } from '@paxos/test-cluster';

/** Reconnect back-off of the tool's clients: from 100 ms to at most 1 s. */
export const CLIENT_RECONNECT: ChannelOptions = { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 1000 };

/** The channel options of a client of the node at `address` (its TLS server name, and the back-off above). */
export function clientChannelOptions(address: string): ChannelOptions {
  return { ...TestCluster.channelOptionsFor(address), ...CLIENT_RECONNECT };
}
