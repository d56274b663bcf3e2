export * from './acceptor-messages';
export * from './ballot';
export * from './slot-value';
export * from './wire-error';
