/** Everything a node-level run draws from: one seed, the cluster's shape and its faults. */
export interface NodeSimOptions {
  readonly seed: number;
  readonly acceptors: number;
  readonly proposers: number;
  readonly clients: number;
  readonly commandsPerClient: number;
  /** Virtual ms of faults (phase A), then everything heals and the run must finish within livenessMs. */
  readonly faultMs: number;
  readonly livenessMs: number;
  /** Per fault step (every 20 virtual ms) in phase A. */
  readonly acceptorCrashProbability: number;
  readonly proposerCrashProbability: number;
  readonly partitionProbability: number;
  /** Per acceptor crash: a bit of a synced record flips, and the acceptor refuses to start for good (at most one per run). */
  readonly corruptionProbability: number;
  /** Per group commit: the write or fdatasync fails. */
  readonly diskFaultProbability: number;
  /**
   * Per state snapshot write (fault phase): the acceptor is killed or loses power between the
   * write's two renames, so its disk keeps the snapshot the write replaced, alone, as the previous
   * one (storage/state-snapshot-file.ts). Drawn from a stream of its own: 0 draws nothing.
   */
  readonly stateSnapshotTornProbability: number;
  /**
   * Per fault step: a state snapshot file of a random acceptor (the latest or the previous, drawn)
   * is damaged on its disk and fails its CRC from then on (restore and GetStateSnapshot fall back
   * to the other), when both of its files are there and whole: one damaged file at a time, the
   * fault the two files are kept for. Drawn from the same stream: 0 draws nothing.
   */
  readonly stateSnapshotDamageProbability: number;
  /** Per fault step: a forged or absurd message reaches an acceptor. */
  readonly forgedMessageProbability: number;
  /** Per message: it takes up to longDelayMsMax. */
  readonly longDelayProbability: number;
  readonly longDelayMsMax: number;
  /** How long one fdatasync takes: uniform in [min, max] ms. */
  readonly syncMsMin: number;
  readonly syncMsMax: number;
  /** Per command: it is a Monster Harmonic proposal with LMFDB claims on one or two random sources. */
  readonly claimsProbability: number;
  /**
   * Per command with claims: they are disputed, refused by a random non-empty set of the claimed
   * sources' acceptors (the ones whose LMFDB data say no) and verified by the rest.
   */
  readonly claimRefusalProbability: number;
  /** Per acceptor restart in the fault phase: its LMFDB source does not load (its verdicts are UNKNOWN) until the heal. */
  readonly sourceUnloadedProbability: number;
  /**
   * Per command without claims: another client sends the same client_request_id with other bytes
   * at once, through any proposer. One value takes effect; a client whose value did not must hear
   * ALREADY_EXISTS, never "chosen". 0 draws nothing (the other runs stay as they were).
   */
  readonly reusedIdProbability: number;
  /**
   * Per fault step: an acceptor's disk is lost and it rejoins by npm run rejoin's procedure (every
   * proposer stopped, the floor read from a quorum of the others). 0 draws nothing (the other runs
   * stay as they were).
   */
  readonly dataLossProbability: number;
  /** Acceptors write a state snapshot every this many applied slots (the acceptor's --state-snapshot-every); 0: none. */
  readonly stateSnapshotEvery: number;
  /**
   * Acceptors drop chosen history below their two latest state snapshots but for this many newest
   * slots (--history-retain-slots), so proposers install snapshots and give them to lagging
   * acceptors; -1 keeps every slot.
   */
  readonly historyRetainSlots: number;
  /**
   * Per acknowledged write: its client then reads linearizably at a random live proposer, in the
   * middle of the faults; the proposer's applied state must reflect every write acknowledged before
   * the read began, each at the slot its answer named.
   */
  readonly readAfterWriteProbability: number;
  /** Negative control: those reads look at the proposer's applied state without its read barrier. */
  readonly unsafeReadWithoutBarrier: boolean;
  /** Negative control: an acceptor that lost its data comes back as a new one, without the floor. */
  readonly unsafeRejoin: boolean;
  /** Negative control: acceptors answer before their vote is durable (a power loss then drops it). */
  readonly unsafeAckBeforeSync: boolean;
  /** Negative control: the proposers' state machine keeps no client sessions. */
  readonly unsafeNoSessions: boolean;
  /** Negative control: proposers name every acceptor of a claimed source as a verifier, asking none. */
  readonly unsafeForgeCertificates: boolean;
}

export const NODE_SIM_DEFAULTS: Omit<NodeSimOptions, 'seed'> = Object.freeze({
  acceptors: 5,
  proposers: 2,
  clients: 6,
  commandsPerClient: 12,
  faultMs: 6000,
  livenessMs: 30_000,
  acceptorCrashProbability: 0.02,
  proposerCrashProbability: 0.006,
  partitionProbability: 0.02,
  corruptionProbability: 0.05,
  diskFaultProbability: 0.01,
  stateSnapshotTornProbability: 0.02,
  stateSnapshotDamageProbability: 0.01,
  forgedMessageProbability: 0.02,
  longDelayProbability: 0.01,
  longDelayMsMax: 3000,
  syncMsMin: 1,
  syncMsMax: 8,
  claimsProbability: 0.25,
  claimRefusalProbability: 0.3,
  sourceUnloadedProbability: 0.2,
  reusedIdProbability: 0,
  dataLossProbability: 0,
  stateSnapshotEvery: 10,
  historyRetainSlots: 5,
  readAfterWriteProbability: 0.2,
  unsafeReadWithoutBarrier: false,
  unsafeRejoin: false,
  unsafeAckBeforeSync: false,
  unsafeNoSessions: false,
  unsafeForgeCertificates: false,
});

/** The negative control "answers before persisting" needs crashes inside long fdatasyncs to show its harm. */
const UNSAFE_ACK_PROFILE = Object.freeze({ syncMsMin: 20, syncMsMax: 200, acceptorCrashProbability: 0.2 });

export function resolveNodeSimOptions(o: Partial<NodeSimOptions> & { seed: number }): NodeSimOptions {
  const merged = { ...NODE_SIM_DEFAULTS, ...(o.unsafeAckBeforeSync ? UNSAFE_ACK_PROFILE : {}) } as Record<string, unknown>;
  for (const [k, v] of Object.entries(o)) if (v !== undefined) merged[k] = v;
  return merged as unknown as NodeSimOptions;
}

/** The command that replays a run (every option that differs from the defaults). */
export function nodeSimReplay(o: NodeSimOptions): string {
  const flags = [`--seed ${o.seed}`, '--seeds 1'];
  for (const [k, v] of Object.entries(o)) {
    if (k === 'seed' || (NODE_SIM_DEFAULTS as unknown as Record<string, unknown>)[k] === v) continue;
    const flag = k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    flags.push(typeof v === 'boolean' ? `--${flag}` : `--${flag} ${v}`);
  }
  return `npm run simulate:nodes -- ${flags.join(' ')}`;
}
