export * from './acceptor-node';
export * from './join-history';
export * from './learn-reply';
export * from './node-storage';
export * from './memory-storage';
