// The deterministic state machine on the chosen log: client sessions and the Monster Harmonic registry.
export * from './agreed-state';
export * from './harmonic-registry';
export * from './snapshot-codec';
export * from './value-key';
