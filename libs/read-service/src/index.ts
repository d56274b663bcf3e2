// paxos.v1.ReadService over a node's agreed state (libs/state-machine): served by proposers and acceptors.
export * from './answer-bytes';
export * from './read-service';
export * from './records-to-wire';
export * from './state-snapshot-chunks';
