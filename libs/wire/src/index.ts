export * from './acceptor-messages';
export * from './acceptor-status';
export * from './ballot';
export * from './slot-value';
export { decodeAcceptRequest } from './slot-value-encoding';
export * from './wire-error';
export * from './trailers';
