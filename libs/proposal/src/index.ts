// The Monster Harmonic proposal: canonical leaderboard encoding and hash, the proposal value,
// its validation, and its LMFDB claims.
export * from './content-type';
export * from './leaderboard';
export * from './proposal-value';
export * from './claims';
export * from './proposal-json';
export * from './claim-certificate';
