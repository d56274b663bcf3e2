// The LMFDB API client, lossless parsing, typed records, exact record checks, claim verification
// and the on-disk cache.
export * from './errors';
export * from './json';
export * from './rational';
export * from './decimal';
export * from './values';
export * from './records';
export * from './sources';
export * from './query';
export * from './http-client';
export * from './checks';
export * from './claims';
export * from './value-equality';
export * from './atomic-file';
export * from './cache';
export * from './snapshot';
export * from './fake-lmfdb-server';
export * from './elliptic-curve-arith';
export * from './minimal-model';
export * from './polynomial-arith';
