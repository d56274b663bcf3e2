/** The content type of a Monster Harmonic proposal inside a paxos.v1.Value. */
export const MONSTER_HARMONIC_CONTENT_TYPE = 'application/x-protobuf; messageType=harmonic.v1.MonsterHarmonicProposal';
